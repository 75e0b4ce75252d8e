"""Porting, round 60: CURVATURE THROUGH RECURRENT NETWORKS -- Hessian-vector products, Hessian spectra, Gauss-Newton
products and Hessian-free optimisation, and sharpness-aware minimisation, as public PyTorch code writes them, run on
small GRU, RNN and LSTM models (no earlier round ported PyHessian, a Hessian-free optimiser or SAM; rounds 13 and 30
met torch.func's hessian). Each is written as its author wrote it, with only the imports changed (`# differs:` marks
each other change and why; long lines wrapped, f-strings without fields plain strings, unused imports dropped):

1. amirgholami/PyHessian: pyhessian/utils.py (ef10b13aeea7be43513e1668b03ac54cbac5b417): `group_product`,
   `group_add`, `normalization`, `get_params_grad` (with `weight_decay`), `hessian_vector_product`, `orthnormal`;
   pyhessian/hessian.py (2a28ccd4eccd57825e72771bf48d4d1f2c0dec45, the version before its PR #23): the `hessian`
   class (`dataloader_hv_product`, `eigenvalues` by power iteration with deflation, `trace` by Hutchinson with
   Rademacher vectors from `randint_like`, `density` by stochastic Lanczos quadrature), on a GRU classifier.
2. fmeirinhos/pytorch-hessianfree: hessianfree.py (0e7bb3d347c48014be7b6c66052d0a242a140f4f): `HessianFree` (Martens'
   "Training Deep and Recurrent Networks with Hessian-Free Optimization": Gauss-Newton or Hessian products, Tikhonov
   damping, preconditioned CG with Martens' relative-progress stop, CG backtracking, the Levenberg-Marquardt rule, an
   Armijo line search; parameters flattened and written back by `p.data = ...view_as(p.data)`),
   `empirical_fisher_diagonal`, `empirical_fisher_matrix`; its scripts test/hf_test.py
   (214a3fbd3d0565002c95e52c761afcc009942440), test/cg_test.py (8ac028940502aebd94e65d2632b77ee8d8a8847a) and
   test/fisher_test.py (ac036f1859714e58c217783d86e93c4cf2b8f529) as functions, and the optimiser on a tanh-RNN
   regressor. (Revenant741/HessianFree-RNN, read at 71d8c5d3841c7239df8cd2d4fd49bc07068172e8, is this optimiser on
   an RNNCell; its training loop's closure returns a fixed (loss, output), so it is not ported.)
3. davda54/sam: sam.py (87a9604896bac2f0f7182b20fa3ade725b0e956b: `first_step`, `second_step`, `step(closure)` with
   `torch.enable_grad()(closure)`, adaptive SAM, `load_state_dict`), example/train.py
   (295977586de6a6e38f4730adb2ae496fd75f94ec) as `sam_train_main(argv)` with example/model/smooth_cross_entropy.py
   (2f3dda75fad9de0389380b1b00b62a629e6d9225) and example/utility's step_lr.py and loading_bar.py (2f3dda75),
   bypass_bn.py (3c3afdbd71cff2462ec91c734b3d1170bd0f3707), initialize.py (164c85eb3f49ede35043d13b0e4ecc4eae11f622)
   and log.py (0053ade35706b30fc28eb4595dbfbe2e5344d60c), around an LSTM classifier.

Every source was read in the index at the commit named; none was written from memory. PyTorch's torch/nn/parameter.py
(pytorch/pytorch at 0301bbbc78f30fe6327cbbb46b58cccb80dc05ab) is what the gap below is measured against.

What broke (one gap, fixed in microgradseq/parameter.py; one left open):
  G1. `torch.nn.Parameter()` without data was a TypeError (a required `data`). PyTorch's `Parameter.__new__(cls,
      data=None, requires_grad=True)` makes `torch.empty(0)` of it; cg_test.py builds its optimizer on
      `iter([torch.nn.Parameter()])`. Now an empty parameter of the default dtype, as PyTorch's.
  G2. `torch.add(array, tensor)` added a numpy array (a `.grad`) to a tensor, but with `alpha=` the array was refused by
      an internal check ("result_type: tensor1 must be a tensor or a number, got ndarray"). Now it adds as without
      alpha (microgradseq/ops/arithmetic.py); the port keeps `torch.as_tensor(grad).add(...)`, the form that reads as
      the source's `grad.add(param, alpha=weight_decay)` (a numpy array has no `.add`).

Met and left as documented (docs/pytorch.md; the lines say `differs:`):
  - No gradients of gradients: every curvature product in these sources differentiates a recorded gradient, and
    `create_graph=True` is refused with NotImplementedError ("Gradients of gradients and hooks"): PyHessian's
    `loss.backward(create_graph=True)` then `torch.autograd.grad(gradsH, params, grad_outputs=v)`, the Hessian-free
    `_Rop` (the double-backward trick: a zero cotangent that requires grad, `create_graph=True`, then the gradient in
    it) and its `torch.autograd.grad(loss, output, create_graph=True)`; so are `torch.autograd.functional.hvp`, `vhp`,
    `hessian` and forward-over-reverse `torch.func.jvp(torch.func.grad(f))` through LSTMCell, GRUCell and nn.RNN (a
    test pins each). The ports take the products as central differences of first-order gradients, (g(w + s v) -
    g(w - s v)) / 2s with s |v| = 1e-5 in float64 (within 1e-7 of the numpy Hessians here): PyHessian's gradient
    as a function of the parameters; the Hessian-free R-operator through the step's closure, re-run at w +- s v
    (H_L J v is the R-operator of dL/d(output), which depends on w only through the output). The documented exact
    route, `torch.func.jvp` of a BPTT gradient written out in tensor ops, is checked too.
  - `.data` and `.grad` are the numpy arrays: PyHessian's `params[i].data.add_(...)` assigns `.data`, SAM's
    `p.data.clone()` is `p.data.copy()` and its non-adaptive `(1.0 * p.grad).norm(p=2)` is `torch.norm(...)`, the
    Hessian-free `p.data.new(...)`, `p.grad.data.is_sparse` and `p.grad.contiguous()` read `torch.as_tensor(p.grad)`
    or the parameter, cg_test's `cg_t.data.numpy()` is `cg_t.numpy()`; `_cast_like_params` gives arrays (unused
    once the R-operator is replaced). An optimizer's state holds arrays (SGD's `momentum_buffer`).
  - `torch.linalg.eig` is not here (complex results): `density` takes `eigh` of its symmetric tridiagonal T.
Met and as PyTorch: `torch.enable_grad()(closure)` inside SAM's `no_grad` step; SAM's groups shared with its base
optimizer through `state_dict`/`load_state_dict`; `p.data = flat[...].view_as(p.data)` of a tensor with history
leaves a leaf; `torch.finfo(b.dtype).eps`; `randint_like(p, high=2, device=...)` in p's dtype and `v_i[v_i == 0] =
-1` in place; `torch.autograd.grad(fi, net.parameters())` of a generator; `grad_outputs=` a tensor shaped as the
output; an unused input refused unless `allow_unused=True` (RuntimeError, in the library's words); an unbatched
(T, I) sequence through nn.RNN in the Fisher loop; `torch.nn.modules.batchnorm._BatchNorm`; `torch.backends.cudnn`
flags and `torch.cuda.manual_seed`.

Met and changed for reasons outside the library (marked): scipy is not installed (cg_test compares with numpy's
solve, on A + A^T + nI, positive definite as _CG's docstring asks, with tol=1e-20); torchvision and CIFAR are not
(a stand-in `SequenceSet` of 2-d sequences, an LSTM in place of the WideResNet, a GRU in place of PyHessian's
ResNets); fisher_test's sizes are small; every script runs in float64 (the tests' default dtype, for the central
differences); the scripts' module level is a function returning what the tests read.

Noticed and left alone (the sources', in PyTorch too):
  - PyHessian's `density` squares the whole eigenvector matrix (`torch.pow(b_, 2)`; PR #23 takes the first row, and
    `a_.real` of linalg.eig's complex eigenvalues). `normalization` divides by |v| + 1e-6, so every vector is 1e-6
    short of unit length: Rayleigh quotients come 2e-6 low, Lanczos vectors are 1e-6 from orthogonal, and the Ritz
    values move by a few 1e-6. Power iteration finds the largest |lambda| (the GRU's Hessian here is indefinite).
  - The Hessian-free `_CG` with a preconditioner starts from r @ r, not r @ M r: its first alpha and beta are off,
    the directions are not A-conjugate, and on a Jacobi-preconditioned 12 x 12 system the iterates run away (with
    the Fisher diagonal the RNN still descends: backtracking and the line search guard each step).
    `group['init_delta'] = 0` after a failed step writes the group, while the warm start reads
    `state['init_delta']`, so the reset never happens. `eps=1.2e-7` added to r @ r in beta's denominator limits
    CG's accuracy to about 1e-8 here.
  - SAM's train.py: `--adaptive` is `type=bool` (any non-empty string, "False" too, is True) and `--rho` is
    `type=int` with a float default; the logged loss is the first forward's, before the climb.

Expected values come from numpy written here in float64 (the GRU, RNN, LSTM and MLP forwards, cross-entropy, smooth
cross-entropy, MSE, the power iteration and CG recurrences, SGD's step), full Hessians by second central differences
of those numpy losses, Jacobians and gradients by central differences, and the draws the ports make recorded as
inputs; never from the library's own outputs.
"""

import argparse
import functools
import random
import time
from functools import reduce
from typing import Optional

import numpy as np
import pytest
from porting_references import arr, np_log_softmax, np_lstm_cell, np_gru_cell, quietly

import microgradseq as torch
import microgradseq.nn as nn
from microgradseq.nn import functional as F
from microgradseq.nn.modules.batchnorm import _BatchNorm


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)
    np.random.seed(0)
    torch.set_default_dtype(torch.float64)      # every script here runs in float64, for the central differences
    yield
    torch.set_default_dtype(torch.float32)


@pytest.fixture
def draws(monkeypatch):
    """The `torch.randn` and `torch.randint_like` draws the ports make, in order, as float64 arrays (so the numpy
    references take the same vectors; the draws still come from the library's generator). Rademacher vectors
    are recorded after the ports' `v_i[v_i == 0] = -1`, which rewrites the drawn tensor itself."""
    recorded = []
    for name in ("randn", "randint_like"):
        original = getattr(torch, name)

        def recording(*args, _original=original, **kwargs):
            out = _original(*args, **kwargs)
            recorded.append(out)
            return out
        monkeypatch.setattr(torch, name, recording)
    return recorded


# ---- numpy references (float64), written here ------------------------------------------------------------

def np_flat(module):
    """A module's parameters, in `parameters()` order, as one float64 vector, and their shapes."""
    ps = [arr(p) for p in module.parameters()]
    return np.concatenate([p.ravel() for p in ps]), [p.shape for p in ps]


def np_unflat(theta, shapes):
    out, offset = [], 0
    for shape in shapes:
        n = int(np.prod(shape))
        out.append(theta[offset:offset + n].reshape(shape))
        offset += n
    return out


def np_cross_entropy(logits, targets):
    """nn.CrossEntropyLoss(): the mean over the batch of -log softmax(logits)[target]."""
    return -np_log_softmax(logits)[np.arange(len(targets)), np.asarray(targets, dtype=int)].mean()


def np_gru_classifier(theta, shapes, x):
    """GRUClassifier.forward: a one-layer GRU (zero state) over x (B, T, I), the last state through the Linear."""
    w_ih, w_hh, b_ih, b_hh, w_fc, b_fc = np_unflat(theta, shapes)
    h = np.zeros((x.shape[0], w_hh.shape[1]))
    for t in range(x.shape[1]):
        h = np_gru_cell(x[:, t], h, w_ih, w_hh, b_ih, b_hh)
    return h @ w_fc.T + b_fc


def np_rnn_regressor(theta, shapes, x):
    """RNNRegressor.forward: a one-layer tanh RNN (zero state) over x (B, T, I), every state through the Linear."""
    w_ih, w_hh, b_ih, b_hh, w_fc, b_fc = np_unflat(theta, shapes)
    h, outs = np.zeros((x.shape[0], w_hh.shape[1])), []
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t] @ w_ih.T + b_ih + h @ w_hh.T + b_hh)
        outs.append(h @ w_fc.T + b_fc)
    return np.stack(outs, 1)


def np_mlp(theta, shapes, x):
    """hf_test.py's Sequential(Linear(2, 1), Tanh(), Linear(1, 2))."""
    w1, b1, w2, b2 = np_unflat(theta, shapes)
    return np.tanh(x @ w1.T + b1) @ w2.T + b2


def np_lstm_classifier(theta, shapes, x):
    """LSTMClassifier.forward: a one-layer LSTM (zero state) over x (B, T, I), the last output through the Linear."""
    w_ih, w_hh, b_ih, b_hh, w_fc, b_fc = np_unflat(theta, shapes)
    h = c = np.zeros((x.shape[0], w_hh.shape[1]))
    for t in range(x.shape[1]):
        h, c = np_lstm_cell(x[:, t], h, c, w_ih, w_hh, b_ih, b_hh)
    return h @ w_fc.T + b_fc


def np_smooth_crossentropy(pred, gold, smoothing=0.1):
    """sum_k q_k (log q_k - log softmax(pred)_k) per row, q = 1 - smoothing at the gold class, smoothing / (K - 1)
    elsewhere (KL(q || softmax(pred)))."""
    q = np.full(pred.shape, smoothing / (pred.shape[1] - 1))
    q[np.arange(len(gold)), gold] = 1.0 - smoothing
    return (q * (np.log(q) - np_log_softmax(pred))).sum(-1)


def np_gradient(f, theta, h=1e-6):
    """Central differences of the scalar f: (f(theta + h e_i) - f(theta - h e_i)) / 2h for every i."""
    g = np.empty_like(theta)
    for i in range(theta.size):
        e = np.zeros_like(theta)
        e[i] = h
        g[i] = (f(theta + e) - f(theta - e)) / (2 * h)
    return g


def np_jacobian(f, theta, h=1e-6):
    """Central differences of the array-valued f, flattened: J[:, i] = (f(theta + h e_i) - f(theta - h e_i)) / 2h."""
    cols = []
    for i in range(theta.size):
        e = np.zeros_like(theta)
        e[i] = h
        cols.append((f(theta + e) - f(theta - e)).ravel() / (2 * h))
    return np.stack(cols, 1)


def np_hessian(f, theta, h=1e-4):
    """The full Hessian of the scalar f by second central differences, (f(+i+j) - f(+i-j) - f(-i+j) + f(-i-j)) / 4h^2
    (i = j included: (f(+2i) - 2 f + f(-2i)) / 4h^2), about 1e-8 off in float64."""
    n = theta.size
    H = np.empty((n, n))
    steps = np.eye(n) * h
    for i in range(n):
        for j in range(i, n):
            H[i, j] = H[j, i] = (f(theta + steps[i] + steps[j]) - f(theta + steps[i] - steps[j])
                                 - f(theta - steps[i] + steps[j]) + f(theta - steps[i] - steps[j])) / (4 * h * h)
    return H


# ---- the models the ports run on (small recurrent ones, in place of the sources' image nets) -----------------------

class GRUClassifier(nn.Module):
    """A GRU over a sequence, its last state classified: PyHessian's model here (its examples take a ResNet)."""

    def __init__(self, input_size=2, hidden_size=2, classes=2):
        super().__init__()
        self.rnn = nn.GRU(input_size, hidden_size, batch_first=True)
        self.fc = nn.Linear(hidden_size, classes)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.fc(out[:, -1])


class RNNRegressor(nn.Module):
    """A tanh RNN whose every state is read out: a sequence regression for the Hessian-free optimiser."""

    def __init__(self, input_size=1, hidden_size=3, outputs=1):
        super().__init__()
        self.rnn = nn.RNN(input_size, hidden_size, batch_first=True)
        self.fc = nn.Linear(hidden_size, outputs)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.fc(out)


class LSTMClassifier(nn.Module):
    """An LSTM over a sequence, its last output classified: SAM's model here (its example takes a WideResNet)."""

    def __init__(self, input_size=2, hidden_size=3, labels=3):
        super().__init__()
        self.lstm = nn.LSTM(input_size, hidden_size, batch_first=True)
        self.fc = nn.Linear(hidden_size, labels)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.fc(out[:, -1])


# ---- the ports' own helpers (not in the sources): what stands in for a gradient of a gradient -------------------

def batch_gradient(model, criterion, inputs, targets):
    """The gradient of criterion(model(inputs), targets) at the parameters' current values, one tensor per parameter
    in `parameters()` order: the gradient PyHessian keeps with `create_graph=True`, here without its graph."""
    model.zero_grad()
    loss = criterion(model(inputs), targets)
    loss.backward()
    return [torch.as_tensor(g) if not isinstance(g, float) else torch.zeros(p.size())
            for p, g in zip(*get_params_grad(model))]


def central_difference_hv(gradient, params, v, r=1e-5):
    """Hv = (g(w + s v) - g(w - s v)) / 2s, s |v| = r, for g = gradient() read with the params moved (and put back
    afterwards): the Hessian-vector product without differentiating the gradient, exact to about 1e-9 relative in
    float64 (Pearlmutter 1994 names it the finite-difference form of his R-operator)."""
    norm = float(sum(float(torch.sum(vi * vi)) for vi in v)) ** 0.5
    if norm == 0.0:
        return tuple(torch.zeros(p.size()) for p in params)
    s = r / norm
    saved = [p.detach().clone() for p in params]
    gs = []
    for sign in (1.0, -1.0):
        with torch.no_grad():
            for p, w, vi in zip(params, saved, v):
                p.copy_(w + sign * s * vi)
        gs.append(gradient())
    with torch.no_grad():
        for p, w in zip(params, saved):
            p.copy_(w)
    return tuple((gp - gm) / (2 * s) for gp, gm in zip(*gs))


# ==== 1. amirgholami/PyHessian: pyhessian/utils.py ================================================================

def group_product(xs, ys):
    """
    the inner product of two lists of variables xs,ys
    :param xs:
    :param ys:
    :return:
    """
    return sum([torch.sum(x * y) for (x, y) in zip(xs, ys)])


def group_add(params, update, alpha=1):
    """
    params = params + update*alpha
    :param params: list of variable
    :param update: list of data
    :return:
    """
    for i, p in enumerate(params):
        # differs: `params[i].data.add_(update[i] * alpha)`: `.data` is the numpy array here, which has no `add_`
        # (docs/pytorch.md); the tensor gets the new values (the same tensor object, as the in-place add keeps it)
        params[i].data = params[i].data + update[i] * alpha
    return params


def normalization(v):
    """
    normalization of a list of vectors
    return: normalized vectors v
    """
    s = group_product(v, v)
    s = s**0.5
    s = s.cpu().item()
    v = [vi / (s + 1e-6) for vi in v]
    return v


def get_params_grad(model: nn.Module, weight_decay: Optional[float] = None):
    """
    get model parameters and corresponding gradients
    """
    params = []
    grads = []
    for param in model.parameters():
        if not param.requires_grad:
            continue
        params.append(param)
        if param.grad is not None:
            grad = param.grad
            if weight_decay is not None:
                # differs: `grad.add(param, alpha=weight_decay)`: the gradient is the numpy array (docs/pytorch.md),
                # made a tensor first (a numpy array has no `.add`)
                grad = torch.as_tensor(grad).add(param, alpha=weight_decay)
            grads.append(grad)
        else:
            grads.append(0.)
    return params, grads


def hessian_vector_product(gradsH, params, v):
    """
    compute the hessian vector product of Hv, where
    gradsH is the gradient at the current point,
    params is the corresponding variables,
    v is the vector.
    """
    # differs: `hv = torch.autograd.grad(gradsH, params, grad_outputs=v, only_inputs=True, retain_graph=True)`
    # differentiates the gradient, which `loss.backward(create_graph=True)` recorded: refused here (docs/pytorch.md:
    # gradients are not recorded). gradsH is here the gradient as a function of the parameters, and Hv its central
    # difference along v (central_difference_hv, above)
    hv = central_difference_hv(gradsH, params, v)
    return hv


def orthnormal(w, v_list):
    """
    make vector w orthogonal to each vector in v_list.
    afterwards, normalize the output w
    """
    for v in v_list:
        w = group_add(w, v, alpha=-group_product(w, v))
    return normalization(w)


# ==== 1. amirgholami/PyHessian: pyhessian/hessian.py ==============================================================

class hessian():
    """
    The class used to compute :
        i) the top 1 (n) eigenvalue(s) of the neural network
        ii) the trace of the entire neural network
        iii) the estimated eigenvalue density
    """

    def __init__(self, model, criterion, data=None, dataloader=None, cuda=True):
        """
        model: the model that needs Hessain information
        criterion: the loss function
        data: a single batch of data, including inputs and its corresponding labels
        dataloader: the data loader including bunch of batches of data
        """

        # make sure we either pass a single batch or a dataloader
        assert (data != None and dataloader == None) or (data == None and  # noqa: E711 (the source's)
                                                         dataloader != None)  # noqa: E711

        self.model = model.eval()  # make model is in evaluation model
        self.criterion = criterion

        if data != None:  # noqa: E711 (the source's)
            self.data = data
            self.full_dataset = False
        else:
            self.data = dataloader
            self.full_dataset = True

        if cuda:
            self.device = 'cuda'
        else:
            self.device = 'cpu'

        # pre-processing for single batch case to simplify the computation.
        if not self.full_dataset:
            self.inputs, self.targets = self.data
            if self.device == 'cuda':
                self.inputs, self.targets = self.inputs.cuda(
                ), self.targets.cuda()

            # if we only compute the Hessian information for a single batch data, we can re-use the gradients.
            outputs = self.model(self.inputs)
            loss = self.criterion(outputs, self.targets)
            # differs: `loss.backward(create_graph=True)` is refused here (docs/pytorch.md); a plain backward fills
            # the first-order gradients that get_params_grad reads
            loss.backward()

        # this step is used to extract the parameters from the model
        params, gradsH = get_params_grad(self.model)
        self.params = params
        self.gradsH = gradsH  # gradient used for Hessian computation
        if not self.full_dataset:
            # differs: the gradient as a function of the parameters, which hessian_vector_product differences
            self.gradsH = functools.partial(batch_gradient, self.model, self.criterion, self.inputs, self.targets)

    def dataloader_hv_product(self, v):

        device = self.device
        num_data = 0  # count the number of datum points in the dataloader

        THv = [torch.zeros(p.size()).to(device) for p in self.params
               ]  # accumulate result
        for inputs, targets in self.data:
            self.model.zero_grad()
            tmp_num_data = inputs.size(0)
            # differs: the batch's `loss.backward(create_graph=True)` and `Hv = torch.autograd.grad(gradsH, params,
            # grad_outputs=v, only_inputs=True, retain_graph=False)` differentiate a recorded gradient (refused here):
            # the batch's gradient as a function of the parameters, differenced along v by hessian_vector_product
            gradsH = functools.partial(batch_gradient, self.model, self.criterion, inputs.to(device),
                                       targets.to(device))
            params = self.params
            self.model.zero_grad()
            Hv = hessian_vector_product(gradsH, params, v)
            THv = [
                THv1 + Hv1 * float(tmp_num_data) + 0.
                for THv1, Hv1 in zip(THv, Hv)
            ]
            num_data += float(tmp_num_data)

        THv = [THv1 / float(num_data) for THv1 in THv]
        eigenvalue = group_product(THv, v).cpu().item()
        return eigenvalue, THv

    def eigenvalues(self, maxIter=100, tol=1e-3, top_n=1):
        """
        compute the top_n eigenvalues using power iteration method
        maxIter: maximum iterations used to compute each single eigenvalue
        tol: the relative tolerance between two consecutive eigenvalue computations from power iteration
        top_n: top top_n eigenvalues will be computed
        """

        assert top_n >= 1

        device = self.device

        eigenvalues = []
        eigenvectors = []

        computed_dim = 0

        while computed_dim < top_n:
            eigenvalue = None
            v = [torch.randn(p.size()).to(device) for p in self.params
                 ]  # generate random vector
            v = normalization(v)  # normalize the vector

            for i in range(maxIter):
                v = orthnormal(v, eigenvectors)
                self.model.zero_grad()

                if self.full_dataset:
                    tmp_eigenvalue, Hv = self.dataloader_hv_product(v)
                else:
                    Hv = hessian_vector_product(self.gradsH, self.params, v)
                    tmp_eigenvalue = group_product(Hv, v).cpu().item()

                v = normalization(Hv)

                if eigenvalue == None:  # noqa: E711 (the source's)
                    eigenvalue = tmp_eigenvalue
                else:
                    if abs(eigenvalue - tmp_eigenvalue) / (abs(eigenvalue) +
                                                           1e-6) < tol:
                        break
                    else:
                        eigenvalue = tmp_eigenvalue
            eigenvalues.append(eigenvalue)
            eigenvectors.append(v)
            computed_dim += 1

        return eigenvalues, eigenvectors

    def trace(self, maxIter=100, tol=1e-3):
        """
        compute the trace of hessian using Hutchinson's method
        maxIter: maximum iterations used to compute trace
        tol: the relative tolerance
        """

        device = self.device
        trace_vhv = []
        trace = 0.

        for i in range(maxIter):
            self.model.zero_grad()
            v = [
                torch.randint_like(p, high=2, device=device)
                for p in self.params
            ]
            # generate Rademacher random variables
            for v_i in v:
                v_i[v_i == 0] = -1

            if self.full_dataset:
                _, Hv = self.dataloader_hv_product(v)
            else:
                Hv = hessian_vector_product(self.gradsH, self.params, v)
            trace_vhv.append(group_product(Hv, v).cpu().item())
            if abs(np.mean(trace_vhv) - trace) / (abs(trace) + 1e-6) < tol:
                return trace_vhv
            else:
                trace = np.mean(trace_vhv)

        return trace_vhv

    def density(self, iter=100, n_v=1):
        """
        compute estimated eigenvalue density using stochastic lanczos algorithm (SLQ)
        iter: number of iterations used to compute trace
        n_v: number of SLQ runs
        """

        device = self.device
        eigen_list_full = []
        weight_list_full = []

        for k in range(n_v):
            v = [
                torch.randint_like(p, high=2, device=device)
                for p in self.params
            ]
            # generate Rademacher random variables
            for v_i in v:
                v_i[v_i == 0] = -1
            v = normalization(v)

            # standard lanczos algorithm initlization
            v_list = [v]
            w_list = []
            alpha_list = []
            beta_list = []
            ############### Lanczos
            for i in range(iter):
                self.model.zero_grad()
                w_prime = [torch.zeros(p.size()).to(device) for p in self.params]
                if i == 0:
                    if self.full_dataset:
                        _, w_prime = self.dataloader_hv_product(v)
                    else:
                        w_prime = hessian_vector_product(
                            self.gradsH, self.params, v)
                    alpha = group_product(w_prime, v)
                    alpha_list.append(alpha.cpu().item())
                    w = group_add(w_prime, v, alpha=-alpha)
                    w_list.append(w)
                else:
                    beta = torch.sqrt(group_product(w, w))
                    beta_list.append(beta.cpu().item())
                    if beta_list[-1] != 0.:
                        # We should re-orth it
                        v = orthnormal(w, v_list)
                        v_list.append(v)
                    else:
                        # generate a new vector
                        w = [torch.randn(p.size()).to(device) for p in self.params]
                        v = orthnormal(w, v_list)
                        v_list.append(v)
                    if self.full_dataset:
                        _, w_prime = self.dataloader_hv_product(v)
                    else:
                        w_prime = hessian_vector_product(
                            self.gradsH, self.params, v)
                    alpha = group_product(w_prime, v)
                    alpha_list.append(alpha.cpu().item())
                    w_tmp = group_add(w_prime, v, alpha=-alpha)
                    w = group_add(w_tmp, v_list[-2], alpha=-beta)

            T = torch.zeros(iter, iter).to(device)
            for i in range(len(alpha_list)):
                T[i, i] = alpha_list[i]
                if i < len(alpha_list) - 1:
                    T[i + 1, i] = beta_list[i]
                    T[i, i + 1] = beta_list[i]
            # differs: `torch.linalg.eig(T)` (complex results) is not here (docs/pytorch.md: real matrices only,
            # `eigh` for a symmetric one); T is symmetric, so eigh gives the same pairs, real and sorted
            a_, b_ = torch.linalg.eigh(T)

            eigen_list = a_
            weight_list = torch.pow(b_, 2)
            eigen_list_full.append(list(eigen_list.cpu().numpy()))
            weight_list_full.append(list(weight_list.cpu().numpy()))

        return eigen_list_full, weight_list_full


# ==== 2. fmeirinhos/pytorch-hessianfree: hessianfree.py ===========================================================

class HessianFree(torch.optim.Optimizer):
    """
    Implements the Hessian-free algorithm presented in `Training Deep and
    Recurrent Networks with Hessian-Free Optimization`_.

    Arguments:
        params (iterable): iterable of parameters to optimize or dicts defining
            parameter groups
        lr (float, optional): learning rate (default: 1)
        delta_decay (float, optional): Decay of the previous result of
            computing delta with conjugate gradient method for the
            initialization of the next conjugate gradient iteration
        damping (float, optional): Initial value of the Tikhonov damping
            coefficient. (default: 0.5)
        max_iter (int, optional): Maximum number of Conjugate-Gradient
            iterations (default: 50)
        use_gnm (bool, optional): Use the generalized Gauss-Newton matrix:
            probably solves the indefiniteness of the Hessian (Section 20.6)
        verbose (bool, optional): Print statements (debugging)

    .. _Training Deep and Recurrent Networks with Hessian-Free Optimization:
        https://doi.org/10.1007/978-3-642-35289-8_27
    """

    def __init__(self, params,
                 lr=1,
                 damping=0.5,
                 delta_decay=0.95,
                 cg_max_iter=100,
                 use_gnm=True,
                 verbose=False):

        if not (0.0 < lr <= 1):
            raise ValueError("Invalid lr: {}".format(lr))

        if not (0.0 < damping <= 1):
            raise ValueError("Invalid damping: {}".format(damping))

        if not cg_max_iter > 0:
            raise ValueError("Invalid cg_max_iter: {}".format(cg_max_iter))

        defaults = dict(alpha=lr,
                        damping=damping,
                        delta_decay=delta_decay,
                        cg_max_iter=cg_max_iter,
                        use_gnm=use_gnm,
                        verbose=verbose)
        super(HessianFree, self).__init__(params, defaults)

        self._params = self.param_groups[0]['params']
        self._numel_cache = None

    def _numel(self):
        if self._numel_cache is None:
            self._numel_cache = reduce(
                lambda total, p: total + p.numel(), self._params, 0)
        return self._numel_cache

    def _modify_params(self, new_params):
        offset = 0
        for p in self._params:
            numel = p.numel()
            # view as to avoid deprecated pointwise semantics
            p.data = new_params[offset:offset + numel].view_as(p.data)
            offset += numel
        assert offset == self._numel()

    def _cast_like_params(self, vec):
        views = []
        offset = 0
        for p in self._params:
            numel = p.numel()
            view = vec[offset:offset + numel].view_as(p).data
            views.append(view)
            offset += numel
        assert offset == self._numel()

        return list(views)

    def _gather_flat_params(self):
        views = list()
        for p in self._params:
            view = p.contiguous().view(-1)
            views.append(view)
        return torch.cat(views, 0)

    def _gather_flat_grad(self):
        views = list()
        for p in self._params:
            if p.grad is None:
                # differs: `p.data.new(p.data.numel()).zero_()`: `.data` is the numpy array (docs/pytorch.md)
                view = p.new(p.numel()).zero_()
            elif torch.as_tensor(p.grad).is_sparse:  # differs: `p.grad.data.is_sparse` (docs/pytorch.md)
                view = p.grad.data.to_dense().view(-1)
            else:
                # differs: `p.grad.contiguous().view(-1)`: the gradient is the numpy array (docs/pytorch.md)
                view = torch.as_tensor(p.grad).view(-1)
            views.append(view)
        return torch.cat(views, 0)

    def step(self, closure, b=None, M_inv=None):
        """
        Performs a single optimization step.

        Arguments:
            closure (callable): A closure that re-evaluates the model
                and returns a tuple of the loss and the output.
            b (callable, optional): A closure that calculates the vector b in
                the minimization problem x^T . A . x + x^T b.
            M (callable, optional): The INVERSE preconditioner of A
        """
        assert len(self.param_groups) == 1

        group = self.param_groups[0]
        alpha = group['alpha']
        delta_decay = group['delta_decay']
        cg_max_iter = group['cg_max_iter']
        damping = group['damping']
        use_gnm = group['use_gnm']
        verbose = group['verbose']

        state = self.state[self._params[0]]
        state.setdefault('func_evals', 0)
        state.setdefault('n_iter', 0)

        self._closure = closure  # differs: kept for the R-operator (see _Rop)
        loss_before, output = closure()
        current_evals = 1
        state['func_evals'] += 1

        # Gather current parameters and respective gradients
        flat_params = self._gather_flat_params()
        flat_grad = self._gather_flat_grad()

        # Define linear operator
        if use_gnm:
            # Generalized Gauss-Newton vector product
            def A(x):
                return self._Gv(loss_before, output, x, damping)
        else:
            # Hessian-vector product
            def A(x):
                return self._Hv(flat_grad, x, damping)

        if M_inv is not None:
            m_inv = M_inv()

            # Preconditioner recipe (Section 20.13)
            if m_inv.dim() == 1:
                m = (m_inv + damping) ** (-0.85)

                def M(x):
                    return m * x
            else:
                m = torch.inverse(m_inv + damping * torch.eye(*m_inv.shape))

                def M(x):
                    return m @ x
        else:
            M = None

        b = flat_grad.detach() if b is None else b().detach().flatten()

        # Initializing Conjugate-Gradient (Section 20.10)
        if state.get('init_delta') is not None:
            init_delta = delta_decay * state.get('init_delta')
        else:
            init_delta = torch.zeros_like(flat_params)

        eps = torch.finfo(b.dtype).eps

        # Conjugate-Gradient
        deltas, Ms = self._CG(A=A, b=b.neg(), x0=init_delta,
                              M=M, max_iter=cg_max_iter,
                              tol=1e1 * eps, eps=eps, martens=True)

        # Update parameters
        delta = state['init_delta'] = deltas[-1]
        M = Ms[-1]

        self._modify_params(flat_params + delta)
        loss_now = closure()[0]
        current_evals += 1
        state['func_evals'] += 1

        # Conjugate-Gradient backtracking (Section 20.8.7)
        if verbose:
            print("Original loss: \t{}".format(float(loss_before)))
            print("Loss before bt: {}".format(float(loss_now)))

        for (d, m) in zip(reversed(deltas[:-1][::2]), reversed(Ms[:-1][::2])):
            self._modify_params(flat_params + d)
            loss_prev = closure()[0]
            if float(loss_prev) > float(loss_now):
                break
            delta = d
            M = m
            loss_now = loss_prev

        if verbose:
            print("Loss after bt: \t{}".format(float(loss_now)))

        # The Levenberg-Marquardt Heuristic (Section 20.8.5)
        reduction_ratio = (float(loss_now) -
                           float(loss_before)) / M if M != 0 else 1

        if reduction_ratio < 0.25:
            group['damping'] *= 3 / 2
        elif reduction_ratio > 0.75:
            group['damping'] *= 2 / 3
        if reduction_ratio < 0:
            group['init_delta'] = 0

        if verbose:
            print("Reduction_ratio: {}".format(reduction_ratio))
            print("Damping: {}".format(group['damping']))

        # Line Searching (Section 20.8.8)
        beta = 0.8
        c = 1e-2
        min_improv = min(c * torch.dot(b, delta), 0)

        for _ in range(60):
            if float(loss_now) <= float(loss_before) + alpha * min_improv:
                break

            alpha *= beta
            self._modify_params(flat_params + alpha * delta)
            loss_now = closure()[0]
        else:  # No good update found
            alpha = 0.0
            loss_now = loss_before

        # Update the parameters (this time fo real)
        self._modify_params(flat_params + alpha * delta)

        if verbose:
            print("Final loss: {}".format(float(loss_now)))
            print("Lr: {}".format(alpha), end='\n\n')

        return loss_now

    def _CG(self, A, b, x0, M=None, max_iter=50, tol=1.2e-6, eps=1.2e-7,
            martens=False):
        """
        Minimizes the linear system x^T.A.x - x^T b using the conjugate
            gradient method

        Arguments:
            A (callable): An abstract linear operator implementing the
                product A.x. A must represent a hermitian, positive definite
                matrix.
            b (torch.Tensor): The vector b.
            x0 (torch.Tensor): An initial guess for x.
            M (callable, optional): An abstract linear operator implementing
            the product of the preconditioner (for A) matrix with a vector.
            tol (float, optional): Tolerance for convergence.
            martens (bool, optional): Flag for Martens' convergence criterion.
        """

        x = [x0]
        r = A(x[0]) - b

        if M is not None:
            y = M(r)
            p = -y
        else:
            p = -r

        res_i_norm = r @ r

        if martens:
            m = [0.5 * (r - b) @ x0]

        for i in range(max_iter):
            Ap = A(p)

            alpha = res_i_norm / ((p @ Ap) + eps)

            x.append(x[i] + alpha * p)
            r = r + alpha * Ap

            if M is not None:
                y = M(r)
                res_ip1_norm = y @ r
            else:
                res_ip1_norm = r @ r

            beta = res_ip1_norm / (res_i_norm + eps)
            res_i_norm = res_ip1_norm

            # Martens' Relative Progress stopping condition (Section 20.4)
            if martens:
                m.append(0.5 * A(x[i + 1]) @ x[i + 1] - b @ x[i + 1])

                k = max(10, int(i / 10))
                if i > k:
                    stop = (m[i] - m[i - k]) / (m[i] + eps)
                    if stop < 1e-4:
                        break

            if res_i_norm < tol or torch.isnan(res_i_norm):
                break

            if M is not None:
                p = - y + beta * p
            else:
                p = - r + beta * p

        return (x, m) if martens else (x, None)

    def _Hv(self, gradient, vec, damping):
        """
        Computes the Hessian vector product.
        """
        # differs: `vec_ = self._cast_like_params(vec)`, `Hv = self._Rop(gradient, self._params, vec_)`, `Hv =
        # torch.cat([h.flatten() for h in Hv])`: the R-operator of the gradient along vec, here by central
        # differences of the gradient the closure's loss gives (see _Rop)
        Hv = self._Rop(lambda loss, output: torch.autograd.grad(loss, self._params), vec)

        return Hv + damping * vec  # Tikhonov damping (Section 20.8.1)

    def _Gv(self, loss, output, vec, damping):
        """
        Computes the generalized Gauss-Newton vector product.
        """
        # differs: `vec_ = self._cast_like_params(vec)`, `Jv = self._Rop(output, self._params, vec_)`, `gradient =
        # torch.autograd.grad(loss, output, create_graph=True)`, `HJv = self._Rop(gradient, output, Jv)`: H_L J v is
        # the R-operator along vec of dL/d(output) (which depends on the parameters only through the output), here
        # by central differences of the gradient in the closure's output (see _Rop), in the output's shape
        HJv = self._Rop(lambda loss_, output_: torch.autograd.grad(loss_, output_), vec).view_as(output)

        JHJv = torch.autograd.grad(
            output, self._params, grad_outputs=HJv, retain_graph=True)

        Gv = torch.cat([j.detach().flatten() for j in JHJv])
        return Gv + damping * vec  # Tikhonov damping (Section 20.8.1)

    def _Rop(self, of, vec, r=1e-5):
        """
        differs: the source's `_Rop(y, x, v)`, (dy/dx) v by the double-backward trick (a zero cotangent `ws` that
        requires grad, `torch.autograd.grad(y, x, grad_outputs=ws, create_graph=True)`, then the gradient of that in
        ws along v), needs gradients recorded: refused here (docs/pytorch.md). Here y = of(*closure()) (a tuple of
        tensors) is read with the parameters at w + s vec and w - s vec, s |vec| = r, and R_vec{y} = (y+ - y-) / 2s,
        flattened; the parameters are put back to w. The closure is the step's (its `loss.backward` keeps the
        graph, as its create_graph=True kept it, for `of` to differentiate).
        """
        n = float(vec.norm())
        if n == 0.0:
            return torch.zeros(sum(y.numel() for y in of(*self._closure())))
        s = r / n
        flat_params = self._gather_flat_params().detach()
        ys = []
        for sign in (1.0, -1.0):
            self._modify_params(flat_params + sign * s * vec)
            ys.append(torch.cat([y.flatten() for y in of(*self._closure())]))
        self._modify_params(flat_params)
        return (ys[0] - ys[1]) / (2 * s)


# The empirical Fisher diagonal (Section 20.11.3)
def empirical_fisher_diagonal(net, xs, ys, criterion):
    grads = list()
    for (x, y) in zip(xs, ys):
        fi = criterion(net(x), y)
        grads.append(torch.autograd.grad(fi, net.parameters(),
                                         retain_graph=False))

    vec = torch.cat([(torch.stack(p) ** 2).mean(0).detach().flatten()
                     for p in zip(*grads)])
    return vec


# The empirical Fisher matrix (Section 20.11.3)
def empirical_fisher_matrix(net, xs, ys, criterion):
    grads = list()
    for (x, y) in zip(xs, ys):
        fi = criterion(net(x), y)
        grad = torch.autograd.grad(fi, net.parameters(),
                                   retain_graph=False)
        grads.append(torch.cat([g.detach().flatten() for g in grad]))

    grads = torch.stack(grads)
    n_batch = grads.shape[0]
    return torch.einsum('ij,ik->jk', grads, grads) / n_batch


# ---- 2. test/hf_test.py (214a3fbd), test/cg_test.py (8ac02894), test/fisher_test.py (ac036f18), as functions ----

def hf_test():
    x = torch.Tensor([[0.333, 1]])
    y = torch.Tensor([[0.4, 0.2]])

    model = torch.nn.Sequential(
        torch.nn.Linear(2, 1),
        torch.nn.Tanh(),
        torch.nn.Linear(1, 2))
    criterion = torch.nn.MSELoss()

    def closure():
        z = model(x)
        loss = criterion(z, y)
        # differs: `loss.backward(create_graph=True)` is refused here (docs/pytorch.md); the graph it kept is kept
        loss.backward(retain_graph=True)
        return loss, z

    optimizer = HessianFree(model.parameters(), use_gnm=True, verbose=True)

    for i in range(5):
        print("Epoch {}".format(i))
        optimizer.zero_grad()
        optimizer.step(closure)

    print("Target data\t {}".format(y))
    print("Predicted\t {}".format(model(x)))
    return model, x, y  # differs: for the tests to read


def cg_test():
    n = 50

    # Matrix and vectors
    A = np.random.rand(n, n)

    # A must be hermitian
    A = A + A.T
    # differs: made positive definite as _CG's docstring asks (A + A.T of uniform entries has eigenvalues of either
    # sign, where conjugate gradients need not converge: the source's "Sometimes fails")
    A = A + n * np.eye(n)

    b = np.random.rand(n)
    x0 = 1e-3 * np.ones_like(b)

    # Numpy result
    # differs: `cg_np = cg(A=A, b=b, x0=x0, maxiter=1000)[0]` (scipy.sparse.linalg) : scipy is not installed, and
    # the system's solution is numpy's solve
    cg_np = np.linalg.solve(A, b)

    # Dummy parameters for constructor
    hf = HessianFree(iter([torch.nn.Parameter()]))

    A_t = torch.from_numpy(A)
    b_t = torch.from_numpy(b)
    x0_t = torch.from_numpy(x0)

    def A_lin(vec):
        return A_t @ vec

    # Torch result
    # differs: tol=1e-20: the default 1.2e-6 bounds r @ r, about 1e-4 of the solution here, where scipy's cg stops
    # at a relative residual of 1e-5 (the comparison is with the exact solution here)
    cg_t = hf._CG(A=A_lin, b=b_t, x0=x0_t, max_iter=1000, tol=1e-20)[0][-1]

    # Sometimes fails due to rtol
    # differs: `cg_t.data.numpy()`: `.data` is the numpy array (docs/pytorch.md)
    assert np.allclose(cg_np, cg_t.numpy(), rtol=1e-4, atol=1e-8)
    return A, b, cg_t  # differs: for the tests to read


def fisher_test():
    B = 25
    D_in = 10
    D_out = 100
    H = 50
    B, D_in, D_out, H = 6, 3, 2, 4  # differs: small sizes, for the central differences in the tests

    model = torch.nn.Sequential(
        torch.nn.Linear(D_in, H),
        torch.nn.ReLU(),
        torch.nn.Linear(H, D_out),
    )

    xs = torch.rand(B, D_in)
    ys = torch.rand(B, D_out)

    criterion = torch.nn.MSELoss()

    diag = empirical_fisher_diagonal(model, xs, ys, criterion)
    matrix = empirical_fisher_matrix(model, xs, ys, criterion)

    assert torch.isclose(diag, torch.diag(matrix)).any(), "Test failed"
    return model, xs, ys, diag, matrix  # differs: for the tests to read


# ==== 3. davda54/sam: sam.py (87a96048) ==========================================================================

class SAM(torch.optim.Optimizer):
    def __init__(self, params, base_optimizer, rho=0.05, adaptive=False, **kwargs):
        assert rho >= 0.0, f"Invalid rho, should be non-negative: {rho}"

        defaults = dict(rho=rho, adaptive=adaptive, **kwargs)
        super(SAM, self).__init__(params, defaults)

        self.base_optimizer = base_optimizer(self.param_groups, **kwargs)
        self.param_groups = self.base_optimizer.param_groups
        self.defaults.update(self.base_optimizer.defaults)

    @torch.no_grad()
    def first_step(self, zero_grad=False):
        grad_norm = self._grad_norm()
        for group in self.param_groups:
            scale = group["rho"] / (grad_norm + 1e-12)

            for p in group["params"]:
                if p.grad is None: continue  # noqa: E701 (the source's)
                # differs: `p.data.clone()`: `.data` is the numpy array (docs/pytorch.md), whose copy is `copy()`
                self.state[p]["old_p"] = p.data.copy()
                e_w = (torch.pow(p, 2) if group["adaptive"] else 1.0) * p.grad * scale.to(p)
                p.add_(e_w)  # climb to the local maximum "w + e(w)"

        if zero_grad: self.zero_grad()  # noqa: E701

    @torch.no_grad()
    def second_step(self, zero_grad=False):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None: continue  # noqa: E701
                p.data = self.state[p]["old_p"]  # get back to "w" from "w + e(w)"

        self.base_optimizer.step()  # do the actual "sharpness-aware" update

        if zero_grad: self.zero_grad()  # noqa: E701

    @torch.no_grad()
    def step(self, closure=None):
        assert closure is not None, "Sharpness Aware Minimization requires closure, but it was not provided"
        closure = torch.enable_grad()(closure)  # the closure should do a full forward-backward pass

        self.first_step(zero_grad=True)
        closure()
        self.second_step()

    def _grad_norm(self):
        # put everything on the same device, in case of model parallelism
        shared_device = self.param_groups[0]["params"][0].device
        norm = torch.norm(
                    torch.stack([
                        # differs: `(... * p.grad).norm(p=2)`: without `adaptive` that product is the numpy
                        # gradient times 1.0, a numpy array, whose norm is `torch.norm(...)` (docs/pytorch.md)
                        torch.norm((torch.abs(p) if group["adaptive"] else 1.0) * p.grad, p=2).to(shared_device)
                        for group in self.param_groups for p in group["params"]
                        if p.grad is not None
                    ]),
                    p=2
               )
        return norm

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        self.base_optimizer.param_groups = self.param_groups


# ---- 3. example/model/smooth_cross_entropy.py (2f3dda75), example/utility/*.py ---------------------------------

def smooth_crossentropy(pred, gold, smoothing=0.1):
    n_class = pred.size(1)

    one_hot = torch.full_like(pred, fill_value=smoothing / (n_class - 1))
    one_hot.scatter_(dim=1, index=gold.unsqueeze(1), value=1.0 - smoothing)
    log_prob = F.log_softmax(pred, dim=1)

    return F.kl_div(input=log_prob, target=one_hot, reduction='none').sum(-1)


def disable_running_stats(model):  # bypass_bn.py (3c3afdbd)
    def _disable(module):
        if isinstance(module, _BatchNorm):
            module.backup_momentum = module.momentum
            module.momentum = 0

    model.apply(_disable)


def enable_running_stats(model):
    def _enable(module):
        if isinstance(module, _BatchNorm) and hasattr(module, "backup_momentum"):
            module.momentum = module.backup_momentum

    model.apply(_enable)


class StepLR:  # step_lr.py (2f3dda75)
    def __init__(self, optimizer, learning_rate: float, total_epochs: int):
        self.optimizer = optimizer
        self.total_epochs = total_epochs
        self.base = learning_rate

    def __call__(self, epoch):
        if epoch < self.total_epochs * 3/10:
            lr = self.base
        elif epoch < self.total_epochs * 6/10:
            lr = self.base * 0.2
        elif epoch < self.total_epochs * 8/10:
            lr = self.base * 0.2 ** 2
        else:
            lr = self.base * 0.2 ** 3

        for param_group in self.optimizer.param_groups:
            param_group["lr"] = lr

    def lr(self) -> float:
        return self.optimizer.param_groups[0]["lr"]


def initialize(args, seed: int):  # initialize.py (164c85eb)
    random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)

    torch.backends.cudnn.enabled = True
    torch.backends.cudnn.benchmark = True
    torch.backends.cudnn.deterministic = False


class LoadingBar:  # loading_bar.py (2f3dda75)
    def __init__(self, length: int = 40):
        self.length = length
        self.symbols = ['┈', '░', '▒', '▓']

    def __call__(self, progress: float) -> str:
        p = int(progress * self.length*4 + 0.5)
        d, r = p // 4, p % 4
        return '┠┈' + d * '█' + ((self.symbols[r]) + max(0, self.length-1-d) * '┈' if p < self.length*4 else '') + "┈┨"


class Log:  # log.py (0053ade3)
    def __init__(self, log_each: int, initial_epoch=-1):
        self.loading_bar = LoadingBar(length=27)
        self.best_accuracy = 0.0
        self.log_each = log_each
        self.epoch = initial_epoch

    def train(self, len_dataset: int) -> None:
        self.epoch += 1
        if self.epoch == 0:
            self._print_header()
        else:
            self.flush()

        self.is_train = True
        self.last_steps_state = {"loss": 0.0, "accuracy": 0.0, "steps": 0}
        self._reset(len_dataset)

    def eval(self, len_dataset: int) -> None:
        self.flush()
        self.is_train = False
        self._reset(len_dataset)

    def __call__(self, model, loss, accuracy, learning_rate: float = None) -> None:
        if self.is_train:
            self._train_step(model, loss, accuracy, learning_rate)
        else:
            self._eval_step(loss, accuracy)

    def flush(self) -> None:
        if self.is_train:
            loss = self.epoch_state["loss"] / self.epoch_state["steps"]
            accuracy = self.epoch_state["accuracy"] / self.epoch_state["steps"]

            print(
                f"\r|{self.epoch:12d}  |{loss:12.4f}  |{100*accuracy:10.2f} %  |{self.learning_rate:12.3e}  "
                f"|{self._time():>12}  |",
                end="",
                flush=True,
            )

        else:
            loss = self.epoch_state["loss"] / self.epoch_state["steps"]
            accuracy = self.epoch_state["accuracy"] / self.epoch_state["steps"]

            print(f"{loss:12.4f}  |{100*accuracy:10.2f} %  |", flush=True)

            if accuracy > self.best_accuracy:
                self.best_accuracy = accuracy

    def _train_step(self, model, loss, accuracy, learning_rate: float) -> None:
        self.learning_rate = learning_rate
        self.last_steps_state["loss"] += loss.sum().item()
        self.last_steps_state["accuracy"] += accuracy.sum().item()
        self.last_steps_state["steps"] += loss.size(0)
        self.epoch_state["loss"] += loss.sum().item()
        self.epoch_state["accuracy"] += accuracy.sum().item()
        self.epoch_state["steps"] += loss.size(0)
        self.step += 1

        if self.step % self.log_each == self.log_each - 1:
            loss = self.last_steps_state["loss"] / self.last_steps_state["steps"]
            accuracy = self.last_steps_state["accuracy"] / self.last_steps_state["steps"]

            self.last_steps_state = {"loss": 0.0, "accuracy": 0.0, "steps": 0}
            progress = self.step / self.len_dataset

            print(
                f"\r|{self.epoch:12d}  |{loss:12.4f}  |{100*accuracy:10.2f} %  |{learning_rate:12.3e}  "
                f"|{self._time():>12}  {self.loading_bar(progress)}",
                end="",
                flush=True,
            )

    def _eval_step(self, loss, accuracy) -> None:
        self.epoch_state["loss"] += loss.sum().item()
        self.epoch_state["accuracy"] += accuracy.sum().item()
        self.epoch_state["steps"] += loss.size(0)

    def _reset(self, len_dataset: int) -> None:
        self.start_time = time.time()
        self.step = 0
        self.len_dataset = len_dataset
        self.epoch_state = {"loss": 0.0, "accuracy": 0.0, "steps": 0}

    def _time(self) -> str:
        time_seconds = int(time.time() - self.start_time)
        return f"{time_seconds // 60:02d}:{time_seconds % 60:02d} min"

    def _print_header(self) -> None:
        print("|-----------------------T--R--A--I--N-----------------S--T--A--T--S-----------------V--A--L--I--D-----"
              "---|")
        print("|              |              |              |              |              |              |         "
              "     |")
        print("|       epoch  |        loss  |    accuracy  |        l.r.  |     elapsed  |        loss  |    accura"
              "cy  |")
        print("|--------------|--------------|--------------|--------------|--------------|--------------|---------"
              "-----|")


class SequenceSet:
    """differs: a stand-in for example/data/cifar.py's `Cifar` (torchvision is not installed): `train` and `test`
    lists of (inputs, targets) batches of short 2-d sequences whose label is the quadrant of their sum's direction,
    three classes (the fourth quadrant is class 0)."""

    def __init__(self, batch_size, threads, n_train=96, n_test=48, length=4, seed=5):
        rng = np.random.default_rng(seed)

        def batches(n):
            x = rng.normal(size=(n, length, 2))
            s = x.sum(1)
            y = np.where(s[:, 0] > 0, np.where(s[:, 1] > 0, 1, 0), np.where(s[:, 1] > 0, 2, 0))
            return [(torch.tensor(x[i:i + batch_size]), torch.tensor(y[i:i + batch_size]))
                    for i in range(0, n, batch_size)]
        self.train, self.test = batches(n_train), batches(n_test)


# ---- 3. example/train.py (29597758) as a function of argv ---------------------------------------------------------

def sam_parser():
    parser = argparse.ArgumentParser()
    parser.add_argument("--adaptive", default=True, type=bool, help="True if you want to use the Adaptive SAM.")
    parser.add_argument("--batch_size", default=128, type=int,
                        help="Batch size used in the training and validation loop.")
    parser.add_argument("--depth", default=16, type=int, help="Number of layers.")
    parser.add_argument("--dropout", default=0.0, type=float, help="Dropout rate.")
    parser.add_argument("--epochs", default=200, type=int, help="Total number of epochs.")
    parser.add_argument("--label_smoothing", default=0.1, type=float, help="Use 0.0 for no label smoothing.")
    parser.add_argument("--learning_rate", default=0.1, type=float,
                        help="Base learning rate at the start of the training.")
    parser.add_argument("--momentum", default=0.9, type=float, help="SGD Momentum.")
    parser.add_argument("--threads", default=2, type=int, help="Number of CPU threads for dataloaders.")
    parser.add_argument("--rho", default=2.0, type=int, help="Rho parameter for SAM.")
    parser.add_argument("--weight_decay", default=0.0005, type=float, help="L2 weight decay.")
    parser.add_argument("--width_factor", default=8, type=int, help="How many times wider compared to normal ResNet.")
    return parser


def sam_train_main(argv):
    args = sam_parser().parse_args(argv)  # differs: the script's parser, given argv

    initialize(args, seed=42)
    device = torch.device("cuda:0" if torch.cuda.is_available() else "cpu")

    dataset = SequenceSet(args.batch_size, args.threads)  # differs: `Cifar(args.batch_size, args.threads)`
    log = Log(log_each=10)
    # differs: `WideResNet(args.depth, args.width_factor, args.dropout, in_channels=3, labels=10)`: an LSTM over the
    # stand-in's sequences
    model = LSTMClassifier(2, args.width_factor, 3).to(device)

    base_optimizer = torch.optim.SGD
    optimizer = SAM(model.parameters(), base_optimizer, rho=args.rho, adaptive=args.adaptive, lr=args.learning_rate,
                    momentum=args.momentum, weight_decay=args.weight_decay)
    scheduler = StepLR(optimizer, args.learning_rate, args.epochs)

    for epoch in range(args.epochs):
        model.train()
        log.train(len_dataset=len(dataset.train))

        for batch in dataset.train:
            inputs, targets = (b.to(device) for b in batch)

            # first forward-backward step
            enable_running_stats(model)
            predictions = model(inputs)
            loss = smooth_crossentropy(predictions, targets, smoothing=args.label_smoothing)
            loss.mean().backward()
            optimizer.first_step(zero_grad=True)

            # second forward-backward step
            disable_running_stats(model)
            smooth_crossentropy(model(inputs), targets, smoothing=args.label_smoothing).mean().backward()
            optimizer.second_step(zero_grad=True)

            with torch.no_grad():
                correct = torch.argmax(predictions.data, 1) == targets
                log(model, loss.cpu(), correct.cpu(), scheduler.lr())
                scheduler(epoch)

        model.eval()
        log.eval(len_dataset=len(dataset.test))

        with torch.no_grad():
            for batch in dataset.test:
                inputs, targets = (b.to(device) for b in batch)

                predictions = model(inputs)
                loss = smooth_crossentropy(predictions, targets)
                correct = torch.argmax(predictions, 1) == targets
                log(model, loss.cpu(), correct.cpu())

    log.flush()
    return model, log  # differs: for the tests to read


# ==== the tests ====================================================================================================

def np_vec(tensors):
    """A list of tensors (one per parameter) as one float64 vector."""
    return np.concatenate([arr(t).ravel() for t in tensors])


def as_params_like(flat, params):
    """A float64 vector cut into tensors shaped like `params`."""
    out, offset = [], 0
    for p in params:
        out.append(torch.tensor(flat[offset:offset + p.numel()].reshape(p.shape)))
        offset += p.numel()
    return out


@pytest.fixture(scope="module")
def gru_problem():
    """A GRU classifier's parameters (a state dict), a batch of 5 sequences and labels, and the numpy Hessian of its
    mean cross-entropy in the parameters (second central differences of the numpy forward pass), made once."""
    torch.set_default_dtype(torch.float64)
    torch.manual_seed(0)
    model = GRUClassifier()
    torch.set_default_dtype(torch.float32)
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(5, 3, 2)), rng.integers(0, 2, size=5)
    theta, shapes = np_flat(model)
    H = np_hessian(lambda th: np_cross_entropy(np_gru_classifier(th, shapes, x), y), theta)
    return model.state_dict(), x, y, theta, H


def gru_setup(gru_problem):
    state, x, y, theta, H = gru_problem
    model = GRUClassifier()
    model.load_state_dict(state)
    return model, torch.tensor(x), torch.tensor(y), theta, H


# ---- 1. PyHessian ------------------------------------------------------------------------------------------------

def test_pyhessian_as_written_stops_at_its_create_graph_backward_as_documented(gru_problem):
    model, x, y, theta, H = gru_setup(gru_problem)
    # hessian.__init__'s lines as written: the gradient is recorded so that hessian_vector_product can differentiate
    # it; gradients are not recorded here (docs/pytorch.md, "Gradients of gradients and hooks")
    outputs = model.eval()(x)
    loss = nn.CrossEntropyLoss()(outputs, y)
    with pytest.raises(NotImplementedError, match="create_graph=True"):
        loss.backward(create_graph=True)
    assert all(p.grad is None for p in model.parameters())       # refused before any gradient was written
    loss.backward()                                             # the graph is still there for a first-order pass
    g = np_gradient(lambda th: np_cross_entropy(np_gru_classifier(th, np_flat(model)[1], arr(x)), arr(y)), theta)
    np.testing.assert_allclose(np_vec(get_params_grad(model)[1]), g, atol=1e-8)


def test_group_product_add_normalization_and_orthnormal_against_numpy():
    rng = np.random.default_rng(3)
    a = [rng.normal(size=(3, 2)), rng.normal(size=4)]
    b = [rng.normal(size=(3, 2)), rng.normal(size=4)]
    xs, ys = [torch.tensor(t) for t in a], [torch.tensor(t) for t in b]
    flat_a, flat_b = np.concatenate([t.ravel() for t in a]), np.concatenate([t.ravel() for t in b])
    np.testing.assert_allclose(group_product(xs, ys).item(), flat_a @ flat_b, rtol=1e-12)
    first = xs[0]
    out = group_add(xs, ys, alpha=torch.tensor(-0.5))           # alpha a 0-d tensor, as orthnormal passes it
    assert out is xs and out[0] is first                          # in place: the same list and tensor objects
    np.testing.assert_allclose(np_vec(xs), flat_a - 0.5 * flat_b, rtol=1e-12)
    n = normalization(ys)
    np.testing.assert_allclose(np_vec(n), flat_b / (np.linalg.norm(flat_b) + 1e-6), rtol=1e-12)
    w = orthnormal([torch.tensor(t) for t in a], [n])
    expected = flat_a - (flat_a @ np_vec(n)) * np_vec(n)
    np.testing.assert_allclose(np_vec(w), expected / (np.linalg.norm(expected) + 1e-6), rtol=1e-10)
    assert abs(np_vec(w) @ np_vec(n)) < 1e-5      # not 0: n's norm is 1 / (1 + 1e-6), so the projection is short


def test_get_params_grad_skips_frozen_parameters_gives_zero_for_unreached_and_adds_weight_decay():
    model = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1), nn.Linear(1, 1))
    model[2].bias.requires_grad_(False)
    model[0](torch.ones(1, 2)).sum().backward()                  # only the first layer is reached
    params, grads = get_params_grad(model)
    assert len(params) == 5 and params[-1] is model[2].weight
    assert grads[2:] == [0., 0., 0.]
    np.testing.assert_allclose(arr(grads[0]), np.ones((3, 2)))
    _, decayed = get_params_grad(model, weight_decay=0.1)
    np.testing.assert_allclose(arr(decayed[0]), 1.0 + 0.1 * arr(model[0].weight), rtol=1e-12)
    np.testing.assert_allclose(arr(decayed[1]), 1.0 + 0.1 * arr(model[0].bias), rtol=1e-12)


def test_hessian_vector_product_through_a_gru_against_the_numpy_hessian(gru_problem):
    model, x, y, theta, H = gru_setup(gru_problem)
    comp = hessian(model, nn.CrossEntropyLoss(), data=(x, y), cuda=False)
    assert comp.device == 'cpu' and not model.training and len(comp.params) == 6
    before = [p.detach().clone() for p in comp.params]
    for seed in (4, 5):
        v = np.random.default_rng(seed).normal(size=theta.size)
        hv = hessian_vector_product(comp.gradsH, comp.params, as_params_like(v, comp.params))
        np.testing.assert_allclose(np_vec(hv), H @ v, atol=2e-6 * np.abs(H @ v).max())
    for p, w in zip(comp.params, before):                        # put back exactly, and still leaves
        assert p.is_leaf and p.requires_grad and np.array_equal(arr(p), arr(w))


def test_power_iteration_finds_the_two_largest_eigenvalues_of_the_gru_hessian(gru_problem):
    model, x, y, theta, H = gru_setup(gru_problem)
    comp = hessian(model, nn.CrossEntropyLoss(), data=(x, y), cuda=False)
    values, vectors = comp.eigenvalues(maxIter=300, tol=1e-10, top_n=2)
    lam, U = np.linalg.eigh(H)
    order = np.argsort(-np.abs(lam))                             # power iteration: the largest in magnitude
    np.testing.assert_allclose(values, lam[order[:2]], rtol=1e-4)
    for k in range(2):
        assert abs(np_vec(vectors[k]) @ U[:, order[k]]) > 1 - 1e-4
    assert abs(np_vec(vectors[0]) @ np_vec(vectors[1])) < 1e-5   # normalization's + 1e-6, as in the utils' test


def np_power_iteration(H, v0, maxIter, tol):
    """hessian.eigenvalues for top_n = 1, in numpy, from the drawn vector v0: normalization (v / (|v| + 1e-6)),
    then each iteration orthnormal (a second normalisation), Hv, the Rayleigh quotient and the relative stop."""
    def norm(v):
        return v / (np.linalg.norm(v) + 1e-6)
    v, eigenvalue = norm(v0), None
    for _ in range(maxIter):
        v = norm(v)
        Hv = H @ v
        tmp = Hv @ v
        v = norm(Hv)
        if eigenvalue is None:
            eigenvalue = tmp
        elif abs(eigenvalue - tmp) / (abs(eigenvalue) + 1e-6) < tol:
            break
        else:
            eigenvalue = tmp
    return eigenvalue, v


def test_power_iteration_with_its_default_tolerance_follows_numpy_from_the_same_draw(gru_problem, draws):
    model, x, y, theta, H = gru_setup(gru_problem)
    comp = hessian(model, nn.CrossEntropyLoss(), data=(x, y), cuda=False)
    draws.clear()
    values, vectors = comp.eigenvalues()
    assert len(draws) == 6
    value, v = np_power_iteration(H, np_vec(draws), 100, 1e-3)
    np.testing.assert_allclose(values[0], value, rtol=1e-6)
    np.testing.assert_allclose(np_vec(vectors[0]), v, atol=1e-5)


def test_hutchinson_trace_against_numpy_with_the_recorded_rademacher_draws(gru_problem, draws):
    model, x, y, theta, H = gru_setup(gru_problem)
    comp = hessian(model, nn.CrossEntropyLoss(), data=(x, y), cuda=False)
    draws.clear()
    trace_vhv = comp.trace(maxIter=30, tol=1e-3)
    assert len(draws) == 6 * len(trace_vhv)
    vs = [np_vec(draws[6 * i:6 * i + 6]) for i in range(len(trace_vhv))]
    assert all(set(np.unique(v)) <= {-1.0, 1.0} for v in vs)    # v_i[v_i == 0] = -1 rewrote the draws
    np.testing.assert_allclose(trace_vhv, [v @ H @ v for v in vs], rtol=1e-5, atol=1e-6)
    means = np.cumsum(trace_vhv) / np.arange(1, len(trace_vhv) + 1)   # the stop: mean moved < tol (relative)
    stopped = len(trace_vhv) < 30
    assert stopped == (abs(means[-1] - means[-2]) / (abs(means[-2]) + 1e-6) < 1e-3)
    # E[v^T H v] = trace(H) for Rademacher v: one run is a sample; 400 numpy draws average near it
    rng = np.random.default_rng(0)
    sample = [v @ H @ v for v in rng.choice([-1.0, 1.0], size=(400, theta.size))]
    assert abs(np.mean(sample) - np.trace(H)) < 4 * np.std(sample) / 20


def test_full_lanczos_density_recovers_the_gru_hessian_spectrum(gru_problem):
    model, x, y, theta, H = gru_setup(gru_problem)
    comp = hessian(model, nn.CrossEntropyLoss(), data=(x, y), cuda=False)
    eigen_list_full, weight_list_full = comp.density(iter=theta.size, n_v=1)
    lam = np.linalg.eigvalsh(H)
    # to about 1e-5 of the largest: normalization's `+ 1e-6` leaves the Lanczos vectors 1e-6 short of unit length and
    # of orthogonal (every Ritz value moves by a few 1e-6), and H has a null space of dimension 7 (the r and z gates'
    # b_ih and b_hh enter only as sums: 4; softmax ignores a shift common to both logits: fc's bias 1, its weight's
    # columns 2), where a tiny beta re-orthogonalises difference noise into Ritz values near 1e-5
    np.testing.assert_allclose(np.sort(eigen_list_full[0]), lam, atol=5e-5 * np.abs(lam).max())
    assert np.sum(np.abs(lam) < 1e-8) == 7
    weights = np.array(weight_list_full[0])                     # the squared eigenvector matrix, as written
    assert weights.shape == (theta.size, theta.size)
    np.testing.assert_allclose(weights.sum(0), 1.0, rtol=1e-8)  # each eigenvector's squares
    np.testing.assert_allclose(weights[0].sum(), 1.0, rtol=1e-8)  # the first row: the SLQ weights of PR #23


def test_density_with_fewer_steps_gives_ritz_values_inside_the_spectrum(gru_problem):
    model, x, y, theta, H = gru_setup(gru_problem)
    comp = hessian(model, nn.CrossEntropyLoss(), data=(x, y), cuda=False)
    eigen_list_full, weight_list_full = comp.density(iter=8, n_v=2)
    lam = np.linalg.eigvalsh(H)
    for ritz in eigen_list_full:
        assert len(ritz) == 8 and lam[0] - 1e-6 <= min(ritz) and max(ritz) <= lam[-1] + 1e-6
        np.testing.assert_allclose(max(ritz), lam[-1], rtol=1e-3)   # the extremes converge first


def test_dataloader_hv_product_weights_two_batches_to_the_full_batch_hessian(gru_problem):
    model, x, y, theta, H = gru_setup(gru_problem)
    loader = [(x[:3], y[:3]), (x[3:], y[3:])]                    # batch means, weighted 3 : 2
    comp = hessian(model, nn.CrossEntropyLoss(), dataloader=loader, cuda=False)
    assert comp.full_dataset and comp.gradsH == [0.] * 6         # no batch read yet: get_params_grad's zeros
    v = np.random.default_rng(6).normal(size=theta.size)
    v /= np.linalg.norm(v)
    eigenvalue, THv = comp.dataloader_hv_product(as_params_like(v, comp.params))
    np.testing.assert_allclose(np_vec(THv), H @ v, atol=2e-6 * np.abs(H @ v).max())
    np.testing.assert_allclose(eigenvalue, v @ H @ v, atol=1e-6)
    values, _ = comp.eigenvalues(maxIter=300, tol=1e-10)
    lam = np.linalg.eigvalsh(H)
    np.testing.assert_allclose(values[0], lam[np.argmax(np.abs(lam))], rtol=1e-4)


# ---- 2. the Hessian-free optimiser ---------------------------------------------------------------------------------

def test_hf_test_script_fits_its_point_in_five_steps_and_prints_each_step():
    (model, x, y), printed = quietly(hf_test)
    finals = [float(line.split(":")[1]) for line in printed.splitlines() if line.startswith("Final loss")]
    originals = [float(line.split("\t")[1]) for line in printed.splitlines() if line.startswith("Original loss")]
    assert len(finals) == 5 and all(b < a for a, b in zip(originals, finals))
    theta, shapes = np_flat(model)
    final = np.mean((np_mlp(theta, shapes, arr(x)) - arr(y)) ** 2)      # MSELoss at the parameters left behind
    np.testing.assert_allclose(finals[-1], final, rtol=1e-6)
    assert finals[-1] < 1e-6 and originals[0] > 0.1
    assert "Predicted\t tensor([[0.4000, 0.2000]]" in printed


def mse_closure(model, x, y):
    criterion = torch.nn.MSELoss()

    def closure():
        z = model(x)
        loss = criterion(z, y)
        loss.backward(retain_graph=True)   # hf_test's closure (its create_graph=True is refused here)
        return loss, z
    return closure


@pytest.fixture
def rnn_regression():
    """A tanh RNN regressor over 4 sequences of 5 steps, the target each step's running mean of the inputs."""
    torch.manual_seed(3)
    model = RNNRegressor()
    rng = np.random.default_rng(2)
    x = rng.normal(size=(4, 5, 1))
    y = np.cumsum(x, 1) / np.arange(1, 6)[None, :, None]
    return model, x, y


@pytest.mark.parametrize("which", ["mlp", "rnn"])
def test_gauss_newton_product_against_numpy_jacobians(which, rnn_regression):
    if which == "mlp":
        (model, x, y), _ = quietly(hf_test)
        x, y, forward = arr(x), arr(y), np_mlp
        with torch.no_grad():                                   # away from the fitted point, where G is not ~ 0
            for p in model.parameters():
                p.add_(0.3)
    else:
        model, x, y = rnn_regression
        forward = np_rnn_regressor
    theta, shapes = np_flat(model)
    optimizer = HessianFree(model.parameters(), damping=0.25)
    optimizer._closure = closure = mse_closure(model, torch.tensor(x), torch.tensor(y))
    loss, output = closure()
    J = np_jacobian(lambda th: forward(th, shapes, x), theta)
    G = J.T @ J * 2 / y.size                                    # MSE's H_L = (2 / N) I
    for seed in (0, 1):
        v = np.random.default_rng(seed).normal(size=theta.size)
        Gv = optimizer._Gv(loss, output, torch.tensor(v), 0.25)
        np.testing.assert_allclose(arr(Gv), G @ v + 0.25 * v, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(np_vec(model.parameters()), theta)   # the R-operator put the parameters back


def test_hessian_product_of_the_hessian_free_path_against_the_numpy_hessian(rnn_regression):
    model, x, y = rnn_regression
    theta, shapes = np_flat(model)
    optimizer = HessianFree(model.parameters(), use_gnm=False)
    optimizer._closure = closure = mse_closure(model, torch.tensor(x), torch.tensor(y))
    closure()
    flat_grad = optimizer._gather_flat_grad()
    f = lambda th: np.mean((np_rnn_regressor(th, shapes, x) - y) ** 2)    # noqa: E731
    np.testing.assert_allclose(arr(flat_grad), np_gradient(f, theta), atol=1e-9)
    H = np_hessian(f, theta)
    v = np.random.default_rng(7).normal(size=theta.size)
    Hv = optimizer._Hv(flat_grad, torch.tensor(v), 0.5)
    np.testing.assert_allclose(arr(Hv), H @ v + 0.5 * v, atol=1e-6 * np.abs(H @ v).max())
    G = (lambda J: J.T @ J * 2 / y.size)(np_jacobian(lambda th: np_rnn_regressor(th, shapes, x), theta))
    assert np.linalg.eigvalsh(H)[0] < -1e-4 < 0 <= np.linalg.eigvalsh(G)[0] + 1e-12   # why HF takes G: H indefinite


def test_rop_of_a_zero_vector_is_zero_and_flat_views_cover_every_parameter(rnn_regression):
    model, x, y = rnn_regression
    optimizer = HessianFree(model.parameters())
    optimizer._closure = mse_closure(model, torch.tensor(x), torch.tensor(y))
    flat = optimizer._gather_flat_params()
    assert optimizer._numel() == flat.numel() == 22 and flat.requires_grad          # as PyTorch's: a cat of views
    zero = optimizer._Rop(lambda loss, output: torch.autograd.grad(loss, output), torch.zeros(22))
    assert zero.shape == (20,) and not np.any(arr(zero))
    views = optimizer._cast_like_params(torch.arange(22.0))
    assert [v.shape for v in views] == [p.shape for p in model.parameters()]
    assert isinstance(views[0], np.ndarray)                    # `.data` of a view: the numpy array here


def np_cg(A, b, x0, M=None, max_iter=50, tol=1.2e-6, eps=1.2e-7, martens=False):
    """HessianFree._CG's recurrence in numpy (r = A x - b, p = -M r, Martens' m and relative-progress stop)."""
    x = [x0]
    r = A @ x0 - b
    y = M @ r if M is not None else None
    p = -y if M is not None else -r
    res = r @ r
    m = [0.5 * (r - b) @ x0]
    for i in range(max_iter):
        Ap = A @ p
        alpha = res / (p @ Ap + eps)
        x.append(x[i] + alpha * p)
        r = r + alpha * Ap
        if M is not None:
            y = M @ r
            new = y @ r
        else:
            new = r @ r
        beta = new / (res + eps)
        res = new
        if martens:
            m.append(0.5 * (A @ x[i + 1]) @ x[i + 1] - b @ x[i + 1])
            k = max(10, int(i / 10))
            if i > k and (m[i] - m[i - k]) / (m[i] + eps) < 1e-4:
                break
        if res < tol or np.isnan(res):
            break
        p = -y + beta * p if M is not None else -r + beta * p
    return x, m


def test_cg_test_script_solves_its_system():
    A, b, cg_t = cg_test()
    # to about 1e-8: _CG's `eps=1.2e-7` added to r @ r in beta's denominator bends the last steps
    np.testing.assert_allclose(arr(cg_t), np.linalg.solve(A, b), atol=2e-8)


@pytest.mark.parametrize("preconditioned", [False, True])
def test_cg_iterates_and_martens_values_against_numpy(preconditioned):
    rng = np.random.default_rng(8)
    Q = rng.normal(size=(12, 12))
    A = Q @ Q.T + np.diag(np.linspace(0.1, 30, 12))           # positive definite, spread eigenvalues
    b, x0 = rng.normal(size=12), np.zeros(12)
    M = np.diag(1 / np.diag(A)) if preconditioned else None    # Jacobi, as the Fisher diagonal recipe
    hf = HessianFree(iter([torch.nn.Parameter()]))
    A_t = torch.tensor(A)
    xs, ms = hf._CG(A=lambda v: A_t @ v, b=torch.tensor(b), x0=torch.tensor(x0),
                    M=(lambda v: torch.tensor(M) @ v) if preconditioned else None, max_iter=40, tol=1e-20,
                    eps=1e-30, martens=True)
    ref_x, ref_m = np_cg(A, b, x0, M, max_iter=40, tol=1e-20, eps=1e-30, martens=True)
    assert len(xs) == len(ref_x) and len(ms) == len(ref_m)
    for x, ref in zip(xs, ref_x):
        np.testing.assert_allclose(arr(x), ref, rtol=1e-7, atol=1e-9 * np.abs(ref).max())
    np.testing.assert_allclose([float(m) for m in ms], ref_m, rtol=1e-7, atol=1e-12)
    if not preconditioned:
        assert len(xs) < 41                                     # Martens' relative-progress stop
        np.testing.assert_allclose(arr(xs[-1]), np.linalg.solve(A, b), rtol=1e-3)
        np.testing.assert_allclose(float(ms[-1]), -0.5 * b @ np.linalg.solve(A, b), rtol=1e-4)   # the minimum
    else:
        # the source's, in PyTorch too: with M the first residual norm is still r @ r (not r @ M r), so the first
        # alpha and beta are off, the directions are not A-conjugate, and here the iterates run away
        assert len(xs) == 41 and ms[-1] > ms[1] > 0 > -0.5 * b @ np.linalg.solve(A, b)


def test_fisher_test_script_against_numpy_per_sample_gradients():
    model, xs, ys, diag, matrix = fisher_test()
    theta, shapes = np_flat(model)

    def sample_loss(th, i):
        w1, b1, w2, b2 = np_unflat(th, shapes)
        out = np.maximum(arr(xs)[i] @ w1.T + b1, 0) @ w2.T + b2
        return np.mean((out - arr(ys)[i]) ** 2)
    grads = np.array([np_gradient(lambda th: sample_loss(th, i), theta) for i in range(6)])
    np.testing.assert_allclose(arr(diag), (grads ** 2).mean(0), rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(arr(matrix), grads.T @ grads / 6, rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(arr(torch.diag(matrix)), arr(diag), rtol=1e-12)


@pytest.mark.parametrize("use_gnm, preconditioned", [(True, False), (False, False), (True, True)])
def test_hessian_free_trains_a_recurrent_regressor(use_gnm, preconditioned, rnn_regression):
    model, x, y = rnn_regression
    X, Y = torch.tensor(x), torch.tensor(y)
    theta, shapes = np_flat(model)
    loss0 = np.mean((np_rnn_regressor(theta, shapes, x) - y) ** 2)
    optimizer = HessianFree(model.parameters(), cg_max_iter=20, use_gnm=use_gnm, verbose=True)
    closure = mse_closure(model, X, Y)
    M_inv = (lambda: empirical_fisher_diagonal(model, X, Y, torch.nn.MSELoss())) if preconditioned else None
    losses, damping = [], [0.5]
    for _ in range(5):
        optimizer.zero_grad()
        loss, printed = quietly(optimizer.step, closure, M_inv=M_inv)
        losses.append(float(loss))
        lines = dict(line.split(":", 1) for line in printed.splitlines() if ":" in line)
        ratio = float(lines["Reduction_ratio"])
        damping.append(float(lines["Damping"]))
        expected = damping[-2] * (3 / 2 if ratio < 0.25 else 2 / 3 if ratio > 0.75 else 1)   # Levenberg-Marquardt
        np.testing.assert_allclose(damping[-1], expected, rtol=1e-12)
        assert float(lines["Final loss"]) <= float(lines["Original loss"])               # the line search's bound
    theta, _ = np_flat(model)
    np.testing.assert_allclose(losses[-1], np.mean((np_rnn_regressor(theta, shapes, x) - y) ** 2), rtol=1e-8)
    assert all(b <= a for a, b in zip([loss0] + losses, losses)) and losses[-1] < 0.6 * loss0
    assert optimizer.state[optimizer._params[0]]['func_evals'] == 10
    assert all(p.is_leaf and p.grad_fn is None for p in model.parameters())


def test_gathering_gradients_of_a_parameter_the_loss_does_not_reach():
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
    unused = nn.Linear(1, 1)
    params = list(model.parameters()) + list(unused.parameters())
    optimizer = HessianFree(params)
    model(torch.ones(1, 2)).sum().backward()
    flat = optimizer._gather_flat_grad()                       # p.grad None: zeros of its size
    assert flat.shape == (11,) and not np.any(arr(flat)[-2:])
    loss = model(torch.ones(1, 2)).sum()
    with pytest.raises(RuntimeError, match="allow_unused=True"):    # _Hv's grad would stop here, as PyTorch's
        torch.autograd.grad(loss, params, retain_graph=True)
    grads = torch.autograd.grad(loss, params, allow_unused=True)
    assert grads[-1] is None and grads[-2] is None and grads[0].shape == (2, 2)


def test_hessian_free_as_written_refuses_its_create_graph_steps(rnn_regression):
    model, x, y = rnn_regression
    z = model(torch.tensor(x))
    loss = torch.nn.MSELoss()(z, torch.tensor(y))
    with pytest.raises(NotImplementedError, match="create_graph=True"):      # hf_test's closure as written
        loss.backward(create_graph=True)
    ws = torch.zeros_like(z).requires_grad_(True)                # _Rop as written: the double-backward trick
    with pytest.raises(NotImplementedError, match="create_graph=True"):
        torch.autograd.grad(z, list(model.parameters()), grad_outputs=ws, create_graph=True, retain_graph=True)


# ---- 3. SAM around an LSTM ------------------------------------------------------------------------------------------

@pytest.fixture
def lstm_batch():
    torch.manual_seed(4)
    model = LSTMClassifier()
    rng = np.random.default_rng(9)
    x, y = rng.normal(size=(6, 4, 2)), rng.integers(0, 3, size=6)
    return model, x, y


def sam_loss_np(theta, shapes, x, y):
    return np_smooth_crossentropy(np_lstm_classifier(theta, shapes, x), y).mean()


def test_smooth_crossentropy_against_numpy_with_its_gradient(lstm_batch):
    model, x, y = lstm_batch
    pred = torch.tensor(np.random.default_rng(1).normal(size=(6, 3)), requires_grad=True)
    loss = smooth_crossentropy(pred, torch.tensor(y), smoothing=0.2)
    np.testing.assert_allclose(arr(loss), np_smooth_crossentropy(arr(pred), y, 0.2), rtol=1e-12)
    loss.mean().backward()
    g = np_gradient(lambda p: np_smooth_crossentropy(p.reshape(6, 3), y, 0.2).mean(), arr(pred).ravel())
    np.testing.assert_allclose(pred.grad.ravel(), g, atol=1e-9)
    q = np.full((6, 3), 0.1)
    q[np.arange(6), y] = 0.8
    np.testing.assert_allclose(pred.grad, (np.exp(np_log_softmax(arr(pred))) - q) / 6, atol=1e-12)   # softmax - q


@pytest.mark.parametrize("adaptive", [False, True])
def test_sam_first_step_climbs_rho_along_the_normalised_gradient(adaptive, lstm_batch):
    model, x, y = lstm_batch
    theta, shapes = np_flat(model)
    optimizer = SAM(model.parameters(), torch.optim.SGD, rho=0.5, adaptive=adaptive, lr=0.1)
    smooth_crossentropy(model(torch.tensor(x)), torch.tensor(y)).mean().backward()
    g = np_gradient(lambda th: sam_loss_np(th, shapes, x, y), theta)
    np.testing.assert_allclose(np_vec([p.grad for p in model.parameters()]), g, atol=1e-9)
    optimizer.first_step(zero_grad=True)
    scale = (theta ** 2 if adaptive else 1.0)
    e = scale * g * 0.5 / (np.linalg.norm((np.abs(theta) if adaptive else 1.0) * g) + 1e-12)
    np.testing.assert_allclose(np_flat(model)[0], theta + e, rtol=1e-7, atol=1e-10)
    assert all(p.grad is None and p.is_leaf for p in model.parameters())
    np.testing.assert_array_equal(np.concatenate([optimizer.state[p]["old_p"].ravel() for p in model.parameters()]),
                                  theta)


def test_sam_second_step_is_sgd_with_the_gradient_at_the_climbed_point(lstm_batch):
    model, x, y = lstm_batch
    theta, shapes = np_flat(model)
    optimizer = SAM(model.parameters(), torch.optim.SGD, rho=0.3, lr=0.2, momentum=0.9, weight_decay=0.01)
    X, Y = torch.tensor(x), torch.tensor(y)
    smooth_crossentropy(model(X), Y).mean().backward()
    optimizer.first_step(zero_grad=True)
    climbed = np_flat(model)[0]
    smooth_crossentropy(model(X), Y).mean().backward()
    optimizer.second_step(zero_grad=True)
    g_climbed = np_gradient(lambda th: sam_loss_np(th, shapes, x, y), climbed)
    expected = theta - 0.2 * (g_climbed + 0.01 * theta)        # SGD's first step: buf = g + wd w
    np.testing.assert_allclose(np_flat(model)[0], expected, rtol=1e-7, atol=1e-10)
    buf = optimizer.base_optimizer.state[next(model.parameters())]["momentum_buffer"]
    np.testing.assert_allclose(arr(buf).ravel(), (g_climbed + 0.01 * theta)[:buf.size], atol=1e-9)
    assert all(p.grad is None for p in model.parameters())


def test_sam_step_with_a_closure_is_the_two_steps_and_runs_the_closure_with_grad_enabled(lstm_batch):
    model, x, y = lstm_batch
    twin = LSTMClassifier()
    twin.load_state_dict(model.state_dict())
    X, Y = torch.tensor(x), torch.tensor(y)
    by_closure = SAM(model.parameters(), torch.optim.SGD, rho=0.1, adaptive=True, lr=0.1, momentum=0.5)
    by_hand = SAM(twin.parameters(), torch.optim.SGD, rho=0.1, adaptive=True, lr=0.1, momentum=0.5)
    enabled = []

    def closure():
        enabled.append(torch.is_grad_enabled())
        loss = smooth_crossentropy(model(X), Y).mean()
        loss.backward()
        return loss
    for _ in range(2):
        closure()                                              # the first backward, outside the step
        with torch.no_grad():                                  # step is decorated no_grad anyway
            by_closure.step(closure)
        by_closure.zero_grad()
        smooth_crossentropy(twin(X), Y).mean().backward()
        by_hand.first_step(zero_grad=True)
        smooth_crossentropy(twin(X), Y).mean().backward()
        by_hand.second_step(zero_grad=True)
    assert enabled == [True] * 4
    np.testing.assert_allclose(np_flat(model)[0], np_flat(twin)[0], rtol=1e-12)
    with pytest.raises(AssertionError, match="requires closure"):
        by_closure.step()
    with pytest.raises(AssertionError, match="Invalid rho"):
        SAM(model.parameters(), torch.optim.SGD, rho=-0.1)


def test_sam_shares_its_groups_with_the_base_optimizer_and_its_state_dict_round_trips(lstm_batch):
    model, x, y = lstm_batch
    optimizer = SAM(model.parameters(), torch.optim.SGD, rho=0.05, lr=0.1, momentum=0.9)
    assert optimizer.param_groups is optimizer.base_optimizer.param_groups
    group = optimizer.param_groups[0]
    assert group["rho"] == 0.05 and group["adaptive"] is False and group["momentum"] == 0.9
    assert optimizer.defaults["lr"] == 0.1 and optimizer.defaults["nesterov"] is False   # SGD's defaults merged in
    scheduler = StepLR(optimizer, 0.1, 10)
    scheduler(7)
    assert optimizer.base_optimizer.param_groups[0]["lr"] == pytest.approx(0.1 * 0.2 ** 2) == scheduler.lr()
    X, Y = torch.tensor(x), torch.tensor(y)
    smooth_crossentropy(model(X), Y).mean().backward()
    optimizer.first_step(zero_grad=True)
    smooth_crossentropy(model(X), Y).mean().backward()
    optimizer.second_step(zero_grad=True)
    saved = optimizer.state_dict()
    assert set(saved["state"][0]) == {"old_p"}                 # SAM's own state; SGD keeps its buffers apart
    fresh = SAM(model.parameters(), torch.optim.SGD, rho=0.5, lr=1.0)
    fresh.load_state_dict(saved)
    assert fresh.base_optimizer.param_groups is fresh.param_groups and fresh.param_groups[0]["rho"] == 0.05
    assert fresh.base_optimizer.param_groups[0]["lr"] == pytest.approx(0.004)
    np.testing.assert_array_equal(arr(fresh.state[next(model.parameters())]["old_p"]),
                                  optimizer.state[next(model.parameters())]["old_p"])


def test_bypass_bn_sets_batch_norm_momentum_to_zero_and_back():
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3, momentum=0.3), nn.ReLU(), nn.BatchNorm1d(3))
    disable_running_stats(model)
    assert model[1].momentum == 0 and model[3].momentum == 0 and model[1].backup_momentum == 0.3
    before = arr(model[1].running_mean)
    model(torch.randn(5, 2))                                   # momentum 0: the running statistics stay
    np.testing.assert_array_equal(arr(model[1].running_mean), before)
    enable_running_stats(model)
    assert model[1].momentum == 0.3 and model[3].momentum == 0.1
    model(torch.randn(5, 2))
    assert not np.array_equal(arr(model[1].running_mean), before)


def test_sam_train_script_on_an_lstm_lowers_its_loss_and_logs_each_epoch():
    argv = ["--epochs", "6", "--batch_size", "16", "--width_factor", "4", "--rho", "1", "--learning_rate", "0.5"]
    (model, log), printed = quietly(sam_train_main, argv)
    rows = [line for line in printed.replace("\r", "\n").splitlines() if line.startswith("|") and "min" in line]
    finished = {}
    for row in rows:                                           # the last printed row of each epoch
        cells = [c.strip() for c in row.split("|")[1:]]
        finished[int(cells[0])] = cells
    assert sorted(finished) == list(range(6))
    train_losses = [float(finished[e][1]) for e in range(6)]
    assert train_losses[-1] < 0.85 * train_losses[0]
    assert [finished[e][3] for e in (0, 2, 4, 5)] == ["5.000e-01", "1.000e-01", "2.000e-02", "4.000e-03"]  # StepLR
    assert log.best_accuracy > 0.4 and isinstance(model.lstm, nn.LSTM)
    assert LoadingBar(length=4)(0.5) == '┠┈██┈┈┈┨' and LoadingBar(length=4)(1.0) == '┠┈████┈┨'


# ---- 4. second derivatives through recurrent layers: refused, as documented ------------------------------------------

@pytest.mark.parametrize("cell", ["lstm_cell", "gru_cell", "rnn_layer"])
def test_curvature_through_recurrent_layers_is_refused_as_documented(cell):
    make = {"lstm_cell": lambda: nn.LSTMCell(2, 3), "gru_cell": lambda: nn.GRUCell(2, 3),
            "rnn_layer": lambda: nn.RNN(2, 3, batch_first=True)}[cell]
    layer = make()
    x = torch.randn(2, 2) if cell != "rnn_layer" else torch.randn(2, 4, 2)

    def loss_of(weight):
        out = torch.func.functional_call(layer, {"weight_ih" if cell != "rnn_layer" else "weight_ih_l0": weight}, (x,))
        return (out[0] if isinstance(out, tuple) else out).pow(2).sum()
    w = layer.weight_ih if cell != "rnn_layer" else layer.weight_ih_l0
    loss = loss_of(w)
    with pytest.raises(NotImplementedError, match="create_graph=True"):
        torch.autograd.grad(loss, w, create_graph=True)
    v = torch.randn(*w.shape)
    for call in (lambda: torch.autograd.functional.hvp(loss_of, w.detach(), v),
                 lambda: torch.autograd.functional.vhp(loss_of, w.detach(), v),
                 lambda: torch.autograd.functional.hessian(loss_of, w.detach()),
                 lambda: torch.func.jvp(torch.func.grad(loss_of), (w.detach(),), (v,))):   # forward-over-reverse
        with pytest.raises(NotImplementedError):
            call()
    # what the library offers: the gradient is first-order exact, and its central difference is the HVP
    g = torch.autograd.grad(loss, w)[0]
    hv = central_difference_hv(lambda: [torch.autograd.grad(loss_of(w), w)[0]], [w], [v])[0]
    assert g.shape == hv.shape == w.shape and np.all(np.isfinite(arr(hv)))


def test_the_documented_route_forward_mode_over_a_bptt_gradient_written_out_gives_the_exact_hvp():
    # docs/pytorch.md: "second derivatives: `mg.jvp` of a gradient written out, or finite differences". The gradient
    # of a tanh RNN's loss in W_hh by BPTT in tensor ops, pushed forward along V: H V to rounding, no step size
    rng = np.random.default_rng(11)
    x, target = rng.normal(size=(3, 5, 2)), rng.normal(size=(3, 5))
    w_ih, w_out, w0 = rng.normal(size=(3, 2)) * 0.5, rng.normal(size=3), rng.normal(size=(3, 3)) * 0.5
    X, Y, W_ih, w_o = (torch.tensor(a) for a in (x, target, w_ih, w_out))

    def bptt_gradient(W):
        hs = [torch.zeros(3, 3)]
        for t in range(5):
            hs.append(torch.tanh(X[:, t] @ W_ih.T + hs[-1] @ W.T))
        dW, dh_next = torch.zeros(3, 3), torch.zeros(3, 3)
        for t in reversed(range(5)):
            dy = 2 * (hs[t + 1] @ w_o - Y[:, t]) / 15                 # d mean((h w_out - y)^2) / d(h_t w_out)
            da = (dy[:, None] * w_o + dh_next) * (1 - hs[t + 1] ** 2)
            dW = dW + da.T @ hs[t]
            dh_next = da @ W
        return dW

    def np_loss(flat):
        W, h, total = flat.reshape(3, 3), np.zeros((3, 3)), 0.0
        for t in range(5):
            h = np.tanh(x[:, t] @ w_ih.T + h @ W.T)
            total += ((h @ w_out - target[:, t]) ** 2).sum()
        return total / 15
    V = rng.normal(size=(3, 3))
    g, hv = torch.func.jvp(bptt_gradient, (torch.tensor(w0),), (torch.tensor(V),))
    np.testing.assert_allclose(arr(g).ravel(), np_gradient(np_loss, w0.ravel()), atol=1e-9)
    np.testing.assert_allclose(arr(hv).ravel(), np_hessian(np_loss, w0.ravel()) @ V.ravel(), atol=1e-7)


# ==== what PyTorch does where the round found the library different (one fixed with this round, one left open) =====

def test_a_parameter_made_without_data_is_empty_as_pytorch():
    # torch/nn/parameter.py: `def __new__(cls, data=None, requires_grad=True)`, `if data is None: data =
    # torch.empty(0)`; pytorch-hessianfree's cg_test.py builds its optimizer on `iter([torch.nn.Parameter()])`
    p = torch.nn.Parameter()
    assert isinstance(p, torch.nn.Parameter) and p.shape == (0,) and p.requires_grad and p.is_leaf
    assert p.dtype == torch.float64                            # the default dtype (float64 in these tests)
    assert not torch.nn.Parameter(requires_grad=False).requires_grad
    torch.set_default_dtype(torch.float32)
    assert torch.nn.Parameter().dtype == torch.float32
    optimizer = torch.optim.SGD(iter([torch.nn.Parameter()]), lr=0.1)
    optimizer.step()                                           # no gradient: nothing to do
    assert len(optimizer.param_groups[0]["params"]) == 1


def test_torch_add_of_a_numpy_gradient_with_alpha_as_without():
    g, p = np.ones(3), torch.tensor([1.0, 2.0, 3.0])
    np.testing.assert_allclose(arr(torch.add(g, p)), [2.0, 3.0, 4.0])
    np.testing.assert_allclose(arr(torch.add(g, p, alpha=0.1)), [1.1, 1.2, 1.3])
