"""Porting, round 54: LEARNED OPTIMIZERS AND UNROLLED OPTIMIZATION, as public PyTorch code writes them. Each script is
written as its author wrote it, with only the imports changed (`# differs:` marks each other change and why):

1. ikostrikov/pytorch-meta-optimizer ("Learning to learn by gradient descent by gradient descent"): meta_optimizer.py
   (0154d4d4fc856163885a62bac06174311aa58caf) `MetaOptimizer` (a linear, a layer norm, layer-norm LSTM cells, one row
   per coordinate), `FastMetaOptimizer` (a learned forget and input gate per coordinate, theta' = f theta - i g, Ravi
   and Larochelle's update) and `MetaModel` (each Linear's `module._parameters['weight']` replaced by a detached tensor,
   then by views of one flat tensor of the graph, then copied into the plain model); utils.py
   (c4658008ed6c4dd9da4bae3f099f4510a9fccd65) `preprocess_gradients` (log|g| / p and sign g, Appendix A);
   layer_norm.py (2aadb06c3b34418be7fd98e5cd424bdbc535d04a) `LayerNorm1D`; layer_norm_lstm.py (c4658008...)
   `LayerNormLSTMCell`; model.py (82169f2bb378a4cac7f61c124c9fc9deb5f4c50b) `Model`, an MNIST MLP; main.py
   (66d4801d50c044fcbb7dc1c11c330a94d8a2908f) `main` as written: a new model per update, truncated BPTT every
   `truncated_bptt_step` meta updates (`reset_lstm(keep_states=k > 0)`), `loss_sum += loss - Variable(prev_loss)`,
   the meta gradient clipped to [-1, 1], Adam.
2. AdrienLE/learning_by_grad_by_grad_repro, Grad^2.ipynb (186c5acfcd594e2872f2597fa7b1f90a8adfb541), the code cells of
   its quadratic experiment: `detach_var` (`Variable(v.data, requires_grad=True)` and `retain_grad()`), `do_fit` (the
   coordinatewise two-layer LSTMCell optimizer over the optimizee's gradients, `loss.backward(retain_graph=True)` at
   every step, `p + updates * out_mul` with `retain_grad()` on each new non-leaf theta, the hidden states filled by
   item assignment, and every `unroll` steps the meta step and the cut, `detach_var` on theta and the states),
   `fit_optimizer` (Adam over the LSTM, the best state dict kept by `copy.deepcopy(opt_net.state_dict())`),
   `QuadraticLoss`, `QuadOptimizee`, `Optimizer` (its gradient preprocessing by masked item assignment into columns),
   `fit_normal`, `find_best_lr_normal`, and the comparison cell (`opt.load_state_dict(quad_optimizer)`).
3. gbaydin/hypergradient-descent ("Online learning rate adaptation with hypergradient descent", Baydin et al.):
   hypergrad/sgd_hd.py and hypergrad/adam_hd.py (a6f82e7a4d5cc6f56ee4e6f3fbb5ed3eb5f6c88d) `SGDHD` (lr += beta g_t .
   g_{t-1}, momentum and Nesterov, one flat gradient) and `AdamHD` (lr += beta g_t . m_{t-1} / (sqrt(v_{t-1}) + eps),
   bias-corrected), both in PyTorch's deprecated overloads (`add_(scalar, tensor)`, `addcmul_(scalar, t, t)`,
   `addcdiv_(-step_size, m, denom)` with step_size a 0-d tensor once lr is one); train.py
   (161e252d1ae13f93ecb13293d36f622ee692d264) `LogReg`, `MLP`, `train`, `main` (argparse, the csv log, `sys.exit(0)`).
4. JosephKJ/PyTorch-MAML-and-Reptile, main.py (21db3578b2168c647de02b89e77b68a98f6ac29e), from John Schulman's Reptile
   gist: `experiment(run)` on random sine waves, Reptile (`weights_before = deepcopy(model.state_dict())`, inner SGD
   by hand, `load_state_dict` of the interpolation) and its branch named MAML (first order: the gradient at the adapted
   weights, kept through `model.load_state_dict(weights_before)`, applied to the weights before), the periodic plot
   (matplotlib's Agg backend here). Its `main` (argparse of `--run`) is not ported.

Every source was read in the index at the commit named; none was written from memory.

What broke (fixed in this round's library change):
  - `module._parameters['weight'] = t` did not change what `module.weight` (and so `forward`) reads: a module here also
    holds each parameter as an attribute, and a direct write into the table left the attribute on the old Parameter.
    PyTorch keeps a parameter only in `_parameters` (`Module.__getattr__` finds it there). ikostrikov's MetaModel
    writes the flat parameters' views that way, so the meta model computed with the stale weights and the meta loss
    never reached the meta optimizer (`param.grad` None in main.py's clipping); silently wrong in general. A module's
    table is now a dict whose writes also set the attribute (microgradseq/nn/parameter_table.py, `ParameterTable`, kept in
    step through `copy.copy`, `copy.deepcopy` and pickling).
  - PyTorch's deprecated overloads with the number first (tools/autograd/deprecated.yaml; PyTorch still takes them
    with a UserWarning), `t.add_(alpha, u)`, `t.add(alpha, u)`, `t.sub(alpha, u)`, `t.addcmul_(value, t1, t2)`,
    `t.addcdiv_(value, t1, t2)` and the function forms, were Python's "takes 2 positional arguments but 3 were given";
    and a 0-d tensor as alpha=/value= (PyTorch's Scalar takes one that needs no grad, python_arg_parser.cpp) was a
    TypeError. Both as PyTorch now, with PyTorch's warning text (microgradseq/ops/arithmetic.py, ops/in_place.py).
  - `from torch.optim.optimizer import Optimizer, required` failed: `required`, PyTorch's mark of an option without a
    default (`lr=required`), is in microgradseq/optim/optimizer.py, with PyTorch's ValueError for a group without it.

Left as a strict xfail then, fixed in review round 32b (tests/test_review_round_32b.py): `del module._parameters[name]`
left `module.<name>` here (PyTorch's is then gone).

Met and left as documented (docs/pytorch.md; the lines say `differs:`):
  - `.data` and `.grad` are read-only numpy arrays: `Variable(v.data, ...)` (detach_var, reset_lstm, MetaModel.reset)
    is a TypeError, `p.grad.view(n, 1)` numpy's view, `param.grad.data.clamp_` a memoryview's, `param.data -= ...` a
    write into a read-only array, `bias.data[0] = 1` too; the ports take `.detach()`, `torch.from_numpy(p.grad)`,
    `np.clip`, a new array or the parameter's own in-place method under `no_grad`. As a tensor the gradient is a copy,
    so SGDHD's weight decay, added to a view of p.grad in PyTorch, is not also added into p.grad here.
  - A non-leaf's `.grad` is the last pass's (PyTorch's `retain_grad` accumulates): do_fit reads each theta's after
    the one pass that reaches it first, the same number in both.
  - `torch.Tensor(x)` of the float64 sine arrays is float64 here (float32 in PyTorch): the float32 model refuses it;
    the sine tests run with the float64 default.
  - Second derivatives (`create_graph=True`) are refused: the paper's MAML and an exact hypergradient through two
    steps need them; the sources here are first order (the gradients detached as inputs), and the tests check that.
  - numpy's overflow warnings at the diverging learning rates of `find_best_lr_normal` (PyTorch is silent).

Met and changed for reasons outside the library (marked): torchvision and joblib are not installed (MNIST is a
stand-in over made-up digits with torchvision's interface; the joblib cache is dropped); no GPU (`USE_CUDA = False`);
argparse reads a test's argv, not pytest's; sizes, epochs and iterations are smaller; `loss.data[0]` and
`.numpy()[0]` of 0-d losses (IndexError in today's PyTorch too) are `.item()`; two classes renamed where sources
collide (`Optimizer` of torch.optim is `TorchOptimizer`, train.py's `main` is `hd_main`); lines over 120 characters
wrapped; one invalid escape in a docstring doubled.

Noticed and left alone (the sources', in PyTorch too):
  - MetaOptimizer (not FastMetaOptimizer) is stale at this commit: its cells sit in a plain list (never registered,
    never trained), and `meta_update` concatenates 1-d gradients along dim 1 (PyTorch: IndexError).
  - main.py's `loss_sum += loss - Variable(prev_loss)` telescopes: its value is the last loss, its gradient that of
    every step's loss; its meta optimizer starts with f = sigmoid(1 + ...) ~ 0.73, shrinking the weights each step.
  - The notebook's preprocessing indexes an (n,) column with an (n, 1) mask (today's PyTorch: IndexError "too many
    indices"; later copies squeeze both); `do_fit` never advances `offset` (one parameter in QuadOptimizee, so
    harmless); `fit_optimizer` runs 20 `do_fit`s an epoch whatever its arguments.
  - AdamHD updates the one shared lr inside its loop over parameters, so each later parameter steps with an lr that
    earlier parameters' hypergradients have already moved; SGDHD's zeros for a missing gradient are not flattened.
  - experiment()'s `if plot and iteration == 0 or (iteration + 1) % 1000 == 0` evaluates every 1000 iterations even
    with plot=False; the branch named MAML is first-order MAML.

Expected values come from numpy written here in float64 (the LSTM and layer-norm LSTM cells, the MLPs and their
gradients by hand, the meta updates and unrolls, the optimizers' updates), closed forms (the hypergradient), and
central differences of those (the meta gradients, with the inner gradients held fixed as the sources hold them);
never from the library's own outputs. Random draws of the library (initial weights, QuadraticLoss's W and y) are read
back as inputs.
"""

import argparse
import copy
import csv
import gc
import math
import os
import pickle
import sys
import time
import traceback
import types
import warnings
from copy import deepcopy
from functools import reduce
from operator import mul

import matplotlib
import numpy as np
import pytest
from porting_references import arr, central, check_named_grads, np_lstm_cell, np_sigmoid, some_indices

import microgradseq as torch
import microgradseq.nn as nn
import microgradseq.nn.functional as F
import microgradseq.optim as optim
from microgradseq import autograd as ag
from microgradseq.autograd import Node, Variable
from microgradseq.optim.optimizer import Optimizer as TorchOptimizer, required
from microgradseq.utils.data import DataLoader
from tqdm import tqdm

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)
    np.random.seed(0)
    yield
    torch.set_default_dtype(torch.float32)


@pytest.fixture
def float64():
    torch.set_default_dtype(torch.float64)


def live_nodes():
    """Graph nodes alive now (after a collection)."""
    gc.collect()
    return sum(1 for thing in gc.get_objects() if type(thing) is Node)


# ---- stand-ins for torchvision's MNIST (not installed): made-up "digits", torchvision's interface -------------------

def made_up_digits(n, seed):
    """n 28 x 28 uint8 images, ten classes: each class a fixed random blob pattern, each image its class's pattern
    with noise; and the labels."""
    prototypes = np.random.RandomState(1234).uniform(0, 1, (10, 28, 28)) > 0.8
    rng = np.random.RandomState(seed)
    labels = rng.randint(0, 10, n)
    images = prototypes[labels] * 70.0 + rng.uniform(0, 185, (n, 28, 28))
    return images.astype(np.uint8), labels


class _MNIST(torch.utils.data.Dataset):
    """differs: torchvision's `datasets.MNIST(root, train, download, transform)` (not installed): the same interface
    over made-up digits (2048 to train, 256 to test), each item (transform(image), label) as torchvision gives it."""

    def __init__(self, root, train=True, download=False, transform=None):
        self.data, self.targets = made_up_digits(2048 if train else 256, 0 if train else 1)
        self.transform = transform

    def __len__(self):
        return len(self.data)

    def __getitem__(self, index):
        image = self.data[index]
        if self.transform is not None:
            image = self.transform(image)
        return image, int(self.targets[index])


class _Compose:
    def __init__(self, transforms):
        self.transforms = transforms

    def __call__(self, image):
        for t in self.transforms:
            image = t(image)
        return image


class _ToTensor:
    """torchvision's ToTensor of a uint8 H x W image: (1, H, W), the default float dtype, divided by 255."""

    def __call__(self, image):
        return torch.tensor(image[None] / 255.0, dtype=torch.get_default_dtype())


class _Normalize:
    def __init__(self, mean, std):
        self.mean, self.std = mean, std

    def __call__(self, tensor):
        return (tensor - self.mean[0]) / self.std[0]


datasets = types.SimpleNamespace(MNIST=_MNIST)
transforms = types.SimpleNamespace(Compose=_Compose, ToTensor=_ToTensor, Normalize=_Normalize)


# ==== 1. ikostrikov/pytorch-meta-optimizer: utils.py, layer_norm.py, layer_norm_lstm.py, meta_optimizer.py, ... ====

# ---- utils.py ----

def preprocess_gradients(x):
    p = 10
    eps = 1e-6
    indicator = (x.abs() > math.exp(-p)).float()
    x1 = (x.abs() + eps).log() / p * indicator - (1 - indicator)
    x2 = x.sign() * indicator + math.exp(p) * x * (1 - indicator)

    return torch.cat((x1, x2), 1)


# ---- layer_norm.py ----

class LayerNorm1D(nn.Module):

    def __init__(self, num_outputs, eps=1e-5, affine=True):
        super(LayerNorm1D, self).__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(1, num_outputs))
        self.bias = nn.Parameter(torch.zeros(1, num_outputs))

    def forward(self, inputs):
        input_mean = inputs.mean(1,keepdim=True).expand_as(inputs)
        input_std = inputs.std(1,keepdim=True).expand_as(inputs)
        x = (inputs - input_mean) / (input_std + self.eps)
        return x * self.weight.expand_as(x) + self.bias.expand_as(x)


# ---- layer_norm_lstm.py ----

class LayerNormLSTMCell(nn.Module):

    def __init__(self, num_inputs, num_hidden, forget_gate_bias=-1):
        super(LayerNormLSTMCell, self).__init__()

        self.forget_gate_bias = forget_gate_bias
        self.num_hidden = num_hidden
        self.fc_i2h = nn.Linear(num_inputs, 4 * num_hidden)
        self.fc_h2h = nn.Linear(num_hidden, 4 * num_hidden)

        self.ln_i2h = LayerNorm1D(4 * num_hidden)
        self.ln_h2h = LayerNorm1D(4 * num_hidden)

        self.ln_h2o = LayerNorm1D(num_hidden)

    def forward(self, inputs, state):
        hx, cx = state
        i2h = self.fc_i2h(inputs)
        h2h = self.fc_h2h(hx)
        x = self.ln_i2h(i2h) + self.ln_h2h(h2h)
        gates = x.split(self.num_hidden, 1)

        in_gate = F.sigmoid(gates[0])
        forget_gate = F.sigmoid(gates[1] + self.forget_gate_bias)
        out_gate = F.sigmoid(gates[2])
        in_transform = F.tanh(gates[3])

        cx = forget_gate * cx + in_gate * in_transform
        hx = out_gate * F.tanh(self.ln_h2o(cx))
        return hx, cx


# ---- model.py ----

class Model(nn.Module):

    def __init__(self):
        super(Model, self).__init__()
        self.linear1 = nn.Linear(28 * 28, 32)
        self.linear2 = nn.Linear(32, 10)

    def forward(self, inputs):
        x = inputs.view(-1, 28 * 28)
        x = F.relu(self.linear1(x))
        x = self.linear2(x)
        return F.log_softmax(x)


# ---- meta_optimizer.py ----

class MetaOptimizer(nn.Module):

    def __init__(self, model, num_layers, hidden_size):
        super(MetaOptimizer, self).__init__()
        self.meta_model = model

        self.hidden_size = hidden_size

        self.linear1 = nn.Linear(3, hidden_size)
        self.ln1 = LayerNorm1D(hidden_size)

        self.lstms = []
        for i in range(num_layers):
            self.lstms.append(LayerNormLSTMCell(hidden_size, hidden_size))

        self.linear2 = nn.Linear(hidden_size, 1)
        # differs: `self.linear2.weight.data.mul_(0.1)` and `self.linear2.bias.data.fill_(0.0)`: `.data` is the
        # parameter's read-only numpy array here (docs/pytorch.md); the parameter's own in-place methods under no_grad
        with torch.no_grad():
            self.linear2.weight.mul_(0.1)
            self.linear2.bias.fill_(0.0)

    def cuda(self):
        super(MetaOptimizer, self).cuda()
        for i in range(len(self.lstms)):
            self.lstms[i].cuda()

    def reset_lstm(self, keep_states=False, model=None, use_cuda=False):
        self.meta_model.reset()
        self.meta_model.copy_params_from(model)

        if keep_states:
            for i in range(len(self.lstms)):
                self.hx[i] = Variable(self.hx[i].detach())  # differs: `self.hx[i].data` (the numpy array here)
                self.cx[i] = Variable(self.cx[i].detach())  # differs: as above
        else:
            self.hx = []
            self.cx = []
            for i in range(len(self.lstms)):
                self.hx.append(Variable(torch.zeros(1, self.hidden_size)))
                self.cx.append(Variable(torch.zeros(1, self.hidden_size)))
                if use_cuda:
                    self.hx[i], self.cx[i] = self.hx[i].cuda(), self.cx[i].cuda()

    def forward(self, x):
        # Gradients preprocessing
        x = F.tanh(self.ln1(self.linear1(x)))

        for i in range(len(self.lstms)):
            if x.size(0) != self.hx[i].size(0):
                self.hx[i] = self.hx[i].expand(x.size(0), self.hx[i].size(1))
                self.cx[i] = self.cx[i].expand(x.size(0), self.cx[i].size(1))

            self.hx[i], self.cx[i] = self.lstms[i](x, (self.hx[i], self.cx[i]))
            x = self.hx[i]

        x = self.linear2(x)
        return x.squeeze()

    def meta_update(self, model_with_grads, loss):
        # First we need to create a flat version of parameters and gradients
        grads = []

        for module in model_with_grads.children():
            # differs: `module._parameters['weight'].grad.data.view(-1)` (and the bias's): `.grad` is a numpy array
            # here, whose `.data` is a memoryview (docs/pytorch.md): the array as a tensor
            grads.append(torch.from_numpy(module._parameters['weight'].grad).view(-1))
            grads.append(torch.from_numpy(module._parameters['bias'].grad).view(-1))

        flat_params = self.meta_model.get_flat_params()
        flat_grads = preprocess_gradients(torch.cat(grads))

        inputs = Variable(torch.cat((flat_grads, flat_params.detach()), 1))  # differs: `flat_params.data`

        # Meta update itself
        flat_params = flat_params + self(inputs)

        self.meta_model.set_flat_params(flat_params)

        # Finally, copy values from the meta model to the normal one.
        self.meta_model.copy_params_to(model_with_grads)
        return self.meta_model.model

class FastMetaOptimizer(nn.Module):

    def __init__(self, model, num_layers, hidden_size):
        super(FastMetaOptimizer, self).__init__()
        self.meta_model = model

        self.linear1 = nn.Linear(6, 2)
        # differs: `self.linear1.bias.data[0] = 1` (a write into the read-only array): the item under no_grad
        with torch.no_grad():
            self.linear1.bias[0] = 1

    def forward(self, x):
        # Gradients preprocessing
        x = F.sigmoid(self.linear1(x))
        return x.split(1, 1)

    def reset_lstm(self, keep_states=False, model=None, use_cuda=False):
        self.meta_model.reset()
        self.meta_model.copy_params_from(model)

        if keep_states:
            self.f = Variable(self.f.detach())  # differs: `self.f.data` (the numpy array here)
            self.i = Variable(self.i.detach())  # differs: as above
        else:
            self.f = Variable(torch.zeros(1, 1))
            self.i = Variable(torch.zeros(1, 1))
            if use_cuda:
                self.f = self.f.cuda()
                self.i = self.i.cuda()

    def meta_update(self, model_with_grads, loss):
        # First we need to create a flat version of parameters and gradients
        grads = []

        for module in model_with_grads.children():
            # differs: `module._parameters['weight'].grad.data.view(-1).unsqueeze(-1)` (and the bias's): `.grad` is
            # a numpy array here, whose `.data` is a memoryview (docs/pytorch.md): the array as a tensor
            grads.append(torch.from_numpy(module._parameters['weight'].grad).view(-1).unsqueeze(-1))
            grads.append(torch.from_numpy(module._parameters['bias'].grad).view(-1).unsqueeze(-1))

        flat_params = self.meta_model.get_flat_params().unsqueeze(-1)
        flat_grads = torch.cat(grads)

        self.i = self.i.expand(flat_params.size(0), 1)
        self.f = self.f.expand(flat_params.size(0), 1)

        loss = loss.expand_as(flat_grads)
        # differs: `flat_params.data` (the numpy array here)
        inputs = Variable(torch.cat((preprocess_gradients(flat_grads), flat_params.detach(), loss), 1))
        inputs = torch.cat((inputs, self.f, self.i), 1)
        self.f, self.i = self(inputs)

        # Meta update itself
        flat_params = self.f * flat_params - self.i * Variable(flat_grads)
        flat_params = flat_params.view(-1)

        self.meta_model.set_flat_params(flat_params)

        # Finally, copy values from the meta model to the normal one.
        self.meta_model.copy_params_to(model_with_grads)
        return self.meta_model.model

# A helper class that keeps track of meta updates
# It's done by replacing parameters with variables and applying updates to
# them.


class MetaModel:

    def __init__(self, model):
        self.model = model

    def reset(self):
        for module in self.model.children():
            module._parameters['weight'] = Variable(
                module._parameters['weight'].detach())  # differs: `.data` (the numpy array here)
            module._parameters['bias'] = Variable(
                module._parameters['bias'].detach())  # differs: as above

    def get_flat_params(self):
        params = []

        for module in self.model.children():
            params.append(module._parameters['weight'].view(-1))
            params.append(module._parameters['bias'].view(-1))

        return torch.cat(params)

    def set_flat_params(self, flat_params):
        # Restore original shapes
        offset = 0
        for i, module in enumerate(self.model.children()):
            weight_shape = module._parameters['weight'].size()
            bias_shape = module._parameters['bias'].size()

            weight_flat_size = reduce(mul, weight_shape, 1)
            bias_flat_size = reduce(mul, bias_shape, 1)

            module._parameters['weight'] = flat_params[
                offset:offset + weight_flat_size].view(*weight_shape)
            module._parameters['bias'] = flat_params[
                offset + weight_flat_size:offset + weight_flat_size + bias_flat_size].view(*bias_shape)

            offset += weight_flat_size + bias_flat_size

    def copy_params_from(self, model):
        for modelA, modelB in zip(self.model.parameters(), model.parameters()):
            # differs: `modelA.data.copy_(modelB.data)` (a write into the read-only array): the tensor's copy_
            with torch.no_grad():
                modelA.copy_(modelB)

    def copy_params_to(self, model):
        for modelA, modelB in zip(self.model.parameters(), model.parameters()):
            # differs: `modelB.data.copy_(modelA.data)`: as above
            with torch.no_grad():
                modelB.copy_(modelA)


# ---- main.py (66d4801d) ----

parser = argparse.ArgumentParser(description='PyTorch REINFORCE example')
parser.add_argument('--batch_size', type=int, default=32, metavar='N',
                    help='batch size (default: 32)')
parser.add_argument('--optimizer_steps', type=int, default=100, metavar='N',
                    help='number of meta optimizer steps (default: 100)')
parser.add_argument('--truncated_bptt_step', type=int, default=20, metavar='N',
                    help='step at which it truncates bptt (default: 20)')
parser.add_argument('--updates_per_epoch', type=int, default=10, metavar='N',
                    help='updates per epoch (default: 100)')
parser.add_argument('--max_epoch', type=int, default=10000, metavar='N',
                    help='number of epoch (default: 10000)')
parser.add_argument('--hidden_size', type=int, default=10, metavar='N',
                    help='hidden size of the meta optimizer (default: 10)')
parser.add_argument('--num_layers', type=int, default=2, metavar='N',
                    help='number of LSTM layers (default: 2)')
parser.add_argument('--no-cuda', action='store_true', default=False,
                    help='enables CUDA training')
args = train_loader = test_loader = None


def configure_main(argv):
    """differs: these lines run at the module's top level in main.py (`args = parser.parse_args()`, the MNIST
    loaders); here a test runs them with its own argv (pytest owns sys.argv). MNIST is the stand-in above."""
    global args, kwargs, train_loader, test_loader
    args = parser.parse_args(argv)
    args.cuda = not args.no_cuda and torch.cuda.is_available()

    assert args.optimizer_steps % args.truncated_bptt_step == 0

    kwargs = {'num_workers': 1, 'pin_memory': True} if args.cuda else {}
    train_loader = torch.utils.data.DataLoader(
        datasets.MNIST('../data', train=True, download=True,
                       transform=transforms.Compose([
                           transforms.ToTensor(),
                           transforms.Normalize((0.1307,), (0.3081,))
                       ])),
        batch_size=args.batch_size, shuffle=True, **kwargs)
    test_loader = torch.utils.data.DataLoader(
        datasets.MNIST('../data', train=False, transform=transforms.Compose([
                           transforms.ToTensor(),
                           transforms.Normalize((0.1307,), (0.3081,))
                       ])),
        batch_size=args.batch_size, shuffle=True, **kwargs)

def main():
    # Create a meta optimizer that wraps a model into a meta model
    # to keep track of the meta updates.
    meta_model = Model()
    if args.cuda:
        meta_model.cuda()

    meta_optimizer = FastMetaOptimizer(MetaModel(meta_model), args.num_layers, args.hidden_size)
    if args.cuda:
        meta_optimizer.cuda()

    optimizer = optim.Adam(meta_optimizer.parameters(), lr=1e-3)

    for epoch in range(args.max_epoch):
        decrease_in_loss = 0.0
        final_loss = 0.0
        train_iter = iter(train_loader)
        for i in range(args.updates_per_epoch):

            # Sample a new model
            model = Model()
            if args.cuda:
                model.cuda()

            x, y = next(train_iter)
            if args.cuda:
                x, y = x.cuda(), y.cuda()
            x, y = Variable(x), Variable(y)

            # Compute initial loss of the model
            f_x = model(x)
            initial_loss = F.nll_loss(f_x, y)

            for k in range(args.optimizer_steps // args.truncated_bptt_step):
                # Keep states for truncated BPTT
                meta_optimizer.reset_lstm(
                    keep_states=k > 0, model=model, use_cuda=args.cuda)

                loss_sum = 0
                prev_loss = torch.zeros(1)
                if args.cuda:
                    prev_loss = prev_loss.cuda()
                for j in range(args.truncated_bptt_step):
                    x, y = next(train_iter)
                    if args.cuda:
                        x, y = x.cuda(), y.cuda()
                    x, y = Variable(x), Variable(y)

                    # First we need to compute the gradients of the model
                    f_x = model(x)
                    loss = F.nll_loss(f_x, y)
                    model.zero_grad()
                    loss.backward()

                    # Perfom a meta update using gradients from model
                    # and return the current meta model saved in the optimizer
                    meta_model = meta_optimizer.meta_update(model, loss.detach())  # differs: `loss.data`

                    # Compute a loss for a step the meta optimizer
                    f_x = meta_model(x)
                    loss = F.nll_loss(f_x, y)

                    loss_sum += (loss - Variable(prev_loss))

                    prev_loss = loss.detach()  # differs: `loss.data`

                # Update the parameters of the meta optimizer
                meta_optimizer.zero_grad()
                loss_sum.backward()
                for param in meta_optimizer.parameters():
                    # differs: `param.grad.data.clamp_(-1, 1)`: `.grad` is a numpy array here (docs/pytorch.md)
                    param.grad = np.clip(param.grad, -1, 1)
                optimizer.step()

            # Compute relative decrease in the loss function w.r.t initial
            # value
            # differs: `loss.data[0]` and `initial_loss.data[0]` (0-d losses: IndexError in today's PyTorch too)
            decrease_in_loss += loss.item() / initial_loss.item()
            final_loss += loss.item()  # differs: as above

        # (the source's line, wrapped at 120 characters)
        print("Epoch: {}, final loss {}, average final/initial loss ratio: {}".format(
            epoch, final_loss / args.updates_per_epoch, decrease_in_loss / args.updates_per_epoch))


# ==== 2. AdrienLE/learning_by_grad_by_grad_repro, Grad^2.ipynb: the quadratic functions ==========================

USE_CUDA = False  # differs: True in the notebook (a GPU); the CPU here (`.cuda()` raises, docs/pytorch.md)

def w(v):
    if USE_CUDA:
        return v.cuda()
    return v


# differs: the notebook's `cache = joblib.Memory(cachedir='_cache', verbose=0)` and `@cache.cache` on fit_optimizer
# and fit_normal are dropped (joblib is not installed; the cache only saves recomputing); `tqdm_notebook` is tqdm.

def detach_var(v):
    var = w(Variable(v.detach(), requires_grad=True))  # differs: `v.data` (the numpy array here, docs/pytorch.md)
    var.retain_grad()
    return var

def do_fit(opt_net, meta_opt, target_cls, target_to_opt, unroll, optim_it, n_epochs, out_mul, should_train=True):
    if should_train:
        opt_net.train()
    else:
        opt_net.eval()
        unroll = 1

    target = target_cls(training=should_train)
    optimizee = w(target_to_opt())
    n_params = 0
    for p in optimizee.parameters():
        n_params += int(np.prod(p.size()))
    hidden_states = [w(Variable(torch.zeros(n_params, opt_net.hidden_sz))) for _ in range(2)]
    cell_states = [w(Variable(torch.zeros(n_params, opt_net.hidden_sz))) for _ in range(2)]
    all_losses_ever = []
    if should_train:
        meta_opt.zero_grad()
    all_losses = None
    for iteration in range(1, optim_it + 1):
        loss = optimizee(target)

        if all_losses is None:
            all_losses = loss
        else:
            all_losses += loss

        # differs: `loss.data.cpu().numpy()[0]` (a 0-d loss: IndexError in today's PyTorch too; `.data` is numpy here)
        all_losses_ever.append(loss.item())
        loss.backward(retain_graph=should_train)

        offset = 0
        result_params = {}
        hidden_states2 = [w(Variable(torch.zeros(n_params, opt_net.hidden_sz))) for _ in range(2)]
        cell_states2 = [w(Variable(torch.zeros(n_params, opt_net.hidden_sz))) for _ in range(2)]
        for name, p in optimizee.all_named_parameters():
            cur_sz = int(np.prod(p.size()))
            # We do this so the gradients are disconnected from the graph but we still get
            # gradients from the rest
            # differs: `p.grad.view(cur_sz, 1)`: `.grad` is a numpy array here (docs/pytorch.md), taken as a tensor
            gradients = detach_var(torch.from_numpy(p.grad).view(cur_sz, 1))
            updates, new_hidden, new_cell = opt_net(
                gradients,
                [h[offset:offset+cur_sz] for h in hidden_states],
                [c[offset:offset+cur_sz] for c in cell_states]
            )
            for i in range(len(new_hidden)):
                hidden_states2[i][offset:offset+cur_sz] = new_hidden[i]
                cell_states2[i][offset:offset+cur_sz] = new_cell[i]
            result_params[name] = p + updates.view(*p.size()) * out_mul
            result_params[name].retain_grad()

        if iteration % unroll == 0:
            if should_train:
                meta_opt.zero_grad()
                all_losses.backward()
                meta_opt.step()

            all_losses = None

            optimizee = w(target_to_opt(**{k: detach_var(v) for k, v in result_params.items()}))
            hidden_states = [detach_var(v) for v in hidden_states2]
            cell_states = [detach_var(v) for v in cell_states2]

        else:
            optimizee = w(target_to_opt(**result_params))
            assert len(list(optimizee.all_named_parameters()))
            hidden_states = hidden_states2
            cell_states = cell_states2

    return all_losses_ever


def fit_optimizer(target_cls, target_to_opt, preproc=False, unroll=20, optim_it=100, n_epochs=20, n_tests=100, lr=0.001,
                  out_mul=1.0):
    opt_net = w(Optimizer(preproc=preproc))
    meta_opt = optim.Adam(opt_net.parameters(), lr=lr)

    best_net = None
    best_loss = 100000000000000000

    for _ in tqdm(range(n_epochs), 'epochs'):
        for _ in tqdm(range(20), 'iterations'):
            do_fit(opt_net, meta_opt, target_cls, target_to_opt, unroll, optim_it, n_epochs, out_mul, should_train=True)

        loss = (np.mean([
            np.sum(do_fit(opt_net, meta_opt, target_cls, target_to_opt, unroll, optim_it, n_epochs, out_mul,
                          should_train=False))
            for _ in tqdm(range(n_tests), 'tests')
        ]))
        print(loss)
        if loss < best_loss:
            print(best_loss, loss)
            best_loss = loss
            best_net = copy.deepcopy(opt_net.state_dict())

    return best_loss, best_net


class QuadraticLoss:
    def __init__(self, **kwargs):
        self.W = w(Variable(torch.randn(10, 10)))
        self.y = w(Variable(torch.randn(10)))

    def get_loss(self, theta):
        return torch.sum((self.W.matmul(theta) - self.y)**2)

class QuadOptimizee(nn.Module):
    def __init__(self, theta=None):
        super().__init__()
        # Note: assuming the same optimization for theta as for
        # the function to find out itself.
        if theta is None:
            self.theta = nn.Parameter(torch.zeros(10))
        else:
            self.theta = theta

    def forward(self, target):
        return target.get_loss(self.theta)

    def all_named_parameters(self):
        return [('theta', self.theta)]

class Optimizer(nn.Module):
    def __init__(self, preproc=False, hidden_sz=20, preproc_factor=10.0):
        super().__init__()
        self.hidden_sz = hidden_sz
        if preproc:
            self.recurs = nn.LSTMCell(2, hidden_sz)
        else:
            self.recurs = nn.LSTMCell(1, hidden_sz)
        self.recurs2 = nn.LSTMCell(hidden_sz, hidden_sz)
        self.output = nn.Linear(hidden_sz, 1)
        self.preproc = preproc
        self.preproc_factor = preproc_factor
        self.preproc_threshold = np.exp(-preproc_factor)

    def forward(self, inp, hidden, cell):
        if self.preproc:
            # Implement preproc described in Appendix A

            # Note: we do all this work on tensors, which means
            # the gradients won't propagate through inp. This
            # should be ok because the algorithm involves
            # making sure that inp is already detached.
            inp = inp.detach()  # differs: `inp.data` (the numpy array here, docs/pytorch.md)
            inp2 = w(torch.zeros(inp.size()[0], 2))
            keep_grads = torch.abs(inp) >= self.preproc_threshold
            inp2[:, 0][keep_grads] = torch.log(torch.abs(inp[keep_grads]) + 1e-8) / self.preproc_factor
            inp2[:, 1][keep_grads] = torch.sign(inp[keep_grads])

            inp2[:, 0][~keep_grads] = -1
            inp2[:, 1][~keep_grads] = float(np.exp(self.preproc_factor)) * inp[~keep_grads]
            inp = w(Variable(inp2))
        hidden0, cell0 = self.recurs(inp, (hidden[0], cell[0]))
        hidden1, cell1 = self.recurs2(hidden0, (hidden[1], cell[1]))
        return self.output(hidden1), (hidden0, hidden1), (cell0, cell1)


class SqueezedPreprocOptimizer(Optimizer):
    """Not the notebook's: its preprocessing with the two `.squeeze()`s that later copies of this notebook add (a
    learned-optimizer repository's `Optimizer.forward` read in the index, `inp = inp.data.squeeze()` and
    `keep_grads = (...).squeeze()`), so that the (n, 1) mask indexes the (n,) columns."""

    def forward(self, inp, hidden, cell):
        if self.preproc:
            inp = inp.detach().squeeze()  # (`.data` as above)
            inp2 = w(torch.zeros(inp.size()[0], 2))
            keep_grads = (torch.abs(inp) >= self.preproc_threshold).squeeze()
            inp2[:, 0][keep_grads] = torch.log(torch.abs(inp[keep_grads]) + 1e-8) / self.preproc_factor
            inp2[:, 1][keep_grads] = torch.sign(inp[keep_grads])

            inp2[:, 0][~keep_grads] = -1
            inp2[:, 1][~keep_grads] = float(np.exp(self.preproc_factor)) * inp[~keep_grads]
            inp = w(Variable(inp2))
        hidden0, cell0 = self.recurs(inp, (hidden[0], cell[0]))
        hidden1, cell1 = self.recurs2(hidden0, (hidden[1], cell[1]))
        return self.output(hidden1), (hidden0, hidden1), (cell0, cell1)


def fit_normal(target_cls, target_to_opt, opt_class, n_tests=100, n_epochs=100, **kwargs):
    results = []
    for i in tqdm(range(n_tests), 'tests'):
        target = target_cls(training=False)
        optimizee = w(target_to_opt())
        optimizer = opt_class(optimizee.parameters(), **kwargs)
        total_loss = []
        for _ in range(n_epochs):
            loss = optimizee(target)

            total_loss.append(loss.item())  # differs: `loss.data.cpu().numpy()[0]` (as in do_fit)

            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        results.append(total_loss)
    return results

def find_best_lr_normal(target_cls, target_to_opt, opt_class, **extra_kwargs):
    best_loss = 1000000000000000.0
    best_lr = 0.0
    for lr in tqdm([1.0, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001, 0.0003, 0.0001, 0.00003, 0.00001], 'Learning rates'):
        try:
            loss = best_loss + 1.0
            loss = np.mean([np.sum(s) for s in fit_normal(target_cls, target_to_opt, opt_class, lr=lr, **extra_kwargs)])
        except RuntimeError:
            pass
        if loss < best_loss:
            best_loss = loss
            best_lr = lr
    return best_loss, best_lr


# ==== 3. gbaydin/hypergradient-descent: hypergrad/sgd_hd.py, hypergrad/adam_hd.py, train.py ======================

class SGDHD(TorchOptimizer):  # differs: the base's name (the notebook's LSTM above is this file's `Optimizer`)
    r"""Implements stochastic gradient descent (optionally with momentum).

    Nesterov momentum is based on the formula from
    `On the importance of initialization and momentum in deep learning`__.

    Args:
        params (iterable): iterable of parameters to optimize or dicts defining
            parameter groups
        lr (float): learning rate
        momentum (float, optional): momentum factor (default: 0)
        weight_decay (float, optional): weight decay (L2 penalty) (default: 0)
        dampening (float, optional): dampening for momentum (default: 0)
        nesterov (bool, optional): enables Nesterov momentum (default: False)
        hypergrad_lr (float, optional): hypergradient learning rate for the online
        tuning of the learning rate, introduced in the paper
        `Online Learning Rate Adaptation with Hypergradient Descent`_

    Example:
        >>> optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        >>> optimizer.zero_grad()
        >>> loss_fn(model(input), target).backward()
        >>> optimizer.step()

    __ http://www.cs.toronto.edu/%7Ehinton/absps/momentum.pdf
    .. _Online Learning Rate Adaptation with Hypergradient Descent:
        https://openreview.net/forum?id=BkrsAzWAb
    .. note::
        The implementation of SGD with Momentum/Nesterov subtly differs from
        Sutskever et. al. and implementations in some other frameworks.

        Considering the specific case of Momentum, the update can be written as

        .. math::
                  v = \rho * v + g \\
                  p = p - lr * v

        where p, g, v and :math:`\rho` denote the parameters, gradient,
        velocity, and momentum respectively.

        This is in contrast to Sutskever et. al. and
        other frameworks which employ an update of the form

        .. math::
             v = \rho * v + lr * g \\
             p = p - v

        The Nesterov version is analogously modified.
    """

    def __init__(self, params, lr=required, momentum=0, dampening=0,
                 weight_decay=0, nesterov=False, hypergrad_lr=1e-6):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, hypergrad_lr=hypergrad_lr)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super(SGDHD, self).__init__(params, defaults)

        if len(self.param_groups) != 1:
            raise ValueError("SGDHD doesn't support per-parameter options (parameter groups)")

        self._params = self.param_groups[0]['params']
        self._params_numel = reduce(lambda total, p: total + p.numel(), self._params, 0)

    def _gather_flat_grad_with_weight_decay(self, weight_decay=0):
        views = []
        for p in self._params:
            if p.grad is None:
                view = torch.zeros_like(p.detach())  # differs: `p.data` (the numpy array here)
            # differs: `p.grad.data.is_sparse`, `p.grad.data.to_dense().view(-1)` and `p.grad.data.view(-1)`: `.grad`
            # is a numpy array (docs/pytorch.md); as a tensor it is a copy, not a view of p.grad, so the weight decay
            # added below is not also added into p.grad, as PyTorch's view-and-add_ does
            elif torch.as_tensor(p.grad).is_sparse:
                view = torch.as_tensor(p.grad).to_dense().view(-1)
            else:
                view = torch.from_numpy(p.grad).view(-1)
            if weight_decay != 0:
                view.add_(weight_decay, p.detach().view(-1))  # differs: `p.data.view(-1)`
            views.append(view)
        return torch.cat(views, 0)

    def _add_grad(self, step_size, update):
        offset = 0
        for p in self._params:
            numel = p.numel()
            # view as to avoid deprecated pointwise semantics
            # differs: `p.data.add_(step_size, update[...].view_as(p.data))`: `.data` is read-only here, so the
            # parameter's own add_, under no_grad (PyTorch's `.data` is outside autograd too)
            with torch.no_grad():
                p.add_(step_size, update[offset:offset + numel].view_as(p))
            offset += numel
        assert offset == self._params_numel

    def step(self, closure=None):
        """Performs a single optimization step.

        Arguments:
            closure (callable, optional): A closure that reevaluates the model
                and returns the loss.
        """
        assert len(self.param_groups) == 1

        loss = None
        if closure is not None:
            loss = closure()

        group = self.param_groups[0]
        weight_decay = group['weight_decay']
        momentum = group['momentum']
        dampening = group['dampening']
        nesterov = group['nesterov']

        grad = self._gather_flat_grad_with_weight_decay(weight_decay)

        # NOTE: SGDHD has only global state, but we register it as state for
        # the first param, because this helps with casting in load_state_dict
        state = self.state[self._params[0]]
        # State initialization
        if len(state) == 0:
            state['grad_prev'] = torch.zeros_like(grad)

        grad_prev = state['grad_prev']
        # Hypergradient for SGD
        h = torch.dot(grad, grad_prev)
        # Hypergradient descent of the learning rate:
        group['lr'] += group['hypergrad_lr'] * h

        if momentum != 0:
            if 'momentum_buffer' not in state:
                buf = state['momentum_buffer'] = torch.zeros_like(grad)
                buf.mul_(momentum).add_(grad)
            else:
                buf = state['momentum_buffer']
                buf.mul_(momentum).add_(1 - dampening, grad)
            if nesterov:
                grad.add_(momentum, buf)
            else:
                grad = buf

        state['grad_prev'] = grad

        self._add_grad(-group['lr'], grad)

        return loss


class AdamHD(TorchOptimizer):  # differs: the base's name (as SGDHD's)
    """Implements Adam algorithm.

    It has been proposed in `Adam: A Method for Stochastic Optimization`_.

    Arguments:
        params (iterable): iterable of parameters to optimize or dicts defining
            parameter groups
        lr (float, optional): learning rate (default: 1e-3)
        betas (Tuple[float, float], optional): coefficients used for computing
            running averages of gradient and its square (default: (0.9, 0.999))
        eps (float, optional): term added to the denominator to improve
            numerical stability (default: 1e-8)
        weight_decay (float, optional): weight decay (L2 penalty) (default: 0)
        hypergrad_lr (float, optional): hypergradient learning rate for the online
        tuning of the learning rate, introduced in the paper
        `Online Learning Rate Adaptation with Hypergradient Descent`_

    .. _Adam\\: A Method for Stochastic Optimization:
        https://arxiv.org/abs/1412.6980
    .. _Online Learning Rate Adaptation with Hypergradient Descent:
        https://openreview.net/forum?id=BkrsAzWAb
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                 weight_decay=0, hypergrad_lr=1e-8):
        defaults = dict(lr=lr, betas=betas, eps=eps,
                        weight_decay=weight_decay, hypergrad_lr=hypergrad_lr)
        super(AdamHD, self).__init__(params, defaults)

    def step(self, closure=None):
        """Performs a single optimization step.

        Arguments:
            closure (callable, optional): A closure that reevaluates the model
                and returns the loss.
        """
        loss = None
        if closure is not None:
            loss = closure()

        for group in self.param_groups:
            for p in group['params']:
                if p.grad is None:
                    continue
                grad = torch.from_numpy(p.grad)  # differs: `p.grad.data` (a numpy array here, docs/pytorch.md)
                if grad.is_sparse:
                    raise RuntimeError('Adam does not support sparse gradients, please consider SparseAdam instead')

                state = self.state[p]

                # State initialization
                if len(state) == 0:
                    state['step'] = 0
                    # Exponential moving average of gradient values
                    state['exp_avg'] = torch.zeros_like(p.detach())  # differs: `p.data` (the numpy array here)
                    # Exponential moving average of squared gradient values
                    state['exp_avg_sq'] = torch.zeros_like(p.detach())  # differs: as above

                exp_avg, exp_avg_sq = state['exp_avg'], state['exp_avg_sq']
                beta1, beta2 = group['betas']

                state['step'] += 1

                if group['weight_decay'] != 0:
                    grad = grad.add(group['weight_decay'], p.detach())  # differs: `p.data`

                if state['step'] > 1:
                    prev_bias_correction1 = 1 - beta1 ** (state['step'] - 1)
                    prev_bias_correction2 = 1 - beta2 ** (state['step'] - 1)
                    # Hypergradient for Adam:
                    # (the source's line, wrapped at 120 characters)
                    h = torch.dot(grad.view(-1), torch.div(exp_avg, exp_avg_sq.sqrt().add_(group['eps'])).view(-1)) \
                        * math.sqrt(prev_bias_correction2) / prev_bias_correction1
                    # Hypergradient descent of the learning rate:
                    group['lr'] += group['hypergrad_lr'] * h

                # Decay the first and second moment running average coefficient
                exp_avg.mul_(beta1).add_(1 - beta1, grad)
                exp_avg_sq.mul_(beta2).addcmul_(1 - beta2, grad, grad)
                denom = exp_avg_sq.sqrt().add_(group['eps'])

                bias_correction1 = 1 - beta1 ** state['step']
                bias_correction2 = 1 - beta2 ** state['step']
                step_size = group['lr'] * math.sqrt(bias_correction2) / bias_correction1

                # differs: `p.data.addcdiv_(-step_size, exp_avg, denom)`: the parameter's own, under no_grad
                with torch.no_grad():
                    p.addcdiv_(-step_size, exp_avg, denom)

        return loss


# ---- train.py (161e252d) ----

# differs: train.py's `from torchvision import datasets, transforms` are the stand-ins at the top of this file,
# `import vgg` (VGG-16 on CIFAR-10, not ported) a stand-in that refuses, and `from sgd_hd import SGDHD` and
# `from adam_hd import AdamHD` are the classes above.
vgg = types.SimpleNamespace(vgg16=lambda: (_ for _ in ()).throw(NotImplementedError("vgg.py is not ported")))
SGD, Adam = optim.SGD, optim.Adam


class LogReg(nn.Module):
    def __init__(self, input_dim, output_dim):
        super(LogReg, self).__init__()
        self._input_dim = input_dim
        self.lin1 = nn.Linear(input_dim, output_dim)
    def forward(self, x):
        x = x.view(-1, self._input_dim)
        x = self.lin1(x)
        return x

class MLP(nn.Module):
    def __init__(self, input_dim, hidden_dim, output_dim):
        super(MLP, self).__init__()
        self._input_dim = input_dim
        self.lin1 = nn.Linear(input_dim, hidden_dim)
        self.lin2 = nn.Linear(hidden_dim, hidden_dim)
        self.lin3 = nn.Linear(hidden_dim, output_dim)
    def forward(self, x):
        x = x.view(-1, self._input_dim)
        x = F.relu(self.lin1(x))
        x = F.relu(self.lin2(x))
        x = self.lin3(x)
        return x


def train(opt, log_func=None):
    torch.manual_seed(opt.seed)
    if opt.cuda:
        torch.cuda.set_device(opt.device)
        torch.cuda.manual_seed(opt.seed)
        torch.backends.cudnn.enabled = True

    if opt.model == 'logreg':
        model = LogReg(28 * 28, 10)
    elif opt.model == 'mlp':
        model = MLP(28 * 28, 1000, 10)
    elif opt.model == 'vgg':
        model = vgg.vgg16()
        if opt.parallel:
            model.features = torch.nn.DataParallel(model.features)
    else:
        raise Exception('Unknown model: {}'.format(opt.model))

    if opt.cuda:
        model = model.cuda()

    if opt.model == 'logreg' or opt.model == 'mlp':
        task = 'MNIST'
        train_loader = DataLoader(
            datasets.MNIST('./data', train=True, download=True,
                           transform=transforms.Compose([
                               transforms.ToTensor(),
                               transforms.Normalize((0.1307,), (0.3081,))
                           ])),
            batch_size=opt.batchSize, shuffle=True)
        valid_loader = DataLoader(
            datasets.MNIST('./data', train=False, transform=transforms.Compose([
                               transforms.ToTensor(),
                               transforms.Normalize((0.1307,), (0.3081,))
                           ])),
            batch_size=opt.batchSize, shuffle=True)
    elif opt.model == 'vgg':
        task = 'CIFAR10'
        normalize = transforms.Normalize(mean=[0.485, 0.456, 0.406],
                                         std=[0.229, 0.224, 0.225])
        train_loader = torch.utils.data.DataLoader(
            datasets.CIFAR10(root='./data', train=True, transform=transforms.Compose([
                transforms.RandomHorizontalFlip(),
                transforms.RandomCrop(32, 4),
                transforms.ToTensor(),
                normalize,
            ]), download=True),
            batch_size=opt.batchSize, shuffle=True,
            num_workers=opt.workers, pin_memory=True)

        valid_loader = torch.utils.data.DataLoader(
            datasets.CIFAR10(root='./data', train=False, transform=transforms.Compose([
                transforms.ToTensor(),
                normalize,
            ])),
            batch_size=opt.batchSize, shuffle=False,
            num_workers=opt.workers, pin_memory=True)
    else:
        raise Exception('Unknown model: {}'.format(opt.model))

    if opt.method == 'sgd':
        optimizer = SGD(model.parameters(), lr=opt.alpha_0, weight_decay=opt.weightDecay)
    elif opt.method == 'sgd_hd':
        optimizer = SGDHD(model.parameters(), lr=opt.alpha_0, weight_decay=opt.weightDecay, hypergrad_lr=opt.beta)
    elif opt.method == 'sgdn':
        optimizer = SGD(model.parameters(), lr=opt.alpha_0, weight_decay=opt.weightDecay, momentum=opt.mu,
                        nesterov=True)
    elif opt.method == 'sgdn_hd':
        optimizer = SGDHD(model.parameters(), lr=opt.alpha_0, weight_decay=opt.weightDecay, momentum=opt.mu,
                          nesterov=True, hypergrad_lr=opt.beta)
    elif opt.method == 'adam':
        optimizer = Adam(model.parameters(), lr=opt.alpha_0, weight_decay=opt.weightDecay)
    elif opt.method == 'adam_hd':
        optimizer = AdamHD(model.parameters(), lr=opt.alpha_0, weight_decay=opt.weightDecay, hypergrad_lr=opt.beta)
    else:
        raise Exception('Unknown method: {}'.format(opt.method))

    if not opt.silent:
        print('Task: {}, Model: {}, Method: {}'.format(task, opt.model, opt.method))

    model.eval()
    for batch_id, (data, target) in enumerate(train_loader):
        data, target = Variable(data), Variable(target)
        if opt.cuda:
            data, target = data.cuda(), target.cuda()
        output = model(data)
        loss = F.cross_entropy(output, target)
        loss = loss.item()  # differs: `loss.data[0]` (a 0-d loss: IndexError in today's PyTorch too)
        break
    valid_loss = 0
    for data, target in valid_loader:
        data, target = Variable(data, volatile=True), Variable(target)
        if opt.cuda:
            data, target = data.cuda(), target.cuda()
        output = model(data)
        valid_loss += F.cross_entropy(output, target, size_average=False).item()  # differs: `.data[0]` (as above)
    valid_loss /= len(valid_loader.dataset)
    if log_func is not None:
        log_func(0, 0, 0, loss, loss, valid_loss, opt.alpha_0, opt.alpha_0, opt.beta)

    time_start = time.time()
    iteration = 1
    epoch = 1
    done = False
    while not done:
        model.train()
        loss_epoch = 0
        alpha_epoch = 0
        for batch_id, (data, target) in enumerate(train_loader):
            data, target = Variable(data), Variable(target)
            if opt.cuda:
                data, target = data.cuda(), target.cuda()
            optimizer.zero_grad()
            output = model(data)
            loss = F.cross_entropy(output, target)
            loss.backward()
            optimizer.step()
            loss = loss.item()  # differs: `loss.data[0]` (as above)
            loss_epoch += loss
            alpha = optimizer.param_groups[0]['lr']
            alpha_epoch += alpha
            iteration += 1
            if opt.iterations != 0:
                if iteration > opt.iterations:
                    print('Early stopping: iteration > {}'.format(opt.iterations))
                    done = True
                    break
            if opt.lossThreshold >= 0:
                if loss <= opt.lossThreshold:
                    print('Early stopping: loss <= {}'.format(opt.lossThreshold))
                    done = True
                    break

            if batch_id + 1 >= len(train_loader):
                loss_epoch /= len(train_loader)
                alpha_epoch /= len(train_loader)
                model.eval()
                valid_loss = 0
                for data, target in valid_loader:
                    data, target = Variable(data, volatile=True), Variable(target)
                    if opt.cuda:
                        data, target = data.cuda(), target.cuda()
                    output = model(data)
                    valid_loss += F.cross_entropy(output, target, size_average=False).item()  # differs: as above
                valid_loss /= len(valid_loader.dataset)
                if log_func is not None:
                    log_func(epoch, iteration, time.time() - time_start, loss, loss_epoch, valid_loss, alpha,
                             alpha_epoch, opt.beta)
            else:
                if log_func is not None:
                    log_func(epoch, iteration, time.time() - time_start, loss, float('nan'), float('nan'), alpha,
                             float('nan'), opt.beta)

        epoch += 1
        if opt.epochs != 0:
            if epoch > opt.epochs:
                print('Early stopping: epoch > {}'.format(opt.epochs))
                done = True
    return loss, iteration


def hd_main():  # differs: train.py's `main`, renamed (main.py of source 1 is this file's `main`)
    try:
        parser = argparse.ArgumentParser(description='Hypergradient descent PyTorch tests',
                                         formatter_class=argparse.ArgumentDefaultsHelpFormatter)
        parser.add_argument('--cuda', help='use CUDA', action='store_true')
        parser.add_argument('--device', help='selected CUDA device', default=0, type=int)
        parser.add_argument('--seed', help='random seed', default=123, type=int)
        parser.add_argument('--dir', help='directory to write the output files', default='results', type=str)
        parser.add_argument('--model', help='model (logreg, mlp, vgg)', default='logreg', type=str)
        parser.add_argument('--method', help='method (sgd, sgd_hd, sgdn, sgdn_hd, adam, adam_hd)', default='adam',
                            type=str)
        parser.add_argument('--alpha_0', help='initial learning rate', default=0.001, type=float)
        parser.add_argument('--beta', help='learning learning rate', default=0.000001, type=float)
        parser.add_argument('--mu', help='momentum', default=0.9, type=float)
        parser.add_argument('--weightDecay', help='regularization', default=0.0001, type=float)
        parser.add_argument('--batchSize', help='minibatch size', default=128, type=int)
        parser.add_argument('--epochs', help='stop after this many epochs (0: disregard)', default=2, type=int)
        parser.add_argument('--iterations', help='stop after this many iterations (0: disregard)', default=0, type=int)
        parser.add_argument('--lossThreshold', help='stop after reaching this loss (0: disregard)', default=0,
                            type=float)
        parser.add_argument('--silent', help='do not print output', action='store_true')
        parser.add_argument('--workers', help='number of data loading workers', default=4, type=int)
        parser.add_argument('--parallel', help='parallelize', action='store_true')
        parser.add_argument('--save', help='do not save output to file', action='store_true')
        opt = parser.parse_args()

        torch.manual_seed(opt.seed)
        if opt.cuda:
            torch.cuda.set_device(opt.device)
            torch.cuda.manual_seed(opt.seed)
            torch.backends.cudnn.enabled = True

        file_name = '{}/{}/{:+.0e}_{:+.0e}/{}.csv'.format(opt.dir, opt.model, opt.alpha_0, opt.beta, opt.method)
        os.makedirs(os.path.dirname(file_name), exist_ok=True)
        if not opt.silent:
            print('Output file: {}'.format(file_name))
        # if os.path.isfile(file_name):
        #     print('File with previous results exists, skipping...')
        # else:
        if not opt.save:
            def log_func(epoch, iteration, time_spent, loss, loss_epoch, valid_loss, alpha, alpha_epoch, beta):
                if not opt.silent:
                    # (the source's line, wrapped at 120 characters)
                    print('{} | {} | Ep: {} | Iter: {} | Time: {:+.3e} | Loss: {:+.3e} | Valid. loss: {:+.3e} | '
                          'Alpha: {:+.3e} | Beta: {:+.3e}'.format(opt.model, opt.method, epoch, iteration, time_spent,
                                                                 loss, valid_loss, alpha, beta))
            train(opt, log_func)
        else:
            with open(file_name, 'w') as f:
                writer = csv.writer(f)
                writer.writerow(['Epoch', 'Iteration', 'Time', 'Loss', 'LossEpoch', 'ValidLossEpoch', 'Alpha',
                                 'AlphaEpoch', 'Beta'])
                def log_func(epoch, iteration, time_spent, loss, loss_epoch, valid_loss, alpha, alpha_epoch, beta):
                    writer.writerow([epoch, iteration, time_spent, loss, loss_epoch, valid_loss, alpha, alpha_epoch,
                                     beta])
                    if not opt.silent:
                        # (the source's line, wrapped at 120 characters)
                        print('{} | {} | Ep: {} | Iter: {} | Time: {:+.3e} | Loss: {:+.3e} | Valid. loss: {:+.3e} | '
                              'Alpha: {:+.3e} | Beta: {:+.3e}'.format(opt.model, opt.method, epoch, iteration,
                                                                     time_spent, loss, valid_loss, alpha, beta))
                train(opt, log_func)

    except KeyboardInterrupt:
        print('Stopped')
    except Exception:
        traceback.print_exc(file=sys.stdout)
    sys.exit(0)


# ==== 4. JosephKJ/PyTorch-MAML-and-Reptile, main.py: Reptile and first-order "MAML" on sine waves ================

def experiment(run, plot=True, n_iterations=30000):  # differs: n_iterations an argument (30000 in the body)
    seed = 0
    inner_step_size = 0.02  # stepsize in inner SGD
    inner_epochs = 1  # number of epochs of each inner SGD
    outer_stepsize_reptile = 0.1  # stepsize of outer optimization, i.e., meta-optimization
    outer_stepsize_maml = 0.01
    # differs: `n_iterations = 30000` here in the source  # number of outer updates; each iteration we sample one
    # task and update on it

    rng = np.random.RandomState(seed)
    torch.manual_seed(seed)

    # Define task distribution
    x_all = np.linspace(-5, 5, 50)[:, None]  # All of the x points
    n_train = 10  # Size of training minibatches

    def gen_task():
        "Generate classification problem"
        phase = rng.uniform(low=0, high=2 * np.pi)
        ampl = rng.uniform(0.1, 5)
        f_randomsine = lambda x: np.sin(x + phase) * ampl
        return f_randomsine

    # Define model. Reptile paper uses ReLU, but Tanh gives slightly better results
    model = nn.Sequential(
        nn.Linear(1, 64),
        nn.Tanh(),
        nn.Linear(64, 64),
        nn.Tanh(),
        nn.Linear(64, 1),
    )

    def to_torch(x):
        return ag.Variable(torch.Tensor(x))

    def train_on_batch(x, y):
        x = to_torch(x)
        y = to_torch(y)
        model.zero_grad()
        ypred = model(x)
        loss = (ypred - y).pow(2).mean()
        loss.backward()
        for param in model.parameters():
            # differs: `param.data -= inner_step_size * param.grad.data`: numpy's in-place subtract into the
            # read-only array (and `.grad.data` a memoryview); docs/pytorch.md's spelling, a new array
            param.data = param.data - inner_step_size * param.grad

    def predict(x):
        x = to_torch(x)
        return model(x).detach().numpy()  # differs: `.data.numpy()` (`.data` is the numpy array here)

    # Choose a fixed task and minibatch for visualization
    f_plot = gen_task()
    xtrain_plot = x_all[rng.choice(len(x_all), size=n_train)]

    # Training loop
    for iteration in range(n_iterations):
        weights_before = deepcopy(model.state_dict())

        # Generate task
        f = gen_task()
        y_all = f(x_all)

        # Do SGD on this task
        inds = rng.permutation(len(x_all))
        train_ind = inds[:-1 * n_train]
        val_ind = inds[-1 * n_train:]       # Val contains 1/5th of the sine wave

        for _ in range(inner_epochs):
            for start in range(0, len(train_ind), n_train):
                mbinds = train_ind[start:start + n_train]
                train_on_batch(x_all[mbinds], y_all[mbinds])

        if run == 'MAML':
            outer_step_size = outer_stepsize_maml * (1 - iteration / n_iterations)  # linear schedule
            for start in range(0, len(val_ind), n_train):
                dpinds = val_ind[start:start + n_train]
                x = to_torch(x_all[dpinds])
                y = to_torch(y_all[dpinds])

                # Compute the grads
                model.zero_grad()
                y_pred = model(x)
                loss = (y_pred - y).pow(2).mean()
                loss.backward()

                # Reload the model
                model.load_state_dict(weights_before)

                # SGD on the params
                for param in model.parameters():
                    param.data = param.data - outer_step_size * param.grad  # differs: as in train_on_batch
        else:
            # Interpolate between current weights and trained weights from this task
            # I.e. (weights_before - weights_after) is the meta-gradient
            weights_after = model.state_dict()
            outerstepsize = outer_stepsize_reptile * (1 - iteration / n_iterations)  # linear schedule
            # (the source's line, wrapped at 120 characters)
            model.load_state_dict({name: weights_before[name] + (weights_after[name] - weights_before[name])
                                   * outerstepsize for name in weights_before})

        # Periodically plot the results on a particular task and minibatch
        if plot and iteration == 0 or (iteration + 1) % 1000 == 0:
            plt.cla()
            f = f_plot
            weights_before = deepcopy(model.state_dict())  # save snapshot before evaluation
            plt.plot(x_all, predict(x_all), label="pred after 0", color=(0, 0, 1))
            for inneriter in range(32):
                train_on_batch(xtrain_plot, f(xtrain_plot))
                if (inneriter + 1) % 8 == 0:
                    frac = (inneriter + 1) / 32
                    plt.plot(x_all, predict(x_all), label="pred after %i" % (inneriter + 1), color=(frac, 0, 1 - frac))
            plt.plot(x_all, f(x_all), label="true", color=(0, 1, 0))
            lossval = np.square(predict(x_all) - f(x_all)).mean()
            plt.plot(xtrain_plot, f(xtrain_plot), "x", label="train", color="k")
            plt.ylim(-4, 4)
            plt.legend(loc="lower right")
            plt.pause(0.01)
            model.load_state_dict(weights_before)  # restore from snapshot
            print(f"-----------------------------")
            print(f"iteration               {iteration + 1}")
            # (the source's comment shortened) would be better to average loss over a set of examples
            print(f"loss on plotted curve   {lossval:.3f}")
    return model  # differs: the model is returned, for the tests (the source returns nothing)


# ==== tests ==========================================================================================================

# ---- numpy references (float64), written here ----

def np_layer_norm_1d(x, weight, bias, eps=1e-5):
    """LayerNorm1D: (x - mean) / (std + eps) * weight + bias over axis 1, std with n - 1 (torch.std's default)."""
    return (x - x.mean(1, keepdims=True)) / (x.std(1, ddof=1, keepdims=True) + eps) * weight + bias


def np_ln_lstm_cell(x, h, c, p, prefix, forget_gate_bias=-1.0):
    """LayerNormLSTMCell: gates in, forget, out, transform from LN(W_i x + b_i) + LN(W_h h + b_h)."""
    z = (np_layer_norm_1d(x @ p[prefix + "fc_i2h.weight"].T + p[prefix + "fc_i2h.bias"],
                          p[prefix + "ln_i2h.weight"], p[prefix + "ln_i2h.bias"])
         + np_layer_norm_1d(h @ p[prefix + "fc_h2h.weight"].T + p[prefix + "fc_h2h.bias"],
                            p[prefix + "ln_h2h.weight"], p[prefix + "ln_h2h.bias"]))
    i, f, o, g = np.split(z, 4, axis=1)
    c = np_sigmoid(f + forget_gate_bias) * c + np_sigmoid(i) * np.tanh(g)
    return np_sigmoid(o) * np.tanh(np_layer_norm_1d(c, p[prefix + "ln_h2o.weight"], p[prefix + "ln_h2o.bias"])), c


def np_preprocess(g, p=10, eps=1e-6):
    """The paper's Appendix A: (log|g| / p, sign g) where |g| > e^-p, else (-1, e^p g)."""
    big = (np.abs(g) > np.exp(-p)).astype(np.float64)
    return np.concatenate([np.log(np.abs(g) + eps) / p * big - (1 - big),
                           np.sign(g) * big + np.exp(p) * g * (1 - big)], 1)


MODEL_SHAPES = [("linear1.weight", (32, 784)), ("linear1.bias", (32,)), ("linear2.weight", (10, 32)),
                ("linear2.bias", (10,))]


def np_unflatten(flat):
    out, offset = {}, 0
    for name, shape in MODEL_SHAPES:
        size = int(np.prod(shape))
        out[name] = flat[offset:offset + size].reshape(shape)
        offset += size
    return out


def np_model_log_probs(theta, x):
    """model.py's Model: log_softmax(W2 relu(W1 x + b1) + b2), x flattened to 784."""
    z = np.maximum(x.reshape(len(x), -1) @ theta["linear1.weight"].T + theta["linear1.bias"], 0.0)
    z = z @ theta["linear2.weight"].T + theta["linear2.bias"]
    z = z - z.max(1, keepdims=True)
    return z - np.log(np.exp(z).sum(1, keepdims=True))


def np_nll(theta, x, y):
    return -np_model_log_probs(theta, x)[np.arange(len(y)), y].mean()


def np_nll_grads(theta, x, y):
    """d nll / d theta by hand: the softmax's (p - onehot) / B back through the two layers."""
    x = x.reshape(len(x), -1)
    z1 = x @ theta["linear1.weight"].T + theta["linear1.bias"]
    a1 = np.maximum(z1, 0.0)
    probs = np.exp(np_model_log_probs(theta, x))
    dz2 = (probs - np.eye(10)[y]) / len(y)
    dz1 = (dz2 @ theta["linear2.weight"]) * (z1 > 0)
    return {"linear1.weight": dz1.T @ x, "linear1.bias": dz1.sum(0), "linear2.weight": dz2.T @ a1,
            "linear2.bias": dz2.sum(0)}


def np_flat(named):
    return np.concatenate([named[name].ravel() for name, _ in MODEL_SHAPES])


def digit_batches(count, batch, seed=0):
    """Made-up digits, normalised as main.py's transforms do: [(x (batch, 1, 28, 28), y)] * count, numpy."""
    images, labels = made_up_digits(count * batch, seed)
    x = (images[:, None] / 255.0 - 0.1307) / 0.3081
    return [(x[k * batch:(k + 1) * batch], labels[k * batch:(k + 1) * batch]) for k in range(count)]


# ---- 1. ikostrikov/pytorch-meta-optimizer ----

def test_preprocess_gradients_against_numpy(float64):
    g = np.array([[1e-7], [-3e-5], [4.6e-5], [0.2], [-4.0], [0.0]])
    got = arr(preprocess_gradients(torch.tensor(g)))
    np.testing.assert_allclose(got, np_preprocess(g), rtol=1e-12, atol=1e-12)
    # e^-10 = 4.54e-5: 4.6e-5 is above (log and sign), 3e-5 below (-1 and e^10 g)
    assert got[2, 1] == 1.0 and got[1, 0] == -1.0 and got[1, 1] == pytest.approx(-3e-5 * np.exp(10))


def test_layer_norm_lstm_cell_against_numpy_with_gradients(float64):
    cell = LayerNormLSTMCell(3, 4)
    with torch.no_grad():               # the layer norms' gains and shifts away from 1 and 0
        for name, p in cell.named_parameters():
            if name.startswith("ln_"):
                p.uniform_(0.5, 1.5) if name.endswith("weight") else p.uniform_(-0.3, 0.3)
    rng = np.random.default_rng(1)
    x, h, c = rng.normal(size=(5, 3)), rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    r1, r2 = rng.normal(size=(5, 4)), rng.normal(size=(5, 4))

    def loss_np(p):
        h2, c2 = np_ln_lstm_cell(x, h, c, p, "")
        return (h2 * r1).sum() + (c2 * r2).sum()

    def loss_lib():
        hx, cx = cell(torch.tensor(x), (torch.tensor(h), torch.tensor(c)))
        return (hx * torch.tensor(r1)).sum() + (cx * torch.tensor(r2)).sum()

    names = ["fc_i2h.weight", "fc_h2h.bias", "ln_i2h.weight", "ln_h2h.bias", "ln_h2o.weight", "ln_h2o.bias"]
    check_named_grads(cell, names, loss_np, loss_lib, 3, 1e-5, 1e-8)


def test_meta_model_writes_into_parameters_are_what_forward_reads(float64):
    # MetaModel.set_flat_params puts views of one flat tensor into each Linear's `_parameters` (PyTorch's only home
    # of a parameter); forward must read them, and the loss's gradient reach the flat tensor
    model, meta = Model(), MetaModel(Model())
    meta.reset()
    meta.copy_params_from(model)
    linear1 = meta.model.linear1
    assert not isinstance(linear1.weight, nn.Parameter) and not linear1.weight.requires_grad   # reset: detached
    np.testing.assert_array_equal(arr(linear1.weight), arr(model.linear1.weight))             # copy_params_from
    flat0 = arr(meta.get_flat_params())
    np.testing.assert_array_equal(flat0, np_flat({n: arr(p) for n, p in model.named_parameters()}))
    flat = torch.tensor(flat0 + np.random.default_rng(2).normal(0, 0.01, flat0.shape), requires_grad=True)
    meta.set_flat_params(flat)
    assert linear1.weight is linear1._parameters["weight"] and linear1.weight.grad_fn is not None
    assert [n for n, _ in meta.model.named_parameters()] == [n for n, _ in MODEL_SHAPES]
    (x, y), = digit_batches(1, 6)
    theta = np_unflatten(arr(flat))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")             # (log_softmax without dim, as the source writes it)
        out = meta.model(torch.tensor(x))
    np.testing.assert_allclose(arr(out), np_model_log_probs(theta, x), rtol=1e-10, atol=1e-12)
    F.nll_loss(out, torch.tensor(y)).backward()
    np.testing.assert_allclose(flat.grad, np_flat(np_nll_grads(theta, x, y)), rtol=1e-8, atol=1e-12)
    idx = [(i,) for i in (0, 5000, 25100, 25440)]
    np.testing.assert_allclose(flat.grad[[i for i, in idx]],
                               central(lambda v: np_nll(np_unflatten(v), x, y), arr(flat), idx), rtol=1e-5, atol=1e-9)
    meta.copy_params_to(model)      # values into the plain model's own parameters, which stay leaves
    assert isinstance(model.linear2.bias, nn.Parameter) and model.linear2.bias.is_leaf
    np.testing.assert_array_equal(arr(model.linear2.bias), theta["linear2.bias"])


def test_parameters_table_write_reaches_copies_and_unpickled_modules_as_pytorch():
    # PyTorch's `module._parameters[name] = t` is what `module.name` reads; for a deep copy (or an unpickled module)
    # its own table, for a shallow copy (copy.copy) the table both share
    layer = nn.Linear(2, 1)
    twin, alias = copy.deepcopy(layer), copy.copy(layer)
    t = torch.ones(1, 2)
    twin._parameters["weight"] = t
    assert twin.weight is t and isinstance(layer.weight, nn.Parameter)
    alias._parameters["bias"] = torch.zeros(1)
    assert alias.bias is layer.bias and not isinstance(layer.bias, nn.Parameter)
    thawed = pickle.loads(pickle.dumps(nn.Sequential(nn.Linear(2, 1))))
    thawed[0]._parameters["weight"] = t
    assert thawed[0].weight is t
    assert arr(twin(torch.tensor([[2.0, 3.0]]))) == pytest.approx(5.0 + float(twin.bias))


def test_deleting_from_the_parameters_table_removes_the_attribute_as_pytorch():
    layer = nn.Linear(2, 1)
    del layer._parameters["bias"]
    with pytest.raises(AttributeError):
        layer.bias


def fast_meta_two_steps(meta_optimizer, model, batches):
    """main.py's inner loop for one truncation of len(batches) steps (its lines, with its differs), returning what
    the steps saw: the model's parameters, gradients and loss before each meta update."""
    meta_optimizer.reset_lstm(keep_states=False, model=model, use_cuda=False)
    loss_sum, prev_loss, seen = 0, torch.zeros(1), []
    for x, y in batches:
        x, y = Variable(torch.tensor(x)), Variable(torch.tensor(y))
        f_x = model(x)
        loss = F.nll_loss(f_x, y)
        model.zero_grad()
        loss.backward()
        seen.append(({n: arr(p) for n, p in model.named_parameters()},
                     {n: np.array(p.grad) for n, p in model.named_parameters()}, loss.item()))
        meta_model = meta_optimizer.meta_update(model, loss.detach())
        f_x = meta_model(x)
        loss = F.nll_loss(f_x, y)
        loss_sum += (loss - Variable(prev_loss))
        prev_loss = loss.detach()
    meta_optimizer.zero_grad()
    loss_sum.backward()
    return loss_sum, seen


def np_fast_meta(w_lin, b_lin, seen, batches):
    """FastMetaOptimizer's truncation in numpy, of linear1's (w_lin, b_lin): per step, inputs [preprocess(g),
    theta (a constant: `.data`), loss, f, i], (f, i) = sigmoid(inputs w^T + b), theta' = f theta - i g; the
    gradients and losses of the plain model are constants (computed from its own parameters); returns the meta
    losses and the last theta."""
    theta = np_flat(seen[0][0])[:, None]
    f = i = np.zeros_like(theta)
    losses = []
    for (params, grads, loss), (x, y) in zip(seen, batches):
        g = np_flat(grads)[:, None]
        inputs = np.concatenate([np_preprocess(g), np_flat(params)[:, None], np.full_like(g, loss), f, i], 1)
        f, i = np.split(np_sigmoid(inputs @ w_lin.T + b_lin), 2, axis=1)
        theta = f * theta - i * g
        losses.append(np_nll(np_unflatten(theta[:, 0]), x, y))
    return losses, theta[:, 0]


def test_fast_meta_update_two_steps_values_and_meta_gradient_against_numpy(float64):
    meta_optimizer = FastMetaOptimizer(MetaModel(Model()), 2, 10)
    assert [n for n, _ in meta_optimizer.named_parameters()] == ["linear1.weight", "linear1.bias"]
    assert arr(meta_optimizer.linear1.bias)[0] == 1.0       # `bias.data[0] = 1`: f starts near sigmoid(1)
    model, batches = Model(), digit_batches(2, 8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loss_sum, seen = fast_meta_two_steps(meta_optimizer, model, batches)
    for k, (params, grads, loss) in enumerate(seen):      # the plain model's losses and gradients, against numpy
        np.testing.assert_allclose(loss, np_nll(params, *batches[k]), rtol=1e-10)
        want = np_nll_grads(params, *batches[k])
        for name in want:
            np.testing.assert_allclose(grads[name], want[name], rtol=1e-8, atol=1e-12, err_msg=name)
    w_lin, b_lin = arr(meta_optimizer.linear1.weight), arr(meta_optimizer.linear1.bias)
    losses, theta = np_fast_meta(w_lin, b_lin, seen, batches)
    # loss_sum = (l1 - 0) + (l2 - l1.detach()): its value is the last loss, its gradient that of l1 + l2
    np.testing.assert_allclose(float(loss_sum), losses[-1], rtol=1e-10)
    np.testing.assert_allclose(np_flat({n: arr(p) for n, p in model.named_parameters()}), theta, rtol=1e-10,
                               atol=1e-13)                              # copy_params_to: theta_2 in the model
    idx = [(0, 0), (0, 3), (1, 2), (1, 5)]
    np.testing.assert_allclose(meta_optimizer.linear1.weight.grad[tuple(np.array(idx).T)],
                               central(lambda v: sum(np_fast_meta(v, b_lin, seen, batches)[0]), w_lin, idx),
                               rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(meta_optimizer.linear1.bias.grad,
                               central(lambda v: sum(np_fast_meta(w_lin, v, seen, batches)[0]), b_lin, [(0,), (1,)]),
                               rtol=1e-5, atol=1e-9)


def test_meta_optimizer_as_written_keeps_its_cells_in_a_list_and_its_meta_update_fails(float64):
    meta_optimizer = MetaOptimizer(MetaModel(Model()), 2, 5)
    # `self.lstms = []`: the cells are not registered (as in PyTorch), so Adam over parameters() never trains them
    assert [n for n, _ in meta_optimizer.named_parameters()] == [
        "linear1.weight", "linear1.bias", "ln1.weight", "ln1.bias", "linear2.weight", "linear2.bias"]
    np.testing.assert_array_equal(arr(meta_optimizer.linear2.bias), 0.0)
    model = Model()
    meta_optimizer.reset_lstm(keep_states=False, model=model)
    p = {n: arr(t) for n, t in meta_optimizer.named_parameters()}
    cells = [{n: arr(t) for n, t in cell.named_parameters()} for cell in meta_optimizer.lstms]
    x = np.random.default_rng(3).normal(size=(7, 3))
    out = meta_optimizer(torch.tensor(x))
    z = np.tanh(np_layer_norm_1d(x @ p["linear1.weight"].T + p["linear1.bias"], p["ln1.weight"], p["ln1.bias"]))
    for cell in cells:                      # the (1, H) zero states expanded to the 7 rows
        z, _ = np_ln_lstm_cell(z, np.zeros((7, 5)), np.zeros((7, 5)), cell, "")
    np.testing.assert_allclose(arr(out), (z @ p["linear2.weight"].T + p["linear2.bias"])[:, 0], rtol=1e-10,
                               atol=1e-12)
    meta_optimizer.reset_lstm(keep_states=True, model=model)
    assert all(not h.requires_grad and h.shape == (7, 5) for h in meta_optimizer.hx + meta_optimizer.cx)
    (xb, yb), = digit_batches(1, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        F.nll_loss(model(torch.tensor(xb)), torch.tensor(yb)).backward()
    # at this commit meta_update hands preprocess_gradients the 1-d flat gradients, whose torch.cat((x1, x2), 1)
    # has no dim 1 (PyTorch: IndexError "Dimension out of range"); main.py here runs FastMetaOptimizer
    with pytest.raises(ValueError, match="concat: axis 1 is out of range"):
        meta_optimizer.meta_update(model, None)


def test_main_runs_as_written_training_the_fast_meta_optimizer_with_flat_memory(monkeypatch, capsys):
    counts, seen = [], {}
    reset = FastMetaOptimizer.reset_lstm

    def counting_reset(self, *a, **k):
        seen.setdefault("start", (self, arr(self.linear1.weight), arr(self.linear1.bias)))
        reset(self, *a, **k)
        counts.append(live_nodes())

    monkeypatch.setattr(FastMetaOptimizer, "reset_lstm", counting_reset)
    configure_main(["--batch_size", "16", "--optimizer_steps", "6", "--truncated_bptt_step", "2",
                    "--updates_per_epoch", "2", "--max_epoch", "3"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        main()
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split(",")[0] for line in lines] == ["Epoch: 0", "Epoch: 1", "Epoch: 2"]
    ratios = [float(line.rsplit(": ", 1)[1]) for line in lines]
    assert all(0.5 < r < 1.2 for r in ratios), ratios
    # Adam stepped the meta optimizer once per truncation (3 per model, 2 models an epoch, 3 epochs), each step a
    # gradient that reached linear1 through the flat parameters written into the Linears' `_parameters`
    meta_optimizer, w0, b0 = seen["start"]
    assert not np.allclose(arr(meta_optimizer.linear1.weight), w0)
    assert not np.allclose(arr(meta_optimizer.linear1.bias), b0)
    assert np.all(np.abs(meta_optimizer.linear1.weight.grad) <= 1.0)     # clipped to [-1, 1] before the step
    # truncation keeps the graph to one window: as many nodes alive at every cut after the first model's
    assert len(counts) == 3 * 2 * 3 and max(counts[3:]) - min(counts[3:]) <= 5, counts


# ---- 2. AdrienLE/learning_by_grad_by_grad_repro ----

def np_opt_net(p, g, h, c, out_mul=1.0):
    """The notebook's Optimizer without preprocessing: two LSTMCells over the coordinates (rows), then Linear."""
    h0, c0 = np_lstm_cell(g, h[0], c[0], p["recurs.weight_ih"], p["recurs.weight_hh"], p["recurs.bias_ih"],
                          p["recurs.bias_hh"])
    h1, c1 = np_lstm_cell(h0, h[1], c[1], p["recurs2.weight_ih"], p["recurs2.weight_hh"], p["recurs2.bias_ih"],
                          p["recurs2.bias_hh"])
    return (h1 @ p["output.weight"].T + p["output.bias"]) * out_mul, (h0, h1), (c0, c1)


def np_unroll(p, W, y, steps, grads=None, hidden=20, out_mul=1.0):
    """do_fit's optimizee trajectory in numpy: theta_1 = 0, loss_t = |W theta_t - y|^2, g_t = 2 W^T (W theta_t - y)
    (or grads[t] when given: the inputs held fixed, as detach_var holds them), theta_{t+1} = theta_t + m(g_t).
    Returns the losses and the gradients met."""
    theta = np.zeros(10)
    h = c = (np.zeros((10, hidden)), np.zeros((10, hidden)))
    losses, met = [], []
    for t in range(steps):
        r = W @ theta - y
        losses.append(r @ r)
        g = 2 * W.T @ r if grads is None else grads[t]
        met.append(g)
        update, h, c = np_opt_net(p, g[:, None], h, c, out_mul)
        theta = theta + update[:, 0]
    return losses, met


def quadratic_target(seed):
    """The W and y that QuadraticLoss draws right after torch.manual_seed(seed) (its draws, read back)."""
    torch.manual_seed(seed)
    target = QuadraticLoss()
    return arr(target.W), arr(target.y)


def test_do_fit_evaluation_follows_the_lstm_updates_against_numpy(float64):
    opt_net = Optimizer()
    p = {n: arr(t) for n, t in opt_net.named_parameters()}
    W, y = quadratic_target(5)
    torch.manual_seed(5)
    losses = do_fit(opt_net, None, QuadraticLoss, QuadOptimizee, 20, 6, 20, out_mul=0.1, should_train=False)
    np.testing.assert_allclose(losses, np_unroll(p, W, y, 6, out_mul=0.1)[0], rtol=1e-10)
    assert not opt_net.training     # eval(), and unroll = 1: every step is a cut


def test_do_fit_meta_gradient_is_first_order_through_the_unroll(float64):
    # one unroll of 4 steps; SGD with lr=0 steps nothing, so opt_net's .grad after do_fit is d(sum of losses)/d phi
    opt_net = Optimizer(hidden_sz=6)
    meta_opt = optim.SGD(opt_net.parameters(), lr=0.0)
    p = {n: arr(t) for n, t in opt_net.named_parameters()}
    W, y = quadratic_target(7)
    torch.manual_seed(7)
    losses = do_fit(opt_net, meta_opt, QuadraticLoss, QuadOptimizee, 4, 4, 20, out_mul=0.5, should_train=True)
    base, grads = np_unroll(p, W, y, 4, hidden=6, out_mul=0.5)
    np.testing.assert_allclose(losses, base, rtol=1e-10)
    params = dict(opt_net.named_parameters())

    def first_order(name, value):       # g_t held at their values (detach_var): the paper's dashed lines
        return sum(np_unroll({**p, name: value}, W, y, 4, grads=grads, hidden=6, out_mul=0.5)[0])

    for k, name in enumerate(["recurs.weight_ih", "recurs.bias_hh", "recurs2.weight_hh", "output.weight",
                              "output.bias"]):
        idx = some_indices(p[name].shape, 3, k)
        np.testing.assert_allclose([params[name].grad[i] for i in idx],
                                   central(lambda v: first_order(name, v), p[name], idx), rtol=1e-5, atol=1e-9,
                                   err_msg=name)
    # the full derivative, with g_t moving with theta_t, is another number: the cut is the notebook's choice
    full = central(lambda v: sum(np_unroll({**p, "output.bias": v}, W, y, 4, hidden=6, out_mul=0.5)[0]),
                   p["output.bias"], [(0,)])
    assert abs(full[0] - params["output.bias"].grad[0]) > 1e-3 * abs(full[0])


def test_do_fit_keeps_one_unroll_of_graph_alive_over_a_long_run():
    opt_net = Optimizer(hidden_sz=8)
    meta_opt = optim.Adam(opt_net.parameters(), lr=1e-3)
    counts = []
    step = meta_opt.step
    meta_opt.step = lambda *a: (step(*a), counts.append(live_nodes()))
    losses = do_fit(opt_net, meta_opt, QuadraticLoss, QuadOptimizee, 10, 120, 20, 1.0, should_train=True)
    assert len(losses) == 120 and len(counts) == 12
    assert max(counts[1:]) - min(counts[1:]) <= 5, counts     # flat: the cut at every 10th step frees the rest


def test_detach_var_gives_a_leaf_whose_grad_is_kept_and_a_non_leaf_keeps_its_last_pass():
    v = torch.tensor([1.0, -2.0], requires_grad=True) * 3
    leaf = detach_var(v)
    assert leaf.is_leaf and leaf.requires_grad and leaf.grad_fn is None
    theta = leaf + torch.tensor([0.5, 0.5])     # result_params[name]: a non-leaf, retain_grad() as the notebook
    theta.retain_grad()
    (theta ** 2).sum().backward(retain_graph=True)
    np.testing.assert_allclose(theta.grad, [7.0, -11.0])
    (theta ** 2).sum().backward()
    # documented (docs/pytorch.md): a non-leaf's .grad is the last pass's (PyTorch's retain_grad accumulates, 14 and
    # -22); do_fit reads each theta's .grad after the one pass that reaches it first, the same in both
    np.testing.assert_allclose(theta.grad, [7.0, -11.0])
    np.testing.assert_allclose(leaf.grad, [14.0, -22.0])       # a leaf accumulates, as PyTorch's


def test_the_sources_data_and_grad_lines_meet_the_documented_numpy_arrays():
    # docs/pytorch.md: `.data` and `.grad` are read-only numpy arrays, so the lines marked `differs:` fail as written
    v = torch.tensor([1.0, 2.0], requires_grad=True)
    (v * v).sum().backward()
    with pytest.raises(TypeError, match="Variable: data has to be a tensor, but got ndarray"):
        Variable(v.data, requires_grad=True)            # detach_var, reset_lstm, MetaModel.reset
    with pytest.raises(ValueError, match="sub-type of ndarray"):
        v.grad.view(2, 1)                               # do_fit's p.grad.view(cur_sz, 1): numpy's view(dtype, type)
    with pytest.raises(AttributeError, match="'memoryview' object has no attribute 'clamp_'"):
        v.grad.data.clamp_(-1, 1)                       # main.py's clipping
    with pytest.raises(ValueError, match="output array is read-only"):
        v.data -= 0.02 * v.grad                         # the sine script's `param.data -= ...`
    np.testing.assert_array_equal(arr(v), [1.0, 2.0])


def test_preprocessing_as_written_indexes_a_column_with_a_2d_mask_and_the_squeezed_copy_against_numpy(float64):
    g = np.array([[1e-6], [-3e-4], [2.5], [-1e-5], [0.0], [7e-2]])
    hidden = [torch.zeros(6, 20), torch.zeros(6, 20)]
    # `inp2[:, 0][keep_grads]` with keep_grads (n, 1): a 2-d mask on a 1-d column (today's PyTorch: IndexError "too
    # many indices for tensor of dimension 1" too; later copies of the notebook squeeze it)
    with pytest.raises(IndexError, match="too many indices"):
        Optimizer(preproc=True)(torch.tensor(g), hidden, hidden)
    net = SqueezedPreprocOptimizer(preproc=True)
    p = {n: arr(t) for n, t in net.named_parameters()}
    keep = np.abs(g[:, 0]) >= np.exp(-10.0)
    inp = np.stack([np.where(keep, np.log(np.abs(g[:, 0]) + 1e-8) / 10.0, -1.0),
                    np.where(keep, np.sign(g[:, 0]), np.exp(10.0) * g[:, 0])], 1)
    out, hs, cs = net(torch.tensor(g), hidden, hidden)
    z = np.zeros((6, 20))
    want, _, _ = np_opt_net(p, inp, (z, z), (z, z))
    np.testing.assert_allclose(arr(out), want, rtol=1e-10, atol=1e-12)


def test_fit_normal_sgd_against_numpy_and_find_best_lr_skips_diverging_rates(float64):
    W, y = quadratic_target(11)
    torch.manual_seed(11)
    (trajectory,) = fit_normal(QuadraticLoss, QuadOptimizee, optim.SGD, n_tests=1, n_epochs=15, lr=0.01)
    theta, want = np.zeros(10), []
    for _ in range(15):
        r = W @ theta - y
        want.append(r @ r)
        theta = theta - 0.01 * 2 * W.T @ r
    np.testing.assert_allclose(trajectory, want, rtol=1e-10)
    torch.manual_seed(12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # numpy's overflow warnings at lr 1.0 and 0.3 (PyTorch is silent)
        best_loss, best_lr = find_best_lr_normal(QuadraticLoss, QuadOptimizee, optim.SGD, n_tests=3, n_epochs=30)
    assert best_lr == 0.01 and np.isfinite(best_loss)     # the notebook's choice for SGD too


def test_fit_optimizer_trains_an_lstm_optimizer_that_beats_tuned_sgd_after_a_state_dict_round_trip(capsys):
    torch.manual_seed(0)
    best_loss, best_net = fit_optimizer(QuadraticLoss, QuadOptimizee, lr=0.003, n_epochs=2, n_tests=5, optim_it=30,
                                        unroll=10)
    printed = [float(v) for v in capsys.readouterr().out.split()]      # each epoch's test loss, and each new best
    assert best_loss == min(printed) and printed[1] == 100000000000000000
    assert isinstance(best_net["output.weight"], np.ndarray)          # deepcopy of state_dict(): numpy copies
    opt = w(Optimizer())                                                # the notebook's comparison cell
    opt.load_state_dict(best_net)
    torch.manual_seed(21)
    learned = [do_fit(opt, None, QuadraticLoss, QuadOptimizee, 1, 30, 20, out_mul=1.0, should_train=False)
               for _ in range(5)]
    torch.manual_seed(21)               # the same five functions for SGD at the notebook's best rate, 0.01
    sgd = fit_normal(QuadraticLoss, QuadOptimizee, optim.SGD, n_tests=5, n_epochs=30, lr=0.01)
    assert np.allclose([run[0] for run in learned], [run[0] for run in sgd])
    assert np.mean([run[-1] for run in learned]) < 0.15 * np.mean([run[0] for run in learned])
    assert np.mean([np.sum(run) for run in learned]) < 0.95 * np.mean([np.sum(run) for run in sgd])


# ---- 3. gbaydin/hypergradient-descent ----

def quadratic_problem(seed=0):
    """f(a, b) = |M [a.ravel(); b] - t|^2 with a (3, 2) and b (2,): values, and the gradient 2 M^T (M theta - t)."""
    rng = np.random.default_rng(seed)
    M, t = rng.normal(size=(5, 8)), rng.normal(size=5)
    theta0 = rng.normal(size=8)

    def grad(theta):
        return 2 * M.T @ (M @ theta - t)

    def loss_lib(a, b):
        r = torch.tensor(M) @ torch.cat([a.view(-1), b]) - torch.tensor(t)
        return (r * r).sum()

    return theta0, grad, loss_lib


def run_optimizer(make, theta0, loss_lib, steps):
    a = torch.tensor(theta0[:6].reshape(3, 2), requires_grad=True)
    b = torch.tensor(theta0[6:], requires_grad=True)
    optimizer = make([a, b])
    lrs, thetas = [], []
    for _ in range(steps):
        optimizer.zero_grad()
        loss_lib(a, b).backward()
        optimizer.step()
        lrs.append(float(optimizer.param_groups[0]['lr']))
        thetas.append(np.concatenate([arr(a).ravel(), arr(b)]))
    return optimizer, lrs, thetas


@pytest.mark.parametrize("momentum, nesterov", [(0, False), (0.9, True), (0.5, False)])
def test_sgd_hd_against_numpy(momentum, nesterov, float64):
    theta0, grad, loss_lib = quadratic_problem()
    alpha, beta, wd, dampening = 0.01, 1e-3, 0.01, 0.0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        optimizer, lrs, thetas = run_optimizer(
            lambda ps: SGDHD(ps, lr=alpha, momentum=momentum, weight_decay=wd, nesterov=nesterov, hypergrad_lr=beta),
            theta0, loss_lib, 6)
    # PyTorch's deprecated overloads, which it still takes with this warning: view.add_(weight_decay, ...),
    # p.add_(-lr, ...) with lr a 0-d tensor, and the momentum buffer's add_(1 - dampening, grad)
    assert {str(w.message).split(" is deprecated")[0] for w in caught} == {"This overload of add_"}
    theta, prev, buf = theta0.copy(), np.zeros(8), None
    for k in range(6):
        g = grad(theta) + wd * theta
        alpha = alpha + beta * g @ prev           # h = g_t . (the last step's direction)
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        prev = g
        theta = theta - alpha * g
        np.testing.assert_allclose(lrs[k], alpha, rtol=1e-10)
        np.testing.assert_allclose(thetas[k], theta, rtol=1e-10, atol=1e-12)
    # the learning rate became a 0-d tensor at the first `group['lr'] += hypergrad_lr * h`, as in PyTorch
    assert isinstance(optimizer.param_groups[0]['lr'], torch.Tensor) and optimizer.param_groups[0]['lr'].ndim == 0


def test_adam_hd_against_numpy_with_its_lr_updated_parameter_by_parameter(float64):
    theta0, grad, loss_lib = quadratic_problem(1)
    alpha, beta, wd, (b1, b2), eps = 0.05, 1e-3, 0.01, (0.9, 0.999), 1e-8
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, lrs, thetas = run_optimizer(lambda ps: AdamHD(ps, lr=alpha, weight_decay=wd, hypergrad_lr=beta),
                                       theta0, loss_lib, 5)
    assert {str(w.message).split(" is deprecated")[0] for w in caught} == {
        "This overload of add", "This overload of add_", "This overload of addcmul_", "This overload of addcdiv_"}
    theta = theta0.copy()
    parts = [slice(0, 6), slice(6, 8)]
    m, v = [np.zeros(6), np.zeros(2)], [np.zeros(6), np.zeros(2)]
    for step in range(1, 6):
        full = grad(theta)                       # both gradients from one backward, before either step
        for j, part in enumerate(parts):         # the loop over params: each one's h moves the one shared lr
            g = full[part] + wd * theta[part]
            if step > 1:
                h = g @ (m[j] / (np.sqrt(v[j]) + eps)) * np.sqrt(1 - b2 ** (step - 1)) / (1 - b1 ** (step - 1))
                alpha = alpha + beta * h
            m[j] = b1 * m[j] + (1 - b1) * g
            v[j] = b2 * v[j] + (1 - b2) * g * g
            step_size = alpha * np.sqrt(1 - b2 ** step) / (1 - b1 ** step)
            theta[part] = theta[part] - step_size * m[j] / (np.sqrt(v[j]) + eps)
        np.testing.assert_allclose(lrs[step - 1], alpha, rtol=1e-10)
        np.testing.assert_allclose(thetas[step - 1], theta, rtol=1e-10, atol=1e-12)


def test_required_lr_is_pytorchs_mark_and_its_error():
    assert repr(required) == "<required parameter>"
    with pytest.raises(ValueError, match="didn't specify a value of required optimization parameter lr"):
        SGDHD([nn.Parameter(torch.zeros(2))])
    with pytest.raises(ValueError, match="Nesterov momentum requires a momentum and zero dampening"):
        SGDHD([nn.Parameter(torch.zeros(2))], lr=0.1, nesterov=True)


def test_deprecated_scalar_first_overloads_read_as_pytorch_reads_them(float64):
    # tools/autograd/deprecated.yaml: add(Scalar alpha, Tensor other), sub(...), addcmul(Scalar value, Tensor tensor1,
    # Tensor tensor2), addcdiv(...), and the in-place forms, taken with PyTorch's UserWarning
    a, b, c = np.array([1.0, -2.0]), np.array([3.0, 5.0]), np.array([2.0, 4.0])
    A, B, C = torch.tensor(a), torch.tensor(b), torch.tensor(c)
    other, pair = "Number alpha, Tensor other", "Number value, Tensor tensor1, Tensor tensor2"
    cases = [(lambda: A.add(0.5, B), a + 0.5 * b, "add", other),
             (lambda: torch.add(A, 0.5, B), a + 0.5 * b, "add", other),
             (lambda: A.clone().add_(0.5, B), a + 0.5 * b, "add_", other),
             (lambda: A.sub(0.5, B), a - 0.5 * b, "sub", other),
             (lambda: A.clone().sub_(0.5, B), a - 0.5 * b, "sub_", other),
             (lambda: A.addcmul(0.5, B, C), a + 0.5 * b * c, "addcmul", pair),
             (lambda: A.clone().addcmul_(0.5, B, C), a + 0.5 * b * c, "addcmul_", pair),
             (lambda: torch.addcdiv(A, 0.5, B, C), a + 0.5 * b / c, "addcdiv", pair),
             (lambda: A.clone().addcdiv_(torch.tensor(-0.5), B, C), a - 0.5 * b / c, "addcdiv_", pair)]
    for call, want, name, signature in cases:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            np.testing.assert_allclose(arr(call()), want, rtol=1e-15, err_msg=name)
        assert [str(w.message).splitlines()[:2] for w in caught] == [
            [f"This overload of {name} is deprecated:", f"\t{name}({signature})"]], name
    # a 0-d tensor that does not require grad is a Scalar for value= and alpha= too (a learning rate that became one)
    np.testing.assert_allclose(arr(A.addcmul(B, C, value=torch.tensor(0.5))), a + 0.5 * b * c, rtol=1e-15)
    with pytest.raises(TypeError, match="alpha must be a number"):
        A.add(B, alpha=torch.tensor(0.5, requires_grad=True))
    with pytest.raises(TypeError, match=r"add_: expected add_\(Tensor other, \*, Number alpha = 1\), or PyTorch's "
                                        r"deprecated add_\(Number alpha, Tensor other\).* without alpha="):
        A.clone().add_(0.5, B, alpha=2.0)
    with pytest.raises(TypeError, match=r"addcmul: expected addcmul\(Tensor tensor1, Tensor tensor2"):
        A.addcmul(B, B, C)              # a tensor first: neither form


def test_hypergradient_is_the_first_order_derivative_of_the_unrolled_loss_in_the_learning_rate(float64):
    # Baydin et al.: with theta_1 = theta_0 - alpha g_0 (g_0 a constant), d f(theta_1) / d alpha = -g_1 . g_0, the
    # -h SGDHD descends; by autograd.grad with create_graph=False
    theta0, grad, loss_lib = quadratic_problem(2)
    a0 = torch.tensor(theta0[:6].reshape(3, 2), requires_grad=True)
    b0 = torch.tensor(theta0[6:], requires_grad=True)
    ga, gb = torch.autograd.grad(loss_lib(a0, b0), (a0, b0))
    alpha = torch.tensor(0.01, requires_grad=True)
    a1, b1 = a0.detach() - alpha * ga, b0.detach() - alpha * gb
    (d_alpha,) = torch.autograd.grad(loss_lib(a1, b1), alpha, retain_graph=True)
    g0 = grad(theta0)
    g1 = grad(theta0 - 0.01 * g0)
    np.testing.assert_allclose(float(d_alpha), -(g1 @ g0), rtol=1e-10)
    # two steps with one alpha: theta_2 = theta_1 - alpha g_1(theta_1(alpha)); the exact hypergradient needs the
    # gradient's own graph (create_graph=True), refused here (docs/pytorch.md: no double backward)
    with pytest.raises(NotImplementedError, match="create_graph=True"):
        torch.autograd.grad(loss_lib(a1, b1), (a1, b1), create_graph=True)
    # the first-order version holds g_1 fixed, as hypergradient descent does
    ga1, gb1 = torch.autograd.grad(loss_lib(a1, b1), (a1, b1), retain_graph=True)
    (d_alpha2,) = torch.autograd.grad(loss_lib(a1 - alpha * ga1, b1 - alpha * gb1), alpha)

    def f2(value):
        t1 = theta0 - value[0] * g0
        t2 = t1 - value[0] * g1                  # g_1 at alpha = 0.01, held
        return float(loss_lib(torch.tensor(t2[:6].reshape(3, 2)), torch.tensor(t2[6:])))

    np.testing.assert_allclose(float(d_alpha2), central(f2, np.array([0.01]), [(0,)])[0], rtol=1e-6)


def test_train_py_main_as_written_with_both_hypergradient_optimizers(tmp_path, monkeypatch, capsys):
    rows, alphas = {}, {}
    for method, beta in (("sgd_hd", "0.0001"), ("adam_hd", "0.0000001")):
        monkeypatch.setattr(sys, "argv", ["train.py", "--method", method, "--dir", str(tmp_path), "--save",
                                          "--epochs", "2", "--batchSize", "128", "--alpha_0", "0.001",
                                          "--beta", beta, "--seed", "3"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")      # volatile=True, size_average and the deprecated overloads
            with pytest.raises(SystemExit) as stop:
                hd_main()
        assert stop.value.code == 0
        out = capsys.readouterr().out
        assert "Traceback" not in out and f"Task: MNIST, Model: logreg, Method: {method}" in out
        assert "Early stopping: epoch > 2" in out
        alphas[method] = [float(line.split("Alpha: ")[1].split(" |")[0]) for line in out.splitlines()
                          if "Alpha" in line]
        with open(tmp_path / "logreg" / f"+1e-03_{float(beta):+.0e}" / f"{method}.csv") as f:
            rows[method] = list(csv.DictReader(f))
    for method, table in rows.items():
        assert len(table) == 1 + 2 * 16          # the first evaluation, then every batch of 2 epochs of 2048 / 128
        ends = [row for row in table if row["ValidLossEpoch"] != "nan"]
        assert [row["Epoch"] for row in ends] == ["0", "1", "2"]
        assert float(ends[-1]["ValidLossEpoch"]) < 0.5 * float(ends[0]["ValidLossEpoch"]), (method, ends)
        # the csv holds str() of the 0-d tensor lr, "tensor(0.0010)", as PyTorch's csv would; the printed lines
        # format it, `{:+.3e}`, as PyTorch's 0-d tensors format
        assert table[-1]["Alpha"].startswith("tensor(") and table[0]["Alpha"] == "0.001"
        # a learning rate started too small rises, the paper's point
        assert alphas[method][0] == 0.001 and alphas[method][-1] > 1.1 * 0.001, alphas[method]
    assert alphas["sgd_hd"][-1] > 5 * 0.001


# ---- 4. JosephKJ/PyTorch-MAML-and-Reptile ----

SINE_NAMES = ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]


def np_sine_mlp_grads(p, x, y):
    """MSE of the 1-64-64-1 tanh net and its gradients, by hand (backprop through two tanh layers)."""
    a1 = np.tanh(x @ p["0.weight"].T + p["0.bias"])
    a2 = np.tanh(a1 @ p["2.weight"].T + p["2.bias"])
    out = a2 @ p["4.weight"].T + p["4.bias"]
    d_out = 2 * (out - y) / out.size
    d_z2 = (d_out @ p["4.weight"]) * (1 - a2 ** 2)
    d_z1 = (d_z2 @ p["2.weight"]) * (1 - a1 ** 2)
    grads = {"4.weight": d_out.T @ a2, "4.bias": d_out.sum(0), "2.weight": d_z2.T @ a1, "2.bias": d_z2.sum(0),
             "0.weight": d_z1.T @ x, "0.bias": d_z1.sum(0)}
    return ((out - y) ** 2).mean(), grads


def sine_start():
    """The model experiment() builds after torch.manual_seed(0) (its draws, read back), and its tasks in numpy: the
    RandomState(0) draws in the order experiment() makes them."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(1, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 1))
    rng = np.random.RandomState(0)
    x_all = np.linspace(-5, 5, 50)[:, None]
    rng.uniform(0, 2 * np.pi), rng.uniform(0.1, 5)          # f_plot
    rng.choice(50, size=10)                                  # xtrain_plot
    phase, ampl = rng.uniform(0, 2 * np.pi), rng.uniform(0.1, 5)
    inds = rng.permutation(50)
    return {n: arr(t) for n, t in model.named_parameters()}, x_all, np.sin(x_all + phase) * ampl, inds


def np_inner_sgd(p, x_all, y_all, train_ind):
    p = dict(p)
    for start in range(0, len(train_ind), 10):
        batch = train_ind[start:start + 10]
        _, g = np_sine_mlp_grads(p, x_all[batch], y_all[batch])
        p = {n: p[n] - 0.02 * g[n] for n in p}
    return p


def test_reptile_iteration_against_numpy(float64):
    model = experiment('Reptile', plot=False, n_iterations=1)
    p0, x_all, y_all, inds = sine_start()
    after = np_inner_sgd(p0, x_all, y_all, inds[:-10])
    got = {n: arr(t) for n, t in model.named_parameters()}
    for n in SINE_NAMES:             # weights_before + (weights_after - weights_before) * 0.1
        np.testing.assert_allclose(got[n], p0[n] + (after[n] - p0[n]) * 0.1, rtol=1e-10, atol=1e-13, err_msg=n)


def test_first_order_maml_iteration_against_numpy_and_second_order_is_refused(float64):
    model = experiment('MAML', plot=False, n_iterations=1)
    p0, x_all, y_all, inds = sine_start()
    adapted = np_inner_sgd(p0, x_all, y_all, inds[:-10])
    val = inds[-10:]
    _, g = np_sine_mlp_grads(adapted, x_all[val], y_all[val])
    got = {n: arr(t) for n, t in model.named_parameters()}
    for n in SINE_NAMES:     # the gradient at the adapted weights, kept through load_state_dict(weights_before)
        np.testing.assert_allclose(got[n], p0[n] - 0.01 * g[n], rtol=1e-10, atol=1e-13, err_msg=n)
    # the paper's MAML differentiates through the inner step, which needs the inner gradient's graph
    x, y = torch.tensor(x_all[:10]), torch.tensor(y_all[:10])
    with pytest.raises(NotImplementedError, match="create_graph=True"):
        torch.autograd.grad((model(x) - y).pow(2).mean(), list(model.parameters()), create_graph=True)


def test_experiment_as_written_in_float32_refuses_its_float64_inputs():
    # `torch.Tensor(x)` of the float64 numpy sine is float64 here (float32 in PyTorch: docs/pytorch.md), and the
    # float32 Linear refuses it; the other tests run under set_default_dtype(float64)
    with pytest.raises(TypeError, match="float32"):
        experiment('Reptile', plot=False, n_iterations=1)


def test_reptile_training_lowers_the_loss_on_the_plotted_task(float64, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")         # (matplotlib's pause on the Agg backend)
        experiment('Reptile', plot=True, n_iterations=6000)
    plt.close("all")
    out = capsys.readouterr().out
    iterations = [int(line.split()[-1]) for line in out.splitlines() if line.startswith("iteration")]
    losses = [float(line.split()[-1]) for line in out.splitlines() if line.startswith("loss on plotted curve")]
    assert iterations == [1, 1000, 2000, 3000, 4000, 5000, 6000]
    assert losses[-1] < 0.5 * losses[0], losses
