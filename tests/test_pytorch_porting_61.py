"""Porting, round 61: CONTINUAL LEARNING WITH RECURRENT NETWORKS -- elastic weight consolidation (offline and online),
synaptic intelligence, GEM and A-GEM, as public PyTorch code writes them, on small RNN, LSTM and GRU models where the
repository has one (no earlier round ported a continual-learning method). Each is written as its author wrote it,
with only the imports changed (`# differs:` marks each other change and why; long lines wrapped):

1. AndreaCossu/ContinualLearning-SequentialProcessing (44c44578d5f10a9fb09aeb4a3480aad7ebcd1557): core/EWC_wrapper.py
   (`EWC`: saved parameters and Fishers per model and task, `ewc_penalty`), core/BaselineRNN.py (an RNN or LSTM with
   a Linear on every step, orthogonal recurrent weights through `all_weights`, a zero state that requires grad),
   experiment/CL_experiment.py (`get_device`, `create_models` for 'rnn' and 'lstm', `OrthogonalLoss`) and
   tasks/mnist/utils_single.py (`permute`, `accuracy`, `train`, `test`, `train_ewc`, `accumulate_backward`). Its
   mnist.py (read at 259c0645c0ae1a67b2616dd6e34d1c735995da2f) is the script; its data is MNIST through torchvision,
   so a test drives these functions in its order on two sequence tasks.
2. GMvandeVen/continual-learning: models/cl/continual_learner.py (0fa419e5f38b68f5aac73fa522a9ed4d5026dbb5: SI's
   `register_starting_param_values`, `prepare_importance_estimates_dicts`, `update_importance_estimates` (the path
   integral W += -g (w - w_old) per step), `update_omega`, `surrogate_loss`; EWC's `estimate_fisher` with its four
   label choices, online (gamma) and offline, `ewc_loss`; buffers registered under the parameters' names),
   models/classifier.py (0fa419e5: `train_a_batch` with replay and A-GEM's projection), train/train_task_based.py
   (f0392767d9fddec669bee8c11577d115e30c2cad: `train_cl`, task-incremental, with `copy.deepcopy(model)` after each
   context) and utils.py (148489b285e7e50d63ab71050e6ac5a78aa45a3b: `get_data_loader`, `checkattr`,
   `save_checkpoint`, `load_checkpoint`). The repository's classifiers are MLPs and convnets on images: the tests'
   model is a GRU with a Linear head, one two-class head per context, under the source's `train_a_batch`.
3. facebookresearch/GradientEpisodicMemory (19199898f1ded2f32055ff500ce1587fbdb3ff98): model/gem.py (`store_grad`,
   `overwrite_grad`, `project2cone2`, `Net` with its ring buffer of memories and `observe`), model/common.py
   (`Xavier`, `MLP`), main.py (`load_datasets`, `Continuum`, `eval_tasks`, `life_experience` and the script as
   `gem_main(argv)`) and metrics/metrics.py (`task_changes`, `confusion_matrix`). The repository has no recurrent
   model (an MLP, or a ResNet for CIFAR-100): GEM runs on its MLP, in float32 as the source (its memory is a
   `torch.FloatTensor`).
4. kuc2477/pytorch-ewc (151d75cdf98f85741c02204d0c8c540ee9578c8c): model.py (`MLP` with `estimate_fisher` from
   per-sample `autograd.grad`s, `consolidate` into buffers, `ewc_loss`), train.py, utils.py (`get_data_loader`,
   `validate`, `xavier_initialize`) and main.py as `kuc_main(argv)`. An MLP too (the repository has no other model).
moskomule/ewc.pytorch's utils.py (234e64f4452ccafa12b07e0b45b8544bcb2d660a) was read for its `p.grad.data ** 2`,
pinned below; it is not ported. Every source was read in the index at the commit named; none was written from memory.

What broke (two gaps fixed; one left open):
  G1. `len(iter(loader))` was a TypeError ("object of type 'generator' has no len()"): `DataLoader.__iter__` gave a
      generator. PyTorch's iterator (`_BaseDataLoaderIter`) has `__len__`, the loader's number of batches; train_cl
      counts batches down from it (`iters_left = len(data_loader)` of `iter(get_data_loader(...))`). Now an iterator
      with that length (microgradseq/utils/data/dataloader.py).
  G2. `nn.Linear(n_hiddens, n_outputs)` with `n_outputs = labels.max() + 1`, a 0-d integer tensor (GEM's
      load_datasets), was a ValueError ("out_features must be a positive integer, got tensor(3)"); PyTorch's layers
      take it as the size it holds. Now every size checked by `checks.positive_int` takes a 0-d integer tensor as the
      int it holds (a float, bool or 1-d tensor is still refused).
  G3. (fixed in session 34) `t[:, i].unsqueeze(1)` was a reshape, a tensor of its own, where PyTorch's is a view of
      t: GEM's `project2cone2(self.grads[:, t].unsqueeze(1), ...)` writes the projected gradient into that view with
      `copy_`, and here it never reached `self.grads`, so GEM silently became SGD. Reshapes that need no copy and
      transposes are now parts of their tensor, as PyTorch's views; the port calls project2cone2 as written.

Met and left as documented (docs/pytorch.md; the lines say `differs:`):
  - `.data` and `.grad` are numpy arrays: `param.data.clone()` is `param.data.copy()`; old code's `p.grad.data` is a
    memoryview, so `p.grad.data.clone().pow(2)` is `p.grad.copy() ** 2` and `p.grad.data.view(-1)` is
    `p.grad.reshape(-1)`; `p.grad.detach() ** 2` is `p.grad ** 2`; `p.grad.data.copy_(g)` (GEM) and `p.grad.copy_(g)`
    (A-GEM) are `p.grad[...] = g`; a buffer of the parameter's values is `p.detach().clone()` (register_buffer
    refuses a numpy array, as PyTorch's refuses what is not a tensor); `y.data.size(0)` is `y.size(0)`;
    `m.weight.data.uniform_(-a, a)` and `m.bias.data.fill_(0.0)` are `nn.init.uniform_` and `nn.init.constant_`;
    `model(x).data.cpu()` is `model(x).detach().cpu()`. A test pins the gradient and buffer lines as written, each
    stopping before anything changes.
  - `output.max(1)[1]` is row 1 of the maxima (an IndexError on a one-row batch) and `_, predicted = scores.max(1)`
    unpacks rows, both with a warning: `dim=1` gives PyTorch's (values, indices).
  - `torch.Tensor(rows, columns)` with sizes is refused: `torch.zeros`; a strict `load_state_dict` with unexpected
    keys is a ValueError (PyTorch's RuntimeError); `torch.save` does not pickle an argparse Namespace: `vars(args)`.
Met and as PyTorch: `register_buffer` again under a buffer's name replaces it, and `getattr` of a missing one is the
AttributeError the sources catch for "no penalty yet"; one Linear repeated in a ModuleList is listed once by
`named_parameters()` and under both names by `state_dict()`; `copy.deepcopy(model)` rebinds the bound
`self.named_parameters` kept in `param_list` and copies the optimizer kept on the model; `total_penalty =
torch.tensor(0, dtype=torch.float32)` then `+=` of float64 terms stays float32, with exact float64 gradients;
`loss_total = loss_cur; loss_total += penalty` changes `loss_cur` (the reported current loss is the total); per-sample
`autograd.grad(l, self.parameters(), retain_graph=...)` over `torch.cat(...).unbind()`; `log_softmax(...)[range(B),
y.data]`; `fill_` and `copy_` into parts (`grads[:, tid]`, `memory_data[t, a:b]` from a numpy array); the legacy
`torch.FloatTensor(n, m, k)` (zeros here); `nn.init.orthogonal_` of `weight_hh[j:j + H]` writing into the
parameter; `all_weights`; `torch.LongTensor` of a list of 0-d tensors; `'%.4f' % tensor`; backward of a one-element
loss of shape (1,); `_Loss(None, None, 'mean')`; `Variable(x, volatile=True)` warning.

Met and changed for reasons outside the library (marked): quadprog is not installed (a stand-in `solve_qp` that tries
each set of active constraints, checked against the closed form and the KKT conditions); torchvision, visdom and
tensorboard are not (small sequence and vector tasks, a recorder for visdom's scalars); importlib's `model.gem` is
the Net here; the repositories' other models (LMN, augmented LSTMs, XdG masks, KFAC/OWM Fishers, generative and
buffer replay, ResNet) are not ported; scripts are functions of argv that return what the tests read; the tests run
in float64 where they take central differences.

Noticed and left alone (the sources', in PyTorch too):
  - EWC_wrapper's Fisher is the square of the gradient summed over the whole task (accumulate_backward never
    zeroes between batches), not a sum of squared per-sample gradients; its penalty has no 1/2.
  - continual_learner's estimate_fisher divides by the last `index`: with `fisher_n=None` the sum over N samples is
    divided by N - 1. SI's surrogate loss is 0 at a context's first step (the weights are the stored ones).
  - GEM's eval_tasks takes `b_to = min(b_from + eval_bs, N - 1)` with `eval_bs = N`: every task's last sample is
    left out, and the count is divided by N. metrics.py's `result_a.index(...)` is gone from PyTorch (indexing here).
  - kuc2477's `(Linear, ReLU, Dropout) * hidden_layer_num` repeats one Linear, so the hidden layers share weights;
    `(g ** 2).mean()` is one Fisher number per parameter (over samples and entries), not a diagonal; estimate_fisher
    runs in training mode (dropout on); `xavier_initialize` matches no module name ('layers.0', ...), so it
    initialises nothing.

Expected values come from numpy written here in float64 (the RNN, LSTM and GRU forwards, ReLU MLPs, cross-entropy,
Fishers, penalties, the SI path integral for SGD, A-GEM's and GEM's projections, Adam's first step), gradients by
central differences of those numpy losses; never from the library's own outputs.
"""

import argparse
import copy
import datetime
import itertools
import math
import os
import random
import time
import uuid
from collections import defaultdict
from functools import reduce

import numpy as np
import pytest
import tqdm
from porting_references import arr, np_log_softmax, np_lstm_cell, np_gru_cell, np_softmax, quietly

import microgradseq as torch
import microgradseq.nn as nn
import microgradseq.optim as optim
from microgradseq import autograd
from microgradseq.autograd import Variable
from microgradseq.nn import functional as F
from microgradseq.nn.modules.loss import _Loss
from microgradseq.utils.data import ConcatDataset, DataLoader, TensorDataset
from microgradseq.utils.data.dataloader import default_collate


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)
    np.random.seed(0)
    random.seed(0)


# ---- numpy references (float64), written here ------------------------------------------------------------

def np_params(module):
    """A module's parameters by name (`named_parameters()`), as float64 arrays."""
    return {name: arr(p) for name, p in module.named_parameters()}


def np_grad_dict(f, params, h=1e-6):
    """Central differences of the scalar f(params) in every entry of every array of the dict `params`."""
    out = {}
    for name, value in params.items():
        g = np.empty_like(value)
        for i in np.ndindex(value.shape):
            up, down = value.copy(), value.copy()
            up[i] += h
            down[i] -= h
            g[i] = (f({**params, name: up}) - f({**params, name: down})) / (2 * h)
        out[name] = g
    return out


def np_cross_entropy(logits, targets):
    """nn.CrossEntropyLoss(): the mean over the batch of -log softmax(logits)[target]."""
    return -np_log_softmax(logits)[np.arange(len(targets)), np.asarray(targets, dtype=int)].mean()


def np_rnn_sequence(P, x, prefix, lstm):
    """A one-layer tanh RNN or LSTM (batch first, zero state) over x (B, T, I): every step's h, (B, T, H)."""
    w_ih, w_hh = P[prefix + "weight_ih_l0"], P[prefix + "weight_hh_l0"]
    b_ih, b_hh = P[prefix + "bias_ih_l0"], P[prefix + "bias_hh_l0"]
    h = c = np.zeros((x.shape[0], w_hh.shape[1]))
    outs = []
    for t in range(x.shape[1]):
        if lstm:
            h, c = np_lstm_cell(x[:, t], h, c, w_ih, w_hh, b_ih, b_hh)
        else:
            h = np.tanh(x[:, t] @ w_ih.T + b_ih + h @ w_hh.T + b_hh)
        outs.append(h)
    return np.stack(outs, 1)


def np_baseline_rnn_last(P, x, lstm):
    """BaselineRNN: the Linear over every step's output, and `predictions[:, -1, :]`."""
    out = np_rnn_sequence(P, x, "rnn_module.", lstm) @ P["linear.weight"].T + P["linear.bias"]
    return out[:, -1, :]


def np_gru_head(P, x):
    """The recurrent classifier of section 2: a one-layer GRU (zero state), its last state through the Linear."""
    h = np.zeros((x.shape[0], P["gru.weight_hh_l0"].shape[1]))
    for t in range(x.shape[1]):
        h = np_gru_cell(x[:, t], h, P["gru.weight_ih_l0"], P["gru.weight_hh_l0"], P["gru.bias_ih_l0"],
                        P["gru.bias_hh_l0"])
    return h @ P["classifier.weight"].T + P["classifier.bias"]


def np_relu_mlp(P, x, names):
    """Linear layers `names` (in order, the same name twice for a shared layer) with ReLU between them."""
    for k, name in enumerate(names):
        x = x @ P[name + ".weight"].T + P[name + ".bias"]
        if k < len(names) - 1:
            x = np.maximum(x, 0.0)
    return x


def np_adam_first_step(p, g, lr, eps=1e-8):
    """Adam's first step from zero moments: m_hat = g, v_hat = g^2, so p - lr g / (|g| + eps)."""
    return p - lr * g / (np.sqrt(g * g) + eps)


def sequence_task(n, length, seed, flip=False, input_size=1):
    """A two-class sequence task: is the sequence's mean above 0 (the other way round with `flip`)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, length, input_size)) + rng.choice([-0.5, 0.5], size=(n, 1, 1))
    y = (x.mean((1, 2)) > 0).astype(np.int64)
    return x, (1 - y if flip else y)


# ==== 1. AndreaCossu/ContinualLearning-SequentialProcessing (44c44578) =========================================
# ---- core/EWC_wrapper.py ----------------------------------------------------------------------------------------

'''
Inspired by ContinualAI notebook.
https://github.com/ContinualAI/colab/blob/master/notebooks/intro_to_continual_learning.ipynb
'''


class EWC(nn.Module):
    def __init__(self, device, lamb=1):
        '''

        Task IDs are ordered integer (0,1,2,3,...)

        :param lamb: task specific hyper-parameter for EWC.
        '''

        super(EWC, self).__init__()

        self.lamb = lamb
        self.device = device

        self.saved_params = {}
        self.fisher = {}

    def ewc_penalty(self, model, modelname, current_task_id):
        '''
        :param model: model to be optimized
        :param modelname: name of the model
        :param current_task_id: current task ID.
        '''

        total_penalty = torch.tensor(0, dtype=torch.float32).to(self.device)

        # for each previous task (if any)
        for task in range(current_task_id):
            for param, saved_param, fisher in zip(model.parameters(), self.saved_params[modelname][task],
                                                  self.fisher[modelname][task]):
                total_penalty += self.lamb * ( fisher * (param - saved_param).pow(2) ).sum()

        return total_penalty

    def compute_fisher(self, model, modelname, current_task_id, x=None, y=None, criterion=None):
        '''
        :param model: model to be optimized
        :param modelname: name of the model
        :param current_task_id: current task ID.
        :param x: training data (iterable of minibatches). If x,y, and
                    criterion are not provided, it is assumed that
                    gradient has been already accumulated over training set.
                    Otherwise forward pass + gradient computation is performed.
        :param y: training labels (iterable of minibatches). If None see x.
        :param criterion: loss function. If None see x.
        '''


        if x is not None and y is not None and criterion is not None:
            for x_batch, y_batch in zip(x,y):
                out = model(x_batch)
                loss = criterion(out, y_batch)
                loss.backward()

        if modelname not in self.saved_params.keys():
            self.saved_params[modelname] = {}
        if modelname not in self.fisher.keys():
            self.fisher[modelname] = {}

        # store learned parameters and fisher coefficients
        # no need to store all the tensor metadata, just its data (data.clone())
        # differs: `.data` is the parameter's read-only numpy array, and `clone()` is numpy's `copy()`; old code's
        # `param.grad.data` is numpy's memoryview of the gradient, so the gradient itself, and `.pow(2)` is `** 2`
        # (docs/pytorch.md, "Arrays are read-only"): arrays, which the penalty multiplies into tensors
        self.saved_params[modelname][current_task_id] = [ param.data.copy() for param in model.parameters() ]
        self.fisher[modelname][current_task_id] = [ param.grad.copy() ** 2 for param in model.parameters() ]


# ---- core/BaselineRNN.py ------------------------------------------------------------------------------------------

class BaselineRNN(nn.Module):

    def __init__(self, input_size, hidden_size, output_size, device, lstm=False, batch_size=1,
                num_layers=1, dropout=0., bidirectional=False, relu=False, orthogonal=False):
        '''
        Baseline recurrent network.

        :param lstm: False to choose a RNN or True to choose a LSTM. Default False.

        '''

        super(BaselineRNN, self).__init__()

        self.input_size = input_size
        self.hidden_size = hidden_size
        self.output_size = output_size
        self.num_layers = num_layers
        self.activation = 'relu' if relu else 'tanh'
        self.dropout = dropout if self.num_layers > 1 else 0.
        self.bidirectional = bidirectional
        self.directions = 2 if self.bidirectional else 1
        self.batch_size = batch_size
        self.device = device
        self.lstm = lstm
        self.orthogonal = orthogonal

        if not self.lstm:
            self.rnn_module = nn.RNN(self.input_size, self.hidden_size,
                num_layers=self.num_layers, nonlinearity=self.activation,
                batch_first=True, dropout=self.dropout,
                bidirectional=self.bidirectional).to(self.device)
            if self.orthogonal:
                for _, hh, _, _ in self.rnn_module.all_weights:
                    nn.init.orthogonal_(hh)
        else:
            self.rnn_module = nn.LSTM(self.input_size, self.hidden_size,
                self.num_layers, batch_first=True, dropout=self.dropout,
                bidirectional=self.bidirectional).to(self.device)
            if self.orthogonal:
                for _, hh, _, _ in self.rnn_module.all_weights:
                    # lstm divides hidden matrix into 4 chunks
                    # https://pytorch.org/docs/stable/nn.html?highlight=lstm#torch.nn.LSTM
                    for j in range(0, hh.size(0), self.hidden_size):
                        nn.init.orthogonal_(hh[j:j+self.hidden_size])

        self.linear = nn.Linear(self.directions*self.hidden_size, self.output_size).to(self.device)



    def forward(self, x, h):
        '''
        :param x: (batch_size, seq_len, input_size)
        :param h: hidden state of the recurrent module

        :return out: (batch_size, seq_len, directions*hidden_size)
        :return h: hidden state of the recurrent module
        '''

        out, h = self.rnn_module(x, h)

        out = self.linear(out)

        return h, out


    def reset_memory_state(self, batch_size=None):
        '''
        :param batch_size: size of current batch. If None default batch size used. Default None.
        '''

        b = self.batch_size if batch_size is None else batch_size
        if self.lstm:
            h = (
                torch.zeros(self.directions*self.num_layers, b, self.hidden_size,
                    device=self.device, requires_grad=True),

                torch.zeros(self.directions*self.num_layers, b, self.hidden_size,
                    device=self.device, requires_grad=True)
            )
        else:
            h = torch.zeros(self.directions*self.num_layers, b, self.hidden_size,
                                device=self.device, requires_grad=True)

        return h


# ---- experiment/CL_experiment.py: the manager's device and the recurrent models, and OrthogonalLoss ---------------

class CL_Experiment():
    '''
    A manager of CL experiments
    '''

    def __init__(self, args, save_test_results='test_perf.txt', path_save_models='saved_models'):
        '''
        Create CL experiment manager
        '''

        self.args = args

        self.save_test_results = save_test_results
        self.path_save_models = path_save_models

        self.device = torch.device('cpu')


    def get_device(self):
        '''
        Choose device: cpu or cuda
        '''

        mode = 'cpu'
        if self.args.cuda:
            if torch.cuda.is_available():
                print('Using ', torch.cuda.device_count() ,' GPU(s)')
                mode = 'cuda'
            else:
                print("WARNING: No GPU found. Using CPUs...")
        else:
            print('Using 0 GPUs')

        self.device = torch.device(mode)

        return self.device

    # differs: configure_plots, get_writer (tensorboard), the autoencoders' save and load, and the augmented and
    # LMN models (core/AugmentedLSTM.py, LMN.py, ...) are not ported; create_models keeps its 'rnn' and 'lstm' cases
    def create_models(self):
        '''
        Create models for CL experiment.
        '''

        train_models = defaultdict(list)
        train_autoencoders = []

        if 'rnn' in self.args.models:
            train_models['rnn'].append(BaselineRNN(self.args.input_size, self.args.hidden_size_rnn,
                self.args.output_size, self.device, batch_size=self.args.batch_size, lstm=False,
                num_layers=self.args.layers_rnn, orthogonal=self.args.orthogonal))
            train_models['rnn'].append(torch.optim.Adam(train_models['rnn'][0].parameters(),
                lr=self.args.learning_rate, weight_decay=self.args.weight_decay))
            if self.args.orthogonal_loss:
                train_models['rnn'].append(OrthogonalLoss(torch.nn.CrossEntropyLoss(reduction='mean'),
                    train_models['rnn'][0].rnn_module, self.device, self.args.lamb, 0, 'rnn'))
            else:
                train_models['rnn'].append(torch.nn.CrossEntropyLoss(reduction='mean'))

        if 'lstm' in self.args.models:
            train_models['lstm'].append(BaselineRNN(self.args.input_size, self.args.hidden_size_rnn,
                self.args.output_size, self.device, batch_size=self.args.batch_size, lstm=True,
                num_layers=self.args.layers_rnn, orthogonal=self.args.orthogonal))
            train_models['lstm'].append(torch.optim.Adam(train_models['lstm'][0].parameters(),
                lr=self.args.learning_rate, weight_decay=self.args.weight_decay))
            if self.args.orthogonal_loss:
                train_models['lstm'].append(OrthogonalLoss(torch.nn.CrossEntropyLoss(reduction='mean'),
                    train_models['lstm'][0].rnn_module, self.device, self.args.lamb, 0, 'lstm'))
            else:
                train_models['lstm'].append(torch.nn.CrossEntropyLoss(reduction='mean'))

        return train_models, train_autoencoders


class OrthogonalLoss(_Loss):
    '''
    Loss that adds to the classic BCE a penalty term
    in order to have orthogonal memory matrix
    '''

    def __init__(self, criterion, memory, device, lamb=0.1, beta=0., model='lmn'):

        '''
        :param model: string representing the model
        :param criterion: main loss to be used
        :param memory: the Memory class of the (A)LMN currently in use
        :param lamb: hyperparameter to control orthogonalization
        :param beta: hyperparameter to control hidden state norm
        '''

        super(OrthogonalLoss, self).__init__(None, None, 'mean')

        self.device = device
        self.model = model
        self.memory = memory
        self.lamb = lamb
        self.beta = beta
        self.criterion = criterion

    def update_memory(self, memory):
        '''
        Update memory, in case new modules are added to the ALMN or ALSTM
        '''

        self.memory = memory

    def forward(self, input, target, hs=None):
        '''
        :param hs: (B, 2*L-1, H) hidden states for each batch and for each sequence item
        '''

        loss = self.criterion(input, target)


        if hs is not None:
            batch_losses = loss.mean(dim=2).mean(dim=1)
            T = hs.size(1)
            h_norms = torch.norm(hs, dim=2, p=2) # (B, 2*L-1) norms

            norms_sum = (h_norms[:, 1:] - h_norms[:, :-1])**2

            norms_penalty = self.beta * (torch.sum(norms_sum, dim=1) / float(T))

        if self.model.endswith('lmn'):
            orth_penalty = self.lamb * torch.norm(
                torch.matmul(self.memory.linear_memory.weight, self.memory.linear_memory.weight.transpose(0,1)) -
                torch.eye(self.memory.linear_memory.weight.size(0) , device=self.device)
                )**2
        elif self.model == 'rnn' or self.model == 'lstm' or self.model == 'alstm':
            orth_penalty = self.lamb * torch.norm(
                torch.matmul(self.memory.all_weights[0][1], self.memory.all_weights[0][1].transpose(0,1)) -
                torch.eye(self.memory.all_weights[0][1].size(0) , device=self.device)
                )**2

        if hs is None:
            total_loss = loss.mean() +  orth_penalty
        else:
            total_loss = (batch_losses + norms_penalty).mean() + orth_penalty

        return total_loss


# ---- tasks/mnist/utils_single.py: permute, accuracy, train, test, train_ewc, accumulate_backward ---------------

def permute(x, permutation):
    '''
    :param x: (B, 28*28, 1)
    :param permutation: (28*28)
    '''
    return torch.gather( x, 1, permutation.unsqueeze(0).repeat(x.size(0),1).unsqueeze(2) )


def accuracy(output, target):
    '''
    A metric to evaluate results
    '''

    probs = torch.nn.functional.softmax(output, dim=1)
    winners = probs.argmax(dim=1)

    acc = (winners == target).sum().float() / target.size(0)

    return acc.item()


def train(train_models, modelname, x,y, accuracy, device, output_size, max_grad_norm=5.0):
    model = train_models[modelname][0]
    optimizer = train_models[modelname][1]
    criterion = train_models[modelname][2]

    model.train()

    optimizer.zero_grad()

    if modelname=='lstm' or modelname=='rnn' or modelname=='alstm':

        h = model.reset_memory_state()

        h, predictions = model(x, h)


    else: # lmn, almn


        h = model.reset_memory_state()

        predictions = torch.empty(x.size(0), x.size(1), output_size, requires_grad=False, device=device).float()


        for i in range(x.size(1)):
            h, predictions[:, i, :] = model(x[:, i, :], h)


    predictions = predictions[:, -1, :]

    loss = criterion(predictions, y)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
    optimizer.step()


    with torch.no_grad():
        acc = accuracy(predictions, y)


    return loss.item(), acc


def test(train_models, modelname, x,y, accuracy, device, output_size, module_id=None):

    with torch.no_grad():
        model = train_models[modelname][0]

        model.eval()


        if modelname=='lstm' or modelname=='rnn' or modelname=='alstm':

            if modelname == 'alstm':
                h = model.reset_memory_state(batch_size=x.size(0), module_id=module_id)
                h, predictions = model(x, h, task_id=module_id)
            else:
                h = model.reset_memory_state(batch_size=x.size(0))
                h, predictions = model(x, h)


        else: # lmn, almn

            predictions = torch.empty(x.size(0), x.size(1), output_size, requires_grad=False, device=device).float()

            if modelname=='almn':
                h = model.reset_memory_state(batch_size=x.size(0), module_id=module_id)
                for i in range(x.size(1)):
                    h, predictions[:, i, :] = model(x[:, i, :], h, task_id=module_id)
            else:
                h = model.reset_memory_state(batch_size=x.size(0))
                for i in range(x.size(1)):
                    h, predictions[:, i, :] = model(x[:, i, :], h)


        predictions = predictions[:, -1, :]

        loss = F.cross_entropy(predictions, y, reduction='mean')

        acc = accuracy(predictions, y)

        return loss.item(), acc


test.__test__ = False        # not a port: the script's `test` is no pytest test


def train_ewc(ewc, task_id, train_models, modelname, x, y, acc_f, device, output_size, max_grad_norm=5.0):

    model = train_models[modelname][0]
    optimizer = train_models[modelname][1]
    criterion = train_models[modelname][2]

    model.train()

    optimizer.zero_grad()

    if modelname=='lstm' or modelname=='rnn':

        h = model.reset_memory_state()

        h, predictions = model(x, h)

    else:

        h = model.reset_memory_state()

        predictions = torch.empty(x.size(0), x.size(1), output_size, requires_grad=False, device=device).float()


        for i in range(x.size(1)):
            h, predictions[:, i, :] = model(x[:, i, :], h)

    predictions = predictions[:, -1, :]

    loss = criterion(predictions, y)

    loss_out = loss.item()

    loss += ewc.ewc_penalty(model, modelname, task_id)

    loss.backward()

    torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)

    optimizer.step()

    with torch.no_grad():
        acc = acc_f(predictions, y)


    return loss_out, acc

def accumulate_backward(train_models, modelname, x_data, y_data, device, output_size, max_grad_norm=5.0):

    model = train_models[modelname][0]
    optimizer = train_models[modelname][1]
    criterion = train_models[modelname][2]

    model.train()

    optimizer.zero_grad()


    for x,y in zip(x_data, y_data):

        if modelname=='lstm' or modelname=='rnn':

            h = model.reset_memory_state()

            h, predictions = model(x, h)

        else: # lmn

            h = model.reset_memory_state()

            predictions = torch.empty(x.size(0), x.size(1), output_size, requires_grad=False, device=device).float()


            for i in range(x.size(1)):
                h, predictions[:, i, :] = model(x[:, i, :], h)

        loss = criterion(predictions[:, -1, :], y)

        loss.backward()


# ---- the tests' set-up: mnist.py's arguments (its parser's names and defaults, small sizes) -----------------------

def cossu_args(**changes):
    """differs: mnist.py's argparse namespace, built here with small sizes (its data, MNIST through torchvision, is
    replaced by `sequence_task`'s sequences of one feature; mnist.py's loop is driven by the tests)."""
    args = argparse.Namespace(epochs=2, hidden_size_rnn=4, layers_rnn=1, models=['lstm'], tasks=[1, 2],
                              output_size=2, input_size=1, orthogonal=False, orthogonal_loss=False, lamb=0.1,
                              permutation=0, ewc_lambda=0.0, weight_decay=0, learning_rate=3e-2, batch_size=8,
                              max_grad_norm=5.0, cuda=False)
    for key, value in changes.items():
        setattr(args, key, value)
    return args


def cossu_setup(modelname, **changes):
    args = cossu_args(models=[modelname], **changes)
    cl_exp = CL_Experiment(args)
    device = cl_exp.get_device()
    train_models, train_autoencoders = cl_exp.create_models()
    return args, device, train_models


# ---- 1. tests ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("modelname", ["rnn", "lstm"])
def test_accumulate_backward_sums_the_batch_gradients_of_the_last_step_loss(modelname, float64_default):
    args, device, train_models = cossu_setup(modelname)
    model = train_models[modelname][0]
    assert isinstance(train_models[modelname][1], optim.Adam) and str(device) == "cpu"
    batches = [sequence_task(8, 5, seed) for seed in (1, 2)]
    x_batch = [torch.tensor(x) for x, _ in batches]
    y_batch = [torch.tensor(y) for _, y in batches]
    accumulate_backward(train_models, modelname, x_batch, y_batch, device, args.output_size)
    P = np_params(model)
    lstm = modelname == "lstm"

    def loss_np(P):
        return sum(np_cross_entropy(np_baseline_rnn_last(P, x, lstm), y) for x, y in batches)
    expected = np_grad_dict(loss_np, P)
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad, expected[name], rtol=1e-6, atol=1e-9, err_msg=name)


def test_compute_fisher_squares_the_accumulated_gradient_and_keeps_copies_of_the_parameters(float64_default):
    args, device, train_models = cossu_setup("rnn")
    model, optimizer = train_models["rnn"][0], train_models["rnn"][1]
    x, y = sequence_task(8, 5, 3)
    accumulate_backward(train_models, "rnn", [torch.tensor(x)], [torch.tensor(y)], device, args.output_size)
    grads = {name: p.grad.copy() for name, p in model.named_parameters()}
    before = np_params(model)
    ewc = EWC(device, lamb=2.0)
    ewc.compute_fisher(model, "rnn", 0)
    names = [name for name, _ in model.named_parameters()]
    assert len(ewc.fisher["rnn"][0]) == len(names) == 6
    for name, saved, fisher in zip(names, ewc.saved_params["rnn"][0], ewc.fisher["rnn"][0]):
        np.testing.assert_array_equal(fisher, grads[name] ** 2)      # the whole set's gradient, squared
        np.testing.assert_array_equal(saved, before[name])
    optimizer.step()                                                 # the model moves; the saved values stay
    for name, saved in zip(names, ewc.saved_params["rnn"][0]):
        np.testing.assert_array_equal(saved, before[name])
        assert not np.array_equal(arr(dict(model.named_parameters())[name]), saved)


def test_ewc_penalty_sums_over_the_earlier_tasks_in_float32_with_its_gradient(float64_default):
    args, device, train_models = cossu_setup("lstm")
    model = train_models["lstm"][0]
    rng = np.random.default_rng(4)
    ewc = EWC(device, lamb=0.5)
    ewc.saved_params["lstm"], ewc.fisher["lstm"] = {}, {}
    for task in (0, 1):
        ewc.saved_params["lstm"][task] = [arr(p) + rng.normal(scale=0.1, size=p.shape) for p in model.parameters()]
        ewc.fisher["lstm"][task] = [rng.uniform(0.0, 2.0, size=p.shape) for p in model.parameters()]
    P = [arr(p) for p in model.parameters()]
    expected = {k: 0.5 * sum((f * (p - s) ** 2).sum() for p, s, f in
                             zip(P, ewc.saved_params["lstm"][k], ewc.fisher["lstm"][k])) for k in (0, 1)}
    assert ewc.ewc_penalty(model, "lstm", 0).item() == 0.0
    penalty = ewc.ewc_penalty(model, "lstm", 2)
    # the in-place sum keeps its float32 start, as PyTorch's `+=` does (a float64 model's terms are rounded into it)
    assert penalty.dtype == torch.float32 and penalty.requires_grad
    np.testing.assert_allclose(penalty.item(), expected[0] + expected[1], rtol=1e-6)
    penalty.backward()
    for i, (p, p_np) in enumerate(zip(model.parameters(), P)):       # d/dw of lamb F (w - w*)^2, summed
        g = sum(2 * 0.5 * ewc.fisher["lstm"][k][i] * (p_np - ewc.saved_params["lstm"][k][i]) for k in (0, 1))
        np.testing.assert_allclose(p.grad, g, rtol=1e-12, atol=1e-15)
        assert p.grad.dtype == np.float64


def test_train_ewc_steps_adam_on_the_clipped_gradient_of_loss_plus_penalty_and_returns_the_plain_loss(float64_default):
    args, device, train_models = cossu_setup("rnn", batch_size=8, learning_rate=0.01)
    model = train_models["rnn"][0]
    rng = np.random.default_rng(6)
    ewc = EWC(device, lamb=3.0)
    ewc.saved_params["rnn"] = {0: [arr(p) + rng.normal(scale=0.2, size=p.shape) for p in model.parameters()]}
    ewc.fisher["rnn"] = {0: [rng.uniform(0.0, 1.0, size=p.shape) for p in model.parameters()]}
    x, y = sequence_task(8, 5, 7)
    P = np_params(model)
    names = list(P)

    def loss_np(P):
        pen = sum((f * (P[n] - s) ** 2).sum() for n, s, f in zip(names, ewc.saved_params["rnn"][0],
                                                                 ewc.fisher["rnn"][0]))
        return np_cross_entropy(np_baseline_rnn_last(P, x, False), y) + 3.0 * pen
    g = np_grad_dict(loss_np, P)
    total = np.sqrt(sum((v ** 2).sum() for v in g.values()))
    max_norm = 0.25
    assert total > max_norm                                          # the clip is active
    loss_out, acc = train_ewc(ewc, 1, train_models, "rnn", torch.tensor(x), torch.tensor(y), accuracy, device,
                              args.output_size, max_grad_norm=max_norm)
    np.testing.assert_allclose(loss_out, np_cross_entropy(np_baseline_rnn_last(P, x, False), y), rtol=1e-12)
    logits = np_baseline_rnn_last(P, x, False)
    assert acc == pytest.approx(np.mean(logits.argmax(1) == y))
    for name, p in model.named_parameters():
        clipped = g[name] * max_norm / (total + 1e-6)                # clip_grad_norm_'s coefficient
        np.testing.assert_allclose(p.grad, clipped, rtol=1e-6, atol=1e-10, err_msg=name)
        np.testing.assert_allclose(arr(p), np_adam_first_step(P[name], p.grad, 0.01), rtol=1e-10, atol=1e-12)


def test_test_reports_the_loss_and_accuracy_under_no_grad_in_eval_mode(float64_default):
    args, device, train_models = cossu_setup("lstm")
    model = train_models["lstm"][0]
    x, y = sequence_task(6, 4, 8)
    loss, acc = test(train_models, "lstm", torch.tensor(x), torch.tensor(y), accuracy, device, args.output_size)
    logits = np_baseline_rnn_last(np_params(model), x, True)
    assert not model.training and all(p.grad is None for p in model.parameters())
    np.testing.assert_allclose(loss, np_cross_entropy(logits, y), rtol=1e-12)
    assert acc == pytest.approx(np.mean(np_softmax(logits).argmax(1) == y))


@pytest.mark.parametrize("lstm", [False, True])
def test_orthogonal_initialisation_of_the_recurrent_matrix_and_of_each_lstm_gate_block(lstm):
    model = BaselineRNN(1, 4, 2, torch.device("cpu"), lstm=lstm, orthogonal=True)
    hh = arr(model.rnn_module.weight_hh_l0)
    assert model.rnn_module.all_weights[0][1] is model.rnn_module.weight_hh_l0
    blocks = [hh[j:j + 4] for j in range(0, hh.shape[0], 4)]
    assert len(blocks) == (4 if lstm else 1)
    for block in blocks:                        # nn.init.orthogonal_ of a part writes into the parameter
        np.testing.assert_allclose(block @ block.T, np.eye(4), atol=1e-6)
    assert model.rnn_module.weight_hh_l0.is_leaf and model.rnn_module.weight_hh_l0.requires_grad


def test_orthogonal_loss_adds_the_frobenius_penalty_of_the_first_recurrent_matrix(float64_default):
    args, device, train_models = cossu_setup("rnn", orthogonal_loss=True, lamb=0.3)
    model, criterion = train_models["rnn"][0], train_models["rnn"][2]
    assert isinstance(criterion, OrthogonalLoss) and criterion.reduction == 'mean'
    x, y = sequence_task(8, 5, 9)
    h = model.reset_memory_state()
    h, predictions = model(torch.tensor(x), h)
    loss = criterion(predictions[:, -1, :], torch.tensor(y))
    P = np_params(model)

    def loss_np(P):
        W = P["rnn_module.weight_hh_l0"]
        return (np_cross_entropy(np_baseline_rnn_last(P, x, False), y)
                + 0.3 * ((W @ W.T - np.eye(4)) ** 2).sum())
    np.testing.assert_allclose(loss.item(), loss_np(P), rtol=1e-12)
    loss.backward()
    g = np_grad_dict(loss_np, P)
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad, g[name], rtol=1e-6, atol=1e-9, err_msg=name)


def test_permute_gathers_the_same_positions_of_every_sequence():
    x = torch.tensor(np.arange(24.).reshape(2, 12, 1))
    perm = torch.randperm(12)
    out = permute(x, perm)
    assert out.shape == (2, 12, 1)
    np.testing.assert_array_equal(arr(out), arr(x)[:, perm.numpy()])


def test_two_sequence_tasks_with_ewc_keep_the_first_tasks_weights_nearer_than_finetuning(float64_default):
    """mnist.py's order for each task: train (train_ewc after the first task), then accumulate_backward over the
    task's batches and compute_fisher; here with an LSTM on two short sequence tasks, the second the first's
    labels flipped."""
    results = {}
    for ewc_lambda in (0.0, 50.0):
        torch.manual_seed(1)
        args, device, train_models = cossu_setup("lstm", ewc_lambda=ewc_lambda, learning_rate=0.05)
        ewc = EWC(device, lamb=args.ewc_lambda)
        losses = defaultdict(list)
        for task_id, flip in enumerate((False, True)):
            data = [sequence_task(8, 6, 20 * task_id + b, flip=flip) for b in range(3)]
            loader = [(torch.tensor(x), torch.tensor(y)) for x, y in data]
            for epoch in range(8):
                for x, y in loader:
                    if args.ewc_lambda == 0 or task_id == 0:
                        l, acc = train(train_models, 'lstm', x, y, accuracy, device, args.output_size,
                                       args.max_grad_norm)
                    else:
                        l, acc = train_ewc(ewc, task_id, train_models, 'lstm', x, y, accuracy, device,
                                           args.output_size, args.max_grad_norm)
                    losses[task_id].append(l)
            accumulate_backward(train_models, 'lstm', [x for x, _ in loader], [y for _, y in loader], device,
                                args.output_size, args.max_grad_norm)
            ewc.compute_fisher(train_models['lstm'][0], 'lstm', task_id)
        first = [float(np.mean(losses[t][:3])) for t in (0, 1)]
        last = [float(np.mean(losses[t][-3:])) for t in (0, 1)]
        assert last[0] < first[0] and last[1] < first[1]
        moved = sum((f * (arr(p) - s) ** 2).sum() for p, s, f in
                    zip(train_models['lstm'][0].parameters(), ewc.saved_params['lstm'][0], ewc.fisher['lstm'][0]))
        results[ewc_lambda] = moved
    assert results[50.0] < results[0.0]


# ==== 2. GMvandeVen/continual-learning ===========================================================================
# ---- utils.py (148489b2): checkattr, get_data_loader, save_checkpoint, load_checkpoint -----------------------------

def checkattr(args, attr):
    '''Check whether attribute exists, whether it's a boolean and whether its value is True.'''
    return hasattr(args, attr) and type(getattr(args, attr))==bool and getattr(args, attr)


def get_data_loader(dataset, batch_size, cuda=False, drop_last=False, augment=False):
    '''Return <DataLoader>-object for the provided <DataSet>-object [dataset].'''

    # differs: the augmenting branch (torchvision transforms on images) is not ported
    dataset_ = dataset

    # Create and return the <DataLoader>-object
    return DataLoader(
        dataset_, batch_size=batch_size, shuffle=True, drop_last=drop_last,
        **({'num_workers': 0, 'pin_memory': True} if cuda else {})
    )


def save_checkpoint(model, model_dir, verbose=True, name=None):
    '''Save state of [model] as dictionary to [model_dir] (if name is None, use "model.name").'''
    # -name/path to store the checkpoint
    name = model.name if name is None else name
    path = os.path.join(model_dir, name)
    # -if required, create directory in which to save checkpoint
    if not os.path.exists(model_dir):
        os.makedirs(model_dir)
    # -create the dictionary containing the checkpoint
    checkpoint = {'state': model.state_dict()}
    if hasattr(model, 'mask_dict') and model.mask_dict is not None:
        checkpoint['mask_dict'] = model.mask_dict
    # -(try to) save the checkpoint
    try:
        torch.save(checkpoint, path)
        if verbose:
            print(' --> saved model {name} to {path}'.format(name=name, path=model_dir))
    except OSError:
        print(" --> saving model '{}' failed!!".format(name))


def load_checkpoint(model, model_dir, verbose=True, name=None, strict=True):
    '''Load saved state (in form of dictionary) at [model_dir] (if name is None, use "model.name") to [model].'''
    # -path from where to load checkpoint
    name = model.name if name is None else name
    path = os.path.join(model_dir, name)
    # load parameters (i.e., [model] will now have the state of the loaded model)
    checkpoint = torch.load(path)
    model.load_state_dict(checkpoint['state'], strict=strict)
    if 'mask_dict' in checkpoint:
        model.mask_dict = checkpoint['mask_dict']
    # notify that we succesfully loaded the checkpoint
    if verbose:
        print(' --> loaded checkpoint of {name} from {path}'.format(name=name, path=model_dir))


# ---- models/cl/continual_learner.py (0fa419e5): the SI and diagonal-Fisher (EWC) parts -----------------------------
# differs: the XdG masks, the KFAC and OWM Fishers, `initialize_fisher` (NCL's prior) and the
# `randomize_fisher` shuffle are not ported (nor their imports: models.fc, ncl's additive_nearest_kf)

class ContinualLearner(nn.Module):  # differs: `metaclass=abc.ABCMeta` dropped (no abstract method is left)
    '''Abstract module to add continual learning capabilities to a classifier (e.g., param regularization, replay).'''

    def __init__(self):
        super().__init__()

        # List with the methods to create generators that return the parameters on which to apply param regularization
        self.param_list = [self.named_parameters]  #-> lists the parameters to regularize with SI or diagonal Fisher
                                                   #   (default is to apply it to all parameters of the network)
        #-> with OWM or KFAC Fisher, only parameters in [self.fcE] and [self.classifier] are regularized

        # Optimizer (and whether it needs to be reset)
        self.optimizer = None
        self.optim_type = "adam"
        #--> self.[optim_type]   <str> name of optimizer, relevant if optimizer should be reset for every context
        self.optim_list = []
        #--> self.[optim_list]   <list>, if optimizer should be reset after each context, provide list of required
        #                        <dicts>

        # Scenario, singlehead & negative samples
        self.scenario = 'task'       # which scenario will the model be trained on
        self.classes_per_context = 2 # number of classes per context
        self.singlehead = False      # if Task-IL, does the model have a single-headed output layer?
        self.neg_samples = 'all'     # if Class-IL, which output units should be set to 'active'?

        # LwF / Replay
        self.replay_mode = "none"    # should replay be used, and if so what kind? (none|current|buffer|all|generative)
        self.replay_targets = "hard" # should distillation loss be used? (hard|soft)
        self.KD_temp = 2.            # temperature for distillation loss
        self.use_replay = "normal"   # how to use the replayed data? (normal|inequality|both)
                                     # -inequality = use gradient of replayed data as inequality constraint for gradient
                                     #               of the current data (as in A-GEM; Chaudry et al., 2019; ICLR)
        self.eps_agem = 0.           # parameter that improves numerical stability of AGEM (if set slighly above 0)
        self.lwf_weighting = False   # LwF has different weighting of the 'stability' and 'plasticity' terms than replay

        # XdG:
        self.mask_dict = None        # -> <dict> with context-specific masks for each hidden fully-connected layer
        self.excit_buffer_list = []  # -> <list> with excit-buffers for all hidden fully-connected layers

        # Parameter-regularization
        self.weight_penalty = False
        self.reg_strength = 0       #-> hyperparam: how strong to weigh the weight penalty ("regularisation strength")
        self.precondition = False
        self.alpha = 1e-10          #-> small constant to stabilize inversion of the Fisher Information Matrix
                                    #   (this is used as hyperparameter in OWM)
        self.importance_weighting = 'fisher'  #-> Options for estimation of parameter importance:
                                              #   - 'fisher':   Fisher Information matrix (e.g., as in EWC, NCL)
                                              #   - 'si':       ... diagonal, online importance estimation ...
                                              #   - 'owm':      ...
        self.fisher_kfac = False    #-> whether to use a block-diagonal KFAC approximation to the Fisher Information
                                    #   (alternative is a diagonal approximation)
        self.fisher_n = None        #-> sample size for estimating FI-matrix (if "None", full pass over dataset)
        self.fisher_labels = "all"  #-> what label(s) to use for any given sample when calculating the FI matrix?
                                    #   - 'all':    use all labels, weighted according to their predicted probabilities
                                    #   - 'sample': sample one label to use, using predicted probabilities for sampling
                                    #   - 'pred':   use the predicted label (i.e., the one with highest predicted prob)
                                    #   - 'true':   use the true label (NOTE: this is also called "empirical FI")
        self.fisher_batch = 1       #-> batch size for estimating FI-matrix (should be 1, for best results)
                                    #   (different from 1 only works if [fisher_labels]='pred' or 'true')
        self.context_count = 0      #-> counts 'contexts' (if a prior is used, this is counted as the first context)
        self.data_size = None       #-> inverse prior (can be set to # samples per context, or used as hyperparameter)
        self.epsilon = 0.1          #-> dampening parameter (SI): bounds 'omega' when squared parameter-change goes to 0
        self.offline = False        #-> use separate penalty term per context (as in original EWC paper)
        self.gamma = 1.             #-> decay-term for old contexts' contribution to cummulative FI (as in 'Online EWC')
        self.randomize_fisher = False

    def _device(self):
        return next(self.parameters()).device

    def _is_on_cuda(self):
        return next(self.parameters()).is_cuda


    #------------- "Synaptic Intelligence"-specifc functions -------------#

    def register_starting_param_values(self):
        '''Register the starting parameter values into the model as a buffer.'''
        for gen_params in self.param_list:
            for n, p in gen_params():
                if p.requires_grad:
                    n = n.replace('.', '__')
                    self.register_buffer('{}_SI_prev_context'.format(n), p.detach().clone())

    def prepare_importance_estimates_dicts(self):
        '''Prepare <dicts> to store running importance estimates and param-values before update.'''
        W = {}
        p_old = {}
        for gen_params in self.param_list:
            for n, p in gen_params():
                if p.requires_grad:
                    n = n.replace('.', '__')
                    # differs: `p.data` is the numpy array; `p.detach()` is the tensor without history that
                    # `p.data` is in PyTorch (docs/pytorch.md), so that W and p_old are tensors, as the source's
                    W[n] = p.detach().clone().zero_()
                    p_old[n] = p.detach().clone()
        return W, p_old

    def update_importance_estimates(self, W, p_old):
        '''Update the running parameter importance estimates in W.'''
        for gen_params in self.param_list:
            for n, p in gen_params():
                if p.requires_grad:
                    n = n.replace('.', '__')
                    if p.grad is not None:
                        W[n].add_(-p.grad*(p.detach()-p_old[n]))
                    p_old[n] = p.detach().clone()

    def update_omega(self, W, epsilon):
        '''After completing training on a context, update the per-parameter regularization strength.

        [W]         <dict> estimated parameter-specific contribution to changes in total loss of completed context
        [epsilon]   <float> dampening parameter (to bound [omega] when [p_change] goes to 0)'''

        # Loop over all parameters
        for gen_params in self.param_list:
            for n, p in gen_params():
                if p.requires_grad:
                    n = n.replace('.', '__')

                    # Find/calculate new values for quadratic penalty on parameters
                    p_prev = getattr(self, '{}_SI_prev_context'.format(n))
                    p_current = p.detach().clone()
                    p_change = p_current - p_prev
                    omega_add = W[n]/(p_change**2 + epsilon)
                    try:
                        omega = getattr(self, '{}_SI_omega'.format(n))
                    except AttributeError:
                        omega = p.detach().clone().zero_()
                    omega_new = omega + omega_add

                    # Store these new values in the model
                    self.register_buffer('{}_SI_prev_context'.format(n), p_current)
                    self.register_buffer('{}_SI_omega'.format(n), omega_new)

    def surrogate_loss(self):
        '''Calculate SI's surrogate loss.'''
        try:
            losses = []
            for gen_params in self.param_list:
                for n, p in gen_params():
                    if p.requires_grad:
                        # Retrieve previous parameter values and their normalized path integral (i.e., omega)
                        n = n.replace('.', '__')
                        prev_values = getattr(self, '{}_SI_prev_context'.format(n))
                        omega = getattr(self, '{}_SI_omega'.format(n))
                        # Calculate SI's surrogate loss, sum over all parameters
                        losses.append((omega * (p-prev_values)**2).sum())
            return sum(losses)
        except AttributeError:
            # SI-loss is 0 if there is no stored omega yet
            return torch.tensor(0., device=self._device())


    #----------------- EWC-specifc functions -----------------#

    def estimate_fisher(self, dataset, allowed_classes=None):
        '''After completing training on a context, estimate diagonal of Fisher Information matrix.

        [dataset]:          <DataSet> to be used to estimate FI-matrix
        [allowed_classes]:  <list> with class-indeces of 'allowed' or 'active' classes'''

        # Prepare <dict> to store estimated Fisher Information matrix
        est_fisher_info = {}
        for gen_params in self.param_list:
            for n, p in gen_params():
                if p.requires_grad:
                    n = n.replace('.', '__')
                    est_fisher_info[n] = p.detach().clone().zero_()

        # Set model to evaluation mode
        mode = self.training
        self.eval()

        # Create data-loader to give batches of size 1 (unless specifically asked to do otherwise)
        data_loader = get_data_loader(dataset, batch_size=1 if self.fisher_batch is None else self.fisher_batch,
                                      cuda=self._is_on_cuda())

        # Estimate the FI-matrix for [self.fisher_n] batches of size 1
        for index,(x,y) in enumerate(data_loader):
            # break from for-loop if max number of samples has been reached
            if self.fisher_n is not None:
                if index > self.fisher_n:
                    break
            # run forward pass of model
            x = x.to(self._device())
            output = self(x) if allowed_classes is None else self(x)[:, allowed_classes]
            # calculate FI-matrix (according to one of the four options)
            if self.fisher_labels=='all':
                # -use a weighted combination of all labels
                with torch.no_grad():
                    label_weights = F.softmax(output, dim=1)  # --> get weights, which shouldn't have gradient tracked
                for label_index in range(output.shape[1]):
                    label = torch.LongTensor([label_index]).to(self._device())
                    negloglikelihood = F.cross_entropy(output, label)  #--> get neg log-likelihoods for this class
                    # Calculate gradient of negative loglikelihood
                    self.zero_grad()
                    negloglikelihood.backward(retain_graph=True if (label_index+1)<output.shape[1] else False)
                    # Square gradients and keep running sum (using the weights)
                    for gen_params in self.param_list:
                        for n, p in gen_params():
                            if p.requires_grad:
                                n = n.replace('.', '__')
                                if p.grad is not None:
                                    # differs: `p.grad` is a numpy array, which has no `detach()` (and needs none)
                                    est_fisher_info[n] += label_weights[0][label_index] * (p.grad ** 2)
            else:
                # -only use one particular label for each datapoint
                if self.fisher_labels=='true':
                    # --> use provided true label to calculate loglikelihood --> "empirical Fisher":
                    label = torch.LongTensor([y]) if type(y)==int else y  #-> shape: [self.fisher_batch]
                    if allowed_classes is not None:
                        label = [int(np.where(i == allowed_classes)[0][0]) for i in label.numpy()]
                        label = torch.LongTensor(label)
                    label = label.to(self._device())
                elif self.fisher_labels=='pred':
                    # --> use predicted label to calculate loglikelihood:
                    # differs: `output.max(1)[1]` is row 1 of the maxima here, and warns; `dim=` gives PyTorch's
                    # (values, indices) pair (docs/pytorch.md, "numpy underneath")
                    label = output.max(dim=1)[1]
                elif self.fisher_labels=='sample':
                    # --> sample one label from predicted probabilities
                    with torch.no_grad():
                        label_weights = F.softmax(output, dim=1)       #--> get predicted probabilities
                    weights_array = np.array(label_weights[0].cpu())   #--> change to np-array, avoiding rounding errors
                    label = np.random.choice(len(weights_array), 1, p=weights_array/weights_array.sum())
                    label = torch.LongTensor(label).to(self._device()) #--> change label to tensor on correct device
                # calculate negative log-likelihood
                negloglikelihood = F.nll_loss(F.log_softmax(output, dim=1), label)
                # calculate gradient of negative loglikelihood
                self.zero_grad()
                negloglikelihood.backward()
                # square gradients and keep running sum
                for gen_params in self.param_list:
                    for n, p in gen_params():
                        if p.requires_grad:
                            n = n.replace('.', '__')
                            if p.grad is not None:
                                est_fisher_info[n] += p.grad ** 2  # differs: as above, no `.detach()` of the array

        # Normalize by sample size used for estimation
        est_fisher_info = {n: p/index for n, p in est_fisher_info.items()}

        # Store new values in the network
        for gen_params in self.param_list:
            for n, p in gen_params():
                if p.requires_grad:
                    n = n.replace('.', '__')
                    # -mode (=MAP parameter estimate)
                    self.register_buffer('{}_EWC_prev_context{}'.format(n, self.context_count+1 if self.offline
                                                                        else ""),
                                         p.detach().clone())
                    # -precision (approximated by diagonal Fisher Information matrix)
                    if (not self.offline) and hasattr(self, '{}_EWC_estimated_fisher'.format(n)):
                        existing_values = getattr(self, '{}_EWC_estimated_fisher'.format(n))
                        est_fisher_info[n] += self.gamma * existing_values
                    self.register_buffer(
                        '{}_EWC_estimated_fisher{}'.format(n, self.context_count+1 if self.offline else ""),
                        est_fisher_info[n]
                    )

        # Increase context-count
        self.context_count += 1

        # Set model back to its initial mode
        self.train(mode=mode)

    def ewc_loss(self):
        '''Calculate EWC-loss.'''
        try:
            losses = []
            # If "offline EWC", loop over all previous contexts as each context has separate penalty term
            num_penalty_terms = self.context_count if (self.offline and self.context_count>0) else 1
            for context in range(1, num_penalty_terms+1):
                for gen_params in self.param_list:
                    for n, p in gen_params():
                        if p.requires_grad:
                            # Retrieve stored mode (MAP estimate) and precision (Fisher Information matrix)
                            n = n.replace('.', '__')
                            mean = getattr(self, '{}_EWC_prev_context{}'.format(n, context if self.offline else ""))
                            fisher = getattr(self, '{}_EWC_estimated_fisher{}'.format(n, context if self.offline
                                                                                      else ""))
                            # If "online EWC", apply decay-term to the running sum of the Fisher Information matrices
                            fisher = fisher if self.offline else self.gamma*fisher
                            # Calculate weight regularization loss
                            losses.append((fisher * (p-mean)**2).sum())
            # Sum the regularization loss from all parameters (and from all contexts, if "offline EWC")
            return (1./2)*sum(losses)
        except AttributeError:
            # Regularization loss is 0 if there are no stored mode and precision yet
            return torch.tensor(0., device=self._device())


# ---- models/classifier.py (0fa419e5): Classifier.train_a_batch, on a recurrent classifier ------------------------

class Classifier(ContinualLearner):
    '''Model for classifying images, "enriched" as ContinualLearner- and MemoryBuffer-object.'''

    # differs: the repository's Classifier is a convnet and MLP on images (models/conv, models/fc) and a MemoryBuffer;
    # here the body is a GRU over the sequence with a Linear head, the tests' own model; train_a_batch is the source's
    def __init__(self, input_size, hidden_size, classes):
        super().__init__()
        self.classes = classes
        self.label = "Classifier"

        # settings for training
        self.binaryCE = False             #-> use binary (instead of multiclass) prediction error
        self.binaryCE_distill = False     #-> for classes from previous contexts, use the by the previous model
                                          #   predicted probs as binary targets (only in Class-IL with binaryCE)

        self.gru = nn.GRU(input_size, hidden_size, batch_first=True)
        self.classifier = nn.Linear(hidden_size, classes)

    @property
    def name(self):
        return "GRU{}_c{}".format(self.gru.hidden_size, self.classes)

    def forward(self, x):
        out, _ = self.gru(x)
        return self.classifier(out[:, -1])

    def train_a_batch(self, x, y, scores=None, x_=None, y_=None, scores_=None, rnt=0.5, active_classes=None, context=1,
                      **kwargs):
        '''Train model for one batch ([x],[y]), possibly supplemented with replayed data ([x_],[y_/scores_]).

        [x]               <tensor> batch of inputs (could be None, in which case only 'replayed' data is used)
        [y]               <tensor> batch of corresponding labels
        [scores]          None or <tensor> 2Dtensor:[batch]x[classes] predicted "scores"/"logits" for [x]
                            NOTE: only to be used for "BCE with distill" (only when scenario=="class")
        [x_]              None or (<list> of) <tensor> batch of replayed inputs
        [y_]              None or (<list> of) <tensor> batch of corresponding "replayed" labels
        [scores_]         None or (<list> of) <tensor> 2Dtensor:[batch]x[classes] predicted "scores"/"logits" for [x_]
        [rnt]             <number> in [0,1], relative importance of new context
        [active_classes]  None or (<list> of) <list> with "active" classes
        [context]         <int> context-ID, with first context labelled as '1' (e.g., for setting context-specific mask)
        '''

        # Set model to training-mode
        self.train()
        # differs: the frozen convE / fcE parts set back to eval() here are not in this model

        # Reset optimizer
        self.optimizer.zero_grad()

        # Should gradient be computed separately for each context? (needed when a context-mask is combined with replay)
        gradient_per_context = True if ((self.mask_dict is not None) and (x_ is not None)) else False


        ##--(1)-- REPLAYED DATA --##

        if x_ is not None:
            # If there are different predictions per context, [y_] or [scores_] are lists and [x_] must be evaluated
            # separately on each of them (although [x_] could be a list as well!)
            PerContext = (type(y_)==list) if (y_ is not None) else (type(scores_)==list)
            if not PerContext:
                y_ = [y_]
                scores_ = [scores_]
                active_classes = [active_classes] if (active_classes is not None) else None
            n_replays = len(y_) if (y_ is not None) else len(scores_)

            # Prepare lists to store losses for each replay
            loss_replay = [None]*n_replays
            predL_r = [None]*n_replays
            distilL_r = [None]*n_replays

            # Run model (if [x_] is not a list with separate replay per context and there is no context-specific mask)
            if (not type(x_)==list) and (self.mask_dict is None):
                y_hat_all = self(x_)

            # Loop to evalute predictions on replay according to each previous context
            for replay_id in range(n_replays):

                # -if [x_] is a list with separate replay per context, evaluate model on this context's replay
                if (type(x_)==list) or (self.mask_dict is not None):
                    x_temp_ = x_[replay_id] if type(x_)==list else x_
                    y_hat_all = self(x_temp_)  # differs: the XdG mask applied before this is not ported

                # -if needed, remove predictions for classes not active in the replayed context
                y_hat = y_hat_all if (active_classes is None) else y_hat_all[:, active_classes[replay_id]]

                # Calculate losses
                if (y_ is not None) and (y_[replay_id] is not None):
                    # differs: the binary cross-entropy branch and the distillation of `scores_` (soft targets,
                    # models/utils/loss_functions.py) are not ported
                    predL_r[replay_id] = F.cross_entropy(y_hat, y_[replay_id], reduction='mean')

                # Weigh losses
                if self.replay_targets=="hard":
                    loss_replay[replay_id] = predL_r[replay_id]
                elif self.replay_targets=="soft":
                    loss_replay[replay_id] = distilL_r[replay_id]

                # If needed, perform backward pass before next context-mask (gradients of all contexts will be
                # accumulated)
                if gradient_per_context:
                    weight = 1. if self.use_replay=='inequality' else (1.-rnt)
                    weighted_replay_loss_this_context = weight * loss_replay[replay_id] / n_replays
                    weighted_replay_loss_this_context.backward()

        # Calculate total replay loss
        loss_replay = None if (x_ is None) else sum(loss_replay)/n_replays
        if (x_ is not None) and self.lwf_weighting and (not self.scenario=='class'):
            loss_replay *= (context-1)

        # If using the replayed loss as an inequality constraint, calculate and store averaged gradient of replayed data
        if self.use_replay in ('inequality', 'both') and x_ is not None:
            # Perform backward pass to calculate gradient of replayed batch (if not yet done)
            if not gradient_per_context:
                if self.use_replay == 'both':
                    loss_replay = (1-rnt) * loss_replay
                loss_replay.backward()
            # Reorganize the gradient of the replayed batch as a single vector
            grad_rep = []
            for p in self.parameters():
                if p.requires_grad:
                    # differs: `p.grad.data` is numpy's memoryview of the gradient array, and numpy's `view`
                    # takes a dtype: the array's `reshape(-1)` (docs/pytorch.md)
                    grad_rep.append(p.grad.reshape(-1))
            grad_rep = torch.cat(grad_rep)
            # If gradients are only used as inequality constraint, reset them
            if self.use_replay=='inequality':
                self.optimizer.zero_grad()


        ##--(2)-- CURRENT DATA --##

        if x is not None:
            # differs: the XdG mask applied here is not ported

            # Run model
            y_hat = self(x)
            # -if needed, remove predictions for classes not active in the current context
            if active_classes is not None:
                class_entries = active_classes[-1] if type(active_classes[0])==list else active_classes
                y_hat = y_hat[:, class_entries]

            # Calculate prediction loss
            # differs: the binary cross-entropy branch is not ported
            # -multiclass prediction loss
            predL = None if y is None else F.cross_entropy(input=y_hat, target=y, reduction='mean')

            # Weigh losses
            loss_cur = predL

            # Calculate training-accuracy
            # differs: `y_hat.max(1)[1]` is row 1 of the maxima here (docs/pytorch.md); `dim=1` gives the pair
            accuracy = None if y is None else (y == y_hat.max(dim=1)[1]).sum().item() / x.size(0)
        else:
            accuracy = predL = None
            # -> it's possible there is only "replay" [i.e., for offline with incremental context learning]


        # Combine loss from current and replayed batch
        if x_ is None or self.use_replay=='inequality':
            loss_total = loss_cur
        elif gradient_per_context or self.use_replay=='both':
            # -if backward passes are performed per context (i.e., XdG combined with replay), or when the replayed loss
            #  is both added to the current loss and used as inequality constraint, the gradients of the replayed loss
            #  are already backpropagated and accumulated
            loss_total = rnt*loss_cur
        else:
            if self.lwf_weighting:
                loss_total = loss_replay if (x is None) else loss_cur+loss_replay
            else:
                loss_total = loss_replay if (x is None) else rnt*loss_cur+(1-rnt)*loss_replay


        ##--(3)-- PARAMETER REGULARIZATION LOSSES --##

        # Add a parameter regularization penalty to the loss function
        weight_penalty_loss = None
        if self.weight_penalty:
            if self.importance_weighting=='si':
                weight_penalty_loss = self.surrogate_loss()
            elif self.importance_weighting=='fisher':
                # differs: the KFAC Fisher's loss is not ported
                weight_penalty_loss = self.ewc_loss()
            loss_total += self.reg_strength * weight_penalty_loss


        ##--(4)-- COMPUTE (AND MANIPULATE) GRADIENTS --##

        # Backpropagate errors (for the part of the loss that has not yet been backpropagated)
        loss_total.backward()

        # A-GEM: check whether gradients to be used align with gradients of replayed data, project them if needed
        if self.use_replay in ('inequality', 'both') and x_ is not None:
            # -reorganize the gradients to be used for the optimization step as single vector
            grad_cur = []
            for p in self.parameters():
                if p.requires_grad:
                    grad_cur.append(p.grad.reshape(-1))  # differs: numpy's view takes a dtype, as above
            grad_cur = torch.cat(grad_cur)
            # -check inequality constraint
            angle = (grad_cur * grad_rep).sum()
            if angle < 0:
                # -if violated, project the current gradient onto the gradient of the replayed batch ...
                length_rep = (grad_rep * grad_rep).sum()
                grad_proj = grad_cur - (angle / (length_rep + self.eps_agem)) * grad_rep
                # -...and replace all the gradients within the model with this projected gradient
                index = 0
                for p in self.parameters():
                    if p.requires_grad:
                        n_param = p.numel()  # number of parameters in [p]
                        # differs: the gradient is a numpy array, without `copy_`: a write into all of it
                        # (docs/pytorch.md: a leaf's .grad is an array of its own)
                        p.grad[...] = grad_proj[index:index + n_param].view_as(p)
                        index += n_param

        # differs: the preconditioning of the gradient (by the inverse Fisher, KFAC or OWM) is not ported

        ##--(5)-- TAKE THE OPTIMIZATION STEP --##
        self.optimizer.step()


        # Return the dictionary with different training-loss split in categories
        return {
            'loss_total': loss_total.item(),
            'loss_current': loss_cur.item() if x is not None else 0,
            'loss_replay': loss_replay.item() if (loss_replay is not None) and (x is not None) else 0,
            'pred': predL.item() if predL is not None else 0,
            'pred_r': sum(predL_r).item()/n_replays if (x_ is not None and predL_r[0] is not None) else 0,
            'distil_r': sum(distilL_r).item()/n_replays if (x_ is not None and distilL_r[0] is not None) else 0,
            'param_reg': weight_penalty_loss.item() if weight_penalty_loss is not None else 0,
            'accuracy': accuracy if accuracy is not None else 0.,
        }


# ---- train/train_task_based.py (f0392767): train_cl, for the task-incremental scenario -----------------------------
# differs: the memory buffer, generative and current replay (with the generator), the soft targets, the XdG masks,
# KFAC and OWM, and the eval and sample callbacks are not ported; the kept lines are the source's

def train_cl(model, train_datasets, iters=2000, batch_size=32, baseline='none',
             loss_cbs=list(), eval_cbs=list(), sample_cbs=list(), context_cbs=list(),
             generator=None, gen_iters=0, gen_loss_cbs=list(), **kwargs):
    '''Train a model (with a "train_a_batch" method) on multiple contexts.'''

    # Set model in training-mode
    model.train()

    # Use cuda?
    cuda = model._is_on_cuda()
    device = model._device()

    # Initiate possible sources for replay (no replay for 1st context)
    ReplayStoredData = ReplayGeneratedData = ReplayCurrentData = False
    previous_model = None

    # Register starting parameter values (needed for SI)
    if isinstance(model, ContinualLearner) and model.importance_weighting=='si':
        model.register_starting_param_values()

    # Are there different active classes per context (or just potentially a different mask per context)?
    per_context = (model.scenario=="task" or (model.scenario=="class" and model.neg_samples=="current"))
    per_context_singlehead = per_context and (model.scenario=="task" and model.singlehead)

    # Loop over all contexts.
    for context, train_dataset in enumerate(train_datasets, 1):

        # If using the "joint" baseline, skip to last context, as model is only be trained once on data of all contexts
        if baseline=='joint':
            if context<len(train_datasets):
                continue
            else:
                baseline = "cummulative"

        # If using the "cummulative" (or "joint") baseline, create a large training dataset of all contexts so far
        if baseline=="cummulative" and (not per_context):
            train_dataset = ConcatDataset(train_datasets[:context])
        # -but if "cummulative"+[per_context]: training on each context must be separate, as a trick to achieve this,
        #                                      all contexts so far are treated as replay (& there is no current batch)
        if baseline=="cummulative" and per_context:
            ReplayStoredData = True
            previous_datasets = train_datasets

        training_dataset = train_dataset

        # Prepare <dicts> to store running importance estimates and param-values before update (needed for SI)
        if isinstance(model, ContinualLearner) and model.importance_weighting=='si':
            W, p_old = model.prepare_importance_estimates_dicts()

        # Find [active_classes]
        if model.scenario=="task":
            if not model.singlehead:
                # -for Task-IL scenario, create <list> with for all contexts so far a <list> with the active classes
                active_classes = [list(
                    range(model.classes_per_context * i, model.classes_per_context * (i+1))
                ) for i in range(context)]
            else:
                #--> if a single-headed output layer is used in the Task-IL scenario, all output units are always active
                active_classes = None
        elif model.scenario=="domain":
            # -for Domain-IL scenario, always all classes are active
            active_classes = None

        # Initialize # iters left on current data-loader(s)
        iters_left = iters_left_previous = 1
        if per_context:
            up_to_context = context if baseline=="cummulative" else context-1
            iters_left_previous = [1]*up_to_context
            data_loader_previous = [None]*up_to_context

        # Define tqdm progress bar(s)
        progress = tqdm.tqdm(range(1, iters+1))

        # Loop over all iterations
        iters_to_use = iters if (generator is None) else max(iters, gen_iters)
        for batch_index in range(1, iters_to_use+1):

            # Update # iters left on current data-loader(s) and, if needed, create new one(s)
            iters_left -= 1
            if iters_left==0:
                data_loader = iter(get_data_loader(training_dataset, batch_size, cuda=cuda, drop_last=True))
                # NOTE:  [train_dataset]  is training-set of current context
                #      [training_dataset] is training-set of current context with stored samples added (if requested)
                iters_left = len(data_loader)
            if ReplayStoredData:
                if per_context:
                    up_to_context = context if baseline=="cummulative" else context-1
                    batch_size_replay = int(np.ceil(batch_size/up_to_context)) if (up_to_context>1) else batch_size
                    # -if different active classes per context (e.g., Task-IL), need separate replay for each context
                    for context_id in range(up_to_context):
                        batch_size_to_use = min(batch_size_replay, len(previous_datasets[context_id]))
                        iters_left_previous[context_id] -= 1
                        if iters_left_previous[context_id]==0:
                            data_loader_previous[context_id] = iter(get_data_loader(
                                previous_datasets[context_id], batch_size_to_use, cuda=cuda, drop_last=True
                            ))
                            iters_left_previous[context_id] = len(data_loader_previous[context_id])


            # -----------------Collect data------------------#

            #####-----CURRENT BATCH-----#####
            if baseline=="cummulative" and per_context:
                x = y = scores = None
            else:
                x, y = next(data_loader)                             #--> sample training data of current context
                y = y-model.classes_per_context*(context-1) if per_context and not per_context_singlehead else y
                # --> adjust the y-targets to the 'active range'
                x, y = x.to(device), y.to(device)                    #--> transfer them to correct device
                scores = None  # differs: the previous model's scores for binary distillation are not ported


            #####-----REPLAYED BATCH-----#####
            if not ReplayStoredData and not ReplayGeneratedData and not ReplayCurrentData:
                x_ = y_ = scores_ = context_used = None   #-> if no replay

            ##-->> Replay of stored data <<--##
            if ReplayStoredData:
                scores_ = context_used = None
                # Sample replayed training data, move to correct device and store in lists
                x_ = list()
                y_ = list()
                up_to_context = context if baseline=="cummulative" else context-1
                for context_id in range(up_to_context):
                    x_temp, y_temp = next(data_loader_previous[context_id])
                    x_.append(x_temp.to(device))
                    # -only keep [y_] if required (as otherwise unnecessary computations will be done)
                    if model.replay_targets=="hard":
                        if not per_context_singlehead:
                            y_temp = y_temp - (model.classes_per_context*context_id) #-> adjust y to 'active range'
                        y_.append(y_temp.to(device))
                    else:
                        y_.append(None)


            #---> Train MAIN MODEL
            if batch_index <= iters:

                # Train the main model with this batch
                loss_dict = model.train_a_batch(x, y, x_=x_, y_=y_, scores=scores, scores_=scores_, rnt = 1./context,
                                                contexts_=context_used, active_classes=active_classes, context=context)

                # Update running parameter importance estimates in W (needed for SI)
                if isinstance(model, ContinualLearner) and model.importance_weighting=='si':
                    model.update_importance_estimates(W, p_old)

                # Fire callbacks (for visualization of training-progress / evaluating performance after each context)
                for loss_cb in loss_cbs:
                    if loss_cb is not None:
                        loss_cb(progress, batch_index, loss_dict, context=context)


        ##----------> UPON FINISHING EACH CONTEXT...

        # Close progres-bar(s)
        progress.close()

        # Parameter regularization: update and compute the parameter importance estimates
        if context<len(train_datasets) and isinstance(model, ContinualLearner):
            # -find allowed classes
            allowed_classes = active_classes[-1] if (per_context and not per_context_singlehead) else active_classes
            ##--> EWC/NCL: estimate the Fisher Information matrix
            if model.importance_weighting=='fisher' and (model.weight_penalty or model.precondition):
                model.estimate_fisher(training_dataset, allowed_classes=allowed_classes)
            ##--> SI: calculate and update the normalized path integral
            if model.importance_weighting=='si' and (model.weight_penalty or model.precondition):
                model.update_omega(W, model.epsilon)

        # Run the callbacks after finishing each context
        for context_cb in context_cbs:
            if context_cb is not None:
                context_cb(model, iters, context=context)

        # REPLAY: update source for replay
        if context<len(train_datasets) and hasattr(model, 'replay_mode'):
            previous_model = copy.deepcopy(model).eval()
            if model.replay_mode in ('buffer', 'all'):
                ReplayStoredData = True
                if model.replay_mode == "all":
                    previous_datasets = train_datasets[:context]
    return previous_model  # differs: returned, so that the tests can read the copy


# ---- 2. tests ------------------------------------------------------------------------------------------------------

def gmv_contexts(n=5, length=4, n_contexts=2, seed=30):
    """Task-incremental contexts of two classes each, labelled 2k and 2k + 1 in context k + 1 (as the repository's
    split datasets label them; train_cl shifts them into the context's head); the second context flips the first's
    rule."""
    datasets, raw = [], []
    for k in range(n_contexts):
        x, y = sequence_task(n, length, seed + k, flip=k % 2 == 1, input_size=2)
        datasets.append(TensorDataset(torch.tensor(x), torch.tensor(y + 2 * k)))
        raw.append((x, y + 2 * k))
    return datasets, raw


def gmv_model(lr=0.1, **settings):
    model = Classifier(input_size=2, hidden_size=3, classes=4)
    for key, value in settings.items():
        setattr(model, key, value)
    model.optimizer = optim.SGD(model.parameters(), lr=lr)
    return model


def np_head_nll_grads(P, x, labels, allowed):
    """Per sample i: the gradient of -log softmax(logits_i[allowed])[labels[i]] in every parameter, by central
    differences of the numpy GRU classifier."""
    out = []
    for xi, c in zip(x, labels):
        out.append(np_grad_dict(lambda P: -np_log_softmax(np_gru_head(P, xi[None])[:, allowed])[0, c], P))
    return out


BUFFER_NAMES = ["gru__weight_ih_l0", "gru__weight_hh_l0", "gru__bias_ih_l0", "gru__bias_hh_l0",
                "classifier__weight", "classifier__bias"]


def test_estimate_fisher_weighs_every_label_by_its_probability_and_registers_buffers(float64_default):
    datasets, raw = gmv_contexts()
    model = gmv_model()
    P = np_params(model)
    x, _ = raw[0]
    model.estimate_fisher(datasets[0], allowed_classes=[0, 1])
    expected = {n: np.zeros_like(v) for n, v in P.items()}
    for xi in x:
        probs = np_softmax(np_gru_head(P, xi[None])[:, [0, 1]])[0]
        for c in (0, 1):
            (g,) = np_head_nll_grads(P, xi[None], [c], [0, 1])
            for n in P:
                expected[n] += probs[c] * g[n] ** 2
    assert model.training and model.context_count == 1
    keys = list(model.state_dict())
    for name, buffer_name in zip(P, BUFFER_NAMES):
        mean = getattr(model, buffer_name + "_EWC_prev_context")
        fisher = getattr(model, buffer_name + "_EWC_estimated_fisher")
        assert isinstance(fisher, torch.Tensor) and not fisher.requires_grad and not mean.requires_grad
        np.testing.assert_array_equal(arr(mean), P[name])
        # the sum over the 5 samples divided by `index`, 4: the source's count is one short
        np.testing.assert_allclose(arr(fisher), expected[name] / (len(x) - 1), rtol=1e-6, atol=1e-12,
                                   err_msg=name)
        assert buffer_name + "_EWC_estimated_fisher" in keys
    assert all(isinstance(model.state_dict()[k], np.ndarray) for k in keys)


@pytest.mark.parametrize("fisher_labels", ["pred", "true"])
def test_estimate_fisher_with_one_label_per_sample(fisher_labels, float64_default):
    datasets, raw = gmv_contexts()
    model = gmv_model(fisher_labels=fisher_labels)
    P = np_params(model)
    x, y = raw[1]
    logits = np_gru_head(P, x)[:, [2, 3]]
    labels = logits.argmax(1) if fisher_labels == "pred" else y - 2
    model.estimate_fisher(datasets[1], allowed_classes=[2, 3])
    grads = np_head_nll_grads(P, x, labels, [2, 3])
    for name, buffer_name in zip(P, BUFFER_NAMES):
        expected = sum(g[name] ** 2 for g in grads) / (len(x) - 1)
        np.testing.assert_allclose(arr(getattr(model, buffer_name + "_EWC_estimated_fisher")), expected,
                                   rtol=1e-6, atol=1e-12, err_msg=name)
    if fisher_labels == "pred":           # the line as written: row 1 of the maxima of a one-row batch
        output = model(torch.tensor(x[:1]))[:, [2, 3]]
        with pytest.warns(UserWarning, match="dim="), pytest.raises(IndexError):
            output.max(1)[1]


@pytest.mark.parametrize("offline", [False, True])
def test_online_ewc_sums_gamma_times_the_old_fisher_and_offline_keeps_a_term_per_context(offline, float64_default):
    datasets, raw = gmv_contexts()
    model = gmv_model(fisher_labels="true", offline=offline, gamma=0.7)
    assert model.ewc_loss().item() == 0.0 and not model.ewc_loss().requires_grad    # nothing stored yet
    P1 = np_params(model)
    model.estimate_fisher(datasets[0], allowed_classes=[0, 1])
    F1 = {n: arr(getattr(model, b + ("_EWC_estimated_fisher1" if offline else "_EWC_estimated_fisher")))
          for n, b in zip(P1, BUFFER_NAMES)}
    with torch.no_grad():
        for p in model.parameters():
            p += 0.05
    P2 = np_params(model)
    model.estimate_fisher(datasets[1], allowed_classes=[2, 3])
    x, y = raw[1]
    F2_new = {n: sum(g[n] ** 2 for g in np_head_nll_grads(P2, x, y - 2, [2, 3])) / (len(x) - 1) for n in P2}
    suffix = "2" if offline else ""
    for name, b in zip(P2, BUFFER_NAMES):
        stored = arr(getattr(model, b + "_EWC_estimated_fisher" + suffix))
        expected = F2_new[name] if offline else F2_new[name] + 0.7 * F1[name]
        np.testing.assert_allclose(stored, expected, rtol=1e-6, atol=1e-12, err_msg=name)
    with torch.no_grad():
        for p in model.parameters():
            p -= 0.12
    P3 = np_params(model)
    terms = [(F1, P1), (F2_new, P2)] if offline else [({n: F2_new[n] + 0.7 * F1[n] for n in P2}, P2)]
    g = 1.0 if offline else 0.7

    def loss_np(P):
        return 0.5 * sum((g * F[n] * (P[n] - M[n]) ** 2).sum() for F, M in terms for n in P)
    loss = model.ewc_loss()
    np.testing.assert_allclose(loss.item(), loss_np(P3), rtol=1e-6)
    model.zero_grad()                   # estimate_fisher leaves its last sample's gradients, as in PyTorch
    loss.backward()
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad, np_grad_dict(loss_np, P3)[name], rtol=1e-5, atol=1e-10)


def test_synaptic_intelligence_path_integral_omega_and_surrogate_loss(float64_default):
    datasets, raw = gmv_contexts()
    model = gmv_model(lr=0.2, importance_weighting='si', weight_penalty=True, epsilon=0.1)
    assert model.surrogate_loss().item() == 0.0          # no omega yet: the AttributeError branch
    model.register_starting_param_values()
    W, p_old = model.prepare_importance_estimates_dicts()
    start = np_params(model)
    x, y = (torch.tensor(v) for v in raw[0])
    grads = []
    for step in range(3):
        model.optimizer.zero_grad()
        loss = F.cross_entropy(model(x)[:, [0, 1]], y)
        loss.backward()
        if step == 0:
            g0 = np_grad_dict(lambda P: np_cross_entropy(np_gru_head(P, raw[0][0])[:, [0, 1]], raw[0][1]), start)
            for name, p in model.named_parameters():
                np.testing.assert_allclose(p.grad, g0[name], rtol=1e-6, atol=1e-10)
        grads.append({n.replace('.', '__'): p.grad.copy() for n, p in model.named_parameters()})
        model.optimizer.step()
        model.update_importance_estimates(W, p_old)
    end = np_params(model)
    for name, b in zip(start, BUFFER_NAMES):           # W = -sum_k g_k (w_k+1 - w_k) = lr sum_k g_k^2 for SGD
        np.testing.assert_allclose(arr(W[b]), 0.2 * sum(g[b] ** 2 for g in grads), rtol=1e-10, atol=1e-14)
    model.update_omega(W, model.epsilon)
    omega = {}
    for name, b in zip(start, BUFFER_NAMES):
        omega[name] = 0.2 * sum(g[b] ** 2 for g in grads) / ((end[name] - start[name]) ** 2 + 0.1)
        np.testing.assert_allclose(arr(getattr(model, b + "_SI_omega")), omega[name], rtol=1e-10, atol=1e-14)
        np.testing.assert_array_equal(arr(getattr(model, b + "_SI_prev_context")), end[name])
    model.update_omega({b: W[b] * 0 + 1.0 for b in BUFFER_NAMES}, 1.0)     # a second context adds to omega
    for name, b in zip(start, BUFFER_NAMES):
        np.testing.assert_allclose(arr(getattr(model, b + "_SI_omega")), omega[name] + 1.0, rtol=1e-10)
    with torch.no_grad():
        for k, p in enumerate(model.parameters()):
            p += 0.01 * (k + 1)
    here = np_params(model)

    def loss_np(P):
        return sum(((omega[n] + 1.0) * (P[n] - end[n]) ** 2).sum() for n in P)
    model.zero_grad()
    surrogate = model.surrogate_loss()
    np.testing.assert_allclose(surrogate.item(), loss_np(here), rtol=1e-10)
    surrogate.backward()
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad, np_grad_dict(loss_np, here)[name], rtol=1e-6, atol=1e-10)


@pytest.mark.parametrize("conflict", [True, False])
def test_agem_projects_the_current_gradient_off_a_conflicting_replayed_gradient(conflict, float64_default):
    _, raw = gmv_contexts(n=6)
    x, y = raw[0]
    x_, y_ = (x, 1 - y) if conflict else raw[0]       # the same sequences, the labels flipped: gradients conflict
    model = gmv_model(lr=0.3, use_replay='inequality')
    P = np_params(model)
    g_cur = np_grad_dict(lambda P: np_cross_entropy(np_gru_head(P, x)[:, [0, 1]], y), P)
    g_rep = np_grad_dict(lambda P: np_cross_entropy(np_gru_head(P, x_)[:, [0, 1]], y_), P)
    flat_cur = np.concatenate([g_cur[n].ravel() for n in P])
    flat_rep = np.concatenate([g_rep[n].ravel() for n in P])
    angle = flat_cur @ flat_rep
    assert (angle < 0) == conflict
    expected = flat_cur - angle / (flat_rep @ flat_rep) * flat_rep if conflict else flat_cur
    out = model.train_a_batch(torch.tensor(x), torch.tensor(y), x_=torch.tensor(x_), y_=torch.tensor(y_),
                              active_classes=[0, 1])
    got = np.concatenate([p.grad.ravel() for p in model.parameters()])
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-10)
    if conflict:
        assert abs(got @ flat_rep) < 1e-9 * (flat_rep @ flat_rep)      # orthogonal to the replayed gradient
    for name, p in model.named_parameters():                           # SGD's step with the projected gradient
        np.testing.assert_allclose(arr(p), P[name] - 0.3 * p.grad, rtol=1e-12)
    np.testing.assert_allclose(out['loss_total'], np_cross_entropy(np_gru_head(P, x)[:, [0, 1]], y), rtol=1e-10)
    np.testing.assert_allclose(out['pred_r'], np_cross_entropy(np_gru_head(P, x_)[:, [0, 1]], y_), rtol=1e-10)
    assert out['accuracy'] == pytest.approx(np.mean(np_gru_head(P, x)[:, [0, 1]].argmax(1) == y))


def test_train_a_batch_adds_the_penalty_into_the_current_loss_in_place_as_pytorch(float64_default):
    datasets, raw = gmv_contexts()
    model = gmv_model(lr=0.05, weight_penalty=True, reg_strength=3.0, fisher_labels="true")
    model.estimate_fisher(datasets[0], allowed_classes=[0, 1])
    with torch.no_grad():
        for p in model.parameters():
            p -= 0.1
    P = np_params(model)
    fisher = {n: arr(getattr(model, b + "_EWC_estimated_fisher")) for n, b in zip(P, BUFFER_NAMES)}
    mean = {n: arr(getattr(model, b + "_EWC_prev_context")) for n, b in zip(P, BUFFER_NAMES)}
    x, y = raw[1]

    def loss_np(P):
        return (np_cross_entropy(np_gru_head(P, x)[:, [2, 3]], y - 2)
                + 3.0 * 0.5 * sum((fisher[n] * (P[n] - mean[n]) ** 2).sum() for n in P))
    out = model.train_a_batch(torch.tensor(x), torch.tensor(y - 2), active_classes=[[0, 1], [2, 3]], context=2)
    # `loss_total = loss_cur`, then `loss_total += ...`: one tensor, so the current loss reported is the total too
    assert out['loss_total'] == out['loss_current'] == out['pred']
    np.testing.assert_allclose(out['loss_total'], loss_np(P), rtol=1e-10)
    np.testing.assert_allclose(out['param_reg'], (loss_np(P) - np_cross_entropy(
        np_gru_head(P, x)[:, [2, 3]], y - 2)) / 3.0, rtol=1e-8)
    g = np_grad_dict(loss_np, P)
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad, g[name], rtol=1e-6, atol=1e-10, err_msg=name)


@pytest.mark.parametrize("method", ["si", "ewc", "agem", "cummulative"])
def test_train_cl_on_two_contexts_lowers_each_loss_and_keeps_a_deep_copy(method, float64_default):
    datasets, _ = gmv_contexts(n=16, length=5)
    settings = dict(si=dict(importance_weighting='si', weight_penalty=True, reg_strength=1.0),
                    ewc=dict(importance_weighting='fisher', weight_penalty=True, reg_strength=10.0),
                    agem=dict(replay_mode='all', use_replay='inequality'), cummulative={})[method]
    model = gmv_model(lr=0.5, **settings)
    log = defaultdict(list)

    def loss_cb(progress, batch_index, loss_dict, context):
        log[context].append(loss_dict)
    baseline = 'cummulative' if method == 'cummulative' else 'none'
    previous = quiet_stderr(train_cl, model, datasets, iters=24, batch_size=8, loss_cbs=[loss_cb], baseline=baseline)
    for context in (1, 2):
        # the cumulative baseline trains each context so far as replay, with no current batch: its loss is pred_r
        pred = [d['pred_r' if method == 'cummulative' else 'pred'] for d in log[context]]
        assert np.mean(pred[-4:]) < np.mean(pred[:4]), (context, pred)
    if method == "si":
        # 0 in context 1 (no omega yet) and at context 2's first step (the weights are still those stored)
        assert all(d['param_reg'] == 0 for d in log[1] + log[2][:1]) and all(d['param_reg'] > 0 for d in log[2][1:])
    if method == "agem":
        assert all(d['pred_r'] > 0 for d in log[2]) and all(d['pred_r'] == 0 for d in log[1])
    # the previous model: a deep copy after context 1, in eval mode, with its own parameters and buffers, and
    # the bound `named_parameters` in its param_list rebound to the copy, as copy.deepcopy does in PyTorch too
    assert previous is not model and not previous.training and model.training
    assert previous.param_list[0].__self__ is previous
    assert [n for n, _ in previous.param_list[0]()] == [n for n, _ in model.named_parameters()]
    assert all(p is not q for p, q in zip(previous.parameters(), model.parameters()))
    assert previous.optimizer.param_groups[0]['params'][0] is next(previous.parameters())
    assert sorted(previous.state_dict()) == sorted(model.state_dict())
    assert len(previous.state_dict()) == 6 + (12 if method in ("si", "ewc") else 0)


def quiet_stderr(fn, *args, **kwargs):
    """fn's result, with tqdm's progress bars (on stderr) kept out of the test's output."""
    import contextlib
    import io
    with contextlib.redirect_stderr(io.StringIO()):
        return fn(*args, **kwargs)


def test_checkpoints_carry_the_buffers_and_a_fresh_model_loads_them_only_once_registered(tmp_path, float64_default):
    datasets, _ = gmv_contexts()
    model = gmv_model(fisher_labels="true")
    model.estimate_fisher(datasets[0], allowed_classes=[0, 1])
    save_checkpoint(model, str(tmp_path), verbose=False)
    assert os.path.exists(os.path.join(str(tmp_path), model.name))
    fresh = gmv_model(fisher_labels="true")
    with pytest.raises(ValueError, match="unexpected: gru__weight_ih_l0_EWC_prev_context"):   # PyTorch's RuntimeError
        load_checkpoint(fresh, str(tmp_path), verbose=False)
    load_checkpoint(fresh, str(tmp_path), verbose=False, strict=False)     # the parameters only
    assert fresh.ewc_loss().item() == 0.0 and not hasattr(fresh, "gru__bias_hh_l0_EWC_estimated_fisher")
    other = gmv_model(fisher_labels="true")
    other.estimate_fisher(datasets[1], allowed_classes=[2, 3])            # the same names, other values
    load_checkpoint(other, str(tmp_path), verbose=False)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(other.state_dict()[key], value)
    with torch.no_grad():
        for p, q in zip(model.parameters(), other.parameters()):
            p += 0.1
            q += 0.1
    np.testing.assert_allclose(other.ewc_loss().item(), model.ewc_loss().item(), rtol=1e-12)
    assert other.ewc_loss().item() > 0


# ==== 3. facebookresearch/GradientEpisodicMemory (19199898) =======================================================

class quadprog:
    """differs: quadprog (a C extension, Goldfarb and Idnani's dual method) is not installed: a stand-in for its
    `solve_qp(G, a, C, b)`, the minimum of 1/2 x^T G x - a^T x subject to C^T x >= b (G positive definite), found
    by trying each set of active constraints (a few constraints here: one per earlier task) for the one whose
    KKT point is feasible with multipliers >= 0. Like quadprog's, the first entry of its result is x."""

    @staticmethod
    def solve_qp(G, a, C, b):
        n, m = C.shape
        for k in range(m + 1):
            for active in itertools.combinations(range(m), k):
                A = C[:, list(active)]
                K = np.block([[G, -A], [A.T, np.zeros((k, k))]])
                solution = np.linalg.solve(K, np.concatenate([a, b[list(active)]]))
                x, multipliers = solution[:n], solution[n:]
                if np.all(multipliers >= -1e-10) and np.all(C.T @ x >= b - 1e-10):
                    return x, 0.5 * x @ G @ x - a @ x
        raise ValueError("constraints are inconsistent, no solution")


# ---- model/common.py: Xavier and MLP ------------------------------------------------------------------------------

def Xavier(m):
    if m.__class__.__name__ == 'Linear':
        # differs: `.data` is the read-only numpy array (whose `size` is a number): the parameter's own size(),
        # and nn.init's uniform_ and constant_ for `.data.uniform_` and `.data.fill_` (docs/pytorch.md)
        fan_in, fan_out = m.weight.size(1), m.weight.size(0)
        std = 1.0 * math.sqrt(2.0 / (fan_in + fan_out))
        a = math.sqrt(3.0) * std
        nn.init.uniform_(m.weight, -a, a)
        nn.init.constant_(m.bias, 0.0)


class MLP(nn.Module):
    def __init__(self, sizes):
        super(MLP, self).__init__()
        layers = []

        for i in range(0, len(sizes) - 1):
            layers.append(nn.Linear(sizes[i], sizes[i + 1]))
            if i < (len(sizes) - 2):
                layers.append(nn.ReLU())

        self.net = nn.Sequential(*layers)
        self.net.apply(Xavier)

    def forward(self, x):
        return self.net(x)

# differs: conv3x3, BasicBlock, ResNet and ResNet18 (CIFAR-100's model) are not ported


# ---- model/gem.py -------------------------------------------------------------------------------------------------

# Auxiliary functions useful for GEM's inner optimization.

def compute_offsets(task, nc_per_task, is_cifar):
    """
        Compute offsets for cifar to determine which
        outputs to select for a given task.
    """
    if is_cifar:
        offset1 = task * nc_per_task
        offset2 = (task + 1) * nc_per_task
    else:
        offset1 = 0
        offset2 = nc_per_task
    return offset1, offset2


def store_grad(pp, grads, grad_dims, tid):
    """
        This stores parameter gradients of past tasks.
        pp: parameters
        grads: gradients
        grad_dims: list with number of parameters per layers
        tid: task id
    """
    # store the gradients
    grads[:, tid].fill_(0.0)
    cnt = 0
    for param in pp():
        if param.grad is not None:
            beg = 0 if cnt == 0 else sum(grad_dims[:cnt])
            en = sum(grad_dims[:cnt + 1])
            # differs: `param.grad.data` is numpy's memoryview of the gradient array, and numpy's `view` takes a
            # dtype: the array's `reshape(-1)`, which `copy_` takes (docs/pytorch.md)
            grads[beg: en, tid].copy_(param.grad.reshape(-1))
        cnt += 1


def overwrite_grad(pp, newgrad, grad_dims):
    """
        This is used to overwrite the gradients with a new gradient
        vector, whenever violations occur.
        pp: parameters
        newgrad: corrected gradient
        grad_dims: list storing number of parameters at each layer
    """
    cnt = 0
    for param in pp():
        if param.grad is not None:
            beg = 0 if cnt == 0 else sum(grad_dims[:cnt])
            en = sum(grad_dims[:cnt + 1])
            # differs: the gradient is a numpy array: its shape for `.data.size()`, and a write into all of it
            # for `.data.copy_(...)` (docs/pytorch.md)
            this_grad = newgrad[beg: en].contiguous().view(param.grad.shape)
            param.grad[...] = this_grad
        cnt += 1


def project2cone2(gradient, memories, margin=0.5):
    """
        Solves the GEM dual QP described in the paper given a proposed
        gradient "gradient", and a memory of task gradients "memories".
        Overwrites "gradient" with the final projected update.

        input:  gradient, p-vector
        input:  memories, (t * p)-vector
        output: x, p-vector
    """
    memories_np = memories.cpu().t().double().numpy()
    gradient_np = gradient.cpu().contiguous().view(-1).double().numpy()
    t = memories_np.shape[0]
    P = np.dot(memories_np, memories_np.transpose())
    P = 0.5 * (P + P.transpose())
    q = np.dot(memories_np, gradient_np) * -1
    G = np.eye(t)
    h = np.zeros(t) + margin
    v = quadprog.solve_qp(P, q, G, h)[0]
    x = np.dot(v, memories_np) + gradient_np
    gradient.copy_(torch.Tensor(x).view(-1, 1))


class Net(nn.Module):
    def __init__(self,
                 n_inputs,
                 n_outputs,
                 n_tasks,
                 args):
        super(Net, self).__init__()
        nl, nh = args.n_layers, args.n_hiddens
        self.margin = args.memory_strength
        self.is_cifar = (args.data_file == 'cifar100.pt')
        # differs: the CIFAR-100 branches (ResNet18, and forward's masking of the other tasks' outputs through
        # `.data.fill_`) are not ported
        self.net = MLP([n_inputs] + [nh] * nl + [n_outputs])

        self.ce = nn.CrossEntropyLoss()
        self.n_outputs = n_outputs

        self.opt = optim.SGD(self.parameters(), args.lr)

        self.n_memories = args.n_memories
        self.gpu = args.cuda

        # allocate episodic memory
        self.memory_data = torch.FloatTensor(
            n_tasks, self.n_memories, n_inputs)
        self.memory_labs = torch.LongTensor(n_tasks, self.n_memories)
        if args.cuda:
            self.memory_data = self.memory_data.cuda()
            self.memory_labs = self.memory_labs.cuda()

        # allocate temporary synaptic memory
        self.grad_dims = []
        for param in self.parameters():
            self.grad_dims.append(param.numel())  # differs: the numpy `.data` has no numel(): the parameter's
        # differs: `torch.Tensor(rows, columns)` with sizes is refused here (docs/pytorch.md): zeros of that shape
        self.grads = torch.zeros(sum(self.grad_dims), n_tasks)
        if args.cuda:
            self.grads = self.grads.cuda()

        # allocate counters
        self.observed_tasks = []
        self.old_task = -1
        self.mem_cnt = 0
        if self.is_cifar:
            self.nc_per_task = int(n_outputs / n_tasks)
        else:
            self.nc_per_task = n_outputs

    def forward(self, x, t):
        output = self.net(x)
        return output

    def observe(self, x, t, y):
        # update memory
        if t != self.old_task:
            self.observed_tasks.append(t)
            self.old_task = t

        # Update ring buffer storing examples from current task
        bsz = y.size(0)  # differs: `y.data` is the numpy array, whose `size` is a number, not a method
        endcnt = min(self.mem_cnt + bsz, self.n_memories)
        effbsz = endcnt - self.mem_cnt
        self.memory_data[t, self.mem_cnt: endcnt].copy_(
            x.data[: effbsz])
        if bsz == 1:
            self.memory_labs[t, self.mem_cnt] = y.data[0]
        else:
            self.memory_labs[t, self.mem_cnt: endcnt].copy_(
                y.data[: effbsz])
        self.mem_cnt += effbsz
        if self.mem_cnt == self.n_memories:
            self.mem_cnt = 0

        # compute gradient on previous tasks
        if len(self.observed_tasks) > 1:
            for tt in range(len(self.observed_tasks) - 1):
                self.zero_grad()
                # fwd/bwd on the examples in the memory
                past_task = self.observed_tasks[tt]

                offset1, offset2 = compute_offsets(past_task, self.nc_per_task,
                                                   self.is_cifar)
                ptloss = self.ce(
                    self.forward(
                        Variable(self.memory_data[past_task]),
                        past_task)[:, offset1: offset2],
                    Variable(self.memory_labs[past_task] - offset1))
                ptloss.backward()
                store_grad(self.parameters, self.grads, self.grad_dims,
                           past_task)

        # now compute the grad on the current minibatch
        self.zero_grad()

        offset1, offset2 = compute_offsets(t, self.nc_per_task, self.is_cifar)
        loss = self.ce(self.forward(x, t)[:, offset1: offset2], y - offset1)
        loss.backward()

        # check if gradient violates constraints
        if len(self.observed_tasks) > 1:
            # copy gradient
            store_grad(self.parameters, self.grads, self.grad_dims, t)
            indx = torch.cuda.LongTensor(self.observed_tasks[:-1]) if self.gpu \
                else torch.LongTensor(self.observed_tasks[:-1])
            dotp = torch.mm(self.grads[:, t].unsqueeze(0),
                            self.grads.index_select(1, indx))
            if (dotp < 0).sum() != 0:
                project2cone2(self.grads[:, t].unsqueeze(1),
                              self.grads.index_select(1, indx), self.margin)
                # copy gradients back
                overwrite_grad(self.parameters, self.grads[:, t],
                               self.grad_dims)
        self.opt.step()


# ---- metrics/metrics.py -------------------------------------------------------------------------------------------

def task_changes(result_t):
    n_tasks = int(result_t.max() + 1)
    changes = []
    current = result_t[0]
    for i, t in enumerate(result_t):
        if t != current:
            changes.append(i)
            current = t

    return n_tasks, changes


def confusion_matrix(result_t, result_a, fname=None):
    nt, changes = task_changes(result_t)

    baseline = result_a[0]
    changes = torch.LongTensor(changes + [result_a.size(0)]) - 1
    # differs: `result_a.index(...)`, an indexing method of old PyTorch, is gone from PyTorch too: indexing
    result = result_a[torch.LongTensor(changes)]

    # acc[t] equals result[t,t]
    acc = result.diag()
    fin = result[nt - 1]
    # bwt[t] equals result[T,t] - acc[t]
    bwt = result[nt - 1] - acc

    # fwt[t] equals result[t-1,t] - baseline[t]
    fwt = torch.zeros(nt)
    for t in range(1, nt):
        fwt[t] = result[t - 1, t] - baseline[t]

    if fname is not None:
        f = open(fname, 'w')

        print(' '.join(['%.4f' % r for r in baseline]), file=f)
        print('|', file=f)
        for row in range(result.size(0)):
            print(' '.join(['%.4f' % r for r in result[row]]), file=f)
        print('', file=f)
        # print('Diagonal Accuracy: %.4f' % acc.mean(), file=f)
        print('Final Accuracy: %.4f' % fin.mean(), file=f)
        print('Backward: %.4f' % bwt.mean(), file=f)
        print('Forward:  %.4f' % fwt.mean(), file=f)
        f.close()

    stats = []
    # stats.append(acc.mean())
    stats.append(fin.mean())
    stats.append(bwt.mean())
    stats.append(fwt.mean())

    return stats


# ---- main.py ------------------------------------------------------------------------------------------------------

# continuum iterator #########################################################


def load_datasets(args):
    d_tr, d_te = torch.load(args.data_path + '/' + args.data_file)
    n_inputs = d_tr[0][1].size(1)
    n_outputs = 0
    for i in range(len(d_tr)):
        n_outputs = max(n_outputs, d_tr[i][2].max())
        n_outputs = max(n_outputs, d_te[i][2].max())
    return d_tr, d_te, n_inputs, n_outputs + 1, len(d_tr)


class Continuum:

    def __init__(self, data, args):
        self.data = data
        self.batch_size = args.batch_size
        n_tasks = len(data)
        task_permutation = range(n_tasks)

        if args.shuffle_tasks == 'yes':
            task_permutation = torch.randperm(n_tasks).tolist()

        sample_permutations = []

        for t in range(n_tasks):
            N = data[t][1].size(0)
            if args.samples_per_task <= 0:
                n = N
            else:
                n = min(args.samples_per_task, N)

            p = torch.randperm(N)[0:n]
            sample_permutations.append(p)

        self.permutation = []

        for t in range(n_tasks):
            task_t = task_permutation[t]
            for _ in range(args.n_epochs):
                task_p = [[task_t, i] for i in sample_permutations[task_t]]
                random.shuffle(task_p)
                self.permutation += task_p

        self.length = len(self.permutation)
        self.current = 0

    def __iter__(self):
        return self

    def next(self):
        return self.__next__()

    def __next__(self):
        if self.current >= self.length:
            raise StopIteration
        else:
            ti = self.permutation[self.current][0]
            j = []
            i = 0
            while (((self.current + i) < self.length) and
                   (self.permutation[self.current + i][0] == ti) and
                   (i < self.batch_size)):
                j.append(self.permutation[self.current + i][1])
                i += 1
            self.current += i
            j = torch.LongTensor(j)
            return self.data[ti][1][j], ti, self.data[ti][2][j]

# train handle ###############################################################


def eval_tasks(model, tasks, args):
    model.eval()
    result = []
    for i, task in enumerate(tasks):
        t = i
        x = task[1]
        y = task[2]
        rt = 0

        eval_bs = x.size(0)

        for b_from in range(0, x.size(0), eval_bs):
            b_to = min(b_from + eval_bs, x.size(0) - 1)
            if b_from == b_to:
                xb = x[b_from].view(1, -1)
                yb = torch.LongTensor([y[b_to]]).view(1, -1)
            else:
                xb = x[b_from:b_to]
                yb = y[b_from:b_to]
            if args.cuda:
                xb = xb.cuda()
            xb = Variable(xb, volatile=True)
            # differs: `.data` is the numpy array, without `.cpu()`: `detach()` (docs/pytorch.md)
            _, pb = torch.max(model(xb, t).detach().cpu(), 1, keepdim=False)
            rt += (pb == yb).float().sum()

        result.append(rt / x.size(0))

    return result


def life_experience(model, continuum, x_te, args):
    result_a = []
    result_t = []

    current_task = 0
    time_start = time.time()

    for (i, (x, t, y)) in enumerate(continuum):
        if(((i % args.log_every) == 0) or (t != current_task)):
            result_a.append(eval_tasks(model, x_te, args))
            result_t.append(current_task)
            current_task = t

        v_x = x.view(x.size(0), -1)
        v_y = y.long()

        if args.cuda:
            v_x = v_x.cuda()
            v_y = v_y.cuda()

        model.train()
        model.observe(Variable(v_x), t, Variable(v_y))

    result_a.append(eval_tasks(model, x_te, args))
    result_t.append(current_task)

    time_end = time.time()
    time_spent = time_end - time_start

    return torch.Tensor(result_t), torch.Tensor(result_a), time_spent


def gem_main(argv):  # differs: the script's `if __name__ == "__main__":` block as a function of argv
    parser = argparse.ArgumentParser(description='Continuum learning')

    # model parameters
    parser.add_argument('--model', type=str, default='single',
                        help='model to train')
    parser.add_argument('--n_hiddens', type=int, default=100,
                        help='number of hidden neurons at each layer')
    parser.add_argument('--n_layers', type=int, default=2,
                        help='number of hidden layers')

    # memory parameters
    parser.add_argument('--n_memories', type=int, default=0,
                        help='number of memories per task')
    parser.add_argument('--memory_strength', default=0, type=float,
                        help='memory strength (meaning depends on memory)')
    parser.add_argument('--finetune', default='no', type=str,
                        help='whether to initialize nets in indep. nets')

    # optimizer parameters
    parser.add_argument('--n_epochs', type=int, default=1,
                        help='Number of epochs per task')
    parser.add_argument('--batch_size', type=int, default=10,
                        help='batch size')
    parser.add_argument('--lr', type=float, default=1e-3,
                        help='SGD learning rate')

    # experiment parameters
    parser.add_argument('--cuda', type=str, default='no',
                        help='Use GPU?')
    parser.add_argument('--seed', type=int, default=0,
                        help='random seed')
    parser.add_argument('--log_every', type=int, default=100,
                        help='frequency of logs, in minibatches')
    parser.add_argument('--save_path', type=str, default='results/',
                        help='save models at the end of training')

    # data parameters
    parser.add_argument('--data_path', default='data/',
                        help='path where data is located')
    parser.add_argument('--data_file', default='mnist_permutations.pt',
                        help='data file')
    parser.add_argument('--samples_per_task', type=int, default=-1,
                        help='training samples per task (all if negative)')
    parser.add_argument('--shuffle_tasks', type=str, default='no',
                        help='present tasks in order')
    args = parser.parse_args(argv)

    args.cuda = True if args.cuda == 'yes' else False
    args.finetune = True if args.finetune == 'yes' else False

    # multimodal model has one extra layer
    if args.model == 'multimodal':
        args.n_layers -= 1

    # unique identifier
    uid = uuid.uuid4().hex

    # initialize seeds
    torch.backends.cudnn.enabled = False
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    random.seed(args.seed)
    if args.cuda:
        torch.cuda.manual_seed_all(args.seed)

    # load data
    x_tr, x_te, n_inputs, n_outputs, n_tasks = load_datasets(args)

    # set up continuum
    continuum = Continuum(x_tr, args)

    # load model
    Model = {'gem': Net}  # differs: importlib.import_module('model.' + args.model) of the repository's models
    model = Model[args.model](n_inputs, n_outputs, n_tasks, args)
    if args.cuda:
        model.cuda()

    # run model on continuum
    result_t, result_a, spent_time = life_experience(
        model, continuum, x_te, args)

    # prepare saving path and file name
    if not os.path.exists(args.save_path):
        os.makedirs(args.save_path)

    fname = args.model + '_' + args.data_file + '_'
    fname += datetime.datetime.now().strftime("%Y_%m_%d_%H_%M_%S")
    fname += '_' + uid
    fname = os.path.join(args.save_path, fname)

    # save confusion matrix and print one line of stats
    stats = confusion_matrix(result_t, result_a, fname + '.txt')
    one_liner = str(vars(args)) + ' # '
    one_liner += ' '.join(["%.3f" % stat for stat in stats])
    print(fname + ': ' + one_liner + ' # ' + str(spent_time))

    # save all results in binary file
    # differs: the argparse Namespace is an object of the script's, which torch.save here does not pickle
    # (docs/pytorch.md, "Checkpoints are .npz files"): its vars
    torch.save((result_t, result_a, model.state_dict(),
                stats, one_liner, vars(args)), fname + '.pt')
    return fname, model, result_t, result_a, stats  # differs: returned for the tests


# ---- 3. tests ------------------------------------------------------------------------------------------------------

GEM_MLP = ["net.net.0", "net.net.2"]


def gem_args(**changes):
    args = argparse.Namespace(n_layers=1, n_hiddens=5, memory_strength=0.5, data_file='rotations.pt', lr=0.1,
                              n_memories=4, cuda=False)
    for key, value in changes.items():
        setattr(args, key, value)
    return args


def np_gem_ce(P, x, y):
    return np_cross_entropy(np_relu_mlp(P, x, GEM_MLP), y)


def test_xavier_draws_each_linear_weight_within_its_bound_and_zeroes_the_bias():
    mlp = MLP([6, 10, 3])
    for layer, (fan_in, fan_out) in zip((mlp.net[0], mlp.net[2]), ((6, 10), (10, 3))):
        a = math.sqrt(3.0) * math.sqrt(2.0 / (fan_in + fan_out))
        w = arr(layer.weight)
        assert np.abs(w).max() <= a and np.abs(w).max() > 0.5 * a and np.all(arr(layer.bias) == 0)
    assert isinstance(mlp.net[1], nn.ReLU) and len(mlp.net) == 3


def test_store_grad_and_overwrite_grad_go_through_the_flat_columns_skipping_missing_gradients():
    net = Net(4, 3, 2, gem_args())
    x, y = torch.randn(3, 4), torch.tensor([0, 2, 1])
    net.zero_grad()
    net.ce(net(x, 0), y).backward()
    net.net.net[0].bias.grad = None                        # a parameter without a gradient keeps its slot
    store_grad(net.parameters, net.grads, net.grad_dims, 1)
    assert net.grad_dims == [20, 5, 15, 3] and net.grads.shape == (43, 2)
    column = arr(net.grads[:, 1])
    expected = np.concatenate([np.zeros(5) if p.grad is None else p.grad.ravel() for p in net.parameters()])
    expected[20:25] = 0.0
    np.testing.assert_array_equal(column, expected)
    assert np.all(arr(net.grads[:, 0]) == 0)
    new = torch.tensor(np.arange(43.0), dtype=torch.float32)
    overwrite_grad(net.parameters, new, net.grad_dims)
    p0, b0, p2, b2 = net.parameters()
    np.testing.assert_array_equal(p0.grad, np.arange(20.0).reshape(5, 4))
    assert b0.grad is None
    np.testing.assert_array_equal(b2.grad, [40.0, 41.0, 42.0])


def test_project2cone2_with_one_memory_is_the_closed_form_written_into_the_column():
    rng = np.random.default_rng(11)
    g, m = rng.normal(size=7), rng.normal(size=7)
    g -= (g @ m / (m @ m) + 0.8) * m                              # a conflict: g . m < 0
    assert g @ m < 0
    grads = torch.tensor(np.stack([m, g], 1), dtype=torch.float32)
    project2cone2(grads[:, 1:2], grads.index_select(1, torch.LongTensor([0])), margin=0.5)
    g32, m32 = g.astype(np.float32).astype(np.float64), m.astype(np.float32).astype(np.float64)
    v = max(0.5, -(m32 @ g32) / (m32 @ m32))                       # the dual's minimiser over v >= margin
    np.testing.assert_allclose(arr(grads[:, 1]), g32 + v * m32, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(arr(grads[:, 0]), m32)           # the memory column is left alone
    assert arr(grads[:, 1]) @ m32 >= -1e-5 * (m32 @ m32)          # v is past the margin here: on the boundary
    assert -(m32 @ g32) / (m32 @ m32) > 0.5


def test_project2cone2_with_two_memories_satisfies_the_duals_kkt_conditions():
    rng = np.random.default_rng(12)
    M, g = rng.normal(size=(2, 9)), rng.normal(size=9)
    g -= 2.0 * M[0]                                               # one constraint or both active
    gradient = torch.tensor(g[:, None])
    project2cone2(gradient, torch.tensor(M.T), margin=0.1)
    x = arr(gradient).ravel()
    v = np.linalg.lstsq(M.T, x - g, rcond=None)[0]                # x = g + M^T v
    np.testing.assert_allclose(M.T @ v + g, x, atol=1e-10)
    slope = M @ M.T @ v + M @ g                                   # the dual objective's gradient in v
    assert np.all(v >= 0.1 - 1e-9) and np.all(slope >= -1e-9)
    np.testing.assert_allclose((v - 0.1) * slope, 0.0, atol=1e-9)   # complementary slackness
    assert np.all(M @ x >= -1e-9)                                 # the projected step agrees with each memory


def test_a_write_into_an_unsqueezed_part_reaches_the_tensor_as_pytorchs_view():
    grads = torch.zeros(5, 2)
    column = grads[:, 1].unsqueeze(1)
    column.copy_(torch.ones(5, 1))
    np.testing.assert_array_equal(arr(grads[:, 1]), np.ones(5))


def test_observe_fills_the_episodic_ring_buffer_and_steps_with_the_projected_gradient():
    net = Net(4, 3, 2, gem_args(memory_strength=0.0))
    rng = np.random.default_rng(13)
    x0, x0b = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    y0, y0b = np.array([0, 1, 2]), np.array([2, 0, 1])
    net.observe(torch.tensor(x0, dtype=torch.float32), 0, torch.tensor(y0))
    assert net.mem_cnt == 3 and net.observed_tasks == [0]
    net.observe(torch.tensor(x0b, dtype=torch.float32), 0, torch.tensor(y0b))
    assert net.mem_cnt == 0                                       # 3 + 1 filled the 4 slots: back to the start
    mem_x, mem_y = np.concatenate([x0, x0b[:1]]), np.concatenate([y0, y0b[:1]])
    np.testing.assert_allclose(arr(net.memory_data[0]), mem_x, rtol=1e-6)
    np.testing.assert_array_equal(net.memory_labs[0].numpy(), mem_y)
    assert net.memory_data.dtype == torch.float32 and net.memory_labs.dtype == torch.int64
    P = np_params(net)
    y1 = (mem_y + 2) % 3                                         # the remembered inputs, other labels: a conflict
    g_mem = np_grad_dict(lambda P: np_gem_ce(P, mem_x.astype(np.float32), mem_y), P, h=1e-4)
    g_cur = np_grad_dict(lambda P: np_gem_ce(P, mem_x.astype(np.float32), y1), P, h=1e-4)
    m = np.concatenate([g_mem[n].ravel() for n in P])
    g = np.concatenate([g_cur[n].ravel() for n in P])
    assert g @ m < 0
    projected = g + max(0.0, -(m @ g) / (m @ m)) * m
    net.observe(torch.tensor(mem_x, dtype=torch.float32), 1, torch.tensor(y1))
    assert net.observed_tasks == [0, 1] and net.mem_cnt == 0
    np.testing.assert_allclose(arr(net.grads[:, 0]), m, rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(arr(net.grads[:, 1]), projected, rtol=1e-3, atol=1e-5)
    got = np.concatenate([p.grad.ravel() for p in net.parameters()])
    np.testing.assert_allclose(got, projected, rtol=1e-3, atol=1e-5)
    assert abs(got @ m) < 1e-4 * (m @ m)
    after = np.concatenate([arr(p).ravel() for p in net.parameters()])
    before = np.concatenate([P[n].ravel() for n in P])
    np.testing.assert_allclose(after, before - 0.1 * got, rtol=1e-6, atol=1e-7)


@pytest.mark.filterwarnings("ignore:volatile was removed")
def test_eval_tasks_leaves_out_each_tasks_last_sample_as_written():
    """b_to = min(b_from + eval_bs, N - 1) with eval_bs = N: the batch is x[0:N-1], divided by N (in PyTorch too)."""
    class Oracle(nn.Module):
        def forward(self, x, t):
            return F.one_hot(x[:, 0].long(), 3).float()           # the label is written in the first feature
    y = torch.tensor([0, 2, 1, 1, 0])
    x = torch.stack([y.float(), torch.zeros(5)], 1)
    result = eval_tasks(Oracle(), [[0, x, y], [1, x, y]], argparse.Namespace(cuda=False))
    assert [r.item() for r in result] == [pytest.approx(4 / 5), pytest.approx(4 / 5)]


def gem_tasks(n_tasks=3, n=40, seed=14):
    """A stand-in for data/mnist_rotations.py's output: for each task [task's name, x (n, 8) float32, y (n,)];
    task k's label is which of its own three of the first six features is largest, and the last two features
    carry a code of the task (the tasks' inputs lie apart, as rotated digits do)."""
    rng = np.random.default_rng(seed)
    d_tr, d_te = [], []
    for k in range(n_tasks):
        W = np.eye(6)[:, rng.permutation(6)[:3]]
        for split in (d_tr, d_te):
            x = rng.normal(size=(n, 8)).astype(np.float32)
            x[:, 6:] = 0.3 * x[:, 6:] + 3.0 * np.array([[k % 2, k // 2]])
            split.append([k, torch.tensor(x), torch.tensor((x[:, :6] @ W).argmax(1))])
    return d_tr, d_te


@pytest.mark.filterwarnings("ignore:volatile was removed")
def test_gem_main_learns_three_tasks_in_turn_and_writes_its_confusion_matrix(tmp_path):
    d_tr, d_te = gem_tasks()
    torch.save((d_tr, d_te), str(tmp_path / "rotations.pt"))
    argv = ["--model", "gem", "--n_hiddens", "24", "--n_layers", "1", "--n_memories", "20", "--memory_strength",
            "0.5", "--lr", "0.3", "--batch_size", "5", "--log_every", "4", "--data_path", str(tmp_path),
            "--data_file", "rotations.pt", "--save_path", str(tmp_path / "results"), "--n_epochs", "4"]
    (fname, model, result_t, result_a, stats), printed = quietly(gem_main, argv)
    # n_outputs is a 0-d tensor (max of the labels, + 1), which nn.Linear takes as the int it holds, as PyTorch
    assert model.net.net[2].out_features == 3 and isinstance(model.nc_per_task, torch.Tensor)
    assert result_a.shape[1] == 3 and result_t.shape == (result_a.shape[0],)
    assert result_t.tolist() == sorted(result_t.tolist()) and int(result_t.max()) == 2
    first, final = result_a[0].tolist(), result_a[-1].tolist()
    assert all(b > a + 0.1 for a, b in zip(first, final)) and np.mean(final) > 0.6, (first, final)  # chance: 1/3
    with open(fname + '.txt') as f:
        text = f.read()
    assert 'Final Accuracy: %.4f' % np.mean(final) in text and text.count('\n') == 9
    saved = torch.load(fname + '.pt')
    np.testing.assert_allclose(arr(saved[1]), arr(result_a))
    assert saved[5]['model'] == 'gem' and 'net.net.0.weight' in saved[2]
    assert stats[0].item() == pytest.approx(np.mean(final)) and fname in printed


# ==== 4. kuc2477/pytorch-ewc (151d75cd) ==========================================================================
# ---- utils.py: get_data_loader, validate, xavier_initialize ----------------------------------------------------

class utils:  # differs: the repository's utils module, as a namespace (its checkpoint functions are not ported)
    @staticmethod
    def get_data_loader(dataset, batch_size, cuda=False, collate_fn=None):

        return DataLoader(
            dataset, batch_size=batch_size,
            shuffle=True, collate_fn=(collate_fn or default_collate),
            **({'num_workers': 2, 'pin_memory': True} if cuda else {})
        )

    @staticmethod
    def validate(model, dataset, test_size=256, batch_size=32,
                 cuda=False, verbose=True):
        mode = model.training
        model.train(mode=False)
        data_loader = utils.get_data_loader(dataset, batch_size, cuda=cuda)
        total_tested = 0
        total_correct = 0
        for x, y in data_loader:
            # break on test size.
            if total_tested >= test_size:
                break
            # test the model.
            x = x.view(batch_size, -1)
            x = Variable(x).cuda() if cuda else Variable(x)
            y = Variable(y).cuda() if cuda else Variable(y)
            scores = model(x)
            # differs: `_, predicted = scores.max(1)` unpacks the maxima's rows here, and warns; `dim=1` gives
            # PyTorch's (values, indices) pair (docs/pytorch.md)
            _, predicted = scores.max(dim=1)
            # update statistics.
            total_correct += int((predicted == y).sum())
            total_tested += len(x)
        model.train(mode=mode)
        precision = total_correct / total_tested
        if verbose:
            print('=> precision: {:.3f}'.format(precision))
        return precision

    @staticmethod
    def xavier_initialize(model):
        modules = [
            m for n, m in model.named_modules() if
            'conv' in n or 'linear' in n
        ]

        parameters = [
            p for
            m in modules for
            p in m.parameters() if
            p.dim() >= 2
        ]

        for p in parameters:
            nn.init.xavier_normal(p)


# ---- model.py -------------------------------------------------------------------------------------------------

class KucMLP(nn.Module):  # (the repository's `MLP`, renamed beside GEM's)
    def __init__(self, input_size, output_size,
                 hidden_size=400,
                 hidden_layer_num=2,
                 hidden_dropout_prob=.5,
                 input_dropout_prob=.2,
                 lamda=40):
        # Configurations.
        super().__init__()
        self.input_size = input_size
        self.input_dropout_prob = input_dropout_prob
        self.hidden_size = hidden_size
        self.hidden_layer_num = hidden_layer_num
        self.hidden_dropout_prob = hidden_dropout_prob
        self.output_size = output_size
        self.lamda = lamda

        # Layers.
        self.layers = nn.ModuleList([
            # input
            nn.Linear(self.input_size, self.hidden_size), nn.ReLU(),
            nn.Dropout(self.input_dropout_prob),
            # hidden
            *((nn.Linear(self.hidden_size, self.hidden_size), nn.ReLU(),
               nn.Dropout(self.hidden_dropout_prob)) * self.hidden_layer_num),
            # output
            nn.Linear(self.hidden_size, self.output_size)
        ])

    @property
    def name(self):
        return (
            'MLP'
            '-lambda{lamda}'
            '-in{input_size}-out{output_size}'
            '-h{hidden_size}x{hidden_layer_num}'
            '-dropout_in{input_dropout_prob}_hidden{hidden_dropout_prob}'
        ).format(
            lamda=self.lamda,
            input_size=self.input_size,
            output_size=self.output_size,
            hidden_size=self.hidden_size,
            hidden_layer_num=self.hidden_layer_num,
            input_dropout_prob=self.input_dropout_prob,
            hidden_dropout_prob=self.hidden_dropout_prob,
        )

    def forward(self, x):
        return reduce(lambda x, l: l(x), self.layers, x)

    def estimate_fisher(self, dataset, sample_size, batch_size=32):
        # sample loglikelihoods from the dataset.
        data_loader = utils.get_data_loader(dataset, batch_size)
        loglikelihoods = []
        for x, y in data_loader:
            x = x.view(batch_size, -1)
            x = Variable(x).cuda() if self._is_on_cuda() else Variable(x)
            y = Variable(y).cuda() if self._is_on_cuda() else Variable(y)
            loglikelihoods.append(
                F.log_softmax(self(x), dim=1)[range(batch_size), y.data]
            )
            if len(loglikelihoods) >= sample_size // batch_size:
                break
        # estimate the fisher information of the parameters.
        loglikelihoods = torch.cat(loglikelihoods).unbind()
        loglikelihood_grads = zip(*[autograd.grad(
            l, self.parameters(),
            retain_graph=(i < len(loglikelihoods))
        ) for i, l in enumerate(loglikelihoods, 1)])
        loglikelihood_grads = [torch.stack(gs) for gs in loglikelihood_grads]
        fisher_diagonals = [(g ** 2).mean() for g in loglikelihood_grads]
        param_names = [
            n.replace('.', '__') for n, p in self.named_parameters()
        ]
        return {n: f.detach() for n, f in zip(param_names, fisher_diagonals)}

    def consolidate(self, fisher):
        for n, p in self.named_parameters():
            n = n.replace('.', '__')
            # differs: `.data` is the numpy array (`clone()` is numpy's `copy()`), which register_buffer refuses,
            # as PyTorch's refuses anything but a tensor: `detach()` is the tensor `.data` is in PyTorch
            self.register_buffer('{}_mean'.format(n), p.detach().clone())
            self.register_buffer('{}_fisher'
                                 .format(n), fisher[n].detach().clone())

    def ewc_loss(self, cuda=False):
        try:
            losses = []
            for n, p in self.named_parameters():
                # retrieve the consolidated mean and fisher information.
                n = n.replace('.', '__')
                mean = getattr(self, '{}_mean'.format(n))
                fisher = getattr(self, '{}_fisher'.format(n))
                # wrap mean and fisher in variables.
                mean = Variable(mean)
                fisher = Variable(fisher)
                # calculate a ewc loss. (assumes the parameter's prior as
                # gaussian distribution with the estimated mean and the
                # estimated cramer-rao lower bound variance, which is
                # equivalent to the inverse of fisher information)
                losses.append((fisher * (p-mean)**2).sum())
            return (self.lamda/2)*sum(losses)
        except AttributeError:
            # ewc loss is 0 if there's no consolidated parameters.
            return (
                Variable(torch.zeros(1)).cuda() if cuda else
                Variable(torch.zeros(1))
            )

    def _is_on_cuda(self):
        return next(self.parameters()).is_cuda


# ---- train.py ---------------------------------------------------------------------------------------------------

class Visdom:
    """differs: visdom (a plotting server) is not installed: a stand-in that keeps what is sent to it."""

    def __init__(self, env):
        self.env, self.sent = env, []


class visual:  # differs: visual.py draws with visdom; this keeps the scalars (as floats) with their title
    @staticmethod
    def visualize_scalars(vis, scalars, names, title, iteration):
        vis.sent.append((title, iteration, dict(zip(names, [float(s) for s in scalars]))))


def kuc_train(model, train_datasets, test_datasets, epochs_per_task=10,  # (the repository's `train`)
              batch_size=64, test_size=1024, consolidate=True,
              fisher_estimation_sample_size=1024,
              lr=1e-3, weight_decay=1e-5,
              loss_log_interval=30,
              eval_log_interval=50,
              cuda=False):
    # prepare the loss criteriton and the optimizer.
    criteriton = nn.CrossEntropyLoss()
    optimizer = optim.SGD(model.parameters(), lr=lr,
                           weight_decay=weight_decay)

    # instantiate a visdom client
    vis = Visdom(env=model.name)

    # set the model's mode to training mode.
    model.train()

    for task, train_dataset in enumerate(train_datasets, 1):
        for epoch in range(1, epochs_per_task+1):
            # prepare the data loaders.
            data_loader = utils.get_data_loader(
                train_dataset, batch_size=batch_size,
                cuda=cuda
            )
            data_stream = tqdm.tqdm(enumerate(data_loader, 1))

            for batch_index, (x, y) in data_stream:
                # where are we?
                data_size = len(x)
                dataset_size = len(data_loader.dataset)
                dataset_batches = len(data_loader)
                previous_task_iteration = sum([
                    epochs_per_task * len(d) // batch_size for d in
                    train_datasets[:task-1]
                ])
                current_task_iteration = (
                    (epoch-1)*dataset_batches + batch_index
                )
                iteration = (
                    previous_task_iteration +
                    current_task_iteration
                )

                # prepare the data.
                x = x.view(data_size, -1)
                x = Variable(x).cuda() if cuda else Variable(x)
                y = Variable(y).cuda() if cuda else Variable(y)

                # run the model and backpropagate the errors.
                optimizer.zero_grad()
                scores = model(x)
                ce_loss = criteriton(scores, y)
                ewc_loss = model.ewc_loss(cuda=cuda)
                loss = ce_loss + ewc_loss
                loss.backward()
                optimizer.step()

                # calculate the training precision.
                _, predicted = scores.max(dim=1)  # differs: `scores.max(1)` would unpack rows, as in validate
                precision = (predicted == y).sum().float() / len(x)

                data_stream.set_description((
                    '=> '
                    'task: {task}/{tasks} | '
                    'epoch: {epoch}/{epochs} | '
                    'progress: [{trained}/{total}] ({progress:.0f}%) | '
                    'prec: {prec:.4} | '
                    'loss => '
                    'ce: {ce_loss:.4} / '
                    'ewc: {ewc_loss:.4} / '
                    'total: {loss:.4}'
                ).format(
                    task=task,
                    tasks=len(train_datasets),
                    epoch=epoch,
                    epochs=epochs_per_task,
                    trained=batch_index*batch_size,
                    total=dataset_size,
                    progress=(100.*batch_index/dataset_batches),
                    prec=float(precision),
                    ce_loss=float(ce_loss),
                    ewc_loss=float(ewc_loss),
                    loss=float(loss),
                ))

                # Send test precision to the visdom server.
                if iteration % eval_log_interval == 0:
                    names = [
                        'task {}'.format(i+1) for i in
                        range(len(train_datasets))
                    ]
                    precs = [
                        utils.validate(
                            model, test_datasets[i], test_size=test_size,
                            cuda=cuda, verbose=False,
                        ) if i+1 <= task else 0 for i in
                        range(len(train_datasets))
                    ]
                    title = (
                        'precision (consolidated)' if consolidate else
                        'precision'
                    )
                    visual.visualize_scalars(
                        vis, precs, names, title,
                        iteration
                    )

                # Send losses to the visdom server.
                if iteration % loss_log_interval == 0:
                    title = 'loss (consolidated)' if consolidate else 'loss'
                    visual.visualize_scalars(
                        vis,
                        [loss, ce_loss, ewc_loss],
                        ['total', 'cross entropy', 'ewc'],
                        title, iteration
                    )

        if consolidate and task < len(train_datasets):
            # estimate the fisher information of the parameters and consolidate
            # them in the network.
            print(
                '=> Estimating diagonals of the fisher information matrix...',
                end='', flush=True
            )
            model.consolidate(model.estimate_fisher(
                train_dataset, fisher_estimation_sample_size
            ))
            print(' Done!')
    return vis  # differs: returned, so that the tests read what was sent


# ---- main.py, as a function of argv, and a stand-in for data.py ------------------------------------------------

DATASET_CONFIGS = {'mnist': {'size': 3, 'channels': 1, 'classes': 3}}   # differs: 3 x 3 "images", 3 classes


def get_dataset(name, train=True, permutation=None):
    """differs: data.py's permuted MNIST (torchvision) replaced by 3 x 3 inputs whose class is the brightest of
    their first three pixels, the pixels permuted by `permutation` (96 training and 64 test images)."""
    rng = np.random.default_rng(0 if train else 1)
    n = 96 if train else 64
    x = rng.normal(size=(n, DATASET_CONFIGS[name]['size'] ** 2)).astype(np.float32)
    y = x[:, :3].argmax(1)
    return TensorDataset(torch.tensor(x[:, permutation]), torch.tensor(y))


def kuc_main(argv):
    parser = argparse.ArgumentParser('EWC PyTorch Implementation')
    parser.add_argument('--hidden-size', type=int, default=400)
    parser.add_argument('--hidden-layer-num', type=int, default=2)
    parser.add_argument('--hidden-dropout-prob', type=float, default=.5)
    parser.add_argument('--input-dropout-prob', type=float, default=.2)

    parser.add_argument('--task-number', type=int, default=8)
    parser.add_argument('--epochs-per-task', type=int, default=3)
    parser.add_argument('--lamda', type=float, default=40)
    parser.add_argument('--lr', type=float, default=1e-1)
    parser.add_argument('--weight-decay', type=float, default=0)
    parser.add_argument('--batch-size', type=int, default=128)
    parser.add_argument('--test-size', type=int, default=1024)
    parser.add_argument('--fisher-estimation-sample-size', type=int, default=1024)
    parser.add_argument('--random-seed', type=int, default=0)
    parser.add_argument('--no-gpus', action='store_false', dest='cuda')
    parser.add_argument('--eval-log-interval', type=int, default=250)
    parser.add_argument('--loss-log-interval', type=int, default=250)
    parser.add_argument('--consolidate', action='store_true')

    args = parser.parse_args(argv)  # differs: the script's module level as a function of argv

    # decide whether to use cuda or not.
    cuda = torch.cuda.is_available() and args.cuda

    # generate permutations for the tasks.
    np.random.seed(args.random_seed)
    permutations = [
        np.random.permutation(DATASET_CONFIGS['mnist']['size']**2) for
        _ in range(args.task_number)
    ]

    # prepare mnist datasets.
    train_datasets = [
        get_dataset('mnist', permutation=p) for p in permutations
    ]
    test_datasets = [
        get_dataset('mnist', train=False, permutation=p) for p in permutations
    ]

    # prepare the model.
    mlp = KucMLP(
        DATASET_CONFIGS['mnist']['size']**2,
        DATASET_CONFIGS['mnist']['classes'],
        hidden_size=args.hidden_size,
        hidden_layer_num=args.hidden_layer_num,
        hidden_dropout_prob=args.hidden_dropout_prob,
        input_dropout_prob=args.input_dropout_prob,
        lamda=args.lamda,
    )

    # initialize the parameters.
    utils.xavier_initialize(mlp)

    # prepare the cuda if needed.
    if cuda:
        mlp.cuda()

    # run the experiment.
    vis = kuc_train(
        mlp, train_datasets, test_datasets,
        epochs_per_task=args.epochs_per_task,
        batch_size=args.batch_size,
        test_size=args.test_size,
        consolidate=args.consolidate,
        fisher_estimation_sample_size=args.fisher_estimation_sample_size,
        lr=args.lr,
        weight_decay=args.weight_decay,
        eval_log_interval=args.eval_log_interval,
        loss_log_interval=args.loss_log_interval,
        cuda=cuda
    )
    return mlp, vis, train_datasets  # differs: returned for the tests


# ---- 4. tests ------------------------------------------------------------------------------------------------------

KUC_LAYERS = ["layers.0", "layers.3", "layers.3", "layers.9"]     # the hidden Linear is one module, used twice


def test_the_repeated_hidden_layer_is_one_module_listed_once_by_parameters_and_twice_by_state_dict(float64_default):
    mlp = KucMLP(4, 3, hidden_size=5, hidden_dropout_prob=0., input_dropout_prob=0.)
    assert mlp.layers[3] is mlp.layers[6] and mlp.layers[4] is mlp.layers[7]
    names = [n for n, _ in mlp.named_parameters()]
    assert names == ["layers.0.weight", "layers.0.bias", "layers.3.weight", "layers.3.bias", "layers.9.weight",
                     "layers.9.bias"]
    assert list(mlp.state_dict()) == ["layers.0.weight", "layers.0.bias", "layers.3.weight", "layers.3.bias",
                                      "layers.6.weight", "layers.6.bias", "layers.9.weight", "layers.9.bias"]
    x = np.random.default_rng(15).normal(size=(6, 4))
    np.testing.assert_allclose(arr(mlp(torch.tensor(x))), np_relu_mlp(np_params(mlp), x, KUC_LAYERS), rtol=1e-12)
    assert mlp.name == 'MLP-lambda40-in4-out3-h5x2-dropout_in0.0_hidden0.0'


def test_estimate_fisher_averages_squared_per_sample_gradients_over_samples_and_entries(float64_default):
    mlp = KucMLP(4, 3, hidden_size=5, hidden_dropout_prob=0., input_dropout_prob=0.)
    rng = np.random.default_rng(16)
    x, y = rng.normal(size=(6, 4)), rng.integers(0, 3, size=6)
    P = np_params(mlp)
    fisher = mlp.estimate_fisher(TensorDataset(torch.tensor(x), torch.tensor(y)), sample_size=4, batch_size=2)
    assert list(fisher) == ["layers__0__weight", "layers__0__bias", "layers__3__weight", "layers__3__bias",
                            "layers__9__weight", "layers__9__bias"]
    per_sample = [np_grad_dict(lambda P, i=i: np_log_softmax(np_relu_mlp(P, x[i:i + 1], KUC_LAYERS))[0, y[i]], P)
                  for i in range(6)]
    # 4 of the 6 samples, in the loader's shuffled order; the mean over them and over every entry (one number
    # per parameter: the source's `(g ** 2).mean()`, where a per-entry diagonal would take `.mean(0)`)
    for name, value in fisher.items():
        assert value.shape == () and not value.requires_grad
        candidates = [np.mean([(per_sample[i][name.replace('__', '.')] ** 2).mean() for i in chosen])
                      for chosen in itertools.combinations(range(6), 4)]
        assert np.min(np.abs(np.array(candidates) - value.item())) < 1e-6 * value.item()
    one = {name: np.mean([(per_sample[i][name.replace('__', '.')] ** 2).mean() for i in range(6)])
           for name in fisher}
    fisher_all = mlp.estimate_fisher(TensorDataset(torch.tensor(x), torch.tensor(y)), sample_size=6, batch_size=3)
    for name, value in fisher_all.items():             # all six: no choice left
        np.testing.assert_allclose(value.item(), one[name], rtol=1e-6)


def test_consolidate_registers_buffers_and_ewc_loss_against_numpy(float64_default):
    mlp = KucMLP(4, 3, hidden_size=5, hidden_dropout_prob=0., input_dropout_prob=0., lamda=7.)
    empty = mlp.ewc_loss()
    assert empty.shape == (1,) and empty.item() == 0.0           # no buffers yet: the AttributeError branch
    fisher = {n.replace('.', '__'): torch.tensor(0.5 + k) for k, (n, _) in enumerate(mlp.named_parameters())}
    mean = np_params(mlp)
    mlp.consolidate(fisher)
    assert [n for n, _ in mlp.named_buffers()] == [f"{n.replace('.', '__')}_{kind}" for n in mean
                                                  for kind in ("mean", "fisher")]
    with torch.no_grad():
        for k, p in enumerate(mlp.parameters()):
            p += 0.1 * (k + 1)
    P = np_params(mlp)

    def loss_np(P):
        return 7. / 2 * sum((0.5 + k) * ((P[n] - mean[n]) ** 2).sum() for k, n in enumerate(P))
    loss = mlp.ewc_loss()
    np.testing.assert_allclose(loss.item(), loss_np(P), rtol=1e-12)
    loss.backward()
    g = np_grad_dict(loss_np, P)
    for name, p in mlp.named_parameters():
        np.testing.assert_allclose(p.grad, g[name], rtol=1e-6, atol=1e-9)
    state = mlp.state_dict()
    assert "layers__3__weight_mean" in state and "layers.6.weight" in state
    other = KucMLP(4, 3, hidden_size=5, hidden_dropout_prob=0., input_dropout_prob=0., lamda=7.)
    other.consolidate({n: torch.tensor(0.0) for n in fisher})   # the same buffer names, then the values loaded
    other.load_state_dict(state)
    np.testing.assert_allclose(other.ewc_loss().item(), loss.item(), rtol=1e-12)


def test_xavier_initialize_finds_no_module_named_conv_or_linear_and_changes_nothing():
    mlp = KucMLP(4, 3, hidden_size=5)
    before = np_params(mlp)
    utils.xavier_initialize(mlp)            # the modules are 'layers.0', 'layers.3', ...: none is initialised
    assert all(np.array_equal(before[n], arr(p)) for n, p in mlp.named_parameters())


def test_main_trains_two_permuted_tasks_with_consolidation_between_them():
    argv = ["--hidden-size", "16", "--hidden-layer-num", "1", "--hidden-dropout-prob", "0.1", "--input-dropout-prob",
            "0.0", "--task-number", "2", "--epochs-per-task", "6", "--lamda", "20", "--lr", "0.2", "--batch-size",
            "16", "--test-size", "64", "--fisher-estimation-sample-size", "64", "--eval-log-interval", "6",
            "--loss-log-interval", "6", "--consolidate", "--no-gpus"]
    (mlp, vis, train_datasets), printed = quietly(quiet_stderr, kuc_main, argv)
    assert vis.env == mlp.name and 'Done!' in printed and printed.count('Estimating') == 1
    losses = [(it, d) for title, it, d in vis.sent if title == 'loss (consolidated)']
    precs = [(it, d) for title, it, d in vis.sent if title == 'precision (consolidated)']
    assert [it for it, _ in losses] == list(range(6, 73, 6)) and len(precs) == len(losses)
    first_task = [d for it, d in losses if it <= 36]
    second_task = [d for it, d in losses if it > 36]
    assert all(d['ewc'] == 0 for d in first_task) and all(d['ewc'] > 0 for d in second_task[1:])
    assert first_task[-1]['cross entropy'] < first_task[0]['cross entropy']
    assert precs[-1][1]['task 2'] > 0.6 and precs[5][1]['task 2'] == 0
    assert hasattr(mlp, 'layers__0__weight_fisher') and mlp.layers__0__weight_fisher.shape == ()


# ---- what the sources' own spellings meet, and the two fixes of this round -----------------------------------

def test_the_sources_data_and_grad_spellings_stop_as_documented():
    """The lines as the sources write them, against a parameter whose `.data` and `.grad` are numpy arrays
    (docs/pytorch.md, "Arrays are read-only"): each stops with numpy's error, before anything is changed."""
    model = BaselineRNN(1, 3, 2, torch.device("cpu"))
    x, y = sequence_task(4, 3, 17)
    F.cross_entropy(model(torch.tensor(x, dtype=torch.float32), None)[1][:, -1], torch.tensor(y)).backward()
    p = model.linear.weight
    before, grad = arr(p), p.grad.copy()
    with pytest.raises(AttributeError, match="memoryview"):
        p.grad.data.clone().pow(2)                                # EWC_wrapper's Fisher
    with pytest.raises(TypeError, match="memoryview"):
        p.grad.data ** 2                                          # moskomule/ewc.pytorch's
    with pytest.raises(AttributeError, match="numpy.ndarray"):
        p.data.clone()                                            # the saved parameters, kuc2477's buffers
    with pytest.raises(TypeError, match="register_buffer: expected a Tensor or None"):
        model.register_buffer("linear__weight_mean", p.data.copy())    # PyTorch's refuses a numpy array too
    with pytest.raises(AttributeError, match="memoryview"):
        p.grad.data.copy_(torch.zeros(2, 3))                      # GEM's overwrite_grad
    with pytest.raises(AttributeError, match="numpy.ndarray"):
        p.grad.copy_(torch.zeros(2, 3))                           # A-GEM's
    with pytest.raises(AttributeError, match="memoryview"):
        p.grad.data.view(-1)                                      # A-GEM's and GEM's flattening
    with pytest.raises(AttributeError, match="numpy.ndarray"):
        p.grad.detach() ** 2                                      # continual_learner's Fisher
    np.testing.assert_array_equal(arr(p), before)
    np.testing.assert_array_equal(p.grad, grad)
    p.grad[...] = torch.zeros(2, 3)                               # the spelling the ports use: into the array
    assert np.all(p.grad == 0) and p.grad.dtype == np.float32


def test_an_iterator_of_a_data_loader_has_the_loaders_length_as_pytorchs():
    """train_cl counts batches down from `len(iter(loader))` (PyTorch's _BaseDataLoaderIter has __len__)."""
    dataset = TensorDataset(torch.zeros(10, 2), torch.arange(10))
    loader = DataLoader(dataset, batch_size=4, shuffle=True, drop_last=True)
    it = iter(loader)
    assert len(it) == len(loader) == 2 and iter(it) is it
    first = next(it)
    assert len(it) == 2 and first[0].shape == (4, 2)             # the loader's count, however many were taken
    next(it)
    with pytest.raises(StopIteration):
        next(it)
    assert len(iter(DataLoader(dataset, batch_size=4))) == 3


def test_a_zero_d_integer_tensor_is_a_size_for_a_layer_as_in_pytorch():
    """GEM's load_datasets returns `labels.max() + 1`, a 0-d tensor, as the number of outputs."""
    n_outputs = torch.tensor([0, 2, 1]).max() + 1
    layer = nn.Linear(4, n_outputs)
    assert layer.out_features == 3 and type(layer.out_features) is int and layer.weight.shape == (3, 4)
    assert MLP([4, 5, n_outputs]).net[2].bias.shape == (3,)
    for bad in (torch.tensor(3.0), torch.tensor([3]), torch.tensor(0), torch.tensor(True)):
        with pytest.raises(ValueError, match="out_features must be a positive integer"):
            nn.Linear(4, bad)
