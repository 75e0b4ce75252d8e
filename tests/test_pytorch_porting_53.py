"""Porting, round 53: RECURRENT MODELS OUTSIDE LANGUAGE -- session-based recommendation, reservoir computing and
knowledge tracing, as public PyTorch code writes them. Each is written as its author wrote it, with only the imports
changed (`# differs:` marks each other change and why):

1. hungpthanh/GRU4REC-pytorch (GRU4Rec, Hidasi et al. 2016): lib/model.py (3b2c9eb4069da98aab831911720d2dbff580f08a)
   `GRU4REC` (a one-hot buffer filled by `scatter_`, `embedding_dropout` by `torch.bernoulli`, one GRU step per
   click, `h2o` and a final activation chosen by name); lib/lossfunction.py (same commit): `LossFunction`,
   `SampledCrossEntropyLoss`, `BPRLoss`, `BPR_max`, `TOP1Loss`, `TOP1_max` (pairwise losses over the in-batch
   negatives, `logit.diag().view(-1, 1).expand_as(logit) - logit`); lib/optimizer.py (same commit): `Optimizer`;
   lib/evaluation.py (same commit): `Evaluation`; lib/dataset.py (c47e7952265ba9e2557a608363b7994da2ad009a):
   `DataLoader` (session-parallel mini-batches and the mask of lanes whose session ended); lib/metric.py (same
   commit): `get_recall`, `get_mrr`, `evaluate` (`torch.topk`, `.nonzero()`, `torch.reciprocal`); lib/trainer.py
   (a137051b678f927ba4030faf2dd51a45d502043d): `Trainer` (`hidden[:, mask, :] = 0` then `.detach()`, the sampled
   logits `logit[:, target.view(-1)]`). lib/dataset.py's `Dataset` reads a csv with pandas (not installed): a stand-in
   computes the three arrays the loader reads (`df.item_idx.values`, `click_offsets`, `session_idx_arr`) the way its
   pandas calls do. The sessions are made up.
2. stefanonardo/pytorch-esn (echo state networks), at 406eaeae21e1c517488e2fed79a2553cdfada51b: torchesn/nn/reservoir.py
   (`Reservoir`: uniform weights, a sparsity mask by `torch.randperm`, the recurrent matrix scaled to a spectral radius
   by `torch.linalg.eigvals`, written back through `state_dict`/`load_state_dict`; `AutogradReservoir`, `Recurrent`,
   `VariableRecurrent` for packed input, `StackedRNN`, the leaky `ResTanhCell`/`ResReLUCell`/`ResIdCell`);
   torchesn/nn/echo_state_network.py (`ESN`: the reservoir under `torch.no_grad()`, washout, the readout under
   `torch.enable_grad()` for 'gd', or a closed-form ridge readout: `torch.svd` ('svd'), the normal equations
   accumulated and solved by `torch.cholesky_solve` ('cholesky') or `torch.inverse`/`torch.pinverse` after
   `torch.linalg.matrix_rank` ('inv')); torchesn/utils/utilities.py (`prepare_target`, `washout_tensor`);
   examples/mackey-glass.py and examples/mnist.py (`Accuracy_Correct`, `one_hot`, `reshape_batch` and the script
   bodies, as functions). The Mackey-Glass series and the "digits" are made up.
3. hcnoh/knowledge-tracing-collection-pytorch (DKT, Piech et al. 2015; DKT+, Yeung and Yeung 2018): models/dkt.py
   (9460a4c00bfc874729db10d8f966af590ab63694) `DKT` (an embedding of q + num_q * r, an LSTM, a Linear, dropout, a
   sigmoid; `train_model`: `(y * one_hot(qshft.long(), self.num_q)).sum(-1)`, `torch.masked_select`,
   `binary_cross_entropy`, AUC, `torch.save(self.state_dict(), ...)`); models/dkt_plus.py
   (e0a0818a9fb4fbab884ba54f77e8e2d6cd66cf51) `DKTPlus` (the reconstruction and waviness terms, `torch.norm(y[:, 1:]
   - y[:, :-1], p=1, dim=-1)`); models/utils.py (1b69e93b4f06f18b5b098ce42d9e0e82ca22863f) `match_seq_len`,
   `collate_fn` (`pad_sequence(..., padding_value=-1)`, a mask of bool times bool); data_loaders/assist2009.py
   (6f1ba019462cf079f3cf9c243810b1f32960dc86) `ASSIST2009` (its cached-pickle branch; `preprocess` needs pandas and is
   not run); train.py (699b50892195116c422b8d2857ed344a9990d131) `main` as written, run in a tmp directory holding a
   config.json of the repo's layout (74ea790c18362c2198d5794e448553103ba356ba, sizes smaller) and made-up pickles.

Every source was read in the index at the commit named; none was written from memory.

What broke (fixed in this round's library change):
  - `torch.svd` was missing (`AttributeError: module 'microgradseq' has no attribute 'svd'`): pytorch-esn's 'svd'
    readout, `U, s, V = torch.svd(X)`. PyTorch's (deprecated for `linalg.svd`, still there) returns the named triple
    (U, S, V) with V = Vhᵀ, `some=True` the reduced factors, and with `compute_uv=False` zero U (m, m) and V (n, n).
    It is `mg.svd` and `t.svd` now (microgradseq/linalg.py).
  - `a.type(b.type())` raised `RuntimeError: to: device 'float32' is not available`: `t.type()` names the dtype
    "float32" here (PyTorch's 'torch.FloatTensor'), and that name did not convert back. pytorch-esn's mnist example:
    `torch.argmax(y_pred, 1).type(y_pred.type())`. The library's names convert now (microgradseq/ops/attributes.py);
    docs/pytorch.md says how `t.type()` differs.

Met and left as documented (docs/pytorch.md; the lines say `differs:`):
  - `torch.linalg.eigvals` is not here (no complex dtype): `Reservoir.reset_parameters`' spectral radius is numpy's
    `np.linalg.eigvals` of the matrix; a test pins the AttributeError.
  - `state_dict()`'s values are numpy copies: `nn.init.uniform_(value, -1, 1)` on one is a TypeError; the port wraps
    them with `torch.from_numpy` (a tensor over that array), so the in-place writes land where the source expects.
  - `torch.Tensor(rows, cols)` with sizes is refused and `torch.Tensor(n)` is a 0-d tensor: `nn.Parameter(torch.Tensor
    (hidden_size, layer_input_size))` and GRU4Rec's `torch.Tensor(input.size(0), 1).fill_(...)` are `torch.empty`.
  - `torch.save` of a module or an optimizer object: GRU4Rec's checkpoint holds `self.model` and `self.optim`; the port
    saves their state dicts (a test pins the TypeError).
  - `.data` is the numpy array: `get_mrr`'s `torch.sum(rranks).data / targets.size(0)` is a numpy scalar here.
Met and as PyTorch: `cholesky_solve` reads only L's lower triangle (pytorch-esn passes it XᵀX + λI itself, see below);
GRU's single-layer `dropout` warning; `nn.Softmax()`'s implicit-dim warning; a float32 one-hot buffer into a float64
GRU is an error.

Names the library lacks: `optim.SparseAdam` (GRU4Rec's `Optimizer` names it; sparse gradients are not here, and it is
not among docs/pytorch.md's optimizers); `nn.Module._apply` (private; `Reservoir._apply` overrides it, and `.to()` here
never calls it).

Met and changed for reasons outside the library (marked): pandas and scikit-learn are not installed (the session
Dataset, `metrics.roc_auc_score`: stand-ins written here); file paths are pytest's tmp_path; sizes, epochs and
learning rates are smaller.

Noticed and left alone (the sources', in PyTorch too):
  - GRU4Rec's `DataLoader` yields the same `mask` with every batch of a run, so the trainer zeroes a new session's
    state at each of its clicks until another session ends, not only at its first; the loop stops when the first lane
    runs out of sessions, dropping the other lanes' last clicks; `Evaluation.eval` never resets the state.
  - pytorch-esn's 'cholesky' `fit` hands `torch.cholesky_solve` the matrix XᵀX + λI, not its Cholesky factor, so the
    readout solves (L Lᵀ) W = Xᵀy with L the lower triangle of XᵀX + λI, not the ridge system; 'inv' compares the rank
    of the (H+1) x (H+1) matrix with X's row count, so it takes `inverse` only when X has exactly H+1 rows;
    the mnist example calls `fit()` after every batch (only the last batch's readout stays), trains on the 'mean'
    state and scores `output[-1]`, and counts the training set into the test accuracy.
  - DKT applies `Dropout()` (p = 0.5) to the logits before the sigmoid, so in training half the predictions are 0.5.

Expected values come from numpy written here in float64 (the GRU, LSTM and reservoir recurrences, the losses, the ridge
solves, the metrics, central differences of those), never from the library's own outputs.
"""

import argparse
import json
import os
import pickle
import re
import time
import types
import warnings

import numpy as np
import pytest
from porting_references import (arr, central, check_named_grads, np_gru_cell, np_lstm_cell, np_sigmoid, np_softmax,
                                params_of, quietly)
from tqdm import tqdm

import microgradseq as torch
import microgradseq.nn as nn
import microgradseq.nn.functional as F
import microgradseq.optim as optim
from microgradseq.autograd import Variable
from microgradseq.nn import Dropout, Embedding, LSTM, Linear, Module
from microgradseq.nn.functional import binary_cross_entropy, one_hot
from microgradseq.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence, pad_sequence
from microgradseq.utils.data import DataLoader as TorchDataLoader
from microgradseq.utils.data import Dataset as TorchDataset
from microgradseq.utils.data import random_split


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)
    np.random.seed(0)
    yield
    torch.set_default_dtype(torch.float32)


@pytest.fixture
def float64():
    torch.set_default_dtype(torch.float64)


# ---- numpy references (float64), written here ------------------------------------------------------------

def np_log_sigmoid(z):
    return -np.logaddexp(0.0, -z)



def check_grads(model, names, loss_np, loss_lib, count=3, rtol=1e-5, atol=1e-8):
    """Library gradients of the named parameters against central differences of the numpy loss."""
    check_named_grads(model, names, loss_np, loss_lib, count, rtol, atol)


# ==== 1. hungpthanh/GRU4REC-pytorch: lib/model.py, lossfunction.py, dataset.py, metric.py, evaluation.py, ... =========

class GRU4REC(nn.Module):
    def __init__(self, input_size, hidden_size, output_size, num_layers=1, final_act='tanh',
                 dropout_hidden=.5, dropout_input=0, batch_size=50, embedding_dim=-1, use_cuda=False):
        super(GRU4REC, self).__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.output_size = output_size
        self.num_layers = num_layers
        self.dropout_hidden = dropout_hidden
        self.dropout_input = dropout_input
        self.embedding_dim = embedding_dim
        self.batch_size = batch_size
        self.use_cuda = use_cuda
        self.device = torch.device('cuda' if use_cuda else 'cpu')
        self.onehot_buffer = self.init_emb()
        self.h2o = nn.Linear(hidden_size, output_size)
        self.create_final_activation(final_act)
        if self.embedding_dim != -1:
            self.look_up = nn.Embedding(input_size, self.embedding_dim)
            self.gru = nn.GRU(self.embedding_dim, self.hidden_size, self.num_layers, dropout=self.dropout_hidden)
        else:
            self.gru = nn.GRU(self.input_size, self.hidden_size, self.num_layers, dropout=self.dropout_hidden)
        self = self.to(self.device)

    def create_final_activation(self, final_act):
        if final_act == 'tanh':
            self.final_activation = nn.Tanh()
        elif final_act == 'relu':
            self.final_activation = nn.ReLU()
        elif final_act == 'softmax':
            self.final_activation = nn.Softmax()
        elif final_act == 'softmax_logit':
            self.final_activation = nn.LogSoftmax()
        elif final_act.startswith('elu-'):
            self.final_activation = nn.ELU(alpha=float(final_act.split('-')[1]))
        elif final_act.startswith('leaky-'):
            self.final_activation = nn.LeakyReLU(negative_slope=float(final_act.split('-')[1]))

    def forward(self, input, hidden):
        '''
        Args:
            input (B,): a batch of item indices from a session-parallel mini-batch.
            target (B,): torch.LongTensor of next item indices from a session-parallel mini-batch.

        Returns:
            logit (B,C): Variable that stores the logits for the next items in the session-parallel mini-batch
            hidden: GRU hidden state
        '''

        if self.embedding_dim == -1:
            embedded = self.onehot_encode(input)
            if self.training and self.dropout_input > 0: embedded = self.embedding_dropout(embedded)
            embedded = embedded.unsqueeze(0)
        else:
            embedded = input.unsqueeze(0)
            embedded = self.look_up(embedded)

        output, hidden = self.gru(embedded, hidden) #(num_layer, B, H)
        output = output.view(-1, output.size(-1))  #(B,H)
        logit = self.final_activation(self.h2o(output))

        return logit, hidden

    def init_emb(self):
        '''
        Initialize the one_hot embedding buffer, which will be used for producing the one-hot embeddings efficiently
        '''
        onehot_buffer = torch.FloatTensor(self.batch_size, self.output_size)
        onehot_buffer = onehot_buffer.to(self.device)
        return onehot_buffer

    def onehot_encode(self, input):
        """
        Returns a one-hot vector corresponding to the input
        Args:
            input (B,): torch.LongTensor of item indices
            buffer (B,output_size): buffer that stores the one-hot vector
        Returns:
            one_hot (B,C): torch.FloatTensor of one-hot vectors
        """
        self.onehot_buffer.zero_()
        index = input.view(-1, 1)
        one_hot = self.onehot_buffer.scatter_(1, index, 1)
        return one_hot

    def embedding_dropout(self, input):
        # differs: `torch.Tensor(input.size(0), 1)` (sizes given to the legacy constructor are refused here,
        # docs/pytorch.md): torch.empty
        p_drop = torch.empty(input.size(0), 1).fill_(1 - self.dropout_input)
        mask = torch.bernoulli(p_drop).expand_as(input) / (1 - self.dropout_input)
        mask = mask.to(self.device)
        input = input * mask
        return input

    def init_hidden(self):
        '''
        Initialize the hidden state of the GRU
        '''
        try:
            h0 = torch.zeros(self.num_layers, self.batch_size, self.hidden_size).to(self.device)
        except:  # noqa: E722 (the source's bare except)
            self.device = 'cpu'
            h0 = torch.zeros(self.num_layers, self.batch_size, self.hidden_size).to(self.device)
        return h0


class LossFunction(nn.Module):
    def __init__(self, loss_type='TOP1', use_cuda=False):
        """ An abstract loss function that can supports custom loss functions compatible with PyTorch."""
        super(LossFunction, self).__init__()
        self.loss_type = loss_type
        self.use_cuda = use_cuda
        if loss_type == 'CrossEntropy':
            self._loss_fn = SampledCrossEntropyLoss(use_cuda)
        elif loss_type == 'TOP1':
            self._loss_fn = TOP1Loss()
        elif loss_type == 'BPR':
            self._loss_fn = BPRLoss()
        elif loss_type == 'TOP1-max':
            self._loss_fn = TOP1_max()
        elif loss_type == 'BPR-max':
            self._loss_fn = BPR_max()
        else:
            raise NotImplementedError

    def forward(self, logit):
        return self._loss_fn(logit)


class SampledCrossEntropyLoss(nn.Module):
    """ CrossEntropyLoss with n_classes = batch_size = the number of samples in the session-parallel mini-batch """
    def __init__(self, use_cuda):
        """
        Args:
             use_cuda (bool): whether to use cuda or not
        """
        super(SampledCrossEntropyLoss, self).__init__()
        self.xe_loss = nn.CrossEntropyLoss()
        self.use_cuda = use_cuda

    def forward(self, logit):
        batch_size = logit.size(1)
        target = Variable(torch.arange(batch_size).long())
        if self.use_cuda:
            target = target.cuda()

        return self.xe_loss(logit, target)


class BPRLoss(nn.Module):
    def __init__(self):
        super(BPRLoss, self).__init__()

    def forward(self, logit):
        """
        Args:
            logit (BxB): Variable that stores the logits for the items in the mini-batch
                         The first dimension corresponds to the batches, and the second
                         dimension corresponds to sampled number of items to evaluate
        """
        # differences between the item scores
        diff = logit.diag().view(-1, 1).expand_as(logit) - logit
        # final loss
        loss = -torch.mean(F.logsigmoid(diff))
        return loss


class BPR_max(nn.Module):
    def __init__(self):
        super(BPR_max, self).__init__()
    def forward(self, logit):
        logit_softmax = F.softmax(logit, dim=1)
        diff = logit.diag().view(-1, 1).expand_as(logit) - logit
        loss = -torch.log(torch.mean(logit_softmax * torch.sigmoid(diff)))
        return loss


class TOP1Loss(nn.Module):
    def __init__(self):
        super(TOP1Loss, self).__init__()
    def forward(self, logit):
        """
        Args:
            logit (BxB): Variable that stores the logits for the items in the mini-batch
                         The first dimension corresponds to the batches, and the second
                         dimension corresponds to sampled number of items to evaluate
        """
        diff = -(logit.diag().view(-1, 1).expand_as(logit) - logit)
        loss = torch.sigmoid(diff).mean() + torch.sigmoid(logit ** 2).mean()
        return loss


class TOP1_max(nn.Module):
    def __init__(self):
        super(TOP1_max, self).__init__()

    def forward(self, logit):
        logit_softmax = F.softmax(logit, dim=1)
        diff = -(logit.diag().view(-1, 1).expand_as(logit) - logit)
        loss = torch.mean(logit_softmax * (torch.sigmoid(diff) + torch.sigmoid(logit ** 2)))
        return loss


class _Frame:
    """The two things read of the DataFrame: `df.item_idx.values` and `len(df)`."""

    def __init__(self, item_idx):
        self.item_idx = types.SimpleNamespace(values=item_idx)

    def __len__(self):
        return len(self.item_idx.values)


class SessionDataset(object):
    """differs: lib/dataset.py's `Dataset` reads the clicks with pandas (not installed). This stand-in takes the rows
    (session, item, time) and computes what `DataLoader` reads as the source's pandas calls do: item_idx by first
    appearance (`df[item_key].unique()`), rows sorted by (session, time), `click_offsets` from the cumulative session
    sizes (`groupby(session_key).size().cumsum()`), `session_idx_arr = np.arange(nunique)`."""

    def __init__(self, rows, itemmap=None):
        rows = np.asarray(rows, dtype=np.float64)
        items = rows[:, 1].astype(np.int64)
        if itemmap is None:
            item_ids = list(dict.fromkeys(items.tolist()))
            itemmap = {item: idx for idx, item in enumerate(item_ids)}
        self.itemmap = itemmap
        order = np.lexsort((rows[:, 2], rows[:, 0]))
        sessions = rows[order, 0]
        item_idx = np.array([itemmap[i] for i in items[order]])
        self.df = _Frame(item_idx)
        _, sizes = np.unique(sessions, return_counts=True)
        offsets = np.zeros(len(sizes) + 1, dtype=np.int32)
        offsets[1:] = np.cumsum(sizes)
        self.click_offsets = offsets
        self.session_idx_arr = np.arange(len(sizes))


class DataLoader():
    def __init__(self, dataset, batch_size=50):
        """
        A class for creating session-parallel mini-batches.

        Args:
             dataset (SessionDataset): the session dataset to generate the batches from
             batch_size (int): size of the batch
        """
        self.dataset = dataset
        self.batch_size = batch_size

    def __iter__(self):
        """ Returns the iterator for producing session-parallel training mini-batches.

        Yields:
            input (B,): torch.FloatTensor. Item indices that will be encoded as one-hot vectors later.
            target (B,): a Variable that stores the target item indices
            masks: Numpy array indicating the positions of the sessions to be terminated
        """
        # initializations
        df = self.dataset.df
        click_offsets = self.dataset.click_offsets
        session_idx_arr = self.dataset.session_idx_arr

        iters = np.arange(self.batch_size)
        maxiter = iters.max()
        start = click_offsets[session_idx_arr[iters]]
        end = click_offsets[session_idx_arr[iters] + 1]
        mask = []  # indicator for the sessions to be terminated
        finished = False

        while not finished:
            minlen = (end - start).min()
            # Item indices(for embedding) for clicks where the first sessions start
            idx_target = df.item_idx.values[start]

            for i in range(minlen - 1):
                # Build inputs & targets
                idx_input = idx_target
                idx_target = df.item_idx.values[start + i + 1]
                input = torch.LongTensor(idx_input)
                target = torch.LongTensor(idx_target)
                yield input, target, mask

            # click indices where a particular session meets second-to-last element
            start = start + (minlen - 1)
            # see if how many sessions should terminate
            mask = np.arange(len(iters))[(end - start) <= 1]
            for idx in mask:
                maxiter += 1
                if maxiter >= len(click_offsets) - 1:
                    finished = True
                    break
                # update the next starting/ending point
                iters[idx] = maxiter
                start[idx] = click_offsets[session_idx_arr[maxiter]]
                end[idx] = click_offsets[session_idx_arr[maxiter] + 1]


def get_recall(indices, targets): #recall --> wether next item in session is within top K=20 recommended items or not
    """
    Calculates the recall score for the given predictions and targets
    Args:
        indices (Bxk): torch.LongTensor. top-k indices predicted by the model.
        targets (B): torch.LongTensor. actual target indices.
    Returns:
        recall (float): the recall score
    """
    targets = targets.view(-1, 1).expand_as(indices)
    hits = (targets == indices).nonzero()
    if len(hits) == 0:
        return 0
    n_hits = (targets == indices).nonzero()[:, :-1].size(0)
    recall = float(n_hits) / targets.size(0)
    return recall


def get_mrr(indices, targets): #Mean Receiprocal Rank --> Average of rank of next item in the session.
    """
    Calculates the MRR score for the given predictions and targets
    Args:
        indices (Bxk): torch.LongTensor. top-k indices predicted by the model.
        targets (B): torch.LongTensor. actual target indices.
    Returns:
        mrr (float): the mrr score
    """
    tmp = targets.view(-1, 1)
    targets = tmp.expand_as(indices)
    hits = (targets == indices).nonzero()
    ranks = hits[:, -1] + 1
    ranks = ranks.float()
    rranks = torch.reciprocal(ranks)
    mrr = torch.sum(rranks).data / targets.size(0)
    return mrr


def evaluate(indices, targets, k=20):
    """
    Evaluates the model using Recall@K, MRR@K scores.

    Args:
        logits (B,C): torch.LongTensor. The predicted logit for the next items.
        targets (B): torch.LongTensor. actual target indices.

    Returns:
        recall (float): the recall score
        mrr (float): the mrr score
    """
    _, indices = torch.topk(indices, k, -1)
    recall = get_recall(indices, targets)
    mrr = get_mrr(indices, targets)
    return recall, mrr


class Optimizer:
    def __init__(self, params, optimizer_type='Adagrad', lr=.05,
                 momentum=0, weight_decay=0, eps=1e-6):
        '''
        An abstract optimizer class for handling various kinds of optimizers.
        You can specify the optimizer type and related parameters as you want.
        Usage is exactly the same as an instance of torch.optim

        Args:
            params: torch.nn.Parameter. The NN parameters to optimize
            optimizer_type: type of the optimizer to use
            lr: learning rate
            momentum: momentum, if needed
            weight_decay: weight decay, if needed. Equivalent to L2 regulariztion.
            eps: eps parameter, if needed.
        '''
        if optimizer_type == 'RMSProp':
            self.optimizer = optim.RMSprop(params, lr=lr, eps=eps, weight_decay=weight_decay, momentum=momentum)
        elif optimizer_type == 'Adagrad':
            self.optimizer = optim.Adagrad(params, lr=lr, weight_decay=weight_decay)
        elif optimizer_type == 'Adadelta':
            self.optimizer = optim.Adadelta(params, lr=lr, eps=eps, weight_decay=weight_decay)
        elif optimizer_type == 'Adam':
            self.optimizer = optim.Adam(params, lr=lr, eps=eps, weight_decay=weight_decay)
        elif optimizer_type == 'SparseAdam':
            self.optimizer = optim.SparseAdam(params, lr=lr, eps=eps)
        elif optimizer_type == 'SGD':
            self.optimizer = optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
        else:
            raise NotImplementedError

    def zero_grad(self):
        self.optimizer.zero_grad()

    def step(self):
        self.optimizer.step()


class Evaluation(object):
    def __init__(self, model, loss_func, use_cuda, k=20):
        self.model = model
        self.loss_func = loss_func
        self.topk = k
        self.device = torch.device('cuda' if use_cuda else 'cpu')

    def eval(self, eval_data, batch_size):
        self.model.eval()
        losses = []
        recalls = []
        mrrs = []
        dataloader = lib.DataLoader(eval_data, batch_size)
        with torch.no_grad():
            hidden = self.model.init_hidden()
            for ii, (input, target, mask) in tqdm(enumerate(dataloader),  # (wrapped to 120 columns here)
                                                  total=len(dataloader.dataset.df) // dataloader.batch_size,
                                                  miniters = 1000):
            #for input, target, mask in dataloader:
                input = input.to(self.device)
                target = target.to(self.device)
                logit, hidden = self.model(input, hidden)
                logit_sampled = logit[:, target.view(-1)]
                loss = self.loss_func(logit_sampled)
                recall, mrr = lib.evaluate(logit, target, k=self.topk)

                # torch.Tensor.item() to get a Python number from a tensor containing a single value
                losses.append(loss.item())
                recalls.append(recall)
                mrrs.append(mrr)
        mean_losses = np.mean(losses)
        mean_recall = np.mean(recalls)
        mean_mrr = np.mean(mrrs)

        return mean_losses, mean_recall, mean_mrr


class Trainer(object):
    def __init__(self, model, train_data, eval_data, optim, use_cuda, loss_func, batch_size, args):
        self.model = model
        self.train_data = train_data
        self.eval_data = eval_data
        self.optim = optim
        self.loss_func = loss_func
        self.evaluation = lib.Evaluation(self.model, self.loss_func, use_cuda, k = args.k_eval)
        self.device = torch.device('cuda' if use_cuda else 'cpu')
        self.batch_size = batch_size
        self.args = args

    def train(self, start_epoch, end_epoch, start_time=None):
        if start_time is None:
            self.start_time = time.time()
        else:
            self.start_time = start_time

        for epoch in range(start_epoch, end_epoch + 1):
            st = time.time()
            print('Start Epoch #', epoch)
            train_loss = self.train_epoch(epoch)
            loss, recall, mrr = self.evaluation.eval(self.eval_data, self.batch_size)


            print("Epoch: {}, train loss: {:.4f}, loss: {:.4f}, recall: {:.4f}, mrr: {:.4f}, time: {}".format(
                epoch, train_loss, loss, recall, mrr, time.time() - st))  # (wrapped to 120 columns here)
            checkpoint = {
                'model': self.model,
                'args': self.args,
                'epoch': epoch,
                'optim': self.optim,
                'loss': loss,
                'recall': recall,
                'mrr': mrr
            }
            model_name = os.path.join(self.args.checkpoint_dir, "model_{0:05d}.pt".format(epoch))
            torch.save(checkpoint, model_name)
            print("Save model as %s" % model_name)


    def train_epoch(self, epoch):
        self.model.train()
        losses = []

        def reset_hidden(hidden, mask):
            """Helper function that resets hidden state when some sessions terminate"""
            if len(mask) != 0:
                hidden[:, mask, :] = 0
            return hidden

        hidden = self.model.init_hidden()
        dataloader = lib.DataLoader(self.train_data, self.batch_size)
        #for ii,(data,label) in tqdm(enumerate(train_dataloader),total=len(train_data)):
        for ii, (input, target, mask) in tqdm(enumerate(dataloader),  # (wrapped to 120 columns here)
                                              total=len(dataloader.dataset.df) // dataloader.batch_size,
                                              miniters = 1000):
            input = input.to(self.device)
            target = target.to(self.device)
            self.optim.zero_grad()
            hidden = reset_hidden(hidden, mask).detach()
            logit, hidden = self.model(input, hidden)
            # output sampling
            logit_sampled = logit[:, target.view(-1)]
            loss = self.loss_func(logit_sampled)
            losses.append(loss.item())
            loss.backward()
            self.optim.step()

        mean_losses = np.mean(losses)
        return mean_losses


class CheckpointingTrainer(Trainer):
    # differs: `torch.save(checkpoint, ...)` of a dict holding the module, the optimizer and an argparse Namespace:
    # a module (or any object PyTorch would pickle) inside a checkpoint is a TypeError here (docs/pytorch.md). The one
    # change: their state dicts (and the Namespace's dict) are saved.
    def train(self, start_epoch, end_epoch, start_time=None):
        if start_time is None:
            self.start_time = time.time()
        else:
            self.start_time = start_time

        for epoch in range(start_epoch, end_epoch + 1):
            st = time.time()
            print('Start Epoch #', epoch)
            train_loss = self.train_epoch(epoch)
            loss, recall, mrr = self.evaluation.eval(self.eval_data, self.batch_size)


            print("Epoch: {}, train loss: {:.4f}, loss: {:.4f}, recall: {:.4f}, mrr: {:.4f}, time: {}".format(
                epoch, train_loss, loss, recall, mrr, time.time() - st))  # (wrapped to 120 columns here)
            checkpoint = {
                'model': self.model.state_dict(),
                'args': vars(self.args),
                'epoch': epoch,
                'optim': self.optim.optimizer.state_dict(),
                'loss': loss,
                'recall': recall,
                'mrr': mrr
            }
            model_name = os.path.join(self.args.checkpoint_dir, "model_{0:05d}.pt".format(epoch))
            torch.save(checkpoint, model_name)
            print("Save model as %s" % model_name)


# differs: the repo's package `lib` (lib/__init__.py imports these names) is this namespace
lib = types.SimpleNamespace(DataLoader=DataLoader, Evaluation=Evaluation, evaluate=evaluate)


def np_gru4rec_step(p, items, h, n_items, act="tanh"):
    """One GRU4REC step in numpy: one-hot items, the GRU cell, h2o, the final activation."""
    x = np.eye(n_items)[items]
    h = np_gru_cell(x, h, p["gru.weight_ih_l0"], p["gru.weight_hh_l0"], p["gru.bias_ih_l0"], p["gru.bias_hh_l0"])
    z = h @ p["h2o.weight"].T + p["h2o.bias"]
    if act == "tanh":
        out = np.tanh(z)
    elif act == "relu":
        out = np.maximum(z, 0)
    elif act == "softmax":
        out = np_softmax(z, axis=1)
    elif act == "softmax_logit":
        out = np.log(np_softmax(z, axis=1))
    elif act.startswith("elu-"):
        a = float(act.split("-")[1])
        out = np.where(z > 0, z, a * np.expm1(np.minimum(z, 0)))
    else:
        out = np.where(z > 0, z, float(act.split("-")[1]) * z)
    return out, h


NP_LOSSES = {
    "CrossEntropy": lambda L: -np.mean(np.log(np.diag(np_softmax(L, axis=1)))),
    "BPR": lambda L: -np.mean(np_log_sigmoid(np.diag(L)[:, None] - L)),
    "BPR-max": lambda L: -np.log(np.mean(np_softmax(L, axis=1) * np_sigmoid(np.diag(L)[:, None] - L))),
    "TOP1": lambda L: np.mean(np_sigmoid(L - np.diag(L)[:, None])) + np.mean(np_sigmoid(L ** 2)),
    "TOP1-max": lambda L: np.mean(np_softmax(L, axis=1) * (np_sigmoid(L - np.diag(L)[:, None]) + np_sigmoid(L ** 2))),
}


def session_rows(lengths, first_item=0, items=None):
    """Made-up clicks (session, item, time): session s has lengths[s] clicks of consecutive item ids."""
    rows, item = [], first_item
    for s, n in enumerate(lengths):
        for t in range(n):
            rows.append((100 + s, items[s][t] if items else item, 1000.0 * s + t))
            item += 1 if not items else 0
    return rows


def test_gru4rec_dataloader_batches_sessions_in_parallel_and_repeats_the_mask():
    # three sessions, 2, 4 and 4 clicks, items a0 a1 | b0..b3 | c0..c3 = 0 1 | 2..5 | 6..9; the rows come shuffled
    rows = session_rows([2, 4, 4])
    rows = [rows[i] for i in np.random.default_rng(0).permutation(len(rows))]
    data = SessionDataset(rows)
    a0, a1, b0, b1, b2, b3, c0, c1, c2, c3 = (data.itemmap[i] for i in range(10))
    assert list(data.click_offsets) == [0, 2, 6, 10]
    batches = [(arr(i).astype(int).tolist(), arr(t).astype(int).tolist(), list(m)) for i, t, m in DataLoader(data, 2)]
    # lane 0 runs a0 a1, then c0.. (its new session); lane 1 runs b0 b1 b2 b3; the loop ends when lane 1's session
    # ends with none left, so c2 -> c3 is never yielded; the mask [0] comes with both of c's batches
    assert batches == [([a0, b0], [a1, b1], []),
                       ([c0, b1], [c1, b2], [0]),
                       ([c1, b2], [c2, b3], [0])]


def test_gru4rec_session_dataset_item_map_follows_first_appearance():
    rows = [(7, 50, 2.0), (7, 40, 1.0), (3, 40, 5.0), (3, 60, 6.0)]
    data = SessionDataset(rows)
    assert data.itemmap == {50: 0, 40: 1, 60: 2}
    # sorted by session then time: session 3 (40, 60), session 7 (40, 50)
    assert data.df.item_idx.values.tolist() == [1, 2, 1, 0] and len(data.df) == 4
    assert data.click_offsets.tolist() == [0, 2, 4]


@pytest.mark.parametrize("act", ["tanh", "relu", "softmax", "softmax_logit", "elu-0.5", "leaky-0.1"])
def test_gru4rec_forward_two_steps_against_numpy(act):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = GRU4REC(7, 5, 7, final_act=act, dropout_hidden=0, batch_size=3)
        out0, h = model(torch.LongTensor([1, 6, 1]), model.init_hidden())
        out1, h = model(torch.LongTensor([0, 2, 6]), h)
    if act.startswith("softmax"):  # nn.Softmax() / nn.LogSoftmax() without dim: PyTorch's warning, dim 1 for 2-d
        assert any("Implicit dimension choice" in str(w.message) for w in caught)
    p = params_of(model)
    e0, g = np_gru4rec_step(p, [1, 6, 1], np.zeros((3, 5)), 7, act)
    e1, g = np_gru4rec_step(p, [0, 2, 6], g, 7, act)
    np.testing.assert_allclose(arr(out0), e0, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(arr(out1), e1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(arr(h)[0], g, rtol=1e-5, atol=1e-6)
    assert out1.shape == (3, 7) and h.shape == (1, 3, 5)
    np.testing.assert_array_equal(arr(model.onehot_buffer), np.eye(7)[[0, 2, 6]])  # the buffer is the last one-hot


def test_gru4rec_gru_dropout_on_one_layer_warns_as_pytorch():
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        GRU4REC(5, 3, 5, batch_size=2)  # dropout_hidden=.5 by default, one layer


def test_gru4rec_float32_buffer_into_a_float64_gru_is_an_error(float64):
    # torch.FloatTensor(...) is float32 whatever the default dtype, as PyTorch's; its GRU refuses it too
    model = GRU4REC(5, 3, 5, dropout_hidden=0, batch_size=2)
    assert model.onehot_buffer.dtype == torch.float32 and model.h2o.weight.dtype == torch.float64
    with pytest.raises(TypeError, match="GRU: expected input of dtype float64"):
        model(torch.LongTensor([0, 1]), model.init_hidden())


@pytest.mark.parametrize("loss_type", list(NP_LOSSES))
def test_gru4rec_losses_against_numpy_with_gradients(loss_type, float64):
    L = np.random.default_rng(3).normal(0, 1.5, (4, 4))
    logit = torch.tensor(L, requires_grad=True)
    loss = LossFunction(loss_type)(logit)
    np.testing.assert_allclose(float(loss), NP_LOSSES[loss_type](L), rtol=1e-12)
    loss.backward()
    idx = [(i, j) for i in range(4) for j in range(4)]
    np.testing.assert_allclose(logit.grad.ravel(), central(NP_LOSSES[loss_type], L, idx), rtol=1e-6, atol=1e-9)
    with pytest.raises(NotImplementedError):
        LossFunction('WARP')


@pytest.mark.parametrize("loss_type,embedding_dim", [("TOP1", -1), ("BPR-max", -1), ("CrossEntropy", 4)])
def test_gru4rec_sampled_loss_gradients_through_two_steps(loss_type, embedding_dim, float64):
    model = GRU4REC(6, 4, 6, final_act='tanh', dropout_hidden=0, batch_size=3, embedding_dim=embedding_dim)
    model.onehot_buffer = torch.zeros(3, 6)  # float64 here, so the float64 GRU takes it (the source's is float32)
    steps = [([1, 4, 4], [2, 0, 5]), ([2, 0, 5], [3, 3, 1])]
    loss_fn = LossFunction(loss_type)

    def np_input(p, items):
        if embedding_dim == -1:
            return np.eye(6)[items]
        return p["look_up.weight"][items]

    def loss_np(p):
        h, total = np.zeros((3, 4)), 0.0
        for items, target in steps:
            h = np_gru_cell(np_input(p, items), h, p["gru.weight_ih_l0"], p["gru.weight_hh_l0"], p["gru.bias_ih_l0"],
                            p["gru.bias_hh_l0"])
            logit = np.tanh(h @ p["h2o.weight"].T + p["h2o.bias"])
            total += NP_LOSSES[loss_type](logit[:, target])
        return total

    def loss_lib():
        hidden, total = model.init_hidden(), 0
        for items, target in steps:
            logit, hidden = model(torch.LongTensor(items), hidden)
            total = total + loss_fn(logit[:, torch.LongTensor(target).view(-1)])
        return total

    names = ["gru.weight_hh_l0", "gru.weight_ih_l0", "h2o.weight", "gru.bias_hh_l0"]
    check_grads(model, names + (["look_up.weight"] if embedding_dim != -1 else []), loss_np, loss_lib)


def test_gru4rec_embedding_dropout_as_written_and_its_row_masks():
    model = GRU4REC(6, 4, 6, dropout_hidden=0, dropout_input=0.25, batch_size=400)
    with pytest.raises(TypeError, match="takes data, not sizes"):
        torch.Tensor(400, 1).fill_(0.75)  # the source's line, refused here (docs/pytorch.md)
    x = model.onehot_encode(torch.LongTensor(np.arange(400) % 6))
    dropped = arr(model.embedding_dropout(x))
    ones = np.eye(6)[np.arange(400) % 6]
    kept = np.all(np.isclose(dropped, ones / 0.75, rtol=1e-6), axis=1)  # float32 1 / 0.75
    gone = np.all(dropped == 0, axis=1)
    assert np.all(kept | gone)  # a whole row (one session's input) is kept, scaled by 1 / (1 - p), or dropped
    assert 0.65 < kept.mean() < 0.85


def test_gru4rec_metrics_against_numpy():
    scores = np.array([[0.1, 0.9, 0.3, 0.5, 0.0],
                       [0.8, 0.2, 0.7, 0.1, 0.6],
                       [0.3, 0.2, 0.1, 0.9, 0.4],
                       [0.5, 0.4, 0.3, 0.2, 0.1]])
    targets = np.array([3, 4, 0, 4])
    recall, mrr = evaluate(torch.tensor(scores), torch.LongTensor(targets), k=3)
    top3 = np.argsort(-scores, axis=1)[:, :3]
    ranks = [list(top3[b]).index(t) + 1 if t in top3[b] else None for b, t in enumerate(targets)]
    assert ranks == [2, 3, 3, None]
    assert recall == pytest.approx(3 / 4)
    assert float(mrr) == pytest.approx((1 / 2 + 1 / 3 + 1 / 3) / 4)
    assert isinstance(mrr, (np.ndarray, np.generic))  # `.data` is the numpy array here (PyTorch: a 0-d tensor)
    assert get_recall(torch.LongTensor([[0, 1]]), torch.LongTensor([4])) == 0
    assert float(get_mrr(torch.LongTensor([[0, 1]]), torch.LongTensor([4]))) == 0.0


def test_gru4rec_optimizer_wraps_torch_optim():
    w = nn.Parameter(torch.tensor([1.0, -2.0], dtype=torch.float64))
    opt = Optimizer([w])  # Adagrad, lr .05
    for _ in range(2):
        opt.zero_grad()
        (w ** 2).sum().backward()
        opt.step()
    # numpy Adagrad: G += g^2, w -= lr g / (sqrt(G) + 1e-10)
    v, G = np.array([1.0, -2.0]), np.zeros(2)
    for _ in range(2):
        g = 2 * v
        G += g * g
        v = v - 0.05 * g / (np.sqrt(G) + 1e-10)
    np.testing.assert_allclose(arr(w), v, rtol=1e-12)
    assert isinstance(Optimizer([w], 'RMSProp', momentum=0.9).optimizer, optim.RMSprop)
    with pytest.raises(NotImplementedError):
        Optimizer([w], 'LBFGS')
    with pytest.raises(AttributeError, match="SparseAdam"):
        Optimizer([w], 'SparseAdam')  # not here (no sparse gradients); PyTorch's refuses dense ones at step


def pattern_sessions(n_sessions, n_items, seed):
    """Made-up sessions whose clicks walk the catalogue: item i is followed by item (i + 1) mod n."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(n_sessions):
        first, n = rng.integers(n_items), rng.integers(3, 7)
        rows += [(s, (first + t) % n_items, float(t)) for t in range(n)]
    return rows


def test_gru4rec_training_lowers_the_loss_and_raises_recall(tmp_path, capsys):
    n_items = 8
    train = SessionDataset(pattern_sessions(60, n_items, 1), itemmap={i: i for i in range(n_items)})
    valid = SessionDataset(pattern_sessions(20, n_items, 2), itemmap=train.itemmap)
    model = GRU4REC(n_items, 16, n_items, final_act='tanh', dropout_hidden=0, batch_size=4)
    loss_func = LossFunction('BPR')
    args = argparse.Namespace(k_eval=2, checkpoint_dir=str(tmp_path))
    trainer = CheckpointingTrainer(model, train, valid, Optimizer(model.parameters(), 'Adagrad', lr=0.1), False,
                                   loss_func, 4, args)
    loss0, recall0, mrr0 = trainer.evaluation.eval(valid, 4)
    trainer.train(1, 4)
    loss1, recall1, mrr1 = trainer.evaluation.eval(valid, 4)
    assert loss1 < 0.7 * loss0
    assert recall1 > 0.9 > 0.3 > recall0 and mrr1 > 0.8 > 0.3 > mrr0
    out = capsys.readouterr().out
    assert out.count("Start Epoch #") == 4 and "Save model as" in out
    saved = torch.load(os.path.join(str(tmp_path), "model_00004.pt"))
    assert saved['epoch'] == 4 and saved['args']['k_eval'] == 2 and saved['recall'] == pytest.approx(recall1)
    fresh = GRU4REC(n_items, 16, n_items, final_act='tanh', dropout_hidden=0, batch_size=4)
    fresh.load_state_dict(saved['model'])
    np.testing.assert_array_equal(arr(fresh.h2o.weight), arr(model.h2o.weight))


def test_gru4rec_trainer_as_written_refuses_the_module_in_its_checkpoint(tmp_path):
    data = SessionDataset(pattern_sessions(6, 5, 3), itemmap={i: i for i in range(5)})
    model = GRU4REC(5, 4, 5, dropout_hidden=0, batch_size=2)
    args = argparse.Namespace(k_eval=2, checkpoint_dir=str(tmp_path))
    trainer = Trainer(model, data, data, Optimizer(model.parameters()), False, LossFunction('BPR'), 2, args)
    with pytest.raises(TypeError, match="state_dict"):
        quietly(trainer.train, 1, 1)


def test_gru4rec_evaluation_against_numpy_with_the_state_never_reset():
    rows = session_rows([2, 4, 4])  # the three sessions of the loader test: batches a0 b0 | c0 b1 | c1 b2
    data = SessionDataset(rows, itemmap={i: i for i in range(10)})
    model = GRU4REC(10, 4, 10, dropout_hidden=0, batch_size=2)
    loss, recall, mrr = Evaluation(model, LossFunction('TOP1'), False, k=3).eval(data, 2)
    p, h = params_of(model), np.zeros((2, 4))
    losses, recalls, mrrs = [], [], []
    for items, target in [([0, 2], [1, 3]), ([6, 3], [7, 4]), ([7, 4], [8, 5])]:
        logit, h = np_gru4rec_step(p, items, h, 10)  # lane 0's state runs on from session a into c: no reset
        losses.append(NP_LOSSES['TOP1'](logit[:, target]))
        top = np.argsort(-logit, axis=1)[:, :3]
        ranks = [list(top[b]).index(t) + 1 for b, t in enumerate(target) if t in top[b]]
        recalls.append(len(ranks) / 2)
        mrrs.append(sum(1 / r for r in ranks) / 2)
    assert loss == pytest.approx(np.mean(losses), rel=1e-5)
    assert recall == pytest.approx(np.mean(recalls)) and float(mrr) == pytest.approx(np.mean(mrrs), rel=1e-5)
    assert not model.training


def test_gru4rec_reset_hidden_zeroes_ended_lanes_after_backward():
    # the trainer's in-place `hidden[:, mask, :] = 0` on the GRU's output of the previous step, after backward
    model = GRU4REC(5, 3, 5, dropout_hidden=0, batch_size=3)
    logit, hidden = model(torch.LongTensor([0, 1, 2]), model.init_hidden())
    LossFunction('TOP1')(logit[:, torch.LongTensor([1, 2, 3])]).backward()
    before = arr(hidden)
    hidden[:, np.array([0, 2]), :] = 0
    hidden = hidden.detach()
    np.testing.assert_array_equal(arr(hidden)[0, [0, 2]], 0)
    np.testing.assert_array_equal(arr(hidden)[0, 1], before[0, 1])
    assert not hidden.requires_grad


# ==== 2. stefanonardo/pytorch-esn: torchesn/nn/reservoir.py, echo_state_network.py, utils/utilities.py, examples ====

def apply_permutation(tensor, permutation, dim=1):
    """Apply a permutation to reorder tensor elements along a specified dimension.

    Args:
        tensor (Tensor): Input tensor to permute
        permutation (Tensor): Permutation indices
        dim (int): Dimension along which to apply permutation

    Returns:
        Tensor: Permuted tensor
    """
    return tensor.index_select(dim, permutation)


class Reservoir(nn.Module):
    """Reservoir module implementing the recurrent dynamics for Echo State Networks. (The source's long docstrings
    are shortened here; the code is as written.)"""

    def __init__(self, mode, input_size, hidden_size, num_layers, leaking_rate,
                 spectral_radius, w_ih_scale,
                 density, bias=True, batch_first=False):
        super(Reservoir, self).__init__()
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.leaking_rate = leaking_rate
        self.spectral_radius = spectral_radius
        self.w_ih_scale = w_ih_scale
        self.density = density
        self.bias = bias
        self.batch_first = batch_first

        self._all_weights = []
        for layer in range(num_layers):
            layer_input_size = input_size if layer == 0 else hidden_size

            # differs: `torch.Tensor(hidden_size, ...)` with sizes (refused here, docs/pytorch.md): torch.empty
            w_ih = nn.Parameter(torch.empty(hidden_size, layer_input_size))
            w_hh = nn.Parameter(torch.empty(hidden_size, hidden_size))
            b_ih = nn.Parameter(torch.empty(hidden_size))
            layer_params = (w_ih, w_hh, b_ih)

            param_names = ['weight_ih_l{}{}', 'weight_hh_l{}{}']
            if bias:
                param_names += ['bias_ih_l{}{}']
            param_names = [x.format(layer, '') for x in param_names]

            for name, param in zip(param_names, layer_params):
                setattr(self, name, param)
            self._all_weights.append(param_names)

        self.reset_parameters()

    def _apply(self, fn):
        ret = super(Reservoir, self)._apply(fn)
        return ret

    def reset_parameters(self):
        """Initialize reservoir weights according to ESN principles. (Docstring shortened.)"""
        # differs: `weight_dict = self.state_dict()`: its values are numpy copies here (docs/pytorch.md), which
        # nn.init refuses; torch.from_numpy makes each a tensor over that array, so the in-place writes stay in it
        weight_dict = {key: torch.from_numpy(value) for key, value in self.state_dict().items()}
        for key, value in weight_dict.items():
            if key == 'weight_ih_l0':
                # First layer input weights: uniform [-1,1] scaled by w_ih_scale
                nn.init.uniform_(value, -1, 1)
                value *= self.w_ih_scale[1:]  # Skip bias scale (index 0)
            elif re.fullmatch('weight_ih_l[^0]*', key):
                # Higher layer input weights: uniform [-1,1], no additional scaling
                nn.init.uniform_(value, -1, 1)
            elif re.fullmatch('bias_ih_l[0-9]*', key):
                # Bias weights: uniform [-1,1] scaled by bias scale factor
                nn.init.uniform_(value, -1, 1)
                value *= self.w_ih_scale[0]  # First element is bias scale
            elif re.fullmatch('weight_hh_l[0-9]*', key):
                # Recurrent weights: the core of reservoir dynamics
                # differs: `torch.Tensor(n * n)` (one int is data here, docs/pytorch.md): torch.empty
                w_hh = torch.empty(self.hidden_size * self.hidden_size)
                w_hh.uniform_(-1, 1)

                # Apply sparsity: randomly zero out connections
                if self.density < 1:
                    zero_weights = torch.randperm(
                        int(self.hidden_size * self.hidden_size))
                    zero_weights = zero_weights[
                                   :int(
                                       self.hidden_size * self.hidden_size * (
                                                   1 - self.density))]
                    w_hh[zero_weights] = 0

                # Reshape and scale to desired spectral radius
                w_hh = w_hh.view(self.hidden_size, self.hidden_size)
                # differs: `torch.abs(torch.linalg.eigvals(w_hh))` (no complex dtype, so no eigvals here,
                # docs/pytorch.md): numpy's eigenvalues of the matrix
                abs_eigs = torch.from_numpy(np.abs(np.linalg.eigvals(w_hh.numpy())))
                # Scale largest eigenvalue to spectral_radius
                weight_dict[key] = w_hh * (self.spectral_radius / torch.max(abs_eigs))

        self.load_state_dict(weight_dict)

    def check_input(self, input, batch_sizes):
        expected_input_dim = 2 if batch_sizes is not None else 3
        if input.dim() != expected_input_dim:
            raise RuntimeError(
                'input must have {} dimensions, got {}'.format(
                    expected_input_dim, input.dim()))
        if self.input_size != input.size(-1):
            raise RuntimeError(
                'input.size(-1) must be equal to input_size. Expected {}, got {}'.format(
                    self.input_size, input.size(-1)))

    def get_expected_hidden_size(self, input, batch_sizes):
        if batch_sizes is not None:
            mini_batch = batch_sizes[0]
            mini_batch = int(mini_batch)
        else:
            mini_batch = input.size(0) if self.batch_first else input.size(1)
        expected_hidden_size = (self.num_layers, mini_batch, self.hidden_size)
        return expected_hidden_size

    def check_hidden_size(self, hx, expected_hidden_size, msg='Expected hidden size {}, got {}'):
        if hx.size() != expected_hidden_size:
            raise RuntimeError(msg.format(expected_hidden_size, tuple(hx.size())))

    def check_forward_args(self, input, hidden, batch_sizes):
        self.check_input(input, batch_sizes)
        expected_hidden_size = self.get_expected_hidden_size(input, batch_sizes)

        self.check_hidden_size(hidden, expected_hidden_size)

    def permute_hidden(self, hx, permutation):
        if permutation is None:
            return hx
        return apply_permutation(hx, permutation)

    def forward(self, input, hx=None):
        # Handle both standard tensors and PackedSequence inputs
        is_packed = isinstance(input, PackedSequence)
        if is_packed:
            input, batch_sizes, sorted_indices, unsorted_indices = input
            max_batch_size = int(batch_sizes[0])
        else:
            batch_sizes = None
            max_batch_size = input.size(0) if self.batch_first else input.size(1)
            sorted_indices = None
            unsorted_indices = None

        # Initialize hidden state if not provided
        if hx is None:
            hx = input.new_zeros(self.num_layers, max_batch_size,
                                 self.hidden_size, requires_grad=False)
        else:
            # Each batch of the hidden state should match the input sequence that
            # the user believes he/she is passing in.
            hx = self.permute_hidden(hx, sorted_indices)

        flat_weight = None  # Not used in current implementation

        # Validate input arguments
        self.check_forward_args(input, hx, batch_sizes)

        # Create the appropriate computation function
        func = AutogradReservoir(
            self.mode,
            self.input_size,
            self.hidden_size,
            num_layers=self.num_layers,
            batch_first=self.batch_first,
            train=self.training,
            variable_length=is_packed,
            flat_weight=flat_weight,
            leaking_rate=self.leaking_rate
        )

        # Execute reservoir computation
        output, hidden = func(input, self.all_weights, hx, batch_sizes)

        # Repack output if input was PackedSequence
        if is_packed:
            output = PackedSequence(output, batch_sizes, sorted_indices, unsorted_indices)

        # Restore original batch ordering for hidden state
        return output, self.permute_hidden(hidden, unsorted_indices)

    def extra_repr(self):
        s = '({input_size}, {hidden_size}'
        if self.num_layers != 1:
            s += ', num_layers={num_layers}'
        if self.bias is not True:
            s += ', bias={bias}'
        if self.batch_first is not False:
            s += ', batch_first={batch_first}'
        s += ')'
        return s.format(**self.__dict__)

    def __setstate__(self, d):
        super(Reservoir, self).__setstate__(d)
        self.__dict__.setdefault('_data_ptrs', [])
        if 'all_weights' in d:
            self._all_weights = d['all_weights']
        if isinstance(self._all_weights[0][0], str):
            return
        num_layers = self.num_layers
        self._all_weights = []
        for layer in range(num_layers):
            weights = ['weight_ih_l{}{}', 'weight_hh_l{}{}', 'bias_ih_l{}{}']
            weights = [x.format(layer) for x in weights]
            if self.bias:
                self._all_weights += [weights]
            else:
                self._all_weights += [weights[:2]]

    @property
    def all_weights(self):
        return [[getattr(self, weight) for weight in weights] for weights in
                self._all_weights]


def AutogradReservoir(mode, input_size, hidden_size, num_layers=1,
                      batch_first=False, train=True,
                      batch_sizes=None, variable_length=False, flat_weight=None,
                      leaking_rate=1):
    """Factory function for creating reservoir computation graphs. (Docstring shortened.)"""
    if mode == 'RES_TANH':
        cell = ResTanhCell
    elif mode == 'RES_RELU':
        cell = ResReLUCell
    elif mode == 'RES_ID':
        cell = ResIdCell

    if variable_length:
        layer = (VariableRecurrent(cell, leaking_rate),)
    else:
        layer = (Recurrent(cell, leaking_rate),)

    func = StackedRNN(layer,
                      num_layers,
                      False,
                      train=train)

    def forward(input, weight, hidden, batch_sizes):
        if batch_first and batch_sizes is None:
            input = input.transpose(0, 1)

        nexth, output = func(input, hidden, weight, batch_sizes)

        if batch_first and not variable_length:
            output = output.transpose(0, 1)

        return output, nexth

    return forward


def Recurrent(inner, leaking_rate):
    """Create a recurrent computation function for fixed-length sequences. (Docstring shortened.)"""
    def forward(input, hidden, weight, batch_sizes):
        output = []
        steps = range(input.size(0))
        for i in steps:
            hidden = inner(input[i], hidden, leaking_rate, *weight)
            # hack to handle LSTM
            output.append(hidden[0] if isinstance(hidden, tuple) else hidden)

        output = torch.cat(output, 0).view(input.size(0), *output[0].size())

        return hidden, output

    return forward


def VariableRecurrent(inner, leaking_rate):
    """Create a recurrent computation function for variable-length sequences. (Docstring shortened.)"""
    def forward(input, hidden, weight, batch_sizes):
        output = []
        input_offset = 0
        last_batch_size = batch_sizes[0]
        hiddens = []
        flat_hidden = not isinstance(hidden, tuple)
        if flat_hidden:
            hidden = (hidden,)
        for batch_size in batch_sizes:
            step_input = input[input_offset:input_offset + batch_size]
            input_offset += batch_size

            dec = last_batch_size - batch_size
            if dec > 0:
                hiddens.append(tuple(h[-dec:] for h in hidden))
                hidden = tuple(h[:-dec] for h in hidden)
            last_batch_size = batch_size

            if flat_hidden:
                hidden = (inner(step_input, hidden[0], leaking_rate, *weight),)
            else:
                hidden = inner(step_input, hidden, leaking_rate, *weight)

            output.append(hidden[0])
        hiddens.append(hidden)
        hiddens.reverse()

        hidden = tuple(torch.cat(h, 0) for h in zip(*hiddens))
        assert hidden[0].size(0) == batch_sizes[0]
        if flat_hidden:
            hidden = hidden[0]
        output = torch.cat(output, 0)

        return hidden, output

    return forward


def StackedRNN(inners, num_layers, lstm=False, train=True):
    """Create a multi-layer recurrent computation function. (Docstring shortened.)"""
    num_directions = len(inners)
    total_layers = num_layers * num_directions

    def forward(input, hidden, weight, batch_sizes):
        assert (len(weight) == total_layers)
        next_hidden = []
        all_layers_output = []

        for i in range(num_layers):
            all_output = []
            for j, inner in enumerate(inners):
                l = i * num_directions + j  # noqa: E741 (the source's name)

                hy, output = inner(input, hidden[l], weight[l], batch_sizes)
                next_hidden.append(hy)
                all_output.append(output)

            input = torch.cat(all_output, input.dim() - 1)
            all_layers_output.append(input)

        all_layers_output = torch.cat(all_layers_output, -1)
        next_hidden = torch.cat(next_hidden, 0).view(
            total_layers, *next_hidden[0].size())

        return next_hidden, all_layers_output

    return forward


def ResTanhCell(input, hidden, leaking_rate, w_ih, w_hh, b_ih=None):
    """Computes: h(t) = (1-α)h(t-1) + α·tanh(W_ih·x(t) + W_hh·h(t-1) + b_ih)"""
    hy_ = torch.tanh(F.linear(input, w_ih, b_ih) + F.linear(hidden, w_hh))
    hy = (1 - leaking_rate) * hidden + leaking_rate * hy_
    return hy


def ResReLUCell(input, hidden, leaking_rate, w_ih, w_hh, b_ih=None):
    """Computes: h(t) = (1-α)h(t-1) + α·ReLU(W_ih·x(t) + W_hh·h(t-1) + b_ih)"""
    hy_ = F.relu(F.linear(input, w_ih, b_ih) + F.linear(hidden, w_hh))
    hy = (1 - leaking_rate) * hidden + leaking_rate * hy_
    return hy


def ResIdCell(input, hidden, leaking_rate, w_ih, w_hh, b_ih=None):
    """Computes: h(t) = (1-α)h(t-1) + α·(W_ih·x(t) + W_hh·h(t-1) + b_ih)"""
    hy_ = F.linear(input, w_ih, b_ih) + F.linear(hidden, w_hh)
    hy = (1 - leaking_rate) * hidden + leaking_rate * hy_
    return hy


class ESN(nn.Module):
    """Echo State Network (ESN) implementation for sequence modeling and time series prediction. (The source's
    long docstrings are shortened here; the code is as written.)"""

    def __init__(self, input_size, hidden_size, output_size, num_layers=1,
                 nonlinearity='tanh', batch_first=False, leaking_rate=1,
                 spectral_radius=0.9, w_ih_scale=1, lambda_reg=0, density=1,
                 w_io=False, readout_training='svd', output_steps='all'):
        super(ESN, self).__init__()

        self.input_size = input_size
        self.hidden_size = hidden_size
        self.output_size = output_size
        self.num_layers = num_layers
        if nonlinearity == 'tanh':
            mode = 'RES_TANH'
        elif nonlinearity == 'relu':
            mode = 'RES_RELU'
        elif nonlinearity == 'id':
            mode = 'RES_ID'
        else:
            raise ValueError("Unknown nonlinearity '{}'".format(nonlinearity))
        self.batch_first = batch_first
        self.leaking_rate = leaking_rate
        self.spectral_radius = spectral_radius
        if type(w_ih_scale) != torch.Tensor:
            self.w_ih_scale = torch.ones(input_size + 1)
            self.w_ih_scale *= w_ih_scale
        else:
            self.w_ih_scale = w_ih_scale

        self.lambda_reg = lambda_reg
        self.density = density
        self.w_io = w_io
        if readout_training in {'gd', 'svd', 'cholesky', 'inv'}:
            self.readout_training = readout_training
        else:
            raise ValueError("Unknown readout training algorithm '{}'".format(
                readout_training))

        self.reservoir = Reservoir(mode, input_size, hidden_size, num_layers,
                                   leaking_rate, spectral_radius,
                                   self.w_ih_scale, density,
                                   batch_first=batch_first)

        if w_io:
            self.readout = nn.Linear(input_size + hidden_size * num_layers,
                                     output_size)
        else:
            self.readout = nn.Linear(hidden_size * num_layers, output_size)
        if readout_training == 'offline':
            self.readout.weight.requires_grad = False

        if output_steps in {'all', 'mean', 'last'}:
            self.output_steps = output_steps
        else:
            raise ValueError("Unknown task '{}'".format(
                output_steps))

        self.XTX = None
        self.XTy = None
        self.X = None

    def forward(self, input, washout, h_0=None, target=None):
        with torch.no_grad():
            # Handle both regular tensors and packed sequences
            is_packed = isinstance(input, PackedSequence)

            # Forward through reservoir layers (fixed weights)
            output, hidden = self.reservoir(input, h_0)

            # Unpack if needed and get sequence lengths
            if is_packed:
                output, seq_lengths = pad_packed_sequence(output,
                                                          batch_first=self.batch_first)
            else:
                if self.batch_first:
                    seq_lengths = output.size(0) * [output.size(1)]
                else:
                    seq_lengths = output.size(1) * [output.size(0)]

            # Ensure time-first format for processing
            if self.batch_first:
                output = output.transpose(0, 1)

            # Apply washout: remove initial timesteps to stabilize dynamics
            output, seq_lengths = washout_tensor(output, washout, seq_lengths)

            # Optionally concatenate input features to reservoir output
            if self.w_io:
                if is_packed:
                    input, input_lengths = pad_packed_sequence(input,
                                                          batch_first=self.batch_first)
                else:
                    input_lengths = [input.size(0)] * input.size(1)

                if self.batch_first:
                    input = input.transpose(0, 1)

                input, _ = washout_tensor(input, washout, input_lengths)
                output = torch.cat([input, output], -1)

            # Branch based on training method
            if self.readout_training == 'gd' or target is None:
                # Online training or inference: use current readout weights
                with torch.enable_grad():
                    output = self.readout(output)

                    # Zero out padded positions for packed sequences
                    if is_packed:
                        for i in range(output.size(1)):
                            if seq_lengths[i] < output.size(0):
                                output[seq_lengths[i]:, i] = 0

                    # Restore original batch dimension order
                    if self.batch_first:
                        output = output.transpose(0, 1)

                    # Uncomment if you want packed output.
                    # if is_packed:
                    #     output = pack_padded_sequence(output, seq_lengths,
                    #                                   batch_first=self.batch_first)

                    return output, hidden

            else:
                # Offline training: accumulate statistics for ridge regression
                batch_size = output.size(1)

                # Prepare design matrix X with bias column
                X = torch.ones(target.size(0), 1 + output.size(2), device=target.device)
                row = 0

                # Fill design matrix based on output aggregation method
                for s in range(batch_size):
                    if self.output_steps == 'all':
                        # Use all timesteps for sequence-to-sequence tasks
                        X[row:row + seq_lengths[s], 1:] = output[:seq_lengths[s], s]
                        row += seq_lengths[s]
                    elif self.output_steps == 'mean':
                        # Use temporal mean for classification
                        X[row, 1:] = torch.mean(output[:seq_lengths[s], s], 0)
                        row += 1
                    elif self.output_steps == 'last':
                        # Use final timestep for classification
                        X[row, 1:] = output[seq_lengths[s] - 1, s]
                        row += 1

                if self.readout_training == 'cholesky':
                    # Accumulate normal equations for Cholesky solve
                    if self.XTX is None:
                        self.XTX = torch.mm(X.t(), X)
                        self.XTy = torch.mm(X.t(), target)
                    else:
                        self.XTX += torch.mm(X.t(), X)
                        self.XTy += torch.mm(X.t(), target)

                elif self.readout_training == 'svd':
                    # Direct SVD solution (single batch only)
                    # Scikit-Learn SVD solver for ridge regression.
                    U, s, V = torch.svd(X)
                    idx = s > 1e-15  # same default value as scipy.linalg.pinv
                    s_nnz = s[idx][:, None]
                    UTy = torch.mm(U.t(), target)
                    d = torch.zeros(s.size(0), 1, device=X.device)
                    d[idx] = s_nnz / (s_nnz ** 2 + self.lambda_reg)
                    d_UT_y = d * UTy
                    W = torch.mm(V, d_UT_y).t()

                    # Set readout parameters directly
                    self.readout.bias = nn.Parameter(W[:, 0])
                    self.readout.weight = nn.Parameter(W[:, 1:])

                elif self.readout_training == 'inv':
                    # Accumulate normal equations for matrix inversion solve
                    self.X = X  # Store for rank checking
                    if self.XTX is None:
                        self.XTX = torch.mm(X.t(), X)
                        self.XTy = torch.mm(X.t(), target)
                    else:
                        self.XTX += torch.mm(X.t(), X)
                        self.XTy += torch.mm(X.t(), target)

                return None, None

    def fit(self):
        """Solve the accumulated linear system for offline readout training. (Docstring shortened.)"""
        if self.readout_training in {'gd', 'svd'}:
            # Nothing to do: gd uses gradients, svd solves directly
            return

        if self.readout_training == 'cholesky':
            # Solve (X^T X + λI) W = X^T y using Cholesky decomposition
            W = torch.cholesky_solve(self.XTy,
                           self.XTX + self.lambda_reg * torch.eye(
                               self.XTX.size(0), device=self.XTX.device)).t()
            # Clear accumulated statistics
            self.XTX = None
            self.XTy = None

            # Set learned parameters
            self.readout.bias = nn.Parameter(W[:, 0])
            self.readout.weight = nn.Parameter(W[:, 1:])

        elif self.readout_training == 'inv':
            # Solve (X^T X + λI) W = X^T y using matrix inversion
            I = (self.lambda_reg * torch.eye(self.XTX.size(0))).to(  # noqa: E741 (the source's name)
                self.XTX.device)
            A = self.XTX + I

            # Check matrix rank and use appropriate solver
            X_rank = torch.linalg.matrix_rank(A).item()
            if X_rank == self.X.size(0):
                W = torch.mm(torch.inverse(A), self.XTy).t()
            else:
                # Use pseudoinverse for singular matrices
                W = torch.mm(torch.pinverse(A), self.XTy).t()

            # Set learned parameters and clear statistics
            self.readout.bias = nn.Parameter(W[:, 0])
            self.readout.weight = nn.Parameter(W[:, 1:])
            self.XTX = None
            self.XTy = None

    def reset_parameters(self):
        """Reset all learnable parameters to their initial values. (Docstring shortened.)"""
        self.reservoir.reset_parameters()
        self.readout.reset_parameters()


def prepare_target(target, seq_lengths, washout, batch_first=False):
    """Preprocess target sequences for offline ESN training methods. (Docstring shortened.)"""

    # Ensure time-first format for processing
    if batch_first:
        target = target.transpose(0, 1)

    # Extract dimensions
    n_sequences = target.size(1)
    target_dim = target.size(2)

    # Calculate total number of training samples after washout removal
    train_len = sum(torch.tensor(seq_lengths) - torch.tensor(washout)).item()

    # Allocate output tensor
    new_target = torch.zeros(train_len, target_dim, device=target.device)

    # Concatenate all valid (post-washout) target values
    idx = 0
    for s in range(n_sequences):
        batch_len = seq_lengths[s] - washout[s]
        # Extract valid timesteps: from washout[s] to seq_lengths[s]
        new_target[idx:idx + batch_len, :] = target[washout[s]:seq_lengths[s], s, :]
        idx += batch_len

    return new_target


def washout_tensor(tensor, washout, seq_lengths, bidirectional=False, batch_first=False):
    """Remove washout timesteps from tensor sequences and adjust sequence lengths. (Docstring shortened.)"""
    # Ensure time-first format and create working copies
    tensor = tensor.transpose(0, 1) if batch_first else tensor.clone()

    # Create working copies of seq_lengths to avoid modifying input
    if type(seq_lengths) == list:
        seq_lengths = seq_lengths.copy()
    if type(seq_lengths) == torch.Tensor:
        seq_lengths = seq_lengths.clone()

    # Process each sequence in the batch
    for b in range(tensor.size(1)):
        if washout[b] > 0:
            # Extract the valid portion (after washout) of the sequence
            tmp = tensor[washout[b]:seq_lengths[b], b].clone()

            # Shift valid data to the beginning of the sequence
            tensor[:seq_lengths[b] - washout[b], b] = tmp

            # Zero out the tail (where data was moved from)
            tensor[seq_lengths[b] - washout[b]:, b] = 0

            # Update sequence length
            seq_lengths[b] -= washout[b]

            # For bidirectional RNNs, remove washout from the end too
            if bidirectional:
                tensor[seq_lengths[b] - washout[b]:, b] = 0
                seq_lengths[b] -= washout[b]

    # Trim tensor to maximum remaining sequence length to save memory
    if type(seq_lengths) == list:
        max_len = max(seq_lengths)
    else:
        max_len = max(seq_lengths).item()

    return tensor[:max_len], seq_lengths


def np_reservoir(x, layers, mode="tanh", leak=1.0, h0=None):
    """The leaky reservoir in numpy: x (T, B, I); layers [(w_ih, w_hh, b)]; h = (1 - a) h + a f(W x + U h + b).
    Returns the layers' outputs concatenated on the last axis (T, B, H * L) and the final states (L, B, H)."""
    f = {"tanh": np.tanh, "relu": lambda z: np.maximum(z, 0), "id": lambda z: z}[mode]
    outs, finals, inp = [], [], x
    for k, (w_ih, w_hh, b) in enumerate(layers):
        h = np.zeros((x.shape[1], w_hh.shape[0])) if h0 is None else h0[k]
        seq = []
        for t in range(inp.shape[0]):
            h = (1 - leak) * h + leak * f(inp[t] @ w_ih.T + b + h @ w_hh.T)
            seq.append(h)
        inp = np.stack(seq)
        outs.append(inp)
        finals.append(h)
    return np.concatenate(outs, -1), np.stack(finals)


def layers_of(reservoir):
    return [tuple(arr(w) for w in ws) for ws in reservoir.all_weights]


def test_reservoir_as_written_meets_three_documented_refusals():
    with pytest.raises(TypeError, match="takes data, not sizes"):
        nn.Parameter(torch.Tensor(4, 3))
    with pytest.raises(AttributeError, match="eigvals"):
        torch.linalg.eigvals(torch.eye(3))
    with pytest.raises(TypeError, match="uniform_"):
        nn.init.uniform_(nn.Linear(3, 4).state_dict()['weight'], -1, 1)


@pytest.mark.parametrize("density", [1, 0.3])
def test_reservoir_reset_scales_the_spectral_radius_and_sparsity(density, float64):
    scale = torch.tensor([0.5, 2.0, 0.1])  # bias scale, then one per input feature
    res = Reservoir('RES_TANH', 2, 12, 2, 1, 0.8, scale, density)
    for k in range(2):
        w_hh = arr(getattr(res, f'weight_hh_l{k}'))
        assert np.max(np.abs(np.linalg.eigvals(w_hh))) == pytest.approx(0.8, rel=1e-10)
        assert np.sum(w_hh == 0) == int(144 * (1 - density))
    w_ih0, b0 = arr(res.weight_ih_l0), arr(res.bias_ih_l0)
    assert np.all(np.abs(w_ih0[:, 0]) <= 2.0) and np.abs(w_ih0[:, 0]).max() > 1.0   # scaled by 2
    assert np.all(np.abs(w_ih0[:, 1]) <= 0.1) and np.all(np.abs(b0) <= 0.5)
    assert np.all(np.abs(arr(res.weight_ih_l1)) <= 1.0) and res.weight_ih_l1.shape == (12, 12)
    assert repr(res) == "Reservoir((2, 12, num_layers=2))"
    with pytest.raises(RuntimeError, match="input.size\\(-1\\) must be equal to input_size"):
        res(torch.zeros(3, 1, 5))
    with pytest.raises(RuntimeError, match="Expected hidden size \\(2, 1, 12\\), got \\(1, 1, 12\\)"):
        res(torch.zeros(3, 1, 2), torch.zeros(1, 1, 12))


@pytest.mark.parametrize("mode,leak,num_layers,batch_first", [
    ('RES_TANH', 1, 1, False), ('RES_TANH', 0.3, 2, True), ('RES_RELU', 0.5, 1, False), ('RES_ID', 0.7, 2, False)])
def test_reservoir_forward_against_numpy(mode, leak, num_layers, batch_first, float64):
    res = Reservoir(mode, 3, 6, num_layers, leak, 0.9, torch.ones(4), 0.5, batch_first=batch_first)
    x = np.random.default_rng(4).normal(0, 1, (5, 2, 3))
    h0 = np.random.default_rng(5).normal(0, 0.5, (num_layers, 2, 6))
    inp = torch.tensor(x.transpose(1, 0, 2) if batch_first else x)
    out, h = res(inp, torch.tensor(h0))
    e_out, e_h = np_reservoir(x, layers_of(res), {'RES_TANH': 'tanh', 'RES_RELU': 'relu', 'RES_ID': 'id'}[mode],
                              leak, h0)
    assert out.shape == ((2, 5, 6 * num_layers) if batch_first else (5, 2, 6 * num_layers))
    np.testing.assert_allclose(arr(out), e_out.transpose(1, 0, 2) if batch_first else e_out, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(arr(h), e_h, rtol=1e-12, atol=1e-14)


def test_reservoir_packed_sequences_against_numpy(float64):
    res = Reservoir('RES_TANH', 2, 5, 2, 0.6, 0.9, torch.ones(3), 1)
    lengths = [3, 5, 2]
    x = np.random.default_rng(6).normal(0, 1, (5, 3, 2))
    packed = pack_padded_sequence(torch.tensor(x), lengths, enforce_sorted=False)
    out, h = res(packed)
    assert isinstance(out, PackedSequence)
    padded, got_lengths = pad_packed_sequence(out)
    assert arr(got_lengths).tolist() == lengths
    layers = layers_of(res)
    for b, n in enumerate(lengths):
        e_out, e_h = np_reservoir(x[:n, b:b + 1], layers, 'tanh', 0.6)
        np.testing.assert_allclose(arr(padded)[:n, b], e_out[:, 0], rtol=1e-12, atol=1e-14)
        np.testing.assert_array_equal(arr(padded)[n:, b], 0)
        np.testing.assert_allclose(arr(h)[:, b], e_h[:, 0], rtol=1e-12, atol=1e-14)  # each at its own last step


def test_washout_tensor_and_prepare_target_against_numpy():
    t = np.arange(5 * 3 * 2, dtype=np.float32).reshape(5, 3, 2)
    out, lengths = washout_tensor(torch.tensor(t), [2, 0, 1], [5, 4, 5])
    expected = np.zeros((4, 3, 2), np.float32)
    expected[:3, 0] = t[2:5, 0]
    expected[:, 1] = t[:4, 1]
    expected[:4, 2] = t[1:5, 2]
    assert lengths == [3, 4, 4] and out.shape == (4, 3, 2)
    np.testing.assert_array_equal(arr(out), expected)
    flat = prepare_target(torch.tensor(t), [5, 4, 5], [2, 0, 1])
    np.testing.assert_array_equal(arr(flat), np.concatenate([t[2:5, 0], t[0:4, 1], t[1:5, 2]]))
    # the lengths as a tensor (the packed path's): cloned, changed in place, max(...).item()
    out, lengths = washout_tensor(torch.tensor(t), [1, 1, 1], torch.tensor([5, 3, 4]))
    assert arr(lengths).tolist() == [4, 2, 3] and out.shape == (4, 3, 2)
    np.testing.assert_array_equal(arr(out)[:2, 1], t[1:3, 1])
    np.testing.assert_array_equal(arr(out)[2:, 1], 0)


def esn_batch(T=30, B=3, seed=7):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (T, B, 2))
    y = np.stack([np.sin(np.cumsum(x[..., 0], 0) / 3), x[..., 1] * np.roll(x[..., 0], 1, 0)], -1)
    return x, y


def design_matrix(model, x, washout, output_steps='all'):
    """[1, states after washout] per sequence, in batch order, from the numpy reservoir."""
    states, _ = np_reservoir(x, layers_of(model.reservoir), 'tanh', model.leaking_rate)
    rows = []
    for b in range(x.shape[1]):
        s = states[washout[b]:, b]
        s = {'all': s, 'mean': s.mean(0, keepdims=True), 'last': s[-1:]}[output_steps]
        rows.append(np.hstack([np.ones((len(s), 1)), s]))
    return np.vstack(rows), states


@pytest.mark.parametrize("output_steps", ['all', 'mean', 'last'])
def test_esn_svd_readout_is_the_ridge_closed_form(output_steps, float64):
    x, y = esn_batch()
    washout = [5, 8, 3]
    model = ESN(2, 10, 2, leaking_rate=0.5, lambda_reg=0.3, output_steps=output_steps)
    if output_steps == 'all':
        target = prepare_target(torch.tensor(y), [30] * 3, washout)
    else:
        target = torch.tensor(y[-1])  # one row per sequence
    assert model(torch.tensor(x), washout, None, target) == (None, None)
    X, states = design_matrix(model, x, washout, output_steps)
    W = np.linalg.solve(X.T @ X + 0.3 * np.eye(11), X.T @ arr(target)).T
    np.testing.assert_allclose(arr(model.readout.bias), W[:, 0], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(arr(model.readout.weight), W[:, 1:], rtol=1e-8, atol=1e-10)
    output, hidden = model(torch.tensor(x), washout)
    # inference: the readout of the washed-out states; each sequence's washed-out tail rows are zero states
    for b, w in enumerate(washout):
        np.testing.assert_allclose(arr(output)[:30 - w, b], states[w:, b] @ W[:, 1:].T + W[:, 0], rtol=1e-8,
                                   atol=1e-10)
        tail = output.shape[0] - (30 - w)  # rows up to the longest washed-out length: zero states, so the bias
        np.testing.assert_allclose(arr(output)[30 - w:, b], np.broadcast_to(W[:, 0], (tail, 2)), rtol=1e-8,
                                   atol=1e-10)
    assert output.shape == (27, 3, 2) and hidden.shape == (1, 3, 10)


def test_esn_cholesky_fit_solves_with_the_lower_triangle_as_pytorch(float64):
    # fit() gives torch.cholesky_solve the matrix XᵀX + λI itself; PyTorch's (LAPACK potrs) reads its lower
    # triangle as the factor L, so W solves (L Lᵀ) W = Xᵀy, not the ridge system (the source's bug, as PyTorch runs it)
    x, y = esn_batch(seed=8)
    washout = [4, 4, 4]
    model = ESN(2, 6, 2, lambda_reg=0.5, readout_training='cholesky')
    target = prepare_target(torch.tensor(y), [30] * 3, washout)
    model(torch.tensor(x[:, :2]), washout[:2], None, target[:52])  # two passes accumulate XᵀX and Xᵀy
    model(torch.tensor(x[:, 2:]), washout[2:], None, target[52:])
    X, _ = design_matrix(model, x, washout)
    A = X.T @ X + 0.5 * np.eye(7)
    np.testing.assert_allclose(arr(model.XTX), X.T @ X, rtol=1e-10)
    model.fit()
    L = np.tril(A)
    W = np.linalg.solve(L @ L.T, X.T @ arr(target)).T
    ridge = np.linalg.solve(A, X.T @ arr(target)).T
    np.testing.assert_allclose(arr(model.readout.weight), W[:, 1:], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(arr(model.readout.bias), W[:, 0], rtol=1e-8, atol=1e-10)
    assert not np.allclose(W, ridge, rtol=1e-3)
    assert model.XTX is None and model.XTy is None


@pytest.mark.parametrize("batch,branch", [(7, "inverse"), (3, "pinverse")])
def test_esn_inv_fit_branch_follows_the_row_count(batch, branch, float64, monkeypatch):
    # 'last': one design row per sequence; the rank of the 7 x 7 matrix (6 states + bias) equals X's row count
    # only when there are 7 sequences, so 3 sequences take pinverse although the regularised matrix is invertible
    x, y = esn_batch(T=12, B=batch, seed=9)
    model = ESN(2, 6, 2, lambda_reg=0.2, readout_training='inv', output_steps='last')
    called = []
    for name in ("inverse", "pinverse"):
        real = getattr(torch, name)
        monkeypatch.setattr(torch, name, lambda A, real=real, name=name: called.append(name) or real(A))
    model(torch.tensor(x), [2] * batch, None, torch.tensor(y[-1]))
    model.fit()
    assert called == [branch]
    X, _ = design_matrix(model, x, [2] * batch, 'last')
    W = np.linalg.solve(X.T @ X + 0.2 * np.eye(7), X.T @ y[-1]).T
    np.testing.assert_allclose(arr(model.readout.weight), W[:, 1:], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(arr(model.readout.bias), W[:, 0], rtol=1e-8, atol=1e-10)


def test_esn_gd_readout_gradients_and_training(float64):
    x, y = esn_batch(T=20, B=2, seed=10)
    washout = [5, 5]
    model = ESN(2, 8, 2, leaking_rate=0.8, readout_training='gd', w_io=True)
    states, _ = np_reservoir(x, layers_of(model.reservoir), 'tanh', 0.8)
    feats = np.concatenate([x[5:], states[5:]], -1)  # w_io: the input beside the states
    tgt = torch.tensor(y[5:])

    def loss_np(p):
        return np.mean((feats @ p["readout.weight"].T + p["readout.bias"] - y[5:]) ** 2)

    def loss_lib():
        output, _ = model(torch.tensor(x), washout)
        return F.mse_loss(output, tgt)

    check_grads(model, ["readout.weight", "readout.bias"], loss_np, loss_lib)
    assert all(p.grad is None for p in model.reservoir.parameters())  # the reservoir ran under no_grad
    optimizer = optim.Adam(model.parameters(), lr=0.05)
    first = float(loss_lib())
    for _ in range(60):
        optimizer.zero_grad()
        loss = loss_lib()
        loss.backward()
        optimizer.step()
    assert float(loss) < 0.5 * first


def test_esn_packed_input_zeroes_the_padded_outputs(float64):
    x, y = esn_batch(T=9, B=3, seed=11)
    lengths = [9, 6, 4]
    model = ESN(2, 5, 2, lambda_reg=0.1)
    packed = pack_padded_sequence(torch.tensor(x), lengths, enforce_sorted=False)
    washout = [2, 1, 1]
    target = prepare_target(torch.tensor(y), lengths, washout)
    model(packed, washout, None, target)
    rows, layers = [], layers_of(model.reservoir)
    for b, n in enumerate(lengths):
        s, _ = np_reservoir(x[:n, b:b + 1], layers, 'tanh')
        rows.append(np.hstack([np.ones((n - washout[b], 1)), s[washout[b]:, 0]]))
    X = np.vstack(rows)
    W = np.linalg.solve(X.T @ X + 0.1 * np.eye(6), X.T @ arr(target)).T
    np.testing.assert_allclose(arr(model.readout.weight), W[:, 1:], rtol=1e-8, atol=1e-10)
    output, hidden = model(packed, washout)
    assert output.shape == (7, 3, 2)
    for b, n in enumerate(lengths):
        k = n - washout[b]
        np.testing.assert_allclose(arr(output)[:k, b], rows[b] @ W.T, rtol=1e-8, atol=1e-10)
        np.testing.assert_array_equal(arr(output)[k:, b], 0)


def test_esn_rejects_unknown_options():
    with pytest.raises(ValueError, match="Unknown nonlinearity 'sigmoid'"):
        ESN(1, 4, 1, nonlinearity='sigmoid')
    with pytest.raises(ValueError, match="Unknown readout training algorithm 'lstsq'"):
        ESN(1, 4, 1, readout_training='lstsq')
    with pytest.raises(ValueError, match="Unknown task 'first'"):
        ESN(1, 4, 1, output_steps='first')


def made_up_mg17(path, n=1300):
    """differs: examples/datasets/mg17.csv -- a Mackey-Glass series (tau 17) by Euler steps of 1, written here:
    x(t+1) = x(t) + 0.2 x(t-17) / (1 + x(t-17)^10) - 0.1 x(t); the columns are x(t) and x(t+1)."""
    x = np.full(n + 200, 1.2)
    for t in range(17, n + 199):
        x[t + 1] = x[t] + 0.2 * x[t - 17] / (1 + x[t - 17] ** 10) - 0.1 * x[t]
    x = x[200:]
    np.savetxt(path, np.stack([x[:-1], x[1:]], 1), delimiter=',')
    return x


def mackey_glass_main(data_path):
    """differs: examples/mackey-glass.py's module body and `if __name__ == "__main__":` block as one function; the
    csv is tmp_path's; 1000 training samples (5000), hidden_size 40 (500), washout [100] (500); returns the errors."""
    device = torch.device('cpu')
    dtype = torch.double
    torch.set_default_dtype(dtype)

    if dtype == torch.double:
        data = np.loadtxt(data_path, delimiter=',', dtype=np.float64)
    elif dtype == torch.float:
        data = np.loadtxt(data_path, delimiter=',', dtype=np.float32)
    X_data = np.expand_dims(data[:, [0]], axis=1)
    Y_data = np.expand_dims(data[:, [1]], axis=1)
    X_data = torch.from_numpy(X_data).to(device)
    Y_data = torch.from_numpy(Y_data).to(device)

    trX = X_data[:1000]
    trY = Y_data[:1000]
    tsX = X_data[1000:]
    tsY = Y_data[1000:]

    washout = [100]
    input_size = output_size = 1
    hidden_size = 40
    loss_fcn = torch.nn.MSELoss()

    start = time.time()

    # Training
    trY_flat = utils.prepare_target(trY.clone(), [trX.size(0)], washout)

    model = ESN(input_size, hidden_size, output_size)
    model.to(device)

    model(trX, washout, None, trY_flat)
    model.fit()
    output, hidden = model(trX, washout)
    print("Training error:", loss_fcn(output, trY[washout[0]:]).item())
    train_error = loss_fcn(output, trY[washout[0]:]).item()  # differs: kept for the test

    # Test
    output, hidden = model(tsX, [0], hidden)
    print("Test error:", loss_fcn(output, tsY).item())
    print("Ended in", time.time() - start, "seconds.")
    return model, train_error, loss_fcn(output, tsY).item(), output  # differs: for the test


utils = types.SimpleNamespace(prepare_target=prepare_target)  # differs: `from torchesn import utils`


def test_esn_mackey_glass_example_fits_the_series(tmp_path):
    x = made_up_mg17(tmp_path / "mg17.csv")
    (model, train_error, test_error, output), printed = quietly(mackey_glass_main, str(tmp_path / "mg17.csv"))
    assert "Training error:" in printed and "Test error:" in printed
    persistence = np.mean((x[1001:] - x[1000:-1]) ** 2)  # predicting x(t+1) = x(t)
    assert train_error < 1e-2 * persistence and test_error < 1e-2 * persistence
    # the test predictions against numpy: the reservoir run on, from the training run's last state
    layers = layers_of(model.reservoir)
    _, h = np_reservoir(x[:1000, None, None], layers)
    states, _ = np_reservoir(x[1000:-1, None, None], layers, h0=h)
    expected = states[:, 0] @ arr(model.readout.weight).T + arr(model.readout.bias)
    np.testing.assert_allclose(arr(output)[:, 0], expected, rtol=1e-7, atol=1e-9)


def Accuracy_Correct(y_pred, y_true):
    labels = torch.argmax(y_pred, 1).type(y_pred.type())
    correct = len((labels == y_true).nonzero())
    return correct


def one_hot_esn(y, output_dim):  # differs: examples/mnist.py's `one_hot` (named apart from F.one_hot, used by DKT)
    onehot = torch.zeros(y.size(0), output_dim, device=y.device)

    for i in range(output_dim):
        onehot[y == i, i] = 1

    return onehot


def reshape_batch(batch):
    batch = batch.view(batch.size(0), batch.size(1), -1)
    return batch.transpose(0, 1).transpose(0, 2)


def mnist_main(train_iter, test_iter):
    """differs: examples/mnist.py's `if __name__ == "__main__":` block as a function; the MNIST loaders
    (torchvision) are lists of (x, y) batches of made-up 1 x 4 x 4 images; hidden_size 20 (500)."""
    device = torch.device('cpu')
    dtype = torch.float
    torch.set_default_dtype(dtype)
    loss_fcn = Accuracy_Correct

    input_size = 1
    hidden_size = 20
    output_size = 3
    washout_rate = 0.2

    start = time.time()

    # Training
    model = ESN(input_size, hidden_size, output_size,
                output_steps='mean', readout_training='cholesky')
    model.to(device)

    # Fit the model
    for batch in train_iter:
        x, y = batch
        x = x.to(device)
        y = y.to(device)

        x = reshape_batch(x)
        target = one_hot_esn(y, output_size)
        washout_list = [int(washout_rate * x.size(0))] * x.size(1)

        model(x, washout_list, None, target)
        model.fit()

    # Evaluate on training set
    tot_correct = 0
    tot_obs = 0

    for batch in train_iter:
        x, y = batch
        x = x.to(device)
        y = y.to(device)

        x = reshape_batch(x)
        washout_list = [int(washout_rate * x.size(0))] * x.size(1)

        output, hidden = model(x, washout_list)
        tot_obs += x.size(1)
        tot_correct += loss_fcn(output[-1], y.type(torch.get_default_dtype()))

    print("Training accuracy:", tot_correct / tot_obs)
    train_counts = (tot_correct, tot_obs)  # differs: kept for the test

    # Test
    for batch in test_iter:
        x, y = batch
        x = x.to(device)
        y = y.to(device)

        x = reshape_batch(x)
        washout_list = [int(washout_rate * x.size(0))] * x.size(1)

        output, hidden = model(x, washout_list)
        tot_obs += x.size(1)
        tot_correct += loss_fcn(output[-1], y.type(torch.get_default_dtype()))

    print("Test accuracy:", tot_correct / tot_obs)

    print("Ended in", time.time() - start, "seconds.")
    return model, train_counts, (tot_correct, tot_obs)  # differs: for the test


def made_up_digits(n, seed):
    """Three classes of 4 x 4 "images": a bright row (0), a bright column (1), the diagonal (2), plus noise."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = rng.normal(0, 0.1, (n, 1, 4, 4)).astype(np.float32)
    for i, c in enumerate(y):
        k = rng.integers(4)
        if c == 0:
            x[i, 0, k, :] += 1
        elif c == 1:
            x[i, 0, :, k] += 1
        else:
            x[i, 0] += np.eye(4, dtype=np.float32)
    return x, y


def test_esn_mnist_helpers_and_script_against_numpy():
    y = torch.LongTensor([2, 0, 1, 2])
    np.testing.assert_array_equal(arr(one_hot_esn(y, 3)), np.eye(3)[[2, 0, 1, 2]])
    images = np.arange(2 * 1 * 2 * 3, dtype=np.float32).reshape(2, 1, 2, 3)
    seq = reshape_batch(torch.tensor(images))
    assert seq.shape == (6, 2, 1)  # (pixels in raster order, batch, 1)
    np.testing.assert_array_equal(arr(seq)[:, :, 0], images.reshape(2, 6).T)
    # Accuracy_Correct: `torch.argmax(y_pred, 1).type(y_pred.type())`, the round trip fixed this round
    scores = torch.tensor([[0.1, 0.7, 0.2], [0.9, 0.05, 0.05], [0.2, 0.3, 0.5]])
    assert Accuracy_Correct(scores, torch.tensor([1.0, 2.0, 2.0])) == 2

    batches = [made_up_digits(8, s) for s in range(3)]
    train_iter = [(torch.tensor(x), torch.LongTensor(y)) for x, y in batches[:2]]
    test_iter = [(torch.tensor(x), torch.LongTensor(y)) for x, y in batches[2:]]
    (model, train_counts, all_counts), printed = quietly(mnist_main, train_iter, test_iter)
    assert "Training accuracy:" in printed and "Test accuracy:" in printed
    # numpy: fit() after each batch keeps only the last batch's solve, with the lower triangle as the factor
    layers = layers_of(model.reservoir)
    x_last, y_last = batches[1]
    states, _ = np_reservoir(x_last.reshape(8, 16).T[..., None].astype(np.float64), layers)
    X = np.hstack([np.ones((8, 1)), states[3:].mean(0)])
    L = np.tril(X.T @ X)
    W = np.linalg.solve(L @ L.T, X.T @ np.eye(3)[y_last]).T
    # float32 solve of an ill-conditioned system: agreement to 1e-4 of the largest weight
    np.testing.assert_allclose(arr(model.readout.weight), W[:, 1:], rtol=0, atol=1e-4 * np.abs(W).max())
    correct = 0
    for x, y_ in batches:  # output[-1]: the readout of the last state (3 of 16 steps washed out, the rest shifted)
        s, _ = np_reservoir(x.reshape(len(x), 16).T[..., None].astype(np.float64), layers)
        scores = s[-1] @ arr(model.readout.weight).T + arr(model.readout.bias)
        correct += int(np.sum(np.argmax(scores, 1) == y_))
    assert all_counts[1] == 24 and train_counts[1] == 16
    assert all_counts[0] == correct


@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (2, 4, 3)])
def test_torch_svd_against_numpy(shape, float64):
    A = np.random.default_rng(12).normal(0, 1, shape)
    U, S, V = torch.svd(torch.tensor(A))
    k = min(shape[-2:])
    assert U.shape == shape[:-2] + (shape[-2], k) and V.shape == shape[:-2] + (shape[-1], k)
    np.testing.assert_allclose(arr(S), np.linalg.svd(A, compute_uv=False), rtol=1e-12)
    np.testing.assert_allclose(arr(U) * arr(S)[..., None, :] @ np.swapaxes(arr(V), -1, -2), A, atol=1e-12)
    Uf, Sf, Vf = torch.tensor(A).svd(some=False)
    assert Uf.shape == shape[:-2] + (shape[-2], shape[-2]) and Vf.shape == shape[:-2] + (shape[-1], shape[-1])
    U0, S0, V0 = torch.svd(torch.tensor(A), compute_uv=False)
    np.testing.assert_array_equal(arr(U0), np.zeros(shape[:-2] + (shape[-2], shape[-2])))
    np.testing.assert_array_equal(arr(V0), np.zeros(shape[:-2] + (shape[-1], shape[-1])))
    np.testing.assert_allclose(arr(S0), arr(S), rtol=1e-12)
    assert torch.svd(torch.tensor(A)).V is not None  # the named triple (U, S, V)


def test_torch_svd_gradients_against_central_differences(float64):
    A = np.random.default_rng(13).normal(0, 1, (4, 3))
    G = np.random.default_rng(14).normal(0, 1, (4, 3))
    t = torch.tensor(A, requires_grad=True)
    U, S, V = torch.svd(t)
    # sign-free functions of the factors: S, and U diag(S) Vᵀ weighted by G
    (S.sum() + ((U * S) @ V.t() * torch.tensor(G)).sum() + (U @ U.t()).sum()).backward()

    def f(a):
        u, s, vh = np.linalg.svd(a, full_matrices=False)
        return s.sum() + np.sum((u * s) @ vh * G) + np.sum(u @ u.T)

    idx = [(i, j) for i in range(4) for j in range(3)]
    np.testing.assert_allclose(t.grad.ravel(), central(f, A, idx), rtol=1e-6, atol=1e-8)
    with pytest.raises(ValueError, match="svd: expected a matrix"):
        torch.svd(torch.tensor([1.0, 2.0]))


def test_type_names_round_trip():
    a, b = torch.tensor([1.7, -0.2]), torch.tensor([1.0], dtype=torch.float64)
    assert a.type() == "float32" and a.type(b.type()).dtype == torch.float64
    assert torch.LongTensor([3]).type(a.type()).dtype == torch.float32
    assert a.type('torch.LongTensor').dtype == torch.int64 and a.type(torch.Tensor).dtype == torch.float32
    assert a.type(torch.BoolTensor([True]).type()).dtype == torch.bool


# ==== 3. hcnoh/knowledge-tracing-collection-pytorch: models/dkt.py, dkt_plus.py, utils.py, data_loaders, train.py ====

class metrics:  # differs: `from sklearn import metrics` (not installed): roc_auc_score written here
    @staticmethod
    def roc_auc_score(y_true, y_score):
        """The area under the ROC curve as the Mann-Whitney statistic, tied scores counting one half."""
        y_true, y_score = np.asarray(y_true), np.asarray(y_score, dtype=np.float64)
        pos, neg = y_score[y_true == 1], y_score[y_true == 0]
        return float(np.mean((pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])))


class DKT(Module):
    '''
        Args:
            num_q: the total number of the questions(KCs) in the given dataset
            emb_size: the dimension of the embedding vectors in this model
            hidden_size: the dimension of the hidden vectors in this model
    '''
    def __init__(self, num_q, emb_size, hidden_size):
        super().__init__()
        self.num_q = num_q
        self.emb_size = emb_size
        self.hidden_size = hidden_size

        self.interaction_emb = Embedding(self.num_q * 2, self.emb_size)
        self.lstm_layer = LSTM(
            self.emb_size, self.hidden_size, batch_first=True
        )
        self.out_layer = Linear(self.hidden_size, self.num_q)
        self.dropout_layer = Dropout()

    def forward(self, q, r):
        '''
            Args:
                q: the question(KC) sequence with the size of [batch_size, n]
                r: the response sequence with the size of [batch_size, n]

            Returns:
                y: the knowledge level about the all questions(KCs)
        '''
        x = q + self.num_q * r

        h, _ = self.lstm_layer(self.interaction_emb(x))
        y = self.out_layer(h)
        y = self.dropout_layer(y)
        y = torch.sigmoid(y)

        return y

    def train_model(
        self, train_loader, test_loader, num_epochs, opt, ckpt_path
    ):
        '''
            Args:
                train_loader: the PyTorch DataLoader instance for training
                test_loader: the PyTorch DataLoader instance for test
                num_epochs: the number of epochs
                opt: the optimization to train this model
                ckpt_path: the path to save this model's parameters
        '''
        aucs = []
        loss_means = []

        max_auc = 0

        for i in range(1, num_epochs + 1):
            loss_mean = []

            for data in train_loader:
                q, r, qshft, rshft, m = data

                self.train()

                y = self(q.long(), r.long())
                y = (y * one_hot(qshft.long(), self.num_q)).sum(-1)

                y = torch.masked_select(y, m)
                t = torch.masked_select(rshft, m)

                opt.zero_grad()
                loss = binary_cross_entropy(y, t)
                loss.backward()
                opt.step()

                loss_mean.append(loss.detach().cpu().numpy())

            with torch.no_grad():
                for data in test_loader:
                    q, r, qshft, rshft, m = data

                    self.eval()

                    y = self(q.long(), r.long())
                    y = (y * one_hot(qshft.long(), self.num_q)).sum(-1)

                    y = torch.masked_select(y, m).detach().cpu()
                    t = torch.masked_select(rshft, m).detach().cpu()

                    auc = metrics.roc_auc_score(
                        y_true=t.numpy(), y_score=y.numpy()
                    )

                    loss_mean = np.mean(loss_mean)

                    print(
                        "Epoch: {},   AUC: {},   Loss Mean: {}"
                        .format(i, auc, loss_mean)
                    )

                    if auc > max_auc:
                        torch.save(
                            self.state_dict(),
                            os.path.join(
                                ckpt_path, "model.ckpt"
                            )
                        )
                        max_auc = auc

                    aucs.append(auc)
                    loss_means.append(loss_mean)

        return aucs, loss_means


class DKTPlus(Module):
    '''
        Args:
            num_q: the total number of the questions(KCs) in the given dataset
            emb_size: the dimension of the embedding vectors in this model
            hidden_size: the dimension of the hidden vectors in this model
            lambda_r: the hyperparameter of this model
            lambda_w1: the hyperparameter of this model
            lambda_w2: the hyperparameter of this model
    '''
    def __init__(
        self, num_q, emb_size, hidden_size, lambda_r, lambda_w1, lambda_w2
    ):
        super().__init__()
        self.num_q = num_q
        self.emb_size = emb_size
        self.hidden_size = hidden_size
        self.lambda_r = lambda_r
        self.lambda_w1 = lambda_w1
        self.lambda_w2 = lambda_w2

        self.interaction_emb = Embedding(self.num_q * 2, self.emb_size)
        self.lstm_layer = LSTM(
            self.emb_size, self.hidden_size, batch_first=True
        )
        self.out_layer = Linear(self.hidden_size, self.num_q)
        self.dropout_layer = Dropout()

    def forward(self, q, r):
        '''
            Args:
                q: the question(KC) sequence with the size of [batch_size, n]
                r: the response sequence with the size of [batch_size, n]

            Returns:
                y: the knowledge level about the all questions(KCs)
        '''
        x = q + self.num_q * r

        h, _ = self.lstm_layer(self.interaction_emb(x))
        y = self.out_layer(h)
        y = self.dropout_layer(y)
        y = torch.sigmoid(y)

        return y

    def train_model(
        self, train_loader, test_loader, num_epochs, opt, ckpt_path
    ):
        '''
            Args:
                train_loader: the PyTorch DataLoader instance for training
                test_loader: the PyTorch DataLoader instance for test
                num_epochs: the number of epochs
                opt: the optimization to train this model
                ckpt_path: the path to save this model's parameters
        '''
        aucs = []
        loss_means = []

        max_auc = 0

        for i in range(1, num_epochs + 1):
            loss_mean = []

            for data in train_loader:
                q, r, qshft, rshft, m = data

                self.train()

                y = self(q.long(), r.long())
                y_curr = (y * one_hot(q.long(), self.num_q)).sum(-1)
                y_next = (y * one_hot(qshft.long(), self.num_q)).sum(-1)

                y_curr = torch.masked_select(y_curr, m)
                y_next = torch.masked_select(y_next, m)
                r = torch.masked_select(r, m)
                rshft = torch.masked_select(rshft, m)

                loss_w1 = torch.masked_select(
                    torch.norm(y[:, 1:] - y[:, :-1], p=1, dim=-1),
                    m[:, 1:]
                )
                loss_w2 = torch.masked_select(
                    (torch.norm(y[:, 1:] - y[:, :-1], p=2, dim=-1) ** 2),
                    m[:, 1:]
                )

                opt.zero_grad()
                loss = \
                    binary_cross_entropy(y_next, rshft) + \
                    self.lambda_r * binary_cross_entropy(y_curr, r) + \
                    self.lambda_w1 * loss_w1.mean() / self.num_q + \
                    self.lambda_w2 * loss_w2.mean() / self.num_q
                loss.backward()
                opt.step()

                loss_mean.append(loss.detach().cpu().numpy())

            with torch.no_grad():
                for data in test_loader:
                    q, r, qshft, rshft, m = data

                    self.eval()

                    y = self(q.long(), r.long())
                    y_next = (y * one_hot(qshft.long(), self.num_q)).sum(-1)

                    y_next = torch.masked_select(y_next, m).detach().cpu()
                    rshft = torch.masked_select(rshft, m).detach().cpu()

                    auc = metrics.roc_auc_score(
                        y_true=rshft.numpy(), y_score=y_next.numpy()
                    )

                    loss_mean = np.mean(loss_mean)

                    print(
                        "Epoch: {},   AUC: {},   Loss Mean: {}"
                        .format(i, auc, loss_mean)
                    )

                    if auc > max_auc:
                        torch.save(
                            self.state_dict(),
                            os.path.join(
                                ckpt_path, "model.ckpt"
                            )
                        )
                        max_auc = auc

                    aucs.append(auc)
                    loss_means.append(loss_mean)

        return aucs, loss_means


if torch.cuda.is_available():
    from microgradseq.cuda import FloatTensor
    torch.set_default_tensor_type(torch.cuda.FloatTensor)
else:
    from microgradseq import FloatTensor


def match_seq_len(q_seqs, r_seqs, seq_len, pad_val=-1):
    '''
        Args:
            q_seqs: the question(KC) sequences with the size of \
                [batch_size, some_sequence_length]
            r_seqs: the response sequences with the size of \
                [batch_size, some_sequence_length]

            Note that the "some_sequence_length" is not uniform over \
                the whole batch of q_seqs and r_seqs

            seq_len: the sequence length to match the q_seqs, r_seqs \
                to same length
            pad_val: the padding value for the sequence with the length \
                longer than seq_len

        Returns:
            proc_q_seqs: the processed q_seqs with the size of \
                [batch_size, seq_len + 1]
            proc_r_seqs: the processed r_seqs with the size of \
                [batch_size, seq_len + 1]
    '''
    proc_q_seqs = []
    proc_r_seqs = []

    for q_seq, r_seq in zip(q_seqs, r_seqs):
        i = 0
        while i + seq_len + 1 < len(q_seq):
            proc_q_seqs.append(q_seq[i:i + seq_len + 1])
            proc_r_seqs.append(r_seq[i:i + seq_len + 1])

            i += seq_len + 1

        proc_q_seqs.append(
            np.concatenate(
                [
                    q_seq[i:],
                    np.array([pad_val] * (i + seq_len + 1 - len(q_seq)))
                ]
            )
        )
        proc_r_seqs.append(
            np.concatenate(
                [
                    r_seq[i:],
                    np.array([pad_val] * (i + seq_len + 1 - len(q_seq)))
                ]
            )
        )

    return proc_q_seqs, proc_r_seqs


def collate_fn(batch, pad_val=-1):
    '''
        The collate function for torch.utils.data.DataLoader

        Returns:
            q_seqs: the question(KC) sequences with the size of \
                [batch_size, maximum_sequence_length_in_the_batch]
            r_seqs: the response sequences with the size of \
                [batch_size, maximum_sequence_length_in_the_batch]
            qshft_seqs: the question(KC) sequences which were shifted \
                one step to the right with ths size of \
                [batch_size, maximum_sequence_length_in_the_batch]
            rshft_seqs: the response sequences which were shifted \
                one step to the right with ths size of \
                [batch_size, maximum_sequence_length_in_the_batch]
            mask_seqs: the mask sequences indicating where \
                the padded entry is with the size of \
                [batch_size, maximum_sequence_length_in_the_batch]
    '''
    q_seqs = []
    r_seqs = []
    qshft_seqs = []
    rshft_seqs = []

    for q_seq, r_seq in batch:
        q_seqs.append(FloatTensor(q_seq[:-1]))
        r_seqs.append(FloatTensor(r_seq[:-1]))
        qshft_seqs.append(FloatTensor(q_seq[1:]))
        rshft_seqs.append(FloatTensor(r_seq[1:]))

    q_seqs = pad_sequence(
        q_seqs, batch_first=True, padding_value=pad_val
    )
    r_seqs = pad_sequence(
        r_seqs, batch_first=True, padding_value=pad_val
    )
    qshft_seqs = pad_sequence(
        qshft_seqs, batch_first=True, padding_value=pad_val
    )
    rshft_seqs = pad_sequence(
        rshft_seqs, batch_first=True, padding_value=pad_val
    )

    mask_seqs = (q_seqs != pad_val) * (qshft_seqs != pad_val)

    q_seqs, r_seqs, qshft_seqs, rshft_seqs = \
        q_seqs * mask_seqs, r_seqs * mask_seqs, qshft_seqs * mask_seqs, \
        rshft_seqs * mask_seqs

    return q_seqs, r_seqs, qshft_seqs, rshft_seqs, mask_seqs


DATASET_DIR = "datasets/ASSIST2009/"


class ASSIST2009(TorchDataset):
    def __init__(self, seq_len, dataset_dir=DATASET_DIR) -> None:
        super().__init__()

        self.dataset_dir = dataset_dir
        self.dataset_path = os.path.join(
            self.dataset_dir, "skill_builder_data.csv"
        )

        if os.path.exists(os.path.join(self.dataset_dir, "q_seqs.pkl")):
            with open(os.path.join(self.dataset_dir, "q_seqs.pkl"), "rb") as f:
                self.q_seqs = pickle.load(f)
            with open(os.path.join(self.dataset_dir, "r_seqs.pkl"), "rb") as f:
                self.r_seqs = pickle.load(f)
            with open(os.path.join(self.dataset_dir, "q_list.pkl"), "rb") as f:
                self.q_list = pickle.load(f)
            with open(os.path.join(self.dataset_dir, "u_list.pkl"), "rb") as f:
                self.u_list = pickle.load(f)
            with open(os.path.join(self.dataset_dir, "q2idx.pkl"), "rb") as f:
                self.q2idx = pickle.load(f)
            with open(os.path.join(self.dataset_dir, "u2idx.pkl"), "rb") as f:
                self.u2idx = pickle.load(f)
        else:
            self.q_seqs, self.r_seqs, self.q_list, self.u_list, self.q2idx, \
                self.u2idx = self.preprocess()

        self.num_u = self.u_list.shape[0]
        self.num_q = self.q_list.shape[0]

        if seq_len:
            self.q_seqs, self.r_seqs = \
                match_seq_len(self.q_seqs, self.r_seqs, seq_len)

        self.len = len(self.q_seqs)

    def __getitem__(self, index):
        return self.q_seqs[index], self.r_seqs[index]

    def __len__(self):
        return self.len

    def preprocess(self):
        # differs: the csv's pandas preprocessing (pd.read_csv, dropna, drop_duplicates, sort_values) is not ported
        # (pandas is not installed); the tests write the pickles this method would cache
        raise NotImplementedError("ASSIST2009.preprocess needs pandas")


class _NotPorted:  # differs: train.py's other datasets and models (not ported this round) are names that raise
    def __init__(self, *args, **kwargs):
        raise NotImplementedError("not ported")


ASSIST2015 = Algebra2005 = Statics2011 = DKVMN = SAKT = PAM = MHA = _NotPorted
SGD, Adam = optim.SGD, optim.Adam  # `from torch.optim import SGD, Adam`


def main(model_name, dataset_name):
    if not os.path.isdir("ckpts"):
        os.mkdir("ckpts")

    ckpt_path = os.path.join("ckpts", model_name)
    if not os.path.isdir(ckpt_path):
        os.mkdir(ckpt_path)

    ckpt_path = os.path.join(ckpt_path, dataset_name)
    if not os.path.isdir(ckpt_path):
        os.mkdir(ckpt_path)

    with open("config.json") as f:
        config = json.load(f)
        model_config = config[model_name]
        train_config = config["train_config"]

    batch_size = train_config["batch_size"]
    num_epochs = train_config["num_epochs"]
    train_ratio = train_config["train_ratio"]
    learning_rate = train_config["learning_rate"]
    optimizer = train_config["optimizer"]  # can be [sgd, adam]
    seq_len = train_config["seq_len"]

    if dataset_name == "ASSIST2009":
        dataset = ASSIST2009(seq_len)
    elif dataset_name == "ASSIST2015":
        dataset = ASSIST2015(seq_len)
    elif dataset_name == "Algebra2005":
        dataset = Algebra2005(seq_len)
    elif dataset_name == "Statics2011":
        dataset = Statics2011(seq_len)

    if torch.cuda.is_available():
        device = "cuda"
    else:
        device = "cpu"

    with open(os.path.join(ckpt_path, "model_config.json"), "w") as f:
        json.dump(model_config, f, indent=4)
    with open(os.path.join(ckpt_path, "train_config.json"), "w") as f:
        json.dump(train_config, f, indent=4)

    if model_name == "dkt":
        model = DKT(dataset.num_q, **model_config).to(device)
    elif model_name == "dkt+":
        model = DKTPlus(dataset.num_q, **model_config).to(device)
    elif model_name == "dkvmn":
        model = DKVMN(dataset.num_q, **model_config).to(device)
    elif model_name == "sakt":
        model = SAKT(dataset.num_q, **model_config).to(device)
    elif model_name == "gkt":
        if model_config["method"] == "PAM":
            model = PAM(dataset.num_q, **model_config).to(device)
        elif model_config["method"] == "MHA":
            model = MHA(dataset.num_q, **model_config).to(device)
    else:
        print("The wrong model name was used...")
        return

    train_size = int(len(dataset) * train_ratio)
    test_size = len(dataset) - train_size

    train_dataset, test_dataset = random_split(
        dataset, [train_size, test_size]
    )

    if os.path.exists(os.path.join(dataset.dataset_dir, "train_indices.pkl")):
        with open(
            os.path.join(dataset.dataset_dir, "train_indices.pkl"), "rb"
        ) as f:
            train_dataset.indices = pickle.load(f)
        with open(
            os.path.join(dataset.dataset_dir, "test_indices.pkl"), "rb"
        ) as f:
            test_dataset.indices = pickle.load(f)
    else:
        with open(
            os.path.join(dataset.dataset_dir, "train_indices.pkl"), "wb"
        ) as f:
            pickle.dump(train_dataset.indices, f)
        with open(
            os.path.join(dataset.dataset_dir, "test_indices.pkl"), "wb"
        ) as f:
            pickle.dump(test_dataset.indices, f)

    train_loader = TorchDataLoader(
        train_dataset, batch_size=batch_size, shuffle=True,
        collate_fn=collate_fn
    )
    test_loader = TorchDataLoader(
        test_dataset, batch_size=test_size, shuffle=True,
        collate_fn=collate_fn
    )

    if optimizer == "sgd":
        opt = SGD(model.parameters(), learning_rate, momentum=0.9)
    elif optimizer == "adam":
        opt = Adam(model.parameters(), learning_rate)

    aucs, loss_means = \
        model.train_model(
            train_loader, test_loader, num_epochs, opt, ckpt_path
        )

    with open(os.path.join(ckpt_path, "aucs.pkl"), "wb") as f:
        pickle.dump(aucs, f)
    with open(os.path.join(ckpt_path, "loss_means.pkl"), "wb") as f:
        pickle.dump(loss_means, f)


def made_up_students(n_users, num_q, seed):
    """Made-up ASSISTments-like logs: each student answers a run of skills; skills 0 and 1 are easy (p 0.9),
    the rest hard (p 0.15), so a model that learns the skills' rates predicts better than chance."""
    rng = np.random.default_rng(seed)
    q_seqs, r_seqs = [], []
    for _ in range(n_users):
        n = rng.integers(6, 30)
        q = rng.integers(0, num_q, n)
        r = (rng.random(n) < np.where(q < 2, 0.9, 0.15)).astype(np.int64)
        q_seqs.append(q)
        r_seqs.append(r)
    return q_seqs, r_seqs


def write_assist_pickles(dataset_dir, q_seqs, r_seqs, num_q):
    os.makedirs(dataset_dir, exist_ok=True)
    u_list = np.arange(100, 100 + len(q_seqs))
    q_list = np.array([f"skill {k}" for k in range(num_q)])
    for name, value in [("q_seqs", q_seqs), ("r_seqs", r_seqs), ("q_list", q_list), ("u_list", u_list),
                        ("q2idx", {q: i for i, q in enumerate(q_list)}),
                        ("u2idx", {u: i for i, u in enumerate(u_list)})]:
        with open(os.path.join(dataset_dir, f"{name}.pkl"), "wb") as f:
            pickle.dump(value, f)


def test_match_seq_len_splits_and_pads():
    q = [np.array([1, 2, 3, 4, 5, 6, 7]), np.array([8, 9])]
    r = [np.array([1, 0, 1, 1, 0, 0, 1]), np.array([0, 1])]
    pq, pr = match_seq_len(q, r, 2)
    assert [a.tolist() for a in pq] == [[1, 2, 3], [4, 5, 6], [7, -1, -1], [8, 9, -1]]
    assert [a.tolist() for a in pr] == [[1, 0, 1], [1, 0, 0], [1, -1, -1], [0, 1, -1]]
    pq, _ = match_seq_len([np.array([1, 2, 3])], [np.array([0, 0, 0])], 2)
    assert [a.tolist() for a in pq] == [[1, 2, 3]]  # exactly seq_len + 1: one window, no padding


def test_collate_fn_pads_shifts_and_masks():
    batch = [(np.array([3, 1, 2, -1]), np.array([1, 0, 1, -1])), (np.array([0, 2]), np.array([0, 1]))]
    q, r, qshft, rshft, m = collate_fn(batch)
    assert q.dtype == torch.float32 and m.dtype == torch.bool and q.shape == (2, 3)
    np.testing.assert_array_equal(arr(m), [[True, True, False], [True, False, False]])
    np.testing.assert_array_equal(arr(q), [[3, 1, 0], [0, 0, 0]])  # padding (-1) times False is 0
    np.testing.assert_array_equal(arr(qshft), [[1, 2, 0], [2, 0, 0]])
    np.testing.assert_array_equal(arr(r), [[1, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(arr(rshft), [[0, 1, 0], [1, 0, 0]])


def test_assist2009_reads_its_cached_pickles(tmp_path):
    q_seqs, r_seqs = made_up_students(5, 4, 0)
    write_assist_pickles(str(tmp_path / "a9"), q_seqs, r_seqs, 4)
    data = ASSIST2009(10, dataset_dir=str(tmp_path / "a9"))
    assert data.num_q == 4 and data.num_u == 5
    expected_q, expected_r = match_seq_len(q_seqs, r_seqs, 10)
    assert len(data) == len(expected_q)
    q, r = data[1]
    np.testing.assert_array_equal(q, expected_q[1])
    np.testing.assert_array_equal(r, expected_r[1])
    with pytest.raises(NotImplementedError, match="pandas"):
        ASSIST2009(10, dataset_dir=str(tmp_path / "empty"))


def np_dkt(p, q, r, num_q, hidden):
    """DKT in numpy (eval mode): embedding of q + num_q r, the LSTM over the batch-first sequence, Linear, sigmoid."""
    e = p["interaction_emb.weight"][q + num_q * r]
    B, T = q.shape
    h, c, ys = np.zeros((B, hidden)), np.zeros((B, hidden)), []
    for t in range(T):
        h, c = np_lstm_cell(e[:, t], h, c, p["lstm_layer.weight_ih_l0"], p["lstm_layer.weight_hh_l0"],
                            p["lstm_layer.bias_ih_l0"], p["lstm_layer.bias_hh_l0"])
        ys.append(h @ p["out_layer.weight"].T + p["out_layer.bias"])
    return np_sigmoid(np.stack(ys, 1))


def np_bce(y, t):
    return -np.mean(t * np.log(y) + (1 - t) * np.log(1 - y))


def dkt_batch(seed=1):
    batch = [(np.array([0, 2, 1, 3, 3, 0]), np.array([1, 0, 1, 0, 0, 1])),
             (np.array([1, 1, 2, 0]), np.array([1, 1, 0, 1])),
             (np.array([3, 2, 0, 1, 2]), np.array([0, 0, 1, 1, 0]))]
    return collate_fn(batch)


def test_dkt_forward_against_numpy(float64):
    model = DKT(4, 5, 6)
    model.eval()
    q, r, qshft, rshft, m = dkt_batch()
    y = model(q.long(), r.long())
    qi, ri = arr(q).astype(int), arr(r).astype(int)
    np.testing.assert_allclose(arr(y), np_dkt(params_of(model), qi, ri, 4, 6), rtol=1e-10, atol=1e-12)
    assert y.shape == (3, 5, 4)


def test_dkt_next_skill_masked_bce_value_and_gradients(float64):
    model = DKT(4, 5, 6)
    model.eval()  # dropout off, so the loss is a function of the parameters
    q, r, qshft, rshft, m = dkt_batch()
    qi, ri, qs, rs, mask = (arr(t).astype(int) for t in (q, r, qshft, rshft, m))
    mask = mask.astype(bool)

    def loss_np(p):
        y = np_dkt(p, qi, ri, 4, 6)
        picked = np.take_along_axis(y, qs[..., None], -1)[..., 0]  # the next skill's prediction
        return np_bce(picked[mask], rs[mask])

    def loss_lib():
        y = model(q.long(), r.long())
        y = (y * one_hot(qshft.long(), model.num_q)).sum(-1)
        # (rshft is FloatTensor's float32; these float64 checks cast it)
        return binary_cross_entropy(torch.masked_select(y, m), torch.masked_select(rshft, m).double())

    check_grads(model, ["interaction_emb.weight", "lstm_layer.weight_hh_l0", "lstm_layer.bias_ih_l0",
                        "out_layer.weight"], loss_np, loss_lib)


def test_dkt_plus_loss_value_and_gradients(float64):
    model = DKTPlus(4, 5, 6, 0.1, 0.03, 3.0)
    model.eval()
    q, r, qshft, rshft, m = dkt_batch()
    qi, ri, qs, rs, mask = (arr(t).astype(int) for t in (q, r, qshft, rshft, m))
    mask = mask.astype(bool)

    def loss_np(p):
        y = np_dkt(p, qi, ri, 4, 6)
        y_curr = np.take_along_axis(y, qi[..., None], -1)[..., 0][mask]
        y_next = np.take_along_axis(y, qs[..., None], -1)[..., 0][mask]
        d = y[:, 1:] - y[:, :-1]
        w1 = np.abs(d).sum(-1)[mask[:, 1:]]
        w2 = (d ** 2).sum(-1)[mask[:, 1:]]
        return np_bce(y_next, rs[mask]) + 0.1 * np_bce(y_curr, ri[mask]) + 0.03 * w1.mean() / 4 + 3.0 * w2.mean() / 4

    def loss_lib():
        # the loss lines of DKTPlus.train_model, as written
        y = model(q.long(), r.long())
        y_curr = (y * one_hot(q.long(), model.num_q)).sum(-1)
        y_next = (y * one_hot(qshft.long(), model.num_q)).sum(-1)
        y_curr = torch.masked_select(y_curr, m)
        y_next = torch.masked_select(y_next, m)
        r_ = torch.masked_select(r, m).double()
        rshft_ = torch.masked_select(rshft, m).double()
        loss_w1 = torch.masked_select(torch.norm(y[:, 1:] - y[:, :-1], p=1, dim=-1), m[:, 1:])
        loss_w2 = torch.masked_select((torch.norm(y[:, 1:] - y[:, :-1], p=2, dim=-1) ** 2), m[:, 1:])
        return binary_cross_entropy(y_next, rshft_) + model.lambda_r * binary_cross_entropy(y_curr, r_) + \
            model.lambda_w1 * loss_w1.mean() / model.num_q + model.lambda_w2 * loss_w2.mean() / model.num_q

    check_grads(model, ["interaction_emb.weight", "lstm_layer.weight_ih_l0", "out_layer.bias"], loss_np, loss_lib)


def test_dkt_dropout_sits_before_the_sigmoid():
    model = DKT(4, 5, 6)
    q, r, _, _, _ = dkt_batch()
    model.train()
    y = arr(model(q.long(), r.long()))
    half = y == 0.5  # a dropped logit is 0, and sigmoid(0) = 0.5 exactly
    assert 0.3 < half.mean() < 0.7
    model.eval()
    assert not np.any(arr(model(q.long(), r.long())) == 0.5)


def test_dkt_train_py_main_end_to_end(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    num_q = 4
    q_seqs, r_seqs = made_up_students(60, num_q, 1)
    write_assist_pickles(DATASET_DIR, q_seqs, r_seqs, num_q)
    config = {  # differs: the repo's config.json with smaller sizes, epochs and a larger rate
        "train_config": {"batch_size": 16, "num_epochs": 8, "train_ratio": 0.75, "learning_rate": 0.02,
                         "optimizer": "adam", "seq_len": 10},
        "dkt": {"emb_size": 8, "hidden_size": 8},
        "dkt+": {"emb_size": 8, "hidden_size": 8, "lambda_r": 0.01, "lambda_w1": 0.003, "lambda_w2": 3.0},
        "saint": {"n": 10, "d": 6, "num_attn_heads": 2, "dropout": 0.6},
    }
    with open("config.json", "w") as f:
        json.dump(config, f)
    main("dkt", "ASSIST2009")
    ckpt_path = os.path.join("ckpts", "dkt", "ASSIST2009")
    with open(os.path.join(ckpt_path, "aucs.pkl"), "rb") as f:
        aucs = pickle.load(f)
    with open(os.path.join(ckpt_path, "loss_means.pkl"), "rb") as f:
        loss_means = pickle.load(f)
    assert len(aucs) == len(loss_means) == 8
    assert loss_means[-1] < 0.92 * loss_means[0]  # (the training loss, with dropout on the logits)
    assert max(aucs) > 0.85
    assert capsys.readouterr().out.count("Epoch: ") == 8
    with open(os.path.join(DATASET_DIR, "train_indices.pkl"), "rb") as f:
        train_indices = pickle.load(f)
    with open(os.path.join(DATASET_DIR, "test_indices.pkl"), "rb") as f:
        test_indices = pickle.load(f)
    n = len(ASSIST2009(10))
    assert sorted(list(train_indices) + list(test_indices)) == list(range(n)) and len(train_indices) == int(n * 0.75)
    best = DKT(num_q, 8, 8)
    best.load_state_dict(torch.load(os.path.join(ckpt_path, "model.ckpt")))
    # the second run reads the indices back and trains DKT+ on the same split
    main("dkt+", "ASSIST2009")
    with open(os.path.join("ckpts", "dkt+", "ASSIST2009", "loss_means.pkl"), "rb") as f:
        plus_means = pickle.load(f)
    assert plus_means[-1] < plus_means[0]
    with open(os.path.join(DATASET_DIR, "train_indices.pkl"), "rb") as f:
        assert pickle.load(f) == train_indices
    main("saint", "ASSIST2009")  # in config.json, but main has no branch for it
    assert "The wrong model name was used..." in capsys.readouterr().out
    with pytest.raises(KeyError):
        main("nope", "ASSIST2009")  # config[model_name] comes first
