"""Porting, round 16: fast.ai's from-scratch backprop and minibatch-training notebooks (Practical Deep
Learning Part 2, 2022: fastai/course22p2 nbs/03_backprop.ipynb and nbs/04_minibatch_training.ipynb)
and the "Optimization Algorithms" chapter of Dive into Deep Learning (d2l-ai/d2l-en,
chapter_optimization, its PyTorch code), each written as its cells are, one after another, with only
its imports changed, its data made up and small (`# differs:` marks each change and why). A cell whose
last line is an expression, which the notebook displays, keeps it as a statement (it must run).
matplotlib, fastcore's `test_close` and the few d2l helpers the chapter calls are written out below, as
a student's copy would have them (d2l's plotting keeps what it was given, so the tests can read it).

The ports are written as the sources are, so a test fails while a gap it meets is open. The tests at
the end pin PyTorch's behaviour for each gap the round found:

  G1  attributes on a tensor: fast.ai keeps every hand-computed gradient as `x.g = ...` on the tensor
      itself (PyTorch's tensors take any attribute). Closed: a Tensor has a `__dict__` beside its slots.
  G2  `t.clamp_min(0.)` (fast.ai's relu) and `t.clamp_max`. Closed: ops/arithmetic.py.
  G3  `torch.einsum` (the 2019 lesson's `w.g = torch.einsum("bi,bj->ij", inp, out.g)`, course22p2's
      `torch.einsum('ik,kj->ij', a, b)`). Closed: ops/einsum.py, a primitive with VJP and JVP rules.
  G4  `torch.utils.data.BatchSampler`, `DataLoader(batch_sampler=..., collate_fn=...)`, and a sampler
      that gives lists of indices (`DataLoader(train_ds, sampler=BatchSampler(...))`). Closed:
      utils/data/sampler.py and dataloader.py.
  G5  `torch.optim.Adadelta`. Closed: optim/adadelta.py.
  G6  `torch.cosh`, `torch.sinh` (d2l's Newton's method). Closed: ops/elementwise.py, primitives over numpy's.
  G7  `torch.sign` (d2l's Yogi). Closed: ops/elementwise.py, a primitive with a zero derivative, as round.
  G8  `torch.arange(-10, 10, 0.01)` in float32 (d2l's show_trace): each value should be the float32 nearest
      start + i * step, as PyTorch computes it in double; numpy's float32 arange adds a float32 step, and the
      last value drifts to 9.9905. Closed: creation.py.

(`torch.meshgrid`, which d2l's `show_trace_2d` needs, came in with another helper's round while this one
ran; the ports use it.) Documented differences met, marked `# differs:` where they are: `p.grad` is a
numpy array here (`p.grad.data.zero_()` and `l.weight.grad.zero_()` are `p.grad = None`, d2l's
`p.data.sub_(...)` is `p -= ...` under no_grad), and `t.max(d)` with d by position keeps numpy's
meaning, the values, so fast.ai's `x.max(-1)[0]` is `x.max(-1).values`.

Expected values come from closed forms, numpy float64 written out here (the MLP's forward and backward
by hand, each optimizer's update from its published formula, least squares for the regression's
floor), the task (accuracy of a learnable synthetic task, the cell outputs the notebooks show, which
are PyTorch's text) or central differences, never from the library's earlier output.
"""

import contextlib
import gzip
import io
import math
import os
import pickle
import random
import time
import types
from pathlib import Path

import numpy as np
import pytest

import microgradseq as torch
import microgradseq.nn as nn


# ---- stand-ins: matplotlib, fastcore's test_close, the notebooks' data files -----------------------------

class _Pyplot:  # differs: `import matplotlib.pyplot as plt`: a stand-in that keeps what each call was given
    """Each call's arguments, tensors and lists of numbers as numpy arrays (as matplotlib reads them),
    so the cells that plot run as written in a test and the tests can read the plots."""

    def __init__(self):
        self.calls = []
        self.rcParams = {}

    def gca(self):                          # the current axes: the same stand-in (`.set_xscale('log')`)
        return self

    def __getattr__(self, name):
        def call(*args, **kwargs):
            seen = [np.asarray(a, dtype=float) if isinstance(a, (torch.Tensor, np.ndarray)) or isinstance(a, list)
                    and a and all(isinstance(v, (int, float, np.number)) for v in a) else a for a in args]
            self.calls.append((name, seen, kwargs))
        return call

    def called(self, name):
        return [args for called, args, _ in self.calls if called == name]


plt = mpl = _Pyplot()


def is_close(a, b, eps=1e-5):
    """fastcore.test.is_close, written out: within eps of each other (every entry, for arrays)."""
    if hasattr(a, '__array__') or hasattr(b, '__array__'):
        return (abs(a - b) < eps).all()
    return abs(a - b) < eps


def fastcore_test_close(a, b, eps=1e-5):
    """fastcore.test.test_close, written out: an AssertionError unless `is_close(a, b, eps)`."""
    assert is_close(a, b, eps), f"==:\n{a}\n{b}"


def mnist_like(n_train=1000, n_valid=200, n_test=50, seed=0):
    """Made-up 28x28 'digits' as the MNIST pickle holds them: float32 rows of 784 pixels in [0, 1], most of
    them 0 (85%), and int64 labels 0-9. Each class is a fixed sparse pattern of strokes, drawn in part, with
    a random brightness, among random specks: the nearest class mean (numpy) classifies most held-out rows."""
    rng = np.random.default_rng(seed)
    patterns = (rng.random((10, 28, 28)) < 0.05).astype(np.float32)

    def draw(n):
        y = rng.integers(0, 10, n)
        kept = rng.random((n, 28, 28)) < 0.25              # each image shows a quarter of its class's strokes
        specks = (rng.random((n, 28, 28)) < 0.12) * rng.uniform(0.2, 1.0, (n, 28, 28))
        x = np.maximum(patterns[y] * kept * rng.uniform(0.5, 1.0, (n, 1, 1)), specks)
        return x.astype(np.float32).reshape(n, 784), y.astype(np.int64)

    return draw(n_train), draw(n_valid), draw(n_test)


@contextlib.contextmanager
def notebook_folder(tmp_path):
    """The working directory holds data/mnist.pkl.gz, as the notebooks read it (made up; written with
    pickle, as the course's file is, and read back by the notebook's own cell); numpy's and the library's
    print options, Python's random state and the plots are as they were afterwards."""
    (tmp_path / "data").mkdir(exist_ok=True)
    with gzip.open(tmp_path / "data" / "mnist.pkl.gz", "wb") as f:
        pickle.dump(mnist_like(), f)
    here, python_random = os.getcwd(), random.getstate()
    os.chdir(tmp_path)
    del plt.calls[:]
    try:
        with np.printoptions():             # (restores numpy's print options on the way out)
            yield
    finally:
        os.chdir(here)
        torch.set_printoptions(profile="default")
        random.setstate(python_random)


_RUNS = {}


def run_once(key, notebook, tmp_path_factory, *args):
    """Run a notebook's cells once per test session (what it printed, its locals and its plots), called
    inside a test, so a gap the notebook meets fails that test, not its setup."""
    if key not in _RUNS:
        printed = io.StringIO()
        with notebook_folder(tmp_path_factory.mktemp(key)), contextlib.redirect_stdout(printed):
            nb = notebook(*args)
            nb.plots = list(plt.calls)
        nb.printed = printed.getvalue()
        _RUNS[key] = nb
    return _RUNS[key]


# ---- 1. fastai/course22p2 nbs/03_backprop.ipynb: the forward and backward passes ---------------------------

def fastai_03_backprop():
    import pickle,gzip,math,os,time,shutil,numpy as np            # differs: torch and matplotlib: the
    import microgradseq as torch                                  #   library, and the stand-in `mpl` above
    from pathlib import Path
    from microgradseq import tensor                               # differs: `from torch import tensor`
    test_close = fastcore_test_close                              # differs: `from fastcore.test import test_close`
    torch.manual_seed(42)

    mpl.rcParams['image.cmap'] = 'gray'
    torch.set_printoptions(precision=2, linewidth=125, sci_mode=False)
    np.set_printoptions(precision=2, linewidth=125)

    path_data = Path('data')
    path_gz = path_data/'mnist.pkl.gz'
    with gzip.open(path_gz, 'rb') as f: ((x_train, y_train), (x_valid, y_valid), _) = pickle.load(f, encoding='latin-1')
    x_train, y_train, x_valid, y_valid = map(tensor, [x_train, y_train, x_valid, y_valid])

    # ## Foundations version
    # ### Basic architecture
    n,m = x_train.shape
    c = y_train.max()+1
    n,m,c

    # num hidden
    nh = 50

    w1 = torch.randn(m,nh)
    b1 = torch.zeros(nh)
    w2 = torch.randn(nh,1)
    b2 = torch.zeros(1)

    def lin(x, w, b): return x@w + b

    t = lin(x_valid, w1, b1)
    t.shape

    def relu(x): return x.clamp_min(0.)

    t = relu(t)
    t

    def model(xb):
        l1 = lin(xb, w1, b1)
        l2 = relu(l1)
        return lin(l2, w2, b2)

    res = model(x_valid)
    res.shape

    # ### Loss function: MSE
    res.shape,y_valid.shape
    broadcast_shape = (res-y_valid).shape                         # (named for the tests)
    res[:,0].shape
    res.squeeze().shape
    (res[:,0]-y_valid).shape

    y_train,y_valid = y_train.float(),y_valid.float()

    preds = model(x_train)
    preds.shape

    def mse(output, targ): return (output[:,0]-targ).pow(2).mean()

    first_loss = mse(preds, y_train)                              # (named for the tests)

    # ### Gradients and backward pass
    # (the two sympy cells, `diff(x**2, x)` and `diff(3*x**2+9, x)`, are left out: sympy is not needed here)

    def lin_grad(inp, out, w, b):
        # grad of matmul with respect to input
        inp.g = out.g @ w.t()
        w.g = (inp.unsqueeze(-1) * out.g.unsqueeze(1)).sum(0)
        b.g = out.g.sum(0)

    def forward_and_backward(inp, targ):
        # forward pass:
        l1 = lin(inp, w1, b1)
        l2 = relu(l1)
        out = lin(l2, w2, b2)
        diff = out[:,0]-targ
        loss = diff.pow(2).mean()

        # backward pass:
        out.g = 2.*diff[:,None] / inp.shape[0]
        lin_grad(l2, out, w2, b2)
        l1.g = (l1>0).float() * l2.g
        lin_grad(inp, l1, w1, b1)

    forward_and_backward(x_train, y_train)

    # Save for testing against later
    def get_grad(x): return x.g.clone()
    chks = w1,w2,b1,b2,x_train
    grads = w1g,w2g,b1g,b2g,ig = tuple(map(get_grad, chks))

    # We cheat a little bit and use PyTorch autograd to check our results.
    def mkgrad(x): return x.clone().requires_grad_(True)
    ptgrads = w12,w22,b12,b22,xt2 = tuple(map(mkgrad, chks))

    def forward(inp, targ):
        l1 = lin(inp, w12, b12)
        l2 = relu(l1)
        out = lin(l2, w22, b22)
        return mse(out, targ)

    loss = forward(xt2, y_train)
    loss.backward()

    for a,b in zip(grads, ptgrads): test_close(a, b.grad, eps=0.01)

    # ## Refactor model
    # ### Layers as classes
    class Relu():
        def __call__(self, inp):
            self.inp = inp
            self.out = inp.clamp_min(0.)
            return self.out

        def backward(self): self.inp.g = (self.inp>0).float() * self.out.g

    class Lin():
        def __init__(self, w, b): self.w,self.b = w,b

        def __call__(self, inp):
            self.inp = inp
            self.out = lin(inp, self.w, self.b)
            return self.out

        def backward(self):
            self.inp.g = self.out.g @ self.w.t()
            self.w.g = self.inp.t() @ self.out.g
            self.b.g = self.out.g.sum(0)

    class Mse():
        def __call__(self, inp, targ):
            self.inp,self.targ = inp,targ
            self.out = mse(inp, targ)
            return self.out

        def backward(self):
            self.inp.g = 2. * (self.inp.squeeze() - self.targ).unsqueeze(-1) / self.targ.shape[0]

    class Model():
        def __init__(self, w1, b1, w2, b2):
            self.layers = [Lin(w1,b1), Relu(), Lin(w2,b2)]
            self.loss = Mse()

        def __call__(self, x, targ):
            for l in self.layers: x = l(x)
            return self.loss(x, targ)

        def backward(self):
            self.loss.backward()
            for l in reversed(self.layers): l.backward()

    model = Model(w1, b1, w2, b2)
    loss = model(x_train, y_train)
    model.backward()

    test_close(w2g, w2.g, eps=0.01)
    test_close(b2g, b2.g, eps=0.01)
    test_close(w1g, w1.g, eps=0.01)
    test_close(b1g, b1.g, eps=0.01)
    test_close(ig, x_train.g, eps=0.01)
    classes_loss = loss                                           # (named for the tests)

    # ### Module.forward()
    class Module():
        def __call__(self, *args):
            self.args = args
            self.out = self.forward(*args)
            return self.out

        def forward(self): raise Exception('not implemented')
        def backward(self): self.bwd(self.out, *self.args)
        def bwd(self): raise Exception('not implemented')

    class Relu(Module):
        def forward(self, inp): return inp.clamp_min(0.)
        def bwd(self, out, inp): inp.g = (inp>0).float() * out.g

    class Lin(Module):
        def __init__(self, w, b): self.w,self.b = w,b
        def forward(self, inp): return inp@self.w + self.b
        def bwd(self, out, inp):
            inp.g = self.out.g @ self.w.t()
            self.w.g = inp.t() @ self.out.g
            self.b.g = self.out.g.sum(0)

    class Mse(Module):
        def forward (self, inp, targ): return (inp.squeeze() - targ).pow(2).mean()
        def bwd(self, out, inp, targ): inp.g = 2*(inp.squeeze()-targ).unsqueeze(-1) / targ.shape[0]

    model = Model(w1, b1, w2, b2)
    loss = model(x_train, y_train)
    model.backward()

    test_close(w2g, w2.g, eps=0.01)
    test_close(b2g, b2.g, eps=0.01)
    test_close(w1g, w1.g, eps=0.01)
    test_close(b1g, b1.g, eps=0.01)
    test_close(ig, x_train.g, eps=0.01)

    # (the same lesson in 2019, fastai/course-v3 nbs/dl2/02_fully_connected.ipynb, writes Lin.bwd's
    # weight gradient with einsum: "we can rewrite (inp.unsqueeze(-1) * out.g.unsqueeze(1)).sum(0) with einsum")
    class Lin(Module):
        def __init__(self, w, b): self.w,self.b = w,b

        def forward(self, inp): return inp@self.w + self.b

        def bwd(self, out, inp):
            inp.g = out.g @ self.w.t()
            self.w.g = torch.einsum("bi,bj->ij", inp, out.g)
            self.b.g = out.g.sum(0)

    model = Model(w1, b1, w2, b2)
    loss = model(x_train, y_train)
    model.backward()
    test_close(w2g, w2.g, eps=0.01)
    test_close(w1g, w1.g, eps=0.01)
    test_close(ig, x_train.g, eps=0.01)
    einsum_w1g = w1.g                                             # (named for the tests)

    # ### Autograd
    from microgradseq import nn                                   # differs: `from torch import nn`
    import microgradseq.nn.functional as F                        # differs: `import torch.nn.functional as F`

    class Linear(nn.Module):
        def __init__(self, n_in, n_out):
            super().__init__()
            self.w = torch.randn(n_in,n_out).requires_grad_()
            self.b = torch.zeros(n_out).requires_grad_()
        def forward(self, inp): return inp@self.w + self.b

    class Model(nn.Module):
        def __init__(self, n_in, nh, n_out):
            super().__init__()
            self.layers = [Linear(n_in,nh), nn.ReLU(), Linear(nh,n_out)]

        def __call__(self, x, targ):
            for l in self.layers: x = l(x)
            return F.mse_loss(x, targ[:,None])

    model = Model(m, nh, 1)
    loss = model(x_train, y_train)
    loss.backward()

    l0 = model.layers[0]
    l0.b.grad
    return types.SimpleNamespace(**locals())


def mlp_by_hand(x, y, w1, b1, w2, b2):
    """The MLP's MSE and its gradients in float64 numpy, each step of the chain rule written out:
    l1 = x w1 + b1, l2 = relu(l1), out = l2 w2 + b2, loss = mean((out[:, 0] - y)^2)."""
    x, y, w1, b1, w2, b2 = (np.asarray(a, dtype=np.float64) for a in (x, y, w1, b1, w2, b2))
    l1 = x @ w1 + b1
    l2 = np.maximum(l1, 0)
    out = l2 @ w2 + b2
    diff = out[:, 0] - y
    d_out = 2 * diff[:, None] / len(y)
    d_l2 = d_out @ w2.T
    d_l1 = (l1 > 0) * d_l2
    return dict(loss=(diff ** 2).mean(), w2=l2.T @ d_out, b2=d_out.sum(0), w1=x.T @ d_l1, b1=d_l1.sum(0),
                x=d_l1 @ w1.T)


def close_to(got, expected, rtol=1e-4):
    """float32 work against float64: within rtol of the largest entry's size."""
    got, expected = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    return got.shape == expected.shape and np.abs(got - expected).max() <= rtol * max(np.abs(expected).max(), 1e-30)


def test_03_shapes_and_the_loss_are_the_mlps(tmp_path_factory):
    """n, m = 1000, 784 and c = 10 (`y_train.max()+1`, a tensor); (res - y_valid) broadcasts to (200, 200),
    the notebook's (10000, 10000) pitfall; relu is x clamped at 0 (numpy's maximum); the first MSE is the
    hand-written numpy float64 loss of the same weights."""
    nb = run_once("fastai_03", fastai_03_backprop, tmp_path_factory)
    assert (nb.n, nb.m) == (1000, 784) and nb.c.item() == 10 and nb.broadcast_shape == (200, 200)
    h = np.asarray(nb.x_valid) @ np.asarray(nb.w1, dtype=np.float64) + np.asarray(nb.b1)
    assert close_to(nb.t, np.maximum(h, 0)) and (nb.t.numpy() >= 0).all()
    assert nb.res.shape == (200, 1) and nb.preds.shape == (1000, 1)
    exact = mlp_by_hand(nb.x_train, nb.y_train, nb.w1, nb.b1, nb.w2, nb.b2)
    assert nb.first_loss.item() == pytest.approx(exact["loss"], rel=1e-4)


def test_03_hand_written_gradients_are_numpys_and_autograds(tmp_path_factory):
    """The notebook's own checks ran (each test_close within 0.01), and every gradient it kept as `.g` (the
    first pass, the layer classes, the Module classes, the einsum Lin) and autograd's `.grad` are the chain
    rule written out in float64 numpy; the `.g` attributes are tensors of their tensor's shape."""
    nb = run_once("fastai_03", fastai_03_backprop, tmp_path_factory)
    exact = mlp_by_hand(nb.x_train, nb.y_train, nb.w1, nb.b1, nb.w2, nb.b2)
    for name, saved, auto in (("w1", nb.w1g, nb.w12), ("w2", nb.w2g, nb.w22), ("b1", nb.b1g, nb.b12),
                              ("b2", nb.b2g, nb.b22), ("x", nb.ig, nb.xt2)):
        assert isinstance(saved, torch.Tensor) and close_to(saved, exact[name]), name
        assert close_to(auto.grad, exact[name]), name
    for name, tensor in (("w1", nb.w1), ("w2", nb.w2), ("b1", nb.b1), ("b2", nb.b2), ("x", nb.x_train)):
        assert tensor.g.shape == tensor.shape and close_to(tensor.g, exact[name]), name
    assert close_to(nb.einsum_w1g, exact["w1"])
    assert nb.classes_loss.item() == pytest.approx(exact["loss"], rel=1e-4)


def test_03_autograd_module_with_plain_tensor_weights(tmp_path_factory):
    """The Autograd section: nn.Module subclasses holding weights as plain tensors with requires_grad_()
    (not registered, as in PyTorch), F.mse_loss against targ[:, None]; the first layer's bias gradient is
    the numpy chain rule's for that model's weights."""
    nb = run_once("fastai_03", fastai_03_backprop, tmp_path_factory)
    layers = nb.model.layers
    exact = mlp_by_hand(nb.x_train, nb.y_train, layers[0].w, layers[0].b, layers[2].w, layers[2].b)
    assert nb.loss.item() == pytest.approx(exact["loss"], rel=1e-4)
    assert nb.l0.b.grad.shape == (50,) and close_to(nb.l0.b.grad, exact["b1"])
    assert close_to(layers[2].w.grad, exact["w2"]) and list(nb.model.parameters()) == []


# ---- 2. fastai/course22p2 nbs/04_minibatch_training.ipynb ---------------------------------------------------

def fastai_04_minibatch_training():
    import pickle,gzip,math,os,time,shutil,numpy as np            # differs: torch, matplotlib as mpl and
    import microgradseq as torch                                  #   matplotlib.pyplot as plt: the library
    from pathlib import Path                                      #   and the stand-ins above
    from microgradseq import tensor,nn                            # differs: `from torch import tensor,nn`
    import microgradseq.nn.functional as F                        # differs: `import torch.nn.functional as F`

    test_close = fastcore_test_close                              # differs: `from fastcore.test import test_close`

    torch.set_printoptions(precision=2, linewidth=140, sci_mode=False)
    torch.manual_seed(1)
    mpl.rcParams['image.cmap'] = 'gray'

    path_data = Path('data')
    path_gz = path_data/'mnist.pkl.gz'
    with gzip.open(path_gz, 'rb') as f: ((x_train, y_train), (x_valid, y_valid), _) = pickle.load(f, encoding='latin-1')
    x_train, y_train, x_valid, y_valid = map(tensor, [x_train, y_train, x_valid, y_valid])

    # ## Initial setup
    n,m = x_train.shape
    c = y_train.max()+1
    nh = 50

    class Model(nn.Module):
        def __init__(self, n_in, nh, n_out):
            super().__init__()
            self.layers = [nn.Linear(n_in,nh), nn.ReLU(), nn.Linear(nh,n_out)]

        def __call__(self, x):
            for l in self.layers: x = l(x)
            return x

    model = Model(m, nh, 10)
    pred = model(x_train)
    pred.shape

    # ### Cross entropy loss
    def log_softmax(x): return (x.exp()/(x.exp().sum(-1,keepdim=True))).log()

    log_softmax(pred)
    first_log_softmax = log_softmax(pred)                         # (named for the tests)

    def log_softmax(x): return x - x.exp().sum(-1,keepdim=True).log()

    def logsumexp(x):
        m = x.max(-1).values  # differs: `x.max(-1)[0]`: t.max(d) with d by position is numpy's, the values
        return m + (x-m[:,None]).exp().sum(-1).log()

    def log_softmax(x): return x - x.logsumexp(-1,keepdim=True)

    test_close(logsumexp(pred), pred.logsumexp(-1))
    sm_pred = log_softmax(pred)
    sm_pred

    y_train[:3]
    sm_pred[0,5],sm_pred[1,0],sm_pred[2,4]
    sm_pred[[0,1,2], y_train[:3]]
    picked = sm_pred[[0,1,2], y_train[:3]]                        # (named for the tests)

    def nll(input, target): return -input[range(target.shape[0]), target].mean()

    loss = nll(sm_pred, y_train)
    loss
    nll_loss = loss                                               # (named for the tests)

    test_close(F.nll_loss(F.log_softmax(pred, -1), y_train), loss, 1e-3)
    test_close(F.cross_entropy(pred, y_train), loss, 1e-3)

    # ## Basic training loop
    loss_func = F.cross_entropy

    bs=50                  # batch size

    xb = x_train[0:bs]     # a mini-batch from x
    preds = model(xb)      # predictions
    preds[0], preds.shape

    yb = y_train[0:bs]
    yb
    loss_func(preds, yb)
    preds.argmax(dim=1)

    def accuracy(out, yb): return (out.argmax(dim=1)==yb).float().mean()

    accuracy(preds, yb)
    first_accuracy = accuracy(preds, yb)                          # (named for the tests)

    lr = 0.5   # learning rate
    epochs = 3 # how many epochs to train for

    def report(loss, preds, yb): print(f'{loss:.2f}, {accuracy(preds, yb):.2f}')

    xb,yb = x_train[:bs],y_train[:bs]
    preds = model(xb)
    report(loss_func(preds, yb), preds, yb)

    for epoch in range(epochs):
        for i in range(0, n, bs):
            s = slice(i, min(n,i+bs))
            xb,yb = x_train[s],y_train[s]
            preds = model(xb)
            loss = loss_func(preds, yb)
            loss.backward()
            with torch.no_grad():
                for l in model.layers:
                    if hasattr(l, 'weight'):
                        l.weight -= l.weight.grad * lr
                        l.bias   -= l.bias.grad   * lr
                        l.weight.grad = None  # differs: `l.weight.grad.zero_()`: p.grad is a numpy array here
                        l.bias  .grad = None  # differs: `l.bias  .grad.zero_()` (likewise)
        report(loss, preds, yb)
    basic_model = model                                           # (named for the tests)

    # ## Using parameters and optim
    # ### Parameters
    m1 = nn.Module()
    m1.foo = nn.Linear(3,4)
    m1_repr = repr(m1)                                            # (the cell displays `m1`)
    list(m1.named_children())
    m1_children = list(m1.named_children())                       # (named for the tests)
    m1.named_children()
    list(m1.parameters())

    class MLP(nn.Module):
        def __init__(self, n_in, nh, n_out):
            super().__init__()
            self.l1 = nn.Linear(n_in,nh)
            self.l2 = nn.Linear(nh,n_out)
            self.relu = nn.ReLU()

        def forward(self, x): return self.l2(self.relu(self.l1(x)))

    model = MLP(m, nh, 10)
    model.l1
    mlp_repr = repr(model)                                        # (the cell displays `model`)

    for name,l in model.named_children(): print(f"{name}: {l}")
    for p in model.parameters(): print(p.shape)

    def fit():
        for epoch in range(epochs):
            for i in range(0, n, bs):
                s = slice(i, min(n,i+bs))
                xb,yb = x_train[s],y_train[s]
                preds = model(xb)
                loss = loss_func(preds, yb)
                loss.backward()
                with torch.no_grad():
                    for p in model.parameters(): p -= p.grad * lr
                    model.zero_grad()
            report(loss, preds, yb)

    fit()

    class MyModule:
        def __init__(self, n_in, nh, n_out):
            self._modules = {}
            self.l1 = nn.Linear(n_in,nh)
            self.l2 = nn.Linear(nh,n_out)

        def __setattr__(self,k,v):
            if not k.startswith("_"): self._modules[k] = v
            super().__setattr__(k,v)

        def __repr__(self): return f'{self._modules}'

        def parameters(self):
            for l in self._modules.values(): yield from l.parameters()

    mdl = MyModule(m,nh,10)
    mdl
    mdl_repr = repr(mdl)                                          # (named for the tests)
    for p in mdl.parameters(): print(p.shape)

    # ### Registering modules
    from functools import reduce

    layers = [nn.Linear(m,nh), nn.ReLU(), nn.Linear(nh,10)]

    class Model(nn.Module):
        def __init__(self, layers):
            super().__init__()
            self.layers = layers
            for i,l in enumerate(self.layers): self.add_module(f'layer_{i}', l)

        def forward(self, x): return reduce(lambda val,layer: layer(val), self.layers, x)

    model = Model(layers)
    model
    registered_repr = repr(model)                                 # (named for the tests)
    model(xb).shape

    # ### nn.ModuleList
    class SequentialModel(nn.Module):
        def __init__(self, layers):
            super().__init__()
            self.layers = nn.ModuleList(layers)

        def forward(self, x):
            for l in self.layers: x = l(x)
            return x

    model = SequentialModel(layers)
    model
    module_list_repr = repr(model)                                # (named for the tests)
    fit()

    # ### nn.Sequential
    model = nn.Sequential(nn.Linear(m,nh), nn.ReLU(), nn.Linear(nh,10))
    fit()
    loss_func(model(xb), yb), accuracy(model(xb), yb)
    model
    sequential_repr = repr(model)                                 # (named for the tests)

    # ### optim
    class Optimizer():
        def __init__(self, params, lr=0.5): self.params,self.lr=list(params),lr

        def step(self):
            with torch.no_grad():
                for p in self.params: p -= p.grad * self.lr

        def zero_grad(self):
            for p in self.params: p.grad = None  # differs: `p.grad.data.zero_()`: p.grad is a numpy array here

    model = nn.Sequential(nn.Linear(m,nh), nn.ReLU(), nn.Linear(nh,10))
    opt = Optimizer(model.parameters())

    for epoch in range(epochs):
        for i in range(0, n, bs):
            s = slice(i, min(n,i+bs))
            xb,yb = x_train[s],y_train[s]
            preds = model(xb)
            loss = loss_func(preds, yb)
            loss.backward()
            opt.step()
            opt.zero_grad()
        report(loss, preds, yb)
    hand_optimizer_model = model                                  # (named for the tests)

    from microgradseq import optim                                # differs: `from torch import optim`

    def get_model():
        model = nn.Sequential(nn.Linear(m,nh), nn.ReLU(), nn.Linear(nh,10))
        return model, optim.SGD(model.parameters(), lr=lr)

    model,opt = get_model()
    loss_func(model(xb), yb)

    for epoch in range(epochs):
        for i in range(0, n, bs):
            s = slice(i, min(n,i+bs))
            xb,yb = x_train[s],y_train[s]
            preds = model(xb)
            loss = loss_func(preds, yb)
            loss.backward()
            opt.step()
            opt.zero_grad()
        report(loss, preds, yb)

    # ## Dataset and DataLoader
    # ### Dataset
    class Dataset():
        def __init__(self, x, y): self.x,self.y = x,y
        def __len__(self): return len(self.x)
        def __getitem__(self, i): return self.x[i],self.y[i]

    train_ds,valid_ds = Dataset(x_train, y_train),Dataset(x_valid, y_valid)
    assert len(train_ds)==len(x_train)
    assert len(valid_ds)==len(x_valid)

    xb,yb = train_ds[0:5]
    assert xb.shape==(5,28*28)
    assert yb.shape==(5,)
    xb,yb

    model,opt = get_model()

    for epoch in range(epochs):
        for i in range(0, n, bs):
            xb,yb = train_ds[i:min(n,i+bs)]
            preds = model(xb)
            loss = loss_func(preds, yb)
            loss.backward()
            opt.step()
            opt.zero_grad()
        report(loss, preds, yb)

    # ### DataLoader
    class DataLoader():
        def __init__(self, ds, bs): self.ds,self.bs = ds,bs
        def __iter__(self):
            for i in range(0, len(self.ds), self.bs): yield self.ds[i:i+self.bs]

    train_dl = DataLoader(train_ds, bs)
    valid_dl = DataLoader(valid_ds, bs)

    xb,yb = next(iter(valid_dl))
    xb.shape
    yb

    plt.imshow(xb[0].view(28,28))
    yb[0]

    model,opt = get_model()

    def fit():
        for epoch in range(epochs):
            for xb,yb in train_dl:
                preds = model(xb)
                loss = loss_func(preds, yb)
                loss.backward()
                opt.step()
                opt.zero_grad()
            report(loss, preds, yb)

    fit()
    loss_func(model(xb), yb), accuracy(model(xb), yb)

    # ### Random sampling
    import random
    random.seed(1)                                                # differs: seeded, so the run repeats

    class Sampler():
        def __init__(self, ds, shuffle=False): self.n,self.shuffle = len(ds),shuffle
        def __iter__(self):
            res = list(range(self.n))
            if self.shuffle: random.shuffle(res)
            return iter(res)

    from itertools import islice

    ss = Sampler(train_ds)

    it = iter(ss)
    for o in range(5): print(next(it))

    list(islice(ss, 5))

    ss = Sampler(train_ds, shuffle=True)
    list(islice(ss, 5))
    shuffled_five = list(islice(ss, 5))                           # (named for the tests)

    # import fastcore.all as fc   (differs: fastcore is not needed; its store_attr and chunked are written out)

    class BatchSampler():
        def __init__(self, sampler, bs, drop_last=False):  # differs: `fc.store_attr()`
            self.sampler,self.bs,self.drop_last = sampler,bs,drop_last
        def __iter__(self):  # differs: `yield from fc.chunked(iter(self.sampler), self.bs, drop_last=self.drop_last)`
            it = iter(self.sampler)
            while chunk := list(islice(it, self.bs)):
                if len(chunk) < self.bs and self.drop_last: return
                yield chunk

    HandBatchSampler = BatchSampler                               # (named for the tests)
    batchs = BatchSampler(ss, 4)
    list(islice(batchs, 5))
    five_batches = list(islice(batchs, 5))                        # (named for the tests)

    def collate(b):
        xs,ys = zip(*b)
        return torch.stack(xs),torch.stack(ys)

    class DataLoader():
        def __init__(self, ds, batchs, collate_fn=collate):  # differs: `fc.store_attr()`
            self.ds,self.batchs,self.collate_fn = ds,batchs,collate_fn
        def __iter__(self): yield from (self.collate_fn(self.ds[i] for i in b) for b in self.batchs)

    train_samp = BatchSampler(Sampler(train_ds, shuffle=True ), bs)
    valid_samp = BatchSampler(Sampler(valid_ds, shuffle=False), bs)

    train_dl = DataLoader(train_ds, batchs=train_samp)
    valid_dl = DataLoader(valid_ds, batchs=valid_samp)

    xb,yb = next(iter(valid_dl))
    plt.imshow(xb[0].view(28,28))
    yb[0]
    hand_collated = (xb, yb)                                      # (named for the tests)

    xb.shape,yb.shape

    model,opt = get_model()
    fit()
    hand_loader_model = model                                     # (named for the tests)

    # ### Multiprocessing DataLoader
    # (differs: the cells that start a `torch.multiprocessing` Pool of workers are left out: loading here is
    # in one process; the two cells that index the dataset with a list of indices stay)
    train_ds[[3,6,8,1]]
    listed = train_ds.__getitem__([3,6,8,1])                      # (named for the tests)
    for o in map(train_ds.__getitem__, ([3,6],[8,1])): print(o)

    # ### PyTorch DataLoader
    from microgradseq.utils.data import DataLoader, SequentialSampler, RandomSampler, BatchSampler  # differs: torch.

    train_samp = BatchSampler(RandomSampler(train_ds),     bs, drop_last=False)
    valid_samp = BatchSampler(SequentialSampler(valid_ds), bs, drop_last=False)

    train_dl = DataLoader(train_ds, batch_sampler=train_samp, collate_fn=collate)
    valid_dl = DataLoader(valid_ds, batch_sampler=valid_samp, collate_fn=collate)

    model,opt = get_model()
    fit()
    loss_func(model(xb), yb), accuracy(model(xb), yb)
    batch_sampler_loader = (train_dl, valid_dl)                   # (named for the tests)

    train_dl = DataLoader(train_ds, bs, sampler=RandomSampler(train_ds), collate_fn=collate)
    valid_dl = DataLoader(valid_ds, bs, sampler=SequentialSampler(valid_ds), collate_fn=collate)

    train_dl = DataLoader(train_ds, bs, shuffle=True, drop_last=True, num_workers=2)
    valid_dl = DataLoader(valid_ds, bs, shuffle=False, num_workers=2)

    model,opt = get_model()
    fit()

    loss_func(model(xb), yb), accuracy(model(xb), yb)

    train_ds[[4,6,7]]

    train_dl = DataLoader(train_ds, sampler=train_samp)
    valid_dl = DataLoader(valid_ds, sampler=valid_samp)

    xb,yb = next(iter(train_dl))
    xb.shape,yb.shape
    sampled_batch_shapes = (xb.shape, yb.shape)                   # (named for the tests)

    # ## Validation
    def fit(epochs, model, loss_func, opt, train_dl, valid_dl):
        for epoch in range(epochs):
            model.train()
            for xb,yb in train_dl:
                loss = loss_func(model(xb), yb)
                loss.backward()
                opt.step()
                opt.zero_grad()

            model.eval()
            with torch.no_grad():
                tot_loss,tot_acc,count = 0.,0.,0
                for xb,yb in valid_dl:
                    pred = model(xb)
                    n = len(xb)
                    count += n
                    tot_loss += loss_func(pred,yb).item()*n
                    tot_acc  += accuracy (pred,yb).item()*n
            print(epoch, tot_loss/count, tot_acc/count)
        return tot_loss/count, tot_acc/count

    def get_dls(train_ds, valid_ds, bs, **kwargs):
        return (DataLoader(train_ds, batch_size=bs, shuffle=True, **kwargs),
                DataLoader(valid_ds, batch_size=bs*2, **kwargs))

    train_dl,valid_dl = get_dls(train_ds, valid_ds, bs)
    model,opt = get_model()

    loss,acc = fit(5, model, loss_func, opt, train_dl, valid_dl)  # differs: `%time` (a notebook's magic)
    # (the last cell, `import nbdev; nbdev.nbdev_export()`, writes the course's library: left out)
    return types.SimpleNamespace(**locals())


# ---- 3. Dive into Deep Learning, chapter_optimization (PyTorch): the helpers it calls from d2l ---------------
# differs: `from d2l import torch as d2l`: the few helpers the chapter calls, written out as the book defines
# them (#@save); d2l's plotting (set_figsize, plot, Animator) records into the `plt` stand-in instead of drawing.

def airfoil_like(rows=1503, seed=0):
    """A made-up stand-in for UCI's airfoil self-noise data (5 measured features, then the sound level):
    correlated features, and a level linear in them plus noise, so a linear model's best squared loss/2
    on the standardized data is about 0.25, as the book's plots show for the real file."""
    rng = np.random.default_rng(seed)
    mixing = np.eye(5) + 0.15 * rng.normal(size=(5, 5))     # (mildly correlated: full-batch lr 1 converges)
    features = rng.normal(size=(rows, 5)) @ mixing + rng.normal(3.0, 1.0, 5)
    level = features @ rng.normal(size=5)
    level = level + rng.normal(0.0, level.std(), rows) + 120.0
    return np.column_stack([features, level]).astype(np.float32)


def _download(name, cache_dir=os.path.join('..', 'data')):
    """d2l.download: here it writes the made-up file (no network) and returns its path, as d2l's returns
    the cached file's."""
    path = Path("data") / "airfoil_self_noise.dat"
    path.parent.mkdir(exist_ok=True)
    np.savetxt(path, airfoil_like(), delimiter="\t", fmt="%.6f")
    return str(path)


class Timer:
    """Record multiple running times."""
    def __init__(self):
        self.times = []
        self.start()

    def start(self):
        """Start the timer."""
        self.tik = time.time()

    def stop(self):
        """Stop the timer and record the time in a list."""
        self.times.append(time.time() - self.tik)
        return self.times[-1]

    def avg(self):
        """Return the average time."""
        return sum(self.times) / len(self.times)

    def sum(self):
        """Return the sum of time."""
        return sum(self.times)

    def cumsum(self):
        """Return the accumulated time."""
        return np.array(self.times).cumsum().tolist()


class Accumulator:
    """For accumulating sums over `n` variables."""
    def __init__(self, n):
        self.data = [0.0] * n

    def add(self, *args):
        self.data = [a + float(b) for a, b in zip(self.data, args)]

    def reset(self):
        self.data = [0.0] * len(self.data)

    def __getitem__(self, idx):
        return self.data[idx]


class Animator:
    """For plotting data in animation (d2l's; here it keeps the points it is given, drawing nothing)."""
    def __init__(self, xlabel=None, ylabel=None, legend=None, xlim=None, ylim=None, xscale='linear',
                 yscale='linear', fmts=('-', 'm--', 'g-.', 'r:'), nrows=1, ncols=1, figsize=(3.5, 2.5)):
        self.legend, self.X, self.Y, self.fmts = legend, None, None, fmts

    def add(self, x, y):
        # Add multiple data points into the figure
        if not hasattr(y, "__len__"):
            y = [y]
        n = len(y)
        if not hasattr(x, "__len__"):
            x = [x] * n
        if not self.X:
            self.X = [[] for _ in range(n)]
        if not self.Y:
            self.Y = [[] for _ in range(n)]
        for i, (a, b) in enumerate(zip(x, y)):
            if a is not None and b is not None:
                self.X[i].append(a)
                self.Y[i].append(b)


def _plot(X, Y=None, xlabel=None, ylabel=None, legend=[], xlim=None, ylim=None, xscale='linear',
          yscale='linear', fmts=('-', 'm--', 'g-.', 'r:'), figsize=(3.5, 2.5), axes=None):
    """Plot data points (d2l.plot; each curve goes to the `plt` stand-in)."""
    def has_one_axis(X):  # True if `X` (tensor or list) has 1 axis
        return (hasattr(X, "ndim") and X.ndim == 1 or isinstance(X, list) and not hasattr(X[0], "__len__"))

    if has_one_axis(X):
        X = [X]
    if Y is None:
        X, Y = [[]] * len(X), X
    elif has_one_axis(Y):
        Y = [Y]
    if len(X) != len(Y):
        X = X * len(Y)
    for x, y, fmt in zip(X, Y, fmts):
        plt.plot(x, y, fmt) if len(x) else plt.plot(y, fmt)


def _load_array(data_arrays, batch_size, is_train=True):
    """Construct a PyTorch data iterator."""
    from microgradseq.utils import data               # differs: `from torch.utils import data`
    dataset = data.TensorDataset(*data_arrays)
    return data.DataLoader(dataset, batch_size, shuffle=is_train)


def _linreg(X, w, b):
    """The linear regression model."""
    return torch.matmul(X, w) + b


def _squared_loss(y_hat, y):
    """Squared loss."""
    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2


def _evaluate_loss(net, data_iter, loss):
    """Evaluate the loss of a model on the given dataset."""
    metric = d2l.Accumulator(2)  # Sum of losses, no. of examples
    for X, y in data_iter:
        out = net(X)
        y = y.reshape(out.shape)
        l = loss(out, y)
        metric.add(l.sum(), l.numel())
    return metric[0] / metric[1]


def _accuracy(y_hat, y):
    """Compute the number of correct predictions."""
    if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(axis=1)
    cmp = y_hat.type(y.dtype) == y
    return float(cmp.type(y.dtype).sum())


def _evaluate_accuracy_gpu(net, data_iter, device=None):
    """Compute the accuracy for a model on a dataset using a GPU."""
    if isinstance(net, nn.Module):
        net.eval()  # Set the model to evaluation mode
        if not device:
            device = next(iter(net.parameters())).device
    # No. of correct predictions, no. of predictions
    metric = d2l.Accumulator(2)
    with torch.no_grad():
        for X, y in data_iter:
            if isinstance(X, list):
                X = [x.to(device) for x in X]
            else:
                X = X.to(device)
            y = y.to(device)
            metric.add(d2l.accuracy(net(X), y), y.numel())
    return metric[0] / metric[1]


def _try_gpu(i=0):
    """Return gpu(i) if exists, otherwise return cpu()."""
    if torch.cuda.device_count() >= i + 1:
        return torch.device(f'cuda:{i}')
    return torch.device('cpu')


def _load_data_fashion_mnist(batch_size, resize=None):
    """d2l's Fashion-MNIST loaders; differs: made-up 28x28 images of 10 classes (no download), (N, 1, 28, 28)
    float32 and int64 labels, 2000 to train on and 500 to test, loaded as d2l loads them (shuffled for training)."""
    (x_train, y_train), (x_test, y_test), _ = mnist_like(2000, 500, 1, seed=5)
    return (_load_array((x_train.reshape(-1, 1, 28, 28), y_train), batch_size),
            _load_array((x_test.reshape(-1, 1, 28, 28), y_test), batch_size, is_train=False))


# The chapter's own #@save functions (defined in the sections named, kept in the d2l package for the later ones)

def _train_2d(trainer, steps=20, f_grad=None):  #@save (sec_gd)
    """Optimize a 2D objective function with a customized trainer."""
    # `s1` and `s2` are internal state variables that will be used in Momentum, adagrad, RMSProp
    x1, x2, s1, s2 = -5, -2, 0, 0
    results = [(x1, x2)]
    for i in range(steps):
        if f_grad:
            x1, x2, s1, s2 = trainer(x1, x2, s1, s2, f_grad)
        else:
            x1, x2, s1, s2 = trainer(x1, x2, s1, s2)
        results.append((x1, x2))
    print(f'epoch {i + 1}, x1: {float(x1):f}, x2: {float(x2):f}')
    return results


def _show_trace_2d(f, results):  #@save (sec_gd)
    """Show the trace of 2D variables during optimization."""
    d2l.set_figsize()
    d2l.plt.plot(*zip(*results), '-o', color='#ff7f0e')
    x1, x2 = torch.meshgrid(torch.arange(-5.5, 1.0, 0.1),
                          torch.arange(-3.0, 1.0, 0.1), indexing='ij')
    d2l.plt.contour(x1, x2, f(x1, x2), colors='#1f77b4')
    d2l.plt.xlabel('x1')
    d2l.plt.ylabel('x2')


def _get_data_ch11(batch_size=10, n=1500):  #@save (sec_minibatch_sgd)
    data = np.genfromtxt(d2l.download('airfoil'),
                         dtype=np.float32, delimiter='\t')
    data = torch.from_numpy((data - data.mean(axis=0)) / data.std(axis=0))
    data_iter = d2l.load_array((data[:n, :-1], data[:n, -1]),
                               batch_size, is_train=True)
    return data_iter, data.shape[1]-1


def _train_ch11(trainer_fn, states, hyperparams, data_iter,  #@save (sec_minibatch_sgd)
                feature_dim, num_epochs=2):
    # Initialization
    w = torch.normal(mean=0.0, std=0.01, size=(feature_dim, 1),
                     requires_grad=True)
    b = torch.zeros((1), requires_grad=True)
    net, loss = lambda X: d2l.linreg(X, w, b), d2l.squared_loss
    # Train
    animator = d2l.Animator(xlabel='epoch', ylabel='loss',
                            xlim=[0, num_epochs], ylim=[0.22, 0.35])
    n, timer = 0, d2l.Timer()
    for _ in range(num_epochs):
        for X, y in data_iter:
            l = loss(net(X), y).mean()
            l.backward()
            trainer_fn([w, b], states, hyperparams)
            n += X.shape[0]
            if n % 200 == 0:
                timer.stop()
                animator.add(n/X.shape[0]/len(data_iter),
                             (d2l.evaluate_loss(net, data_iter, loss),))
                timer.start()
    print(f'loss: {animator.Y[0][-1]:.3f}, {timer.sum()/num_epochs:.3f} sec/epoch')
    d2l.trained.append((w, b))                      # (kept for the tests)
    return timer.cumsum(), animator.Y[0]


def _train_concise_ch11(trainer_fn, hyperparams, data_iter, num_epochs=4):  #@save (sec_minibatch_sgd)
    # Initialization
    net = nn.Sequential(nn.Linear(5, 1))
    def init_weights(module):
        if type(module) == nn.Linear:
            torch.nn.init.normal_(module.weight, std=0.01)
    net.apply(init_weights)

    optimizer = trainer_fn(net.parameters(), **hyperparams)
    loss = nn.MSELoss(reduction='none')
    animator = d2l.Animator(xlabel='epoch', ylabel='loss',
                            xlim=[0, num_epochs], ylim=[0.22, 0.35])
    n, timer = 0, d2l.Timer()
    for _ in range(num_epochs):
        for X, y in data_iter:
            optimizer.zero_grad()
            out = net(X)
            y = y.reshape(out.shape)
            l = loss(out, y)
            l.mean().backward()
            optimizer.step()
            n += X.shape[0]
            if n % 200 == 0:
                timer.stop()
                # `MSELoss` computes squared error without the 1/2 factor
                animator.add(n/X.shape[0]/len(data_iter),
                             (d2l.evaluate_loss(net, data_iter, loss) / 2,))
                timer.start()
    print(f'loss: {animator.Y[0][-1]:.3f}, {timer.sum()/num_epochs:.3f} sec/epoch')
    d2l.trained.append((net, optimizer, animator.Y[0]))         # (kept for the tests)


d2l = types.SimpleNamespace(
    plt=plt, set_figsize=lambda figsize=(3.5, 2.5): None, plot=_plot, Timer=Timer, Accumulator=Accumulator,
    Animator=Animator, load_array=_load_array, linreg=_linreg, squared_loss=_squared_loss,
    evaluate_loss=_evaluate_loss, accuracy=_accuracy, evaluate_accuracy_gpu=_evaluate_accuracy_gpu,
    try_gpu=_try_gpu, load_data_fashion_mnist=_load_data_fashion_mnist, download=_download,
    DATA_HUB={}, DATA_URL='http://d2l-data.s3-accelerate.amazonaws.com/', train_2d=_train_2d,
    show_trace_2d=_show_trace_2d, get_data_ch11=_get_data_ch11, train_ch11=_train_ch11,
    train_concise_ch11=_train_concise_ch11, trained=[])


def airfoil_floor(n=1500):
    """The best loss any linear model reaches on the first n standardized rows: least squares in
    float64, its mean squared error / 2 (the book's squared_loss)."""
    data = airfoil_like().astype(np.float64)
    data = (data - data.mean(axis=0)) / data.std(axis=0)
    X, y = np.column_stack([data[:n, :-1], np.ones(n)]), data[:n, -1]
    coef = np.linalg.lstsq(X, y, rcond=None)[0]
    return float(((X @ coef - y) ** 2).mean() / 2)


# ---- 3a. chapter_optimization/gd.md: gradient descent, multivariate, Newton's method -----------------------

def d2l_gd(with_newton):
    import numpy as np
    import microgradseq as torch                  # differs: `import torch` (and `from d2l import torch as d2l`:
    torch.manual_seed(0)                          #   the helpers above); seeded, so the run repeats

    def f(x):  # Objective function
        return x ** 2

    def f_grad(x):  # Gradient (derivative) of the objective function
        return 2 * x

    def gd(eta, f_grad):
        x = 10.0
        results = [x]
        for i in range(10):
            x -= eta * f_grad(x)
            results.append(float(x))
        print(f'epoch 10, x: {x:f}')
        return results

    results = gd(0.2, f_grad)

    def show_trace(results, f):
        n = max(abs(min(results)), abs(max(results)))
        f_line = torch.arange(-n, n, 0.01)
        d2l.set_figsize()
        d2l.plot([f_line, results], [[f(x) for x in f_line], [
            f(x) for x in results]], 'x', 'f(x)', fmts=['-', '-o'])

    show_trace(results, f)
    small = gd(0.05, f_grad)                      # (named for the tests: `show_trace(gd(0.05, f_grad), f)`)
    show_trace(small, f)
    large = gd(1.1, f_grad)
    show_trace(large, f)

    c = torch.tensor(0.15 * np.pi)

    def f(x):  # Objective function
        return x * torch.cos(c * x)

    def f_grad(x):  # Gradient of the objective function
        return torch.cos(c * x) - c * x * torch.sin(c * x)

    nonconvex = gd(2, f_grad)
    show_trace(nonconvex, f)

    # ### Multivariate Gradient Descent
    train_2d, show_trace_2d = d2l.train_2d, d2l.show_trace_2d   # (#@save: written out once, above)

    def f_2d(x1, x2):  # Objective function
        return x1 ** 2 + 2 * x2 ** 2

    def f_2d_grad(x1, x2):  # Gradient of the objective function
        return (2 * x1, 4 * x2)

    def gd_2d(x1, x2, s1, s2, f_grad):
        g1, g2 = f_grad(x1, x2)
        return (x1 - eta * g1, x2 - eta * g2, 0, 0)

    eta = 0.1
    trace = train_2d(gd_2d, f_grad=f_2d_grad)
    show_trace_2d(f_2d, trace)

    # ### Newton's Method   (run when `with_newton` is true: these cells need torch.cosh and torch.sinh, G6)
    if with_newton:
        c = torch.tensor(0.5)

        def f(x):  # Objective function
            return torch.cosh(c * x)

        def f_grad(x):  # Gradient of the objective function
            return c * torch.sinh(c * x)

        def f_hess(x):  # Hessian of the objective function
            return c**2 * torch.cosh(c * x)

        def newton(eta=1):
            x = 10.0
            results = [x]
            for i in range(10):
                x -= eta * f_grad(x) / f_hess(x)
                results.append(float(x))
            print('epoch 10, x:', x)
            return results

        newton_convex = newton()                  # (named for the tests: `show_trace(newton(), f)`)
        show_trace(newton_convex, f)

        c = torch.tensor(0.15 * np.pi)

        def f(x):  # Objective function
            return x * torch.cos(c * x)

        def f_grad(x):  # Gradient of the objective function
            return torch.cos(c * x) - c * x * torch.sin(c * x)

        def f_hess(x):  # Hessian of the objective function
            return - 2 * c * torch.sin(c * x) - x * c**2 * torch.cos(c * x)

        newton_nonconvex = newton()
        show_trace(newton_nonconvex, f)
        newton_halved = newton(0.5)
        show_trace(newton_halved, f)
    return types.SimpleNamespace(**locals())


# ---- 3b. chapter_optimization/sgd.md: stochastic gradient descent and its learning-rate decay ---------------

def d2l_sgd():
    import math
    import microgradseq as torch                  # differs: `import torch`
    torch.manual_seed(0)                          # differs: seeded, so the run repeats

    def f(x1, x2):  # Objective function
        return x1 ** 2 + 2 * x2 ** 2

    def f_grad(x1, x2):  # Gradient of the objective function
        return 2 * x1, 4 * x2

    def sgd(x1, x2, s1, s2, f_grad):
        g1, g2 = f_grad(x1, x2)
        # Simulate noisy gradient
        g1 += torch.normal(0.0, 1, (1,)).item()
        g2 += torch.normal(0.0, 1, (1,)).item()
        eta_t = eta * lr()
        return (x1 - eta_t * g1, x2 - eta_t * g2, 0, 0)

    def constant_lr():
        return 1

    eta = 0.1
    lr = constant_lr  # Constant learning rate
    constant = d2l.train_2d(sgd, steps=50, f_grad=f_grad)     # (named for the tests)
    d2l.show_trace_2d(f, constant)

    def exponential_lr():
        # Global variable that is defined outside this function and updated inside
        nonlocal t  # differs: `global t`: the notebook's globals are this function's locals
        t += 1
        return math.exp(-0.1 * t)

    t = 1
    lr = exponential_lr
    exponential = d2l.train_2d(sgd, steps=1000, f_grad=f_grad)
    d2l.show_trace_2d(f, exponential)
    exponential_t = t

    def polynomial_lr():
        # Global variable that is defined outside this function and updated inside
        nonlocal t  # differs: `global t` (likewise)
        t += 1
        return (1 + 0.1 * t) ** (-0.5)

    t = 1
    lr = polynomial_lr
    polynomial = d2l.train_2d(sgd, steps=50, f_grad=f_grad)
    d2l.show_trace_2d(f, polynomial)
    return types.SimpleNamespace(**locals())


# ---- 3c. chapter_optimization/minibatch-sgd.md: minibatch SGD from scratch and concise ----------------------
# (the section's first part times a 256 x 256 product written element by element, then by columns and by
# blocks: left out, its 65,536 item assignments would take minutes and measure nothing the tests read)

def d2l_minibatch_sgd():
    import numpy as np
    import time
    import microgradseq as torch                  # differs: `import torch`, `from torch import nn`
    from microgradseq import nn
    torch.manual_seed(0)                          # differs: seeded, so the run repeats
    del d2l.trained[:]

    d2l.DATA_HUB['airfoil'] = (d2l.DATA_URL + 'airfoil_self_noise.dat',
                               '76e5be1548fd8222e5074cf0faae75edff8cf93f')
    get_data_ch11 = d2l.get_data_ch11             # (#@save: written out once, above)

    def sgd(params, states, hyperparams):
        for p in params:
            with torch.no_grad():  # differs: `p.data.sub_(hyperparams['lr'] * p.grad)`: p.data is numpy's
                p -= hyperparams['lr'] * p.grad          # read-only array here
            p.grad = None  # differs: `p.grad.data.zero_()`: p.grad is a numpy array here

    train_ch11 = d2l.train_ch11                   # (#@save: written out once, above)

    def train_sgd(lr, batch_size, num_epochs=2):
        data_iter, feature_dim = get_data_ch11(batch_size)
        return train_ch11(
            sgd, None, {'lr': lr}, data_iter, feature_dim, num_epochs)

    gd_res = train_sgd(1, 1500, 10)
    sgd_res = train_sgd(0.005, 1)
    mini1_res = train_sgd(.4, 100)
    mini2_res = train_sgd(.05, 10)

    d2l.set_figsize([6, 3])
    d2l.plot(*list(map(list, zip(gd_res, sgd_res, mini1_res, mini2_res))),
             'time (sec)', 'loss', xlim=[1e-2, 10],
             legend=['gd', 'sgd', 'batch size=100', 'batch size=10'])
    d2l.plt.gca().set_xscale('log')

    train_concise_ch11 = d2l.train_concise_ch11   # (#@save: written out once, above)

    data_iter, _ = get_data_ch11(10)
    trainer = torch.optim.SGD
    train_concise_ch11(trainer, {'lr': 0.01}, data_iter)
    trained = list(d2l.trained)
    return types.SimpleNamespace(**locals())


# ---- 3d. chapter_optimization/momentum.md ---------------------------------------------------------------------

def d2l_momentum():
    import microgradseq as torch                  # differs: `import torch`
    torch.manual_seed(0)                          # differs: seeded, so the run repeats
    del d2l.trained[:]

    eta = 0.4
    def f_2d(x1, x2):
        return 0.1 * x1 ** 2 + 2 * x2 ** 2
    def gd_2d(x1, x2, s1, s2):
        return (x1 - eta * 0.2 * x1, x2 - eta * 4 * x2, 0, 0)

    gd_04 = d2l.train_2d(gd_2d)                   # (named for the tests: `d2l.show_trace_2d(f_2d, d2l.train_2d(gd_2d))`)
    d2l.show_trace_2d(f_2d, gd_04)

    eta = 0.6
    gd_06 = d2l.train_2d(gd_2d)
    d2l.show_trace_2d(f_2d, gd_06)

    def momentum_2d(x1, x2, v1, v2):
        v1 = beta * v1 + 0.2 * x1
        v2 = beta * v2 + 4 * x2
        return x1 - eta * v1, x2 - eta * v2, v1, v2

    eta, beta = 0.6, 0.5
    momentum_05 = d2l.train_2d(momentum_2d)
    d2l.show_trace_2d(f_2d, momentum_05)

    eta, beta = 0.6, 0.25
    momentum_025 = d2l.train_2d(momentum_2d)
    d2l.show_trace_2d(f_2d, momentum_025)

    d2l.set_figsize()
    betas = [0.95, 0.9, 0.6, 0]
    for beta in betas:
        x = torch.arange(40).detach().numpy()
        d2l.plt.plot(x, beta ** x, label=f'beta = {beta:.2f}')
    d2l.plt.xlabel('time')
    d2l.plt.legend();

    def init_momentum_states(feature_dim):
        v_w = torch.zeros((feature_dim, 1))
        v_b = torch.zeros(1)
        return (v_w, v_b)

    def sgd_momentum(params, states, hyperparams):
        for p, v in zip(params, states):
            with torch.no_grad():
                v[:] = hyperparams['momentum'] * v + p.grad
                p[:] -= hyperparams['lr'] * v
            p.grad = None  # differs: `p.grad.data.zero_()`: p.grad is a numpy array here

    def train_momentum(lr, momentum, num_epochs=2):
        d2l.train_ch11(sgd_momentum, init_momentum_states(feature_dim),
                       {'lr': lr, 'momentum': momentum}, data_iter,
                       feature_dim, num_epochs)

    data_iter, feature_dim = d2l.get_data_ch11(batch_size=10)
    train_momentum(0.02, 0.5)
    train_momentum(0.01, 0.9)
    train_momentum(0.005, 0.9)

    trainer = torch.optim.SGD
    d2l.train_concise_ch11(trainer, {'lr': 0.005, 'momentum': 0.9}, data_iter)

    lambdas = [0.1, 1, 10, 19]
    eta = 0.1
    d2l.set_figsize((6, 4))
    for lam in lambdas:
        t = torch.arange(20).detach().numpy()
        d2l.plt.plot(t, (1 - eta * lam) ** t, label=f'lambda = {lam:.2f}')
    d2l.plt.xlabel('time')
    d2l.plt.legend();
    trained = list(d2l.trained)
    return types.SimpleNamespace(**locals())


# ---- 3e. chapter_optimization/adagrad.md ------------------------------------------------------------------------

def d2l_adagrad():
    import math
    import microgradseq as torch                  # differs: `import torch`
    torch.manual_seed(0)                          # differs: seeded, so the run repeats
    del d2l.trained[:]

    def adagrad_2d(x1, x2, s1, s2):
        eps = 1e-6
        g1, g2 = 0.2 * x1, 4 * x2
        s1 += g1 ** 2
        s2 += g2 ** 2
        x1 -= eta / math.sqrt(s1 + eps) * g1
        x2 -= eta / math.sqrt(s2 + eps) * g2
        return x1, x2, s1, s2

    def f_2d(x1, x2):
        return 0.1 * x1 ** 2 + 2 * x2 ** 2

    eta = 0.4
    trace_04 = d2l.train_2d(adagrad_2d)
    d2l.show_trace_2d(f_2d, trace_04)

    eta = 2
    trace_2 = d2l.train_2d(adagrad_2d)
    d2l.show_trace_2d(f_2d, trace_2)

    def init_adagrad_states(feature_dim):
        s_w = torch.zeros((feature_dim, 1))
        s_b = torch.zeros(1)
        return (s_w, s_b)

    def adagrad(params, states, hyperparams):
        eps = 1e-6
        for p, s in zip(params, states):
            with torch.no_grad():
                s[:] += torch.square(p.grad)
                p[:] -= hyperparams['lr'] * p.grad / torch.sqrt(s + eps)
            p.grad = None  # differs: `p.grad.data.zero_()`: p.grad is a numpy array here

    data_iter, feature_dim = d2l.get_data_ch11(batch_size=10)
    d2l.train_ch11(adagrad, init_adagrad_states(feature_dim),
                   {'lr': 0.1}, data_iter, feature_dim);

    trainer = torch.optim.Adagrad
    d2l.train_concise_ch11(trainer, {'lr': 0.1}, data_iter)
    trained = list(d2l.trained)
    return types.SimpleNamespace(**locals())


# ---- 3f. chapter_optimization/rmsprop.md ------------------------------------------------------------------------

def d2l_rmsprop():
    import math
    import microgradseq as torch                  # differs: `import torch`
    torch.manual_seed(0)                          # differs: seeded, so the run repeats
    del d2l.trained[:]

    d2l.set_figsize()
    gammas = [0.95, 0.9, 0.8, 0.7]
    for gamma in gammas:
        x = torch.arange(40).detach().numpy()
        d2l.plt.plot(x, (1-gamma) * gamma ** x, label=f'gamma = {gamma:.2f}')
    d2l.plt.xlabel('time');

    def rmsprop_2d(x1, x2, s1, s2):
        g1, g2, eps = 0.2 * x1, 4 * x2, 1e-6
        s1 = gamma * s1 + (1 - gamma) * g1 ** 2
        s2 = gamma * s2 + (1 - gamma) * g2 ** 2
        x1 -= eta / math.sqrt(s1 + eps) * g1
        x2 -= eta / math.sqrt(s2 + eps) * g2
        return x1, x2, s1, s2

    def f_2d(x1, x2):
        return 0.1 * x1 ** 2 + 2 * x2 ** 2

    eta, gamma = 0.4, 0.9
    trace = d2l.train_2d(rmsprop_2d)
    d2l.show_trace_2d(f_2d, trace)

    def init_rmsprop_states(feature_dim):
        s_w = torch.zeros((feature_dim, 1))
        s_b = torch.zeros(1)
        return (s_w, s_b)

    def rmsprop(params, states, hyperparams):
        gamma, eps = hyperparams['gamma'], 1e-6
        for p, s in zip(params, states):
            with torch.no_grad():
                s[:] = gamma * s + (1 - gamma) * torch.square(p.grad)
                p[:] -= hyperparams['lr'] * p.grad / torch.sqrt(s + eps)
            p.grad = None  # differs: `p.grad.data.zero_()`: p.grad is a numpy array here

    data_iter, feature_dim = d2l.get_data_ch11(batch_size=10)
    d2l.train_ch11(rmsprop, init_rmsprop_states(feature_dim),
                   {'lr': 0.01, 'gamma': 0.9}, data_iter, feature_dim);

    trainer = torch.optim.RMSprop
    d2l.train_concise_ch11(trainer, {'lr': 0.01, 'alpha': 0.9},
                           data_iter)
    trained = list(d2l.trained)
    return types.SimpleNamespace(**locals())


# ---- 3g. chapter_optimization/adadelta.md -----------------------------------------------------------------------

def d2l_adadelta():
    import microgradseq as torch                  # differs: `import torch`
    torch.manual_seed(0)                          # differs: seeded, so the run repeats
    del d2l.trained[:]

    def init_adadelta_states(feature_dim):
        s_w, s_b = torch.zeros((feature_dim, 1)), torch.zeros(1)
        delta_w, delta_b = torch.zeros((feature_dim, 1)), torch.zeros(1)
        return ((s_w, delta_w), (s_b, delta_b))

    def adadelta(params, states, hyperparams):
        rho, eps = hyperparams['rho'], 1e-5
        for p, (s, delta) in zip(params, states):
            with torch.no_grad():
                # In-place updates via [:]
                s[:] = rho * s + (1 - rho) * torch.square(p.grad)
                g = (torch.sqrt(delta + eps) / torch.sqrt(s + eps)) * p.grad
                p[:] -= g
                delta[:] = rho * delta + (1 - rho) * g * g
            p.grad = None  # differs: `p.grad.data.zero_()`: p.grad is a numpy array here

    data_iter, feature_dim = d2l.get_data_ch11(batch_size=10)
    d2l.train_ch11(adadelta, init_adadelta_states(feature_dim),
                   {'rho': 0.9}, data_iter, feature_dim);

    trainer = torch.optim.Adadelta
    d2l.train_concise_ch11(trainer, {'rho': 0.9}, data_iter)
    trained = list(d2l.trained)
    return types.SimpleNamespace(**locals())


# ---- 3h. chapter_optimization/adam.md: Adam and Yogi ---------------------------------------------------------

def d2l_adam(with_yogi):
    import microgradseq as torch                  # differs: `import torch`
    torch.manual_seed(0)                          # differs: seeded, so the run repeats
    del d2l.trained[:]

    def init_adam_states(feature_dim):
        v_w, v_b = torch.zeros((feature_dim, 1)), torch.zeros(1)
        s_w, s_b = torch.zeros((feature_dim, 1)), torch.zeros(1)
        return ((v_w, s_w), (v_b, s_b))

    def adam(params, states, hyperparams):
        beta1, beta2, eps = 0.9, 0.999, 1e-6
        for p, (v, s) in zip(params, states):
            with torch.no_grad():
                v[:] = beta1 * v + (1 - beta1) * p.grad
                s[:] = beta2 * s + (1 - beta2) * torch.square(p.grad)
                v_bias_corr = v / (1 - beta1 ** hyperparams['t'])
                s_bias_corr = s / (1 - beta2 ** hyperparams['t'])
                p[:] -= hyperparams['lr'] * v_bias_corr / (torch.sqrt(s_bias_corr)
                                                           + eps)
            p.grad = None  # differs: `p.grad.data.zero_()`: p.grad is a numpy array here
        hyperparams['t'] += 1

    data_iter, feature_dim = d2l.get_data_ch11(batch_size=10)
    adam_hyperparams = {'lr': 0.01, 't': 1}       # (named for the tests: the dict the cell passes)
    d2l.train_ch11(adam, init_adam_states(feature_dim),
                   adam_hyperparams, data_iter, feature_dim);

    trainer = torch.optim.Adam
    d2l.train_concise_ch11(trainer, {'lr': 0.01}, data_iter)

    # ## Yogi   (run when `with_yogi` is true: torch.sign, G7)
    if with_yogi:
        def yogi(params, states, hyperparams):
            beta1, beta2, eps = 0.9, 0.999, 1e-3
            for p, (v, s) in zip(params, states):
                with torch.no_grad():
                    v[:] = beta1 * v + (1 - beta1) * p.grad
                    s[:] = s + (1 - beta2) * torch.sign(
                        torch.square(p.grad) - s) * torch.square(p.grad)
                    v_bias_corr = v / (1 - beta1 ** hyperparams['t'])
                    s_bias_corr = s / (1 - beta2 ** hyperparams['t'])
                    p[:] -= hyperparams['lr'] * v_bias_corr / (torch.sqrt(s_bias_corr)
                                                               + eps)
                p.grad = None  # differs: `p.grad.data.zero_()`: p.grad is a numpy array here
            hyperparams['t'] += 1

        data_iter, feature_dim = d2l.get_data_ch11(batch_size=10)
        d2l.train_ch11(yogi, init_adam_states(feature_dim),
                       {'lr': 0.01, 't': 1}, data_iter, feature_dim);
    trained = list(d2l.trained)
    return types.SimpleNamespace(**locals())


# ---- 3i. chapter_optimization/lr-scheduler.md: learning-rate scheduling ----------------------------------------

def d2l_lr_scheduler(num_epochs):
    import math
    import microgradseq as torch                  # differs: `import torch`, `from torch import nn`,
    from microgradseq import nn                   #   `from torch.optim import lr_scheduler`
    from microgradseq.optim import lr_scheduler
    torch.manual_seed(0)                          # differs: seeded, so the run repeats
    runs = []                                     # (each run's net, trainer and what it printed: for the tests)

    def net_fn():
        model = nn.Sequential(  # differs: LeNet's convolutions and pooling (no convolutions here): its dense
            nn.Flatten(),       #   layers on the flattened 28 x 28 image
            nn.Linear(28 * 28, 120), nn.ReLU(),
            nn.Linear(120, 84), nn.ReLU(),
            nn.Linear(84, 10))
        return model

    loss = nn.CrossEntropyLoss()
    device = d2l.try_gpu()

    batch_size = 256
    train_iter, test_iter = d2l.load_data_fashion_mnist(batch_size=batch_size)

    # The code is almost identical to `d2l.train_ch6` defined in the
    # lenet section of chapter convolutional neural networks
    def train(net, train_iter, test_iter, num_epochs, loss, trainer, device,
              scheduler=None):
        net.to(device)
        animator = d2l.Animator(xlabel='epoch', xlim=[0, num_epochs],
                                legend=['train loss', 'train acc', 'test acc'])

        for epoch in range(num_epochs):
            metric = d2l.Accumulator(3)  # train_loss, train_acc, num_examples
            for i, (X, y) in enumerate(train_iter):
                net.train()
                trainer.zero_grad()
                X, y = X.to(device), y.to(device)
                y_hat = net(X)
                l = loss(y_hat, y)
                l.backward()
                trainer.step()
                with torch.no_grad():
                    metric.add(l * X.shape[0], d2l.accuracy(y_hat, y), X.shape[0])
                train_loss = metric[0] / metric[2]
                train_acc = metric[1] / metric[2]
                if (i + 1) % 50 == 0:
                    animator.add(epoch + i / len(train_iter),
                                 (train_loss, train_acc, None))

            test_acc = d2l.evaluate_accuracy_gpu(net, test_iter)
            animator.add(epoch+1, (None, None, test_acc))

            if scheduler:
                if scheduler.__module__ == lr_scheduler.__name__:
                    # Using PyTorch In-Built scheduler
                    scheduler.step()
                else:
                    # Using custom defined scheduler
                    for param_group in trainer.param_groups:
                        param_group['lr'] = scheduler(epoch)

        print(f'train loss {train_loss:.3f}, train acc {train_acc:.3f}, '
              f'test acc {test_acc:.3f}')
        runs.append(types.SimpleNamespace(net=net, trainer=trainer, train_loss=train_loss, train_acc=train_acc,
                                          test_acc=test_acc))     # (kept for the tests)

    lr, num_epochs = 0.3, num_epochs              # differs: the book's 30 epochs: `num_epochs` (fewer here)
    net = net_fn()
    trainer = torch.optim.SGD(net.parameters(), lr=lr)
    train(net, train_iter, test_iter, num_epochs, loss, trainer, device)

    lr = 0.1
    trainer.param_groups[0]["lr"] = lr
    print(f'learning rate is now {trainer.param_groups[0]["lr"]:.2f}')

    class SquareRootScheduler:
        def __init__(self, lr=0.1):
            self.lr = lr

        def __call__(self, num_update):
            return self.lr * pow(num_update + 1.0, -0.5)

    scheduler = SquareRootScheduler(lr=0.1)
    d2l.plot(torch.arange(num_epochs), [scheduler(t) for t in range(num_epochs)])
    square_root = [scheduler(t) for t in range(num_epochs)]      # (named for the tests)

    net = net_fn()
    trainer = torch.optim.SGD(net.parameters(), lr)
    train(net, train_iter, test_iter, num_epochs, loss, trainer, device,
          scheduler)

    class FactorScheduler:
        def __init__(self, factor=1, stop_factor_lr=1e-7, base_lr=0.1):
            self.factor = factor
            self.stop_factor_lr = stop_factor_lr
            self.base_lr = base_lr

        def __call__(self, num_update):
            self.base_lr = max(self.stop_factor_lr, self.base_lr * self.factor)
            return self.base_lr

    scheduler = FactorScheduler(factor=0.9, stop_factor_lr=1e-2, base_lr=2.0)
    d2l.plot(torch.arange(50), [scheduler(t) for t in range(50)])
    factor = d2l.plt.calls[-1][1][1]                             # (named for the tests: what was plotted)

    net = net_fn()
    trainer = torch.optim.SGD(net.parameters(), lr=0.5)
    scheduler = lr_scheduler.MultiStepLR(trainer, milestones=[15, 30], gamma=0.5)

    def get_lr(trainer, scheduler):
        lr = scheduler.get_last_lr()[0]
        trainer.step()
        scheduler.step()
        return lr

    d2l.plot(torch.arange(num_epochs), [get_lr(trainer, scheduler)
                                      for t in range(num_epochs)])
    multi_step = d2l.plt.calls[-1][1][1]                         # (named for the tests)

    train(net, train_iter, test_iter, num_epochs, loss, trainer, device,
          scheduler)
    multi_step_scheduler = scheduler

    class CosineScheduler:
        def __init__(self, max_update, base_lr=0.01, final_lr=0,
                   warmup_steps=0, warmup_begin_lr=0):
            self.base_lr_orig = base_lr
            self.max_update = max_update
            self.final_lr = final_lr
            self.warmup_steps = warmup_steps
            self.warmup_begin_lr = warmup_begin_lr
            self.max_steps = self.max_update - self.warmup_steps

        def get_warmup_lr(self, epoch):
            increase = (self.base_lr_orig - self.warmup_begin_lr) \
                           * float(epoch) / float(self.warmup_steps)
            return self.warmup_begin_lr + increase

        def __call__(self, epoch):
            if epoch < self.warmup_steps:
                return self.get_warmup_lr(epoch)
            if epoch <= self.max_update:
                self.base_lr = self.final_lr + (
                    self.base_lr_orig - self.final_lr) * (1 + math.cos(
                    math.pi * (epoch - self.warmup_steps) / self.max_steps)) / 2
            return self.base_lr

    scheduler = CosineScheduler(max_update=20, base_lr=0.3, final_lr=0.01)
    d2l.plot(torch.arange(num_epochs), [scheduler(t) for t in range(num_epochs)])
    cosine = d2l.plt.calls[-1][1][1]                             # (named for the tests)

    net = net_fn()
    trainer = torch.optim.SGD(net.parameters(), lr=0.3)
    train(net, train_iter, test_iter, num_epochs, loss, trainer, device,
          scheduler)

    scheduler = CosineScheduler(20, warmup_steps=5, base_lr=0.3, final_lr=0.01)
    d2l.plot(torch.arange(num_epochs), [scheduler(t) for t in range(num_epochs)])
    warmup = d2l.plt.calls[-1][1][1]                             # (named for the tests)

    net = net_fn()
    trainer = torch.optim.SGD(net.parameters(), lr=0.3)
    train(net, train_iter, test_iter, num_epochs, loss, trainer, device,
          scheduler)
    return types.SimpleNamespace(**locals())


# ---- the tests of part 2 (04_minibatch_training) -------------------------------------------------------------

def np_log_softmax(x):
    x = np.asarray(x, dtype=np.float64)
    shifted = x - x.max(-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))


def accuracy_of(model, x, y):
    with torch.no_grad():
        return float((np.asarray(model(x)).argmax(1) == np.asarray(y)).mean())


def test_04_log_softmax_three_ways_logsumexp_and_nll_are_numpys(tmp_path_factory):
    """The three log_softmax cells (log of the normalised exp; x - log sum exp; x - x.logsumexp) and the
    hand-written logsumexp with the max trick are the float64 numpy log-softmax of the model's outputs;
    sm_pred[[0,1,2], y[:3]] picks each row's target; nll is -mean of the picked log-probabilities, equal to
    F.nll_loss(F.log_softmax(...)) and F.cross_entropy, as the notebook's test_close cells checked."""
    nb = run_once("fastai_04", fastai_04_minibatch_training, tmp_path_factory)
    pred = nb.pred.numpy().astype(np.float64)
    exact = np_log_softmax(pred)
    y = nb.y_train.numpy()
    assert nb.pred.shape == (1000, 10) and np.allclose(nb.first_log_softmax.numpy(), exact, atol=1e-5)
    assert np.allclose(nb.sm_pred.numpy(), exact, atol=1e-5)
    lse = np.log(np.exp(pred - pred.max(-1, keepdims=True)).sum(-1)) + pred.max(-1)
    assert np.allclose(nb.logsumexp(nb.pred).numpy(), lse, atol=1e-5)
    assert np.allclose(nb.picked.numpy(), exact[[0, 1, 2], y[:3]], atol=1e-5)
    nll = -exact[np.arange(1000), y].mean()
    assert nb.nll_loss.item() == pytest.approx(nll, abs=1e-5)
    assert abs(nll - math.log(10)) < 0.3                    # an untrained model: about ln 10
    assert nb.first_accuracy.item() == pytest.approx((pred[:50].argmax(1) == y[:50]).mean(), abs=1e-7)


def test_04_training_loops_learn_the_task(tmp_path_factory):
    """Each way of training (the loop over model.layers, parameters(), the hand-written Optimizer, optim.SGD,
    the hand-written Dataset, DataLoader and samplers, PyTorch's loaders) takes the loss from about ln 10 to
    well below it: the report lines' first loss is within 0.3 of ln 10, the models reach 85% accuracy on the
    200 held-out rows, and the last fit's validation loss and accuracy printed per epoch improve."""
    nb = run_once("fastai_04", fastai_04_minibatch_training, tmp_path_factory)
    lines = nb.printed.splitlines()
    first_loss, first_acc = map(float, lines[0].split(", "))
    assert abs(first_loss - math.log(10)) < 0.3 and first_acc < 0.4
    for model in (nb.basic_model, nb.hand_optimizer_model, nb.hand_loader_model, nb.model):
        assert accuracy_of(model, nb.x_valid, nb.y_valid) > 0.85
    epochs = [line.split() for line in lines[-5:]]
    assert [int(e[0]) for e in epochs] == [0, 1, 2, 3, 4]
    assert float(epochs[-1][1]) < float(epochs[0][1]) and float(epochs[-1][1]) < 0.6
    assert float(epochs[-1][2]) > 0.85 and (nb.loss, nb.acc) == (float(epochs[-1][1]), float(epochs[-1][2]))


def test_04_modules_print_and_register_as_the_notebook_shows(tmp_path_factory):
    """The cell outputs the notebook shows (PyTorch's text): a Module with one child, the MLP, the model
    whose layers are registered with add_module, the ModuleList one and the Sequential; named_children's
    lines; MyModule's own __setattr__ registry; its parameters' shapes (tuples here, PyTorch's torch.Size)."""
    nb = run_once("fastai_04", fastai_04_minibatch_training, tmp_path_factory)
    assert nb.m1_repr == "Module(\n  (foo): Linear(in_features=3, out_features=4, bias=True)\n)"
    assert [name for name, _ in nb.m1_children] == ["foo"] and nb.m1_children[0][1] is nb.m1.foo
    assert nb.mlp_repr == ("MLP(\n  (l1): Linear(in_features=784, out_features=50, bias=True)\n"
                           "  (l2): Linear(in_features=50, out_features=10, bias=True)\n  (relu): ReLU()\n)")
    assert nb.registered_repr == ("Model(\n  (layer_0): Linear(in_features=784, out_features=50, bias=True)\n"
                                  "  (layer_1): ReLU()\n  (layer_2): Linear(in_features=50, out_features=10, bias=True)\n)")
    assert nb.module_list_repr == ("SequentialModel(\n  (layers): ModuleList(\n"
                                   "    (0): Linear(in_features=784, out_features=50, bias=True)\n    (1): ReLU()\n"
                                   "    (2): Linear(in_features=50, out_features=10, bias=True)\n  )\n)")
    assert nb.sequential_repr == ("Sequential(\n  (0): Linear(in_features=784, out_features=50, bias=True)\n"
                                  "  (1): ReLU()\n  (2): Linear(in_features=50, out_features=10, bias=True)\n)")
    assert nb.mdl_repr == ("{'l1': Linear(in_features=784, out_features=50, bias=True), "
                           "'l2': Linear(in_features=50, out_features=10, bias=True)}")
    lines = nb.printed.splitlines()
    start = lines.index("l1: Linear(in_features=784, out_features=50, bias=True)")
    assert lines[start:start + 7] == ["l1: Linear(in_features=784, out_features=50, bias=True)",
                                      "l2: Linear(in_features=50, out_features=10, bias=True)", "relu: ReLU()",
                                      "(50, 784)", "(50,)", "(10, 50)", "(10,)"]
    assert len(list(nb.mdl.parameters())) == 4 and [p.shape for p in nb.model.parameters()] == [
        (50, 784), (50,), (10, 50), (10,)]


def test_04_hand_written_optimizer_steps_by_the_formula(tmp_path_factory):
    """The notebook's Optimizer: step() is p - lr * grad for each parameter (numpy), zero_grad() leaves no
    gradient (PyTorch: zeros), and a step with a leaf of its own keeps it a leaf that requires grad."""
    nb = run_once("fastai_04", fastai_04_minibatch_training, tmp_path_factory)
    rng = np.random.default_rng(0)
    w, x = rng.normal(size=(3, 2)), rng.normal(size=(4, 3))
    p = torch.tensor(w, requires_grad=True)
    opt = nb.Optimizer([p], lr=0.25)
    (torch.tensor(x) @ p).pow(2).sum().backward()
    grad = 2 * x.T @ (x @ w)
    assert np.allclose(p.grad, grad)
    opt.step()
    assert np.allclose(p.numpy(), w - 0.25 * grad) and p.is_leaf and p.requires_grad
    opt.zero_grad()
    assert p.grad is None


def test_04_samplers_batches_and_collation(tmp_path_factory):
    """The hand-written Sampler gives range(n), shuffled when asked (a permutation: distinct indices); the
    hand-written BatchSampler cuts it into lists of bs (drop_last drops a short last one); collate stacks
    the items into (bs, 784) and (bs,) tensors, the valid set's rows in order; the Dataset indexed with a
    list gives those rows."""
    nb = run_once("fastai_04", fastai_04_minibatch_training, tmp_path_factory)
    lines = nb.printed.splitlines()
    start = lines.index("0")
    assert lines[start:start + 5] == ["0", "1", "2", "3", "4"]
    assert len(set(nb.shuffled_five)) == 5 and all(0 <= i < 1000 for i in nb.shuffled_five)
    assert [len(b) for b in nb.five_batches] == [4] * 5 and len({i for b in nb.five_batches for i in b}) == 20
    assert list(nb.HandBatchSampler(range(10), 4)) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert list(nb.HandBatchSampler(range(10), 4, drop_last=True)) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    xb, yb = nb.hand_collated
    assert xb.shape == (50, 784) and yb.shape == (50,) and yb.dtype == np.int64
    assert np.array_equal(xb.numpy(), nb.x_valid.numpy()[:50]) and np.array_equal(yb.numpy(), nb.y_valid.numpy()[:50])
    x, y = nb.listed
    assert np.array_equal(x.numpy(), nb.x_train.numpy()[[3, 6, 8, 1]]) and y.tolist() == nb.y_train.numpy()[[3, 6, 8, 1]].tolist()
    assert nb.plots[0][0] == "imshow" and nb.plots[0][1][0].shape == (28, 28)


def test_04_pytorch_loaders_with_batch_samplers_and_collate(tmp_path_factory):
    """G4 as the notebook uses it: DataLoader(ds, batch_sampler=BatchSampler(...), collate_fn=collate) gives
    the batch sampler's batches through collate (the valid loader: rows 0-49, 50-99, ... in order; 20 and 4
    batches); DataLoader(ds, sampler=BatchSampler(...)) hands each list of 50 indices to the dataset and
    stacks the one item of each batch: (1, 50, 784) and (1, 50), as the notebook's output shows."""
    nb = run_once("fastai_04", fastai_04_minibatch_training, tmp_path_factory)
    train_dl, valid_dl = nb.batch_sampler_loader
    assert len(train_dl) == 20 and len(valid_dl) == 4 and train_dl.batch_size is None
    batches = list(valid_dl)
    assert [tuple(xb.shape) for xb, _ in batches] == [(50, 784)] * 4 and isinstance(batches[0], tuple)
    assert np.array_equal(np.concatenate([xb.numpy() for xb, _ in batches]), nb.x_valid.numpy())
    seen = np.concatenate([yb.numpy() for _, yb in train_dl])
    assert sorted(seen.tolist()) == sorted(nb.y_train.tolist())           # each row once, shuffled
    assert nb.sampled_batch_shapes == ((1, 50, 784), (1, 50))


# ---- the tests of part 3 (d2l's optimization chapter) ------------------------------------------------------------

def same_trace(got, expected, rtol=0.0, atol=0.0):
    """Two lists of (x1, x2) points (or of numbers) agree entry by entry, within rtol and atol."""
    got, expected = np.array(got, dtype=np.float64), np.array(expected, dtype=np.float64)
    return got.shape == expected.shape and np.allclose(got, expected, rtol=rtol, atol=atol)


def test_d2l_gd_one_dimension_and_the_2d_trace_are_closed_forms(tmp_path_factory):
    """x_t = 10 (1 - 2 eta)^t for f = x^2: 10 * 0.6^10, 10 * 0.9^10 and 10 * (-1.2)^10 (the diverging one),
    as printed; the nonconvex f = x cos(cx) by the float64 recursion x - eta f'(x); the 2-d trace of
    x1^2 + 2 x2^2 with eta 0.1 is (-5 * 0.8^t, -2 * 0.6^t); show_trace plots f over arange(-n, n, 0.01);
    show_trace_2d's contour is f on the 'ij' meshgrid of the two aranges (65 x 40). (The line's values are
    G8's test below.)"""
    nb = run_once("d2l_gd", d2l_gd, tmp_path_factory, False)
    for eta, results in ((0.2, nb.results), (0.05, nb.small), (1.1, nb.large)):
        assert results == pytest.approx([10 * (1 - 2 * eta) ** t for t in range(11)], rel=1e-12)
    assert nb.printed.splitlines()[:3] == [f"epoch 10, x: {10 * (1 - 2 * eta) ** 10:f}" for eta in (0.2, 0.05, 1.1)]
    c, x, expected = np.float32(0.15 * np.pi), 10.0, [10.0]
    for _ in range(10):
        x = x - 2 * (np.cos(c * x) - c * x * np.sin(c * x))
        expected.append(x)
    assert nb.nonconvex == pytest.approx(expected, rel=1e-4, abs=1e-4)
    assert same_trace(nb.trace, [(-5 * 0.8 ** t, -2 * 0.6 ** t) for t in range(21)], rtol=1e-12)
    line, values = nb.plots[0][1][0], nb.plots[0][1][1]
    assert line.shape == (2000,) and np.allclose(values, line ** 2, rtol=1e-5)
    contour = next(args for name, args, _ in nb.plots if name == "contour")
    g1, g2 = np.meshgrid(np.arange(-5.5, 1.0, 0.1), np.arange(-3.0, 1.0, 0.1), indexing="ij")
    assert contour[0].shape == (65, 40) and np.allclose(contour[0], g1, atol=1e-5)
    assert np.allclose(contour[2], g1 ** 2 + 2 * g2 ** 2, atol=1e-4)


def test_d2l_show_trace_plots_f_over_the_aranges_values(tmp_path_factory):
    """show_trace's line is torch.arange(-n, n, 0.01) for n = 10: -10, -9.99, ..., 9.99, each value the float32
    nearest start + i * step (G8), within float32 rounding (1e-6) of numpy's float64 arange."""
    nb = run_once("d2l_gd", d2l_gd, tmp_path_factory, False)
    line = nb.plots[0][1][0]
    assert np.allclose(line, np.arange(-10, 10, 0.01), rtol=0, atol=2e-6)


def test_d2l_newtons_method_steps_by_f_grad_over_f_hess(tmp_path_factory):
    """Newton on cosh(cx): x - eta f'/f'' = x - tanh(cx)/c (float64), to 0 within 10 steps from 10; on
    x cos(cx) the recursion with f'' = -2c sin(cx) - x c^2 cos(cx), for eta 1 and 0.5."""
    nb = run_once("d2l_gd_newton", d2l_gd, tmp_path_factory, True)
    x, expected = 10.0, [10.0]
    for _ in range(10):
        x = x - math.tanh(0.5 * x) / 0.5
        expected.append(x)
    assert nb.newton_convex == pytest.approx(expected, rel=1e-5, abs=1e-6) and abs(expected[-1]) < 1e-6
    c = float(np.float32(0.15 * np.pi))
    for eta, got in ((1, nb.newton_nonconvex), (0.5, nb.newton_halved)):
        x, expected = 10.0, [10.0]
        for _ in range(10):
            grad = math.cos(c * x) - c * x * math.sin(c * x)
            hess = -2 * c * math.sin(c * x) - x * c ** 2 * math.cos(c * x)
            x = x - eta * grad / hess
            expected.append(x)
        assert got == pytest.approx(expected, rel=1e-3, abs=1e-3)


def test_d2l_sgd_noisy_trajectories_replayed(tmp_path_factory):
    """The noisy 2-d SGD with constant, exponential and polynomial learning rates, replayed in float64 from
    the same normal draws (the library's generator reseeded as the section seeds it: the draws are data
    here, the update is d2l's formula): x - eta * lr() * (grad + noise). The exponential schedule stops
    moving (sum of e^(-0.1 t) is finite) and its global counter t reaches 1001."""
    nb = run_once("d2l_sgd", d2l_sgd, tmp_path_factory)
    torch.manual_seed(0)
    noise = lambda: torch.normal(0.0, 1, (1,)).item()

    def replay(steps, rate):
        x1, x2, out = -5.0, -2.0, [(-5, -2)]
        for k in range(steps):
            g1, g2 = 2 * x1 + noise(), 4 * x2 + noise()
            eta_t = 0.1 * rate(k)
            x1, x2 = x1 - eta_t * g1, x2 - eta_t * g2
            out.append((x1, x2))
        return out

    assert same_trace(nb.constant, replay(50, lambda k: 1), rtol=1e-12)
    exponential = replay(1000, lambda k: math.exp(-0.1 * (k + 2)))
    assert same_trace(nb.exponential, exponential, rtol=1e-12) and nb.exponential_t == 1001
    assert same_trace(exponential[-1:], exponential[100:101], atol=1e-3)
    assert same_trace(nb.polynomial, replay(50, lambda k: (1 + 0.1 * (k + 2)) ** -0.5), rtol=1e-12)


def linear_loss(w, b, n=1500):
    """squared_loss / 2 of a linear model on the first n standardized rows, float64 numpy."""
    data = airfoil_like().astype(np.float64)
    data = (data - data.mean(axis=0)) / data.std(axis=0)
    pred = data[:n, :-1] @ np.asarray(w, dtype=np.float64).reshape(-1) + float(np.asarray(b).reshape(-1)[0])
    return float(((pred - data[:n, -1]) ** 2).mean() / 2)


def test_d2l_minibatch_sgd_reaches_the_least_squares_floor(tmp_path_factory):
    """get_data_ch11 reads the (made-up) tab-separated file and standardizes it: 5 features. Full-batch GD
    (lr 1, 10 epochs), SGD (batch 1), and minibatches of 100 and 10 each end within 0.02 of the least-squares
    floor (numpy float64) and never below it; the concise torch.optim.SGD too. The loss curves start above
    the floor + 0.1 where the first evaluation comes early (batch 1 and 10)."""
    nb = run_once("d2l_minibatch_sgd", d2l_minibatch_sgd, tmp_path_factory)
    floor = airfoil_floor()
    assert len(nb.trained) == 5
    for (w, b) in nb.trained[:4]:
        assert w.shape == (5, 1) and b.shape == (1,)
        assert floor - 1e-6 <= linear_loss(w, b) <= floor + 0.02
    for _, losses in (nb.sgd_res, nb.mini2_res):
        assert losses[0] > floor and losses[-1] < floor + 0.02
    net, optimizer, losses = nb.trained[4]
    assert type(optimizer) is torch.optim.SGD and floor - 1e-6 <= linear_loss(net[0].weight.numpy().T, net[0].bias.numpy()) <= floor + 0.02
    printed = [line for line in nb.printed.splitlines() if line.startswith("loss: ")]
    assert len(printed) == 5 and all(abs(float(line.split()[1].rstrip(",")) - floor) < 0.02 for line in printed)


def momentum_closed_form(eta, beta, lam, x0, steps):
    """The momentum recursion of one coordinate of 0.5 lam x^2 as the book's theory writes it:
    [v, x]_(t+1) = [[beta, lam], [-eta beta, 1 - eta lam]] [v, x]_t, by matrix powers (numpy float64)."""
    R = np.array([[beta, lam], [-eta * beta, 1 - eta * lam]])
    return [(np.linalg.matrix_power(R, t) @ np.array([0.0, x0]))[1] for t in range(steps + 1)]


def test_d2l_momentum_traces_are_the_closed_forms(tmp_path_factory):
    """On 0.1 x1^2 + 2 x2^2: GD's coordinates shrink by (1 - 0.2 eta) and (1 - 4 eta) a step (eta 0.6
    diverges in x2: -2 * (-1.4)^20, as printed); momentum's trace is the 2x2 recursion by matrix powers;
    the effective-weights plots are beta^t and (1 - eta lambda)^t."""
    nb = run_once("d2l_momentum", d2l_momentum, tmp_path_factory)
    for eta, trace in ((0.4, nb.gd_04), (0.6, nb.gd_06)):
        assert same_trace(trace, [(-5 * (1 - 0.2 * eta) ** t, -2 * (1 - 4 * eta) ** t) for t in range(21)],
                          rtol=1e-10)
    assert nb.gd_06[-1][1] == pytest.approx(-2 * 1.4 ** 20) and "x2: -1673.365109" in nb.printed
    for beta, trace in ((0.5, nb.momentum_05), (0.25, nb.momentum_025)):
        x1 = momentum_closed_form(0.6, beta, 0.2, -5.0, 20)
        x2 = momentum_closed_form(0.6, beta, 4.0, -2.0, 20)
        assert [p[0] for p in trace] == pytest.approx(x1, rel=1e-9, abs=1e-12)
        assert [p[1] for p in trace] == pytest.approx(x2, rel=1e-9, abs=1e-12)
    curves = [args for name, args, _ in nb.plots if name == "plot" and len(args) == 2]
    assert np.allclose(curves[0][1], 0.95 ** np.arange(40)) and np.allclose(curves[3][1], 0.0 ** np.arange(40))
    assert np.allclose(curves[-1][1], (1 - 0.1 * 19) ** np.arange(20))


def test_d2l_momentum_from_scratch_is_the_heavy_ball_update(tmp_path_factory):
    """sgd_momentum: v = momentum * v + g, p = p - lr * v, written into the state and the parameter with
    `[:]` (numpy float64 over three steps of made-up gradients); the training runs and the concise
    torch.optim.SGD(momentum=0.9) end within 0.02 of the least-squares floor."""
    nb = run_once("d2l_momentum", d2l_momentum, tmp_path_factory)
    rng = np.random.default_rng(1)
    w, grads = rng.normal(size=(3, 1)), rng.normal(size=(3, 3, 1))
    p, states = torch.tensor(w, requires_grad=True), nb.init_momentum_states(3)
    states = (states[0].double(),)
    v, expected = np.zeros((3, 1)), w.copy()
    for g in grads:
        p.grad = g
        nb.sgd_momentum([p], states, {'lr': 0.1, 'momentum': 0.9})
        v = 0.9 * v + g
        expected = expected - 0.1 * v
        assert np.allclose(p.numpy(), expected, rtol=1e-12) and np.allclose(states[0].numpy(), v, rtol=1e-12)
        assert p.grad is None and p.is_leaf
    floor = airfoil_floor()
    for (w, b) in nb.trained[:3]:
        assert floor - 1e-6 <= linear_loss(w, b) <= floor + 0.02
    net, optimizer, _ = nb.trained[3]
    assert optimizer.param_groups[0]["momentum"] == 0.9
    assert floor - 1e-6 <= linear_loss(net[0].weight.numpy().T, net[0].bias.numpy()) <= floor + 0.02


def test_d2l_adagrad_and_rmsprop_traces_and_updates(tmp_path_factory):
    """Adagrad's and RMSProp's 2-d traces replayed in numpy float64 (s accumulates g^2, or its leaky
    average with gamma 0.9; x -= eta g / sqrt(s + 1e-6)); the from-scratch updates on made-up gradients
    against the same formulas; every training run within 0.02 of the least-squares floor."""
    ada = run_once("d2l_adagrad", d2l_adagrad, tmp_path_factory)
    rms = run_once("d2l_rmsprop", d2l_rmsprop, tmp_path_factory)

    def replay(eta, average):
        x, s, out = np.array([-5.0, -2.0]), np.zeros(2), [(-5, -2)]
        for _ in range(20):
            g = np.array([0.2, 4.0]) * x
            s = average(s, g)
            x = x - eta / np.sqrt(s + 1e-6) * g
            out.append(tuple(x))
        return out

    assert same_trace(ada.trace_04, replay(0.4, lambda s, g: s + g * g), rtol=1e-9, atol=1e-12)
    assert same_trace(ada.trace_2, replay(2, lambda s, g: s + g * g), rtol=1e-9, atol=1e-12)
    assert same_trace(rms.trace, replay(0.4, lambda s, g: 0.9 * s + 0.1 * g * g), rtol=1e-9, atol=1e-12)
    rng = np.random.default_rng(2)
    w, grads = rng.normal(size=(4, 1)), rng.normal(size=(3, 4, 1))
    for nb, function, hyper, average in ((ada, "adagrad", {'lr': 0.1}, lambda s, g: s + g * g),
                                         (rms, "rmsprop", {'lr': 0.01, 'gamma': 0.9},
                                          lambda s, g: 0.9 * s + 0.1 * g * g)):
        p, state = torch.tensor(w, requires_grad=True), torch.zeros((4, 1), dtype=torch.float64)
        s, expected = np.zeros((4, 1)), w.copy()
        for g in grads:
            p.grad = g
            getattr(nb, function)([p], [state], hyper)
            s = average(s, g)
            expected = expected - hyper['lr'] * g / np.sqrt(s + 1e-6)
            assert np.allclose(p.numpy(), expected, rtol=1e-12) and np.allclose(state.numpy(), s, rtol=1e-12)
    floor = airfoil_floor()
    for nb in (ada, rms):
        (w, b), (net, optimizer, _) = nb.trained
        assert floor - 1e-6 <= linear_loss(w, b) <= floor + 0.02
        assert floor - 1e-6 <= linear_loss(net[0].weight.numpy().T, net[0].bias.numpy()) <= floor + 0.02
    assert type(rms.trained[1][1]) is torch.optim.RMSprop and rms.trained[1][1].param_groups[0]["alpha"] == 0.9


def test_d2l_adadelta_from_scratch_and_concise(tmp_path_factory):
    """d2l's adadelta (eps 1e-5, no learning rate) on made-up gradients against Zeiler's update in numpy:
    s = rho s + (1 - rho) g^2, g' = sqrt(delta + eps) / sqrt(s + eps) g, p -= g', delta = rho delta +
    (1 - rho) g'^2; the run and the concise torch.optim.Adadelta(rho=0.9) (G5) both near the floor."""
    nb = run_once("d2l_adadelta", d2l_adadelta, tmp_path_factory)
    rng = np.random.default_rng(3)
    w, grads = rng.normal(size=(4, 1)), rng.normal(size=(4, 4, 1))
    p = torch.tensor(w, requires_grad=True)
    s_t, delta_t = torch.zeros((4, 1), dtype=torch.float64), torch.zeros((4, 1), dtype=torch.float64)
    s, delta, expected = np.zeros((4, 1)), np.zeros((4, 1)), w.copy()
    for g in grads:
        p.grad = g
        nb.adadelta([p], [(s_t, delta_t)], {'rho': 0.9})
        s = 0.9 * s + 0.1 * g * g
        step = np.sqrt(delta + 1e-5) / np.sqrt(s + 1e-5) * g
        expected, delta = expected - step, 0.9 * delta + 0.1 * step * step
        assert np.allclose(p.numpy(), expected, rtol=1e-12) and np.allclose(delta_t.numpy(), delta, rtol=1e-12)
    floor = airfoil_floor()
    (w, b), (net, optimizer, _) = nb.trained
    assert floor - 1e-6 <= linear_loss(w, b) <= floor + 0.02
    assert type(optimizer) is torch.optim.Adadelta and optimizer.param_groups[0]["rho"] == 0.9
    assert floor - 1e-6 <= linear_loss(net[0].weight.numpy().T, net[0].bias.numpy()) <= floor + 0.02


def test_d2l_adam_from_scratch_counts_its_steps_and_reaches_the_floor(tmp_path_factory):
    """d2l's adam on made-up gradients against Kingma and Ba's update with bias corrections (numpy; eps 1e-6
    outside the root), its hyperparams['t'] counting the steps (1 + 300 after two epochs of 150 batches);
    the run and the concise torch.optim.Adam near the floor."""
    nb = run_once("d2l_adam", d2l_adam, tmp_path_factory, False)
    rng = np.random.default_rng(4)
    w, grads = rng.normal(size=(2, 1)), rng.normal(size=(3, 2, 1))
    p, hyper = torch.tensor(w, requires_grad=True), {'lr': 0.01, 't': 1}
    v_t, s_t = torch.zeros((2, 1), dtype=torch.float64), torch.zeros((2, 1), dtype=torch.float64)
    v, s, expected = np.zeros((2, 1)), np.zeros((2, 1)), w.copy()
    for t, g in enumerate(grads, start=1):
        p.grad = g
        nb.adam([p], [(v_t, s_t)], hyper)
        v, s = 0.9 * v + 0.1 * g, 0.999 * s + 0.001 * g * g
        expected = expected - 0.01 * (v / (1 - 0.9 ** t)) / (np.sqrt(s / (1 - 0.999 ** t)) + 1e-6)
        assert np.allclose(p.numpy(), expected, rtol=1e-12) and hyper['t'] == t + 1
    assert nb.adam_hyperparams['t'] == 1 + 2 * 150
    floor = airfoil_floor()
    (w, b), (net, optimizer, _) = nb.trained
    assert floor - 1e-6 <= linear_loss(w, b) <= floor + 0.02
    assert type(optimizer) is torch.optim.Adam
    assert floor - 1e-6 <= linear_loss(net[0].weight.numpy().T, net[0].bias.numpy()) <= floor + 0.02


def test_d2l_yogi_moves_its_second_moment_by_the_sign(tmp_path_factory):
    """Yogi: s = s + (1 - beta2) sign(g^2 - s) g^2 (numpy), the rest as Adam's with eps 1e-3; its run near
    the floor too."""
    nb = run_once("d2l_adam_yogi", d2l_adam, tmp_path_factory, True)
    rng = np.random.default_rng(5)
    w, grads = rng.normal(size=(2, 1)), rng.normal(size=(3, 2, 1))
    p, hyper = torch.tensor(w, requires_grad=True), {'lr': 0.01, 't': 1}
    v_t, s_t = torch.zeros((2, 1), dtype=torch.float64), torch.zeros((2, 1), dtype=torch.float64)
    v, s, expected = np.zeros((2, 1)), np.zeros((2, 1)), w.copy()
    for t, g in enumerate(grads, start=1):
        p.grad = g
        nb.yogi([p], [(v_t, s_t)], hyper)
        v, s = 0.9 * v + 0.1 * g, s + 0.001 * np.sign(g * g - s) * g * g
        expected = expected - 0.01 * (v / (1 - 0.9 ** t)) / (np.sqrt(s / (1 - 0.999 ** t)) + 1e-3)
        assert np.allclose(p.numpy(), expected, rtol=1e-12) and np.allclose(s_t.numpy(), s, rtol=1e-12)
    w, b = nb.trained[-1]
    assert airfoil_floor() - 1e-6 <= linear_loss(w, b) <= airfoil_floor() + 0.02


def test_d2l_lr_schedules_are_their_formulas(tmp_path_factory):
    """The schedules the section plots: the square root 0.1 (t + 1)^(-1/2); the factor schedule
    max(0.01, 2 * 0.9^(t+1)); MultiStepLR(milestones=[15, 30], gamma=0.5) read by get_last_lr before each
    step, 0.5 then 0.25; the cosine 0.01 + 0.29 (1 + cos(pi t / 20)) / 2 up to t = 20, then 0.01; with 5
    warmup steps, 0.3 t / 5 first, then the cosine over the remaining 15. After training, each trainer's lr
    is what its schedule gave last (MultiStepLR stepped 60 times, past both milestones: 0.5 / 4)."""
    nb = run_once("d2l_lr", d2l_lr_scheduler, tmp_path_factory, 30)
    t = np.arange(30)
    assert nb.square_root == pytest.approx(0.1 * (t + 1.0) ** -0.5, rel=1e-12)
    assert np.allclose(nb.factor, np.maximum(0.01, 2.0 * 0.9 ** (np.arange(50) + 1)), rtol=1e-12)
    assert np.allclose(nb.multi_step, [0.5] * 15 + [0.25] * 15, rtol=0)
    cosine = np.where(t <= 20, 0.01 + 0.29 * (1 + np.cos(np.pi * np.minimum(t, 20) / 20)) / 2, 0.01)
    assert np.allclose(nb.cosine, cosine, rtol=1e-12)
    warm = np.where(t < 5, 0.3 * t / 5, np.where(t <= 20, 0.01 + 0.29 * (1 + np.cos(np.pi * (np.minimum(t, 20) - 5) / 15)) / 2, 0.01))
    assert np.allclose(nb.warmup, warm, rtol=1e-12)
    lrs = [run.trainer.param_groups[0]["lr"] for run in nb.runs]
    assert lrs == pytest.approx([0.1, 0.1 * 30 ** -0.5, 0.5 / 4, 0.01, 0.01], rel=1e-12)
    assert nb.multi_step_scheduler.last_epoch == 60 and "learning rate is now 0.10" in nb.printed


def test_d2l_lr_schedule_runs_learn(tmp_path_factory):
    """Every run trains the MLP: train loss below ln 10 and test accuracy above chance (0.1) by a margin;
    constant lr 0.3, MultiStepLR and the cosine schedules above 75% on the 500 test images."""
    nb = run_once("d2l_lr", d2l_lr_scheduler, tmp_path_factory, 30)
    assert len(nb.runs) == 5 and all(run.train_loss < math.log(10) and run.test_acc > 0.15 for run in nb.runs)
    assert all(nb.runs[k].test_acc > 0.75 for k in (0, 2, 3, 4))
    lines = [line for line in nb.printed.splitlines() if line.startswith("train loss")]
    assert [float(line.split()[-1]) for line in lines] == pytest.approx([run.test_acc for run in nb.runs], abs=5e-4)


def test_d2l_schedules_in_torch_optim_lr_scheduler_are_the_same_formulas():
    """What the section's hand-written schedules are in torch.optim.lr_scheduler (closed forms both): the
    cosine without warmup is CosineAnnealingLR(T_max=20, eta_min=0.01) for t <= 20; MultiStepLR([15, 30])
    and StepLR(step_size=15) agree up to epoch 30 (0.5 * 0.5^(t // 15)); the factor schedule with no floor
    is ExponentialLR(gamma=0.9) one step ahead."""
    from microgradseq.optim import lr_scheduler

    def lrs(make, base, steps):
        optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base)
        scheduler, out = make(optimizer), []
        for _ in range(steps):
            out.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            scheduler.step()
        return np.array(out)

    t = np.arange(21)
    assert np.allclose(lrs(lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=20, eta_min=0.01), 0.3, 21),
                       0.01 + 0.29 * (1 + np.cos(np.pi * t / 20)) / 2, rtol=1e-10)
    t = np.arange(30)
    step = 0.5 * 0.5 ** (t // 15)
    assert np.allclose(lrs(lambda o: lr_scheduler.StepLR(o, step_size=15, gamma=0.5), 0.5, 30), step, rtol=1e-12)
    assert np.allclose(lrs(lambda o: lr_scheduler.MultiStepLR(o, milestones=[15, 30], gamma=0.5), 0.5, 30), step,
                       rtol=1e-12)
    assert np.allclose(lrs(lambda o: lr_scheduler.ExponentialLR(o, gamma=0.9), 2.0, 20)[1:],
                       2.0 * 0.9 ** np.arange(1, 20), rtol=1e-10)


# ---- The gaps these notebooks met: PyTorch's behaviour ----------------------------------------------------------

def test_gap_G1_a_tensor_takes_attributes_of_its_own():
    """PyTorch: a tensor is a Python object that takes any attribute (`x.g = out.g @ w.t()`), kept on that
    tensor alone until deleted; a fresh tensor has none (AttributeError); a leaf, an op's result and a
    Parameter all take one; the attribute changes nothing the tensor computes."""
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.normal(size=(3, 2)), requires_grad=True)
    y = x * 2
    p = nn.Linear(2, 1).weight
    x.g, y.g, p.g = torch.ones(3, 2), "anything", 3
    assert np.array_equal(x.g.numpy(), np.ones((3, 2))) and y.g == "anything" and p.g == 3
    assert not hasattr(torch.zeros(1), "g") and not hasattr(x * 1, "g")
    y.sum().backward()
    assert np.array_equal(x.grad, np.full((3, 2), 2.0)) and np.array_equal(y.numpy(), 2 * x.numpy())
    del x.g
    with pytest.raises(AttributeError):
        x.g


def test_gap_G2_clamp_min_and_clamp_max():
    """PyTorch: t.clamp_min(m) is max(t, m) and t.clamp_max(M) min(t, M), entry by entry, in t's dtype; the
    gradient passes where the entry is inside the bound (1) and is 0 where the bound took its place."""
    x = np.array([-1.5, -0.2, 0.3, 2.0])
    t = torch.tensor(x, requires_grad=True)
    low, high = t.clamp_min(0.), t.clamp_max(1.)
    assert low.tolist() == np.maximum(x, 0).tolist() and high.tolist() == np.minimum(x, 1).tolist()
    (low.sum() + 2 * high.sum()).backward()
    assert t.grad.tolist() == [2.0, 2.0, 3.0, 1.0]
    assert torch.tensor([1, -3]).clamp_min(0).tolist() == [1, 0] and torch.tensor([1, -3]).clamp_min(0).dtype == np.int64
    assert torch.tensor([0.5], dtype=torch.float32).clamp_max(0.25).dtype == np.float32


EINSUM_CASES = [("bi,bj->ij", [(4, 3), (4, 2)]), ("ij,jk->ik", [(2, 3), (3, 4)]), ("ik, kj-> ij", [(2, 3), (3, 2)]),
                ("ij,jk", [(2, 3), (3, 4)]), ("ii->i", [(3, 3)]), ("ii", [(3, 3)]), ("ij->ji", [(2, 3)]),
                ("ij->", [(2, 3)]), ("i,i->", [(3,), (3,)]), ("i,j->ij", [(3,), (2,)]),
                ("bij,bjk->bik", [(2, 2, 3), (1, 3, 2)]), ("...ij,...jk->...ik", [(2, 2, 3), (3, 4)]),
                ("iij->j", [(2, 2, 3)]), ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]), ("ik,kj->ikj", [(2, 3), (3, 2)])]


def test_gap_G3_einsum_values_are_numpys_for_every_form():
    """PyTorch: torch.einsum(equation, *operands) sums products over the letters the output lacks:
    'bi,bj->ij' is x^T g (fast.ai's weight gradient), 'ik,kj->ij' a matmul (spaces ignored), 'ii->i' the
    diagonal, 'ii' the trace, no '->' the letters used once in alphabetical order, '...' broadcast axes,
    size-1 axes broadcast; the operands may come as one list. Values as numpy's einsum (float64)."""
    rng = np.random.default_rng(0)
    for equation, shapes in EINSUM_CASES:
        arrays = [rng.normal(size=shape) for shape in shapes]
        got = torch.einsum(equation, *[torch.tensor(a) for a in arrays])
        assert np.allclose(got.numpy(), np.einsum(equation.replace(" ", ""), *arrays), rtol=1e-12), equation
    a, b = rng.normal(size=(3, 4)), rng.normal(size=(4, 2))
    listed = torch.einsum("ij,jk->ik", [torch.tensor(a), torch.tensor(b)])
    assert np.allclose(listed.numpy(), a @ b) and torch.einsum("ij,jk", a, torch.tensor(b)).shape == (3, 2)
    x32 = torch.randn(5, 3)
    assert torch.einsum("bi,bj->ij", x32, x32).dtype == np.float32
    assert np.allclose(torch.einsum("bi,bj->ij", x32, x32).numpy(), x32.numpy().T @ x32.numpy(), atol=1e-5)


def test_gap_G3_einsum_gradients_match_central_differences():
    """Each operand's gradient (the einsum of g with the other operands, onto its own letters; a diagonal's
    on the diagonal, a letter summed away on its own repeated along it, a size-1 axis summed) against
    central differences of sum(einsum * R) in float64, for every form above; the JVP of each operand
    against directional differences (forward mode)."""
    rng = np.random.default_rng(1)
    for equation, shapes in EINSUM_CASES:
        arrays = [rng.normal(size=shape) for shape in shapes]
        plain = equation.replace(" ", "")
        weights = rng.normal(size=np.shape(np.einsum(plain, *arrays)))
        tensors = [torch.tensor(a, requires_grad=True) for a in arrays]
        (torch.einsum(equation, *tensors) * weights).sum().backward()
        for k, a in enumerate(arrays):
            numeric = np.zeros_like(a)
            for i in np.ndindex(a.shape):
                up, down = [x.copy() for x in arrays], [x.copy() for x in arrays]
                up[k][i] += 1e-6
                down[k][i] -= 1e-6
                numeric[i] = ((np.einsum(plain, *up) - np.einsum(plain, *down)) * weights).sum() / 2e-6
            assert tensors[k].grad.shape == a.shape and np.allclose(tensors[k].grad, numeric, atol=1e-6), (equation, k)
            v = rng.normal(size=a.shape)
            others = [torch.tensor(x) for x in arrays]
            _, tangent = torch.jvp(lambda t: torch.einsum(equation, *[t if j == k else others[j]
                                                                     for j in range(len(arrays))]),
                                   (torch.tensor(a),), (torch.tensor(v),))
            up, down = list(arrays), list(arrays)
            up[k], down[k] = a + 1e-6 * v, a - 1e-6 * v
            expected = (np.einsum(plain, *up) - np.einsum(plain, *down)) / 2e-6
            assert np.allclose(np.asarray(tangent), expected, atol=1e-6), (equation, k)


def test_gap_G3_einsum_errors_name_einsum():
    """Bad equations and shapes raise naming einsum, what it expected and what came (PyTorch: RuntimeError;
    here ValueError or TypeError, as the library's bad arguments do)."""
    a, b = torch.ones(2, 3), torch.ones(4, 5)
    with pytest.raises(ValueError, match=r"einsum: operands of shapes \(2, 3\), \(4, 5\) do not fit 'ij,jk->ik'"):
        torch.einsum("ij,jk->ik", a, b)
    with pytest.raises(ValueError, match=r"einsum: the equation 'ij,jk->ik' names 2 operand\(s\), got 1"):
        torch.einsum("ij,jk->ik", a)
    with pytest.raises(ValueError, match=r"einsum: subscript 'ijk' names 3 axes but its operand has shape \(2, 3\)"):
        torch.einsum("ijk->i", a)
    with pytest.raises(ValueError, match=r"einsum: subscripts are letters a-z and A-Z.*got '1'"):
        torch.einsum("i1->i", a)
    with pytest.raises(ValueError, match=r"einsum: output subscript 'k' of 'ij->k' names no input axis"):
        torch.einsum("ij->k", a)
    with pytest.raises(ValueError, match=r"einsum: output subscript 'i' of 'ij->ii' appears more than once"):
        torch.einsum("ij->ii", a)
    with pytest.raises(TypeError, match=r"einsum: expected an equation string"):
        torch.einsum(a, "ij")
    with pytest.raises(TypeError, match=r"einsum: expected an equation and at least one operand"):
        torch.einsum("ij")


def test_gap_G4_batch_sampler_and_the_loaders_batch_sampler_and_collate_fn():
    """PyTorch: BatchSampler(sampler, batch_size, drop_last) yields lists of batch_size indices (a shorter
    last one unless drop_last), len = ceil or floor of len(sampler) / batch_size; bad sizes raise
    ValueError with PyTorch's words. DataLoader(ds, batch_sampler=...) takes whole batches (batch_size is
    then None, len is the batch sampler's; batch_size, shuffle, sampler or drop_last with it is a ValueError);
    collate_fn gets the list of a batch's items and its result is the batch; a sampler that gives lists
    hands each list to the dataset as one index, collated as one item."""
    from microgradseq.utils.data import BatchSampler, DataLoader, RandomSampler, SequentialSampler, TensorDataset
    assert list(BatchSampler(SequentialSampler(range(7)), 3, drop_last=False)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(BatchSampler(range(7), 3, drop_last=True)) == [[0, 1, 2], [3, 4, 5]]
    assert len(BatchSampler(range(7), 3, False)) == 3 and len(BatchSampler(range(7), 3, True)) == 2
    drawn = list(BatchSampler(RandomSampler(range(10), generator=np.random.default_rng(0)), 4, False))
    assert sorted(i for b in drawn for i in b) == list(range(10)) and [len(b) for b in drawn] == [4, 4, 2]
    with pytest.raises(ValueError, match=r"BatchSampler: batch_size should be a positive integer value, but got batch_size=0"):
        BatchSampler(range(3), 0, False)
    with pytest.raises(ValueError, match=r"BatchSampler: drop_last should be a boolean value, but got drop_last=1"):
        BatchSampler(range(3), 2, 1)
    x, y = torch.arange(12.0).view(6, 2), torch.tensor([0, 1, 2, 3, 4, 5])
    ds = TensorDataset(x, y)
    loader = DataLoader(ds, batch_sampler=BatchSampler(SequentialSampler(ds), 4, drop_last=False))
    assert loader.batch_size is None and len(loader) == 2
    assert [[t.tolist() for t in batch] for batch in loader] == [
        [[[0.0, 1.0], [2.0, 3.0], [4.0, 5.0], [6.0, 7.0]], [0, 1, 2, 3]], [[[8.0, 9.0], [10.0, 11.0]], [4, 5]]]
    assert [b[1].tolist() for b in DataLoader(ds, batch_sampler=[[5, 0], [2]])] == [[5, 0], [2]]
    for wrong in (dict(batch_size=2), dict(shuffle=True), dict(sampler=[0]), dict(drop_last=True)):
        with pytest.raises(ValueError, match="DataLoader: batch_sampler option is mutually exclusive with batch_size, "
                                             "shuffle, sampler, and drop_last"):
            DataLoader(ds, batch_sampler=[[0]], **wrong)
    seen = []
    collated = DataLoader(ds, batch_size=4, collate_fn=lambda items: seen.append(items) or len(items))
    assert list(collated) == [4, 2] and len(seen[0]) == 4 and [int(item[1]) for item in seen[0]] == [0, 1, 2, 3]
    with pytest.raises(TypeError, match="DataLoader: expected collate_fn a function of a batch's list of items, got int"):
        DataLoader(ds, collate_fn=3)
    lists = list(DataLoader(ds, sampler=BatchSampler(SequentialSampler(ds), 3, False)))
    assert [tuple(b[0].shape) for b in lists] == [(1, 3, 2), (1, 3, 2)] and lists[1][1].tolist() == [[3, 4, 5]]
    with pytest.raises(TypeError, match="DataLoader: the sampler gave 'a'; expected integer indices"):
        list(DataLoader(ds, sampler=["a"]))


def test_gap_G5_adadelta_is_zeilers_update_as_pytorch_computes_it():
    """PyTorch: Adadelta(params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, maximize=False): g (+ weight_decay
    p; negated when maximizing), square_avg = rho square_avg + (1 - rho) g^2, delta = sqrt(acc_delta + eps) /
    sqrt(square_avg + eps) g, acc_delta = rho acc_delta + (1 - rho) delta^2, p -= lr delta: numpy float64 over
    five steps of made-up gradients, with the defaults and with every option; state step, square_avg,
    acc_delta; bad rho or lr raise naming Adadelta."""
    rng = np.random.default_rng(6)
    w, grads = rng.normal(size=(3, 2)), rng.normal(size=(5, 3, 2))
    for options in ({}, {"lr": 0.5, "rho": 0.8, "eps": 1e-4, "weight_decay": 0.1, "maximize": True}):
        lr, rho, eps = options.get("lr", 1.0), options.get("rho", 0.9), options.get("eps", 1e-6)
        p = torch.tensor(w, requires_grad=True)
        optimizer = torch.optim.Adadelta([p], **options)
        square, acc, expected = np.zeros_like(w), np.zeros_like(w), w.copy()
        for g in grads:
            p.grad = g
            optimizer.step()
            h = (-g if options.get("maximize") else g) + options.get("weight_decay", 0.0) * expected
            square = rho * square + (1 - rho) * h * h
            delta = np.sqrt(acc + eps) / np.sqrt(square + eps) * h
            acc = rho * acc + (1 - rho) * delta * delta
            expected = expected - lr * delta
            assert np.allclose(p.numpy(), expected, rtol=1e-12, atol=1e-15)
        state = optimizer.state[p]
        assert state["step"] == 5 and np.allclose(state["square_avg"], square) and np.allclose(state["acc_delta"], acc)
    defaults = torch.optim.Adadelta([torch.zeros(1, requires_grad=True)]).defaults
    assert defaults == {"lr": 1.0, "rho": 0.9, "eps": 1e-6, "weight_decay": 0.0, "maximize": False, "capturable": False,
                        "foreach": None, "differentiable": False}
    with pytest.raises(ValueError, match=r"Adadelta: rho must be in \[0, 1\], got 1.5"):
        torch.optim.Adadelta([torch.zeros(1, requires_grad=True)], rho=1.5)
    with pytest.raises(ValueError, match=r"Adadelta: lr"):
        torch.optim.Adadelta([torch.zeros(1, requires_grad=True)], lr=-1)
    saved = optimizer.state_dict()
    again = torch.optim.Adadelta([torch.tensor(w, requires_grad=True)], **options)
    again.load_state_dict(saved)
    assert np.allclose(again.state[0]["acc_delta"], acc) and again.param_groups[0]["rho"] == 0.8


def test_gap_G6_cosh_and_sinh():
    """PyTorch: torch.cosh(x), torch.sinh(x) and the methods: (e^x + e^-x) / 2 and (e^x - e^-x) / 2, in x's
    dtype (an integer tensor's: the default float dtype), with derivatives sinh x and cosh x."""
    x = np.array([-2.0, -0.5, 0.0, 0.7, 3.0])
    t = torch.tensor(x, requires_grad=True)
    c, s = torch.cosh(t), torch.sinh(t)
    assert np.allclose(c.numpy(), np.cosh(x), rtol=1e-14) and np.allclose(s.numpy(), np.sinh(x), rtol=1e-14)
    assert np.array_equal(t.cosh().numpy(), c.numpy()) and np.array_equal(t.sinh().numpy(), s.numpy())
    (c * 2 + s * 3).sum().backward()
    assert np.allclose(t.grad, 2 * np.sinh(x) + 3 * np.cosh(x), rtol=1e-14)
    assert torch.cosh(torch.tensor([0, 1])).dtype == torch.get_default_dtype()
    assert torch.cosh(torch.tensor(0.5)).dtype == np.float32


def test_gap_G7_sign():
    """PyTorch: torch.sign(x) (and x.sign()): -1, 0 or 1 by the entry's sign, in x's dtype; its gradient is
    0 everywhere (a step function)."""
    x = np.array([-2.5, 0.0, 3.0, -0.0])
    t = torch.tensor(x, requires_grad=True)
    s = torch.sign(t)
    assert s.tolist() == [-1.0, 0.0, 1.0, 0.0] and s.dtype == np.float64 and np.array_equal(t.sign().numpy(), s.numpy())
    (s * 5).sum().backward()
    assert np.array_equal(t.grad, np.zeros(4))
    ints = torch.sign(torch.tensor([-3, 0, 7]))
    assert ints.tolist() == [-1, 0, 1] and ints.dtype == np.int64


def test_gap_G8_float_arange_values_are_start_plus_i_step_rounded_once():
    """PyTorch: torch.arange(start, end, step) with a float bound has ceil((end - start) / step) values, the
    i-th start + i * step computed in double and rounded once to the dtype, so no error piles up along it
    (float32: within one rounding of numpy's float64 arange)."""
    for start, end, step in ((-10.0, 10.0, 0.01), (-5.5, 1.0, 0.1), (0.0, 1.0, 1e-4)):
        got = torch.arange(start, end, step)
        count = math.ceil((end - start) / step)
        exact = np.array([start + i * step for i in range(count)])         # each in double, one at a time
        assert got.dtype == np.float32 and got.shape == exact.shape
        assert np.array_equal(got.numpy(), exact.astype(np.float32))
        assert np.array_equal(torch.arange(start, end, step, dtype=torch.float64).numpy(), exact)
