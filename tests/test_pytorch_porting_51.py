"""Porting, round 51: RECURRENT ARCHITECTURES WITH UNUSUAL STRUCTURE, as public PyTorch code writes them (no
earlier round ported a Tree-LSTM, a Clockwork RNN, a Phased LSTM or GRU-D). Each is written as its author wrote it,
with only the imports changed (`# differs:` marks each other change and why):

1. dasguptar/treelstm.pytorch (Tai et al. 2015, child-sum Tree-LSTM on SICK relatedness): treelstm/model.py
   (08a8e1120132b817e1ddc02680361c83837e7de2): `ChildSumTreeLSTM` (recursion over a tree's children,
   `zip(* map(lambda x: x.state, tree.children))`, `torch.cat` of a variable number of children's states,
   `torch.sum(child_h, dim=0, keepdim=True)`, a forget gate per child by `self.fx(inputs).repeat(len(child_h), 1)`),
   `Similarity` (`torch.abs(torch.add(lvec, -rvec))`, `F.log_softmax`), `SimilarityTreeLSTM` (an `nn.Embedding`
   with `padding_idx`, `sparse=` and a freeze switch); tree.py (38c9f4bda9e8364bffbdc02739880c5ac3cf8bae); vocab.py
   and Constants.py (9b16a6d528d387d7ae5fb69a73f13f2e24db76b7); treelstm/dataset.py and treelstm/trainer.py
   (de9605c045bfb2842bfa599942d90695a6455af3): `SICKDataset` (`read_tree` from a parents line, `deepcopy` of
   trees and tensors per item), `Trainer` (`dataset[indices[idx]]` with a 0-d tensor, `loss.backward()` per
   example and a step every `batchsize`, `predictions[idx] = torch.dot(indices, torch.exp(output))`);
   treelstm/utils.py (08a8e112...): `map_label_to_target` (`target[0][floor-1] = ceil - label`);
   treelstm/metrics.py (a67c47054cbf462c6737882ffe31678efd1ce30e). main.py (08a8e112...) and config.py
   (453dd528077dcfdfcb9d583734e58d29c0661cb6) were read for the criterion (`nn.KLDivLoss()`) and the optimizer
   (`optim.Adagrad(filter(lambda p: p.requires_grad, ...), weight_decay=...)`); its GloVe loading and
   checkpointing are not run. SICK is made up (ten pairs of small dependency trees). Also a 3000-node chain
   (deep recursion) and a node with 300 children.
2. ToruOwO/clockwork-rnn-pytorch (Koutnik et al. 2014), model.py, data.py and main.py
   (0085ae6aa3f00414e648107a00ea1bf456bdd1ca): `CwRNN` (module i with period 2**i; its block-row of an
   `nn.RNNCell`'s weights sliced, `weight_hh[start:end, start:]` the block-triangular mask; `hidden_out[:, a:b] +=`
   into `torch.zeros_like`), the `RNN`/`LSTM`/`GRU` baselines, `AudioSeq` (a wav read, normalised to [-1, 1]),
   `train(args)` (Adam or RMSprop with momentum, MSE on the signal, `np.save` of the losses, the plots). The
   audio is a made-up stereo wav.
3. dannyneil/pytorch_plstm (Neil et al. 2016, by the paper's first author), plstm_cell.py, custom_lstm.py and main.py
   (2ac7fb5cf65b78f4b6ab4ad8e29faf4448ae085e): `GradMod` (an `autograd.Function` for `torch.fmod` with its own
   backward through `ctx.saved_variables` and `torch.floor_divide`), `PLSTM` (periods, shifts and open ratio as
   parameters, `abs(...)`, `torch.le`/`torch.gt`, a product of bool tensors, nested `torch.where` for the up, down
   and leaky phases), `CustomLSTM`, `sin_wave_iterator` (asynchronous and synchronous sampling, left padding by
   `bX[idx, max_length-lengths[idx]:, 0] =` with 0-d tensor bounds, `torch.arange` of 0-d tensors), `Net`,
   `train` and `test` (`clip_grad_value_`, `F.nll_loss`). `main()` (10 epochs of 10000 waves) is not run.
4. zhiyongc/GRU-D (Che et al. 2018), GRUD.py (d070b52523db0dff7b6abb0a7f17ecb9baaadd42): `FilterLinear` (a weight
   masked by a fixed 0/1 matrix, `.mul`, `register_parameter('bias', None)`, its own `__repr__`), `GRUD` (input and
   hidden decays `torch.exp(-torch.max(self.zeros, gamma(delta)))`, imputation toward the last observation and the
   mean, a GRU on `[x, h, mask]`); main.py (4d43db8376a6a102e5f718b091267cdae3979abf): `PrepareDataset` (mask,
   intervals and last observations in numpy, `TensorDataset`, `DataLoader(drop_last=True)`) and `Train_Model`
   (RMSprop, a validation batch per training batch, early stopping). `Test_Model` and the `__main__` block
   (`pd.read_pickle` of Seattle loop data) are not run; the speed matrix is made up.

Every source was read in the index at the commit named; none was written from memory.

What broke (fixed in this round's library change):
  - `torch.arange(start[idx], start[idx]+duration[idx], step=sample_res)` (sin_wave_iterator, synchronous): the
    library refused 0-d tensor bounds (ValueError "must be finite numbers"); PyTorch's parser takes a 0-d tensor
    that does not require grad for a Scalar argument (torch/csrc/utils/python_arg_parser.cpp,
    FunctionParameter::check). `arange` now reads them as their numbers (int64 for integer tensors); a tensor with
    dimensions or with grad is a TypeError, as PyTorch's.
  - `from torch.nn.parameter import Parameter` (GRUD.py): there was no `microgradseq.nn.parameter`; it is now the
    module path of `mg.nn`'s `Parameter` and `UninitializedParameter`.
  - Undocumented until now: `view` is `reshape` (by design), so `x.permute(1, 0, 2).view(B * T, H)` (the Clockwork
    repo's `RNN(batch_first=False)`) works here where PyTorch raises "view size is not compatible with input
    tensor's size and stride"; docs/pytorch.md says so now, and a test pins the library's result.

Met and left as documented (docs/pytorch.md; the lines say `differs:`):
  - `.data` is the read-only numpy array: `inputs[0].data.new(1, mem_dim)`, `weight.data.uniform_(...)`,
    `self.Periods.data.copy_(...)`; `torch.Tensor(hidden_sz, 1)` and `torch.Tensor(n)` (sizes) are refused or
    0-d: `torch.empty`.
  - `torch.Tensor` of a float64 numpy array stays float64: the Clockwork `train` adds `.float()`; GRU-D's
    training runs with the default dtype float64 (its `torch.Tensor(X_mean)` and datasets).
  - CPU only: the Clockwork RNN's and GRU-D's `.cuda()` (which raise in PyTorch without a GPU too) are dropped.
  - `mse_loss` refuses an input and target of different shapes: GRU-D's `loss_MSE(outputs, labels)` with (B, F)
    and (B, 1, F), which PyTorch broadcasts to (B, B, F) with a warning (the source's slip), squeezes `labels`.
  - `nn.Embedding(sparse=True)` is refused (the Tree-LSTM's `--sparse`, off by default).
  - numpy's RuntimeWarning on x / 0 where PyTorch is silent (a Phased LSTM gate shut at On_End = 0).
  As PyTorch: KLDivLoss's reduction='mean' warning; `ctx.saved_variables`' DeprecationWarning; the NaN that
  `torch.where` lets through from the branch it did not choose (0 x inf); the maximum's half gradient at a tie.

Met and changed for reasons outside the library (marked): tqdm, matplotlib, scipy.io.wavfile and pandas are not
installed (stand-ins); the repos' own modules (`Constants`, `utils`, `custom_lstm`) as names here; the Phased LSTM's
`train`/`test` renamed; Vocab closes its file; `Train_Model`'s `sum(...).cpu().numpy()[0]` fails under
PyTorch >= 0.4 too (a 0-d loss) and reads `float(...)`; main.py's global `batch_size` is a module name; unused
locals deleted and `"".format(...)` given a field (pyflakes); source lines over 120 characters wrapped.

Noticed and left alone (the sources', in PyTorch too):
  - treelstm: `Tree.size()`/`depth()` call `getattr(self, '_size')` without a default (AttributeError; never
    called); `SimilarityTreeLSTM` compares the roots' memory cells c (`lstate`), where the paper uses h; `Trainer`
    first steps after batchsize + 1 examples and drops the last partial batch's gradients; its own forward
    recursion reaches Python's limit at a depth near 1000, as under PyTorch.
  - Phased LSTM: `GradMod`'s d/dy is -floor(x / y) where fmod's is -trunc(x / y) (equal for the positive times
    here); `set_grad` is never used; the leak is applied in eval mode too.
  - GRU-D: `gamma_h_l` is (input, input) but scales h, so hidden_size must equal input_size (main.py's choice);
    PrepareDataset's `X_last_obsv = speed_sequences` aliases the two (the x channel gets the carried values too),
    and the last-observed, mask and interval channels are shuffled twice (`X_last_obsv[index]` again), so they no
    longer line up with x and the labels; `torch.squeeze` would drop the batch axis of a batch of one.

Expected values come from numpy written here in float64 (the child-sum node and the similarity head, the
clockwork recurrence, the Phased LSTM's time gate, GRU-D's decays, central differences of those), never from the
library's own outputs.
"""

import argparse
import json
import math
import os
import random
import sys
import time
import wave
import warnings
from copy import deepcopy

import numpy as np
import pytest
from porting_references import (arr, central, check_named_grads, np_log_softmax, np_sigmoid, params_of, quietly,
                                some_indices)

import microgradseq as torch
import microgradseq.nn as nn
import microgradseq.nn.functional as F
import microgradseq.optim as optim
import microgradseq.utils.data as utils
from microgradseq.autograd import Variable
from microgradseq.autograd import Variable as Var
from microgradseq.nn.parameter import Parameter


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)
    np.random.seed(0)
    random.seed(0)
    yield
    torch.set_default_dtype(torch.float32)


# ---- shared helpers (float64 numpy, written here) ---------------------------------------------------------


def check_grads(model, names, loss_np, loss_lib, count=2, rtol=1e-5, atol=1e-9):
    """Library gradients of the named parameters against central differences of the numpy loss."""
    check_named_grads(model, names, loss_np, loss_lib, count, rtol, atol)


class tqdm:  # differs: `from tqdm import tqdm` (not installed): the iterable, its desc kept
    def __init__(self, iterable, desc=None):
        self.iterable, self.desc = iterable, desc

    def __iter__(self):
        return iter(self.iterable)


class _Pyplot:  # differs: `import matplotlib.pyplot as plt` (not installed): a stand-in recording the calls
    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        def record(*args, **kwargs):
            self.calls.append(name)
        return record


plt = _Pyplot()


# ==== 1. dasguptar/treelstm.pytorch: child-sum Tree-LSTM for sentence similarity (SICK) =========================

class Constants:  # differs: Constants.py is the repo's module (`from . import Constants`); its lines, as a class
    PAD = 0
    UNK = 1
    BOS = 2
    EOS = 3

    PAD_WORD = '<blank>'
    UNK_WORD = '<unk>'
    BOS_WORD = '<s>'
    EOS_WORD = '</s>'


# tree object from stanfordnlp/treelstm
class Tree(object):
    def __init__(self):
        self.parent = None
        self.num_children = 0
        self.children = list()

    def add_child(self,child):
        child.parent = self
        self.num_children += 1
        self.children.append(child)

    def size(self):
        if getattr(self,'_size'):
            return self._size
        count = 1
        for i in range(self.num_children):
            count += self.children[i].size()
        self._size = count
        return self._size

    def depth(self):
        if getattr(self,'_depth'):
            return self._depth
        count = 0
        if self.num_children>0:
            for i in range(self.num_children):
                child_depth = self.children[i].depth()
                if child_depth>count:
                    count = child_depth
            count += 1
        self._depth = count
        return self._depth


# vocab object from harvardnlp/opennmt-py
class Vocab(object):
    def __init__(self, filename=None, data=None, lower=False):
        self.idxToLabel = {}
        self.labelToIdx = {}
        self.lower = lower

        # Special entries will not be pruned.
        self.special = []

        if data is not None:
            self.addSpecials(data)
        if filename  is not None:
            self.loadFile(filename)

    def size(self):
        return len(self.idxToLabel)

    # Load entries from a file.
    def loadFile(self, filename):
        idx = 0
        with open(filename) as lines:  # differs: `for line in open(filename):` (a ResourceWarning otherwise)
            for line in lines:
                token = line.rstrip('\n')
                self.add(token)
                idx += 1

    def getIndex(self, key, default=None):
        key = key.lower() if self.lower else key
        try:
            return self.labelToIdx[key]
        except KeyError:
            return default

    def getLabel(self, idx, default=None):
        try:
            return self.idxToLabel[idx]
        except KeyError:
            return default

    # Mark this `label` and `idx` as special
    def addSpecial(self, label, idx=None):
        idx = self.add(label)
        self.special += [idx]

    # Mark all labels in `labels` as specials
    def addSpecials(self, labels):
        for label in labels:
            self.addSpecial(label)

    # Add `label` in the dictionary. Use `idx` as its index if given.
    def add(self, label):
        label = label.lower() if self.lower else label
        if label in self.labelToIdx:
            idx = self.labelToIdx[label]
        else:
            idx = len(self.idxToLabel)
            self.idxToLabel[idx] = label
            self.labelToIdx[label] = idx
        return idx

    # Convert `labels` to indices. Use `unkWord` if not found.
    # Optionally insert `bosWord` at the beginning and `eosWord` at the .
    def convertToIdx(self, labels, unkWord, bosWord=None, eosWord=None):
        vec = []

        if bosWord is not None:
            vec += [self.getIndex(bosWord)]

        unk = self.getIndex(unkWord)
        vec += [self.getIndex(label, default=unk) for label in labels]

        if eosWord is not None:
            vec += [self.getIndex(eosWord)]

        return vec


# module for childsumtreelstm
class ChildSumTreeLSTM(nn.Module):
    def __init__(self, in_dim, mem_dim):
        super(ChildSumTreeLSTM, self).__init__()
        self.in_dim = in_dim
        self.mem_dim = mem_dim
        self.ioux = nn.Linear(self.in_dim, 3 * self.mem_dim)
        self.iouh = nn.Linear(self.mem_dim, 3 * self.mem_dim)
        self.fx = nn.Linear(self.in_dim, self.mem_dim)
        self.fh = nn.Linear(self.mem_dim, self.mem_dim)

    def node_forward(self, inputs, child_c, child_h):
        child_h_sum = torch.sum(child_h, dim=0, keepdim=True)

        iou = self.ioux(inputs) + self.iouh(child_h_sum)
        i, o, u = torch.split(iou, iou.size(1) // 3, dim=1)
        i, o, u = F.sigmoid(i), F.sigmoid(o), F.tanh(u)

        f = F.sigmoid(
            self.fh(child_h) +
            self.fx(inputs).repeat(len(child_h), 1)
        )
        fc = torch.mul(f, child_c)

        c = torch.mul(i, u) + torch.sum(fc, dim=0, keepdim=True)
        h = torch.mul(o, F.tanh(c))
        return c, h

    def forward(self, tree, inputs):
        for idx in range(tree.num_children):
            self.forward(tree.children[idx], inputs)

        if tree.num_children == 0:
            # differs: `inputs[0].data.new(...)` (.data is the numpy array here, docs/pytorch.md)
            child_c = Var(inputs[0].new(1, self.mem_dim).fill_(0.))
            child_h = Var(inputs[0].new(1, self.mem_dim).fill_(0.))
        else:
            child_c, child_h = zip(* map(lambda x: x.state, tree.children))
            child_c, child_h = torch.cat(child_c, dim=0), torch.cat(child_h, dim=0)

        tree.state = self.node_forward(inputs[tree.idx], child_c, child_h)
        return tree.state


# module for distance-angle similarity
class Similarity(nn.Module):
    def __init__(self, mem_dim, hidden_dim, num_classes):
        super(Similarity, self).__init__()
        self.mem_dim = mem_dim
        self.hidden_dim = hidden_dim
        self.num_classes = num_classes
        self.wh = nn.Linear(2 * self.mem_dim, self.hidden_dim)
        self.wp = nn.Linear(self.hidden_dim, self.num_classes)

    def forward(self, lvec, rvec):
        mult_dist = torch.mul(lvec, rvec)
        abs_dist = torch.abs(torch.add(lvec, -rvec))
        vec_dist = torch.cat((mult_dist, abs_dist), 1)

        out = F.sigmoid(self.wh(vec_dist))
        out = F.log_softmax(self.wp(out), dim=1)
        return out


# putting the whole model together
class SimilarityTreeLSTM(nn.Module):
    def __init__(self, vocab_size, in_dim, mem_dim, hidden_dim, num_classes, sparsity, freeze):
        super(SimilarityTreeLSTM, self).__init__()
        self.emb = nn.Embedding(vocab_size, in_dim, padding_idx=Constants.PAD, sparse=sparsity)
        if freeze:
            self.emb.weight.requires_grad = False
        self.childsumtreelstm = ChildSumTreeLSTM(in_dim, mem_dim)
        self.similarity = Similarity(mem_dim, hidden_dim, num_classes)

    def forward(self, ltree, linputs, rtree, rinputs):
        linputs = self.emb(linputs)
        rinputs = self.emb(rinputs)
        lstate, lhidden = self.childsumtreelstm(ltree, linputs)
        rstate, rhidden = self.childsumtreelstm(rtree, rinputs)
        output = self.similarity(lstate, rstate)
        return output


# Dataset class for SICK dataset
class SICKDataset(utils.Dataset):  # differs: `data.Dataset` (`import torch.utils.data as data` there; the
    # module is imported once here, as GRU-D's `utils`)
    def __init__(self, path, vocab, num_classes):
        super(SICKDataset, self).__init__()
        self.vocab = vocab
        self.num_classes = num_classes

        self.lsentences = self.read_sentences(os.path.join(path, 'a.toks'))
        self.rsentences = self.read_sentences(os.path.join(path, 'b.toks'))

        self.ltrees = self.read_trees(os.path.join(path, 'a.parents'))
        self.rtrees = self.read_trees(os.path.join(path, 'b.parents'))

        self.labels = self.read_labels(os.path.join(path, 'sim.txt'))

        self.size = self.labels.size(0)

    def __len__(self):
        return self.size

    def __getitem__(self, index):
        ltree = deepcopy(self.ltrees[index])
        rtree = deepcopy(self.rtrees[index])
        lsent = deepcopy(self.lsentences[index])
        rsent = deepcopy(self.rsentences[index])
        label = deepcopy(self.labels[index])
        return (ltree, lsent, rtree, rsent, label)

    def read_sentences(self, filename):
        with open(filename, 'r') as f:
            sentences = [self.read_sentence(line) for line in tqdm(f.readlines())]
        return sentences

    def read_sentence(self, line):
        indices = self.vocab.convertToIdx(line.split(), Constants.UNK_WORD)
        return torch.tensor(indices, dtype=torch.long, device='cpu')

    def read_trees(self, filename):
        with open(filename, 'r') as f:
            trees = [self.read_tree(line) for line in tqdm(f.readlines())]
        return trees

    def read_tree(self, line):
        parents = list(map(int, line.split()))
        trees = dict()
        root = None
        for i in range(1, len(parents) + 1):
            if i - 1 not in trees.keys() and parents[i - 1] != -1:
                idx = i
                prev = None
                while True:
                    parent = parents[idx - 1]
                    if parent == -1:
                        break
                    tree = Tree()
                    if prev is not None:
                        tree.add_child(prev)
                    trees[idx - 1] = tree
                    tree.idx = idx - 1
                    if parent - 1 in trees.keys():
                        trees[parent - 1].add_child(tree)
                        break
                    elif parent == 0:
                        root = tree
                        break
                    else:
                        prev = tree
                        idx = parent
        return root

    def read_labels(self, filename):
        with open(filename, 'r') as f:
            labels = list(map(lambda x: float(x), f.readlines()))
            labels = torch.tensor(labels, dtype=torch.float, device='cpu')
        return labels


class treelstm_utils:  # differs: treelstm/utils.py is the repo's module (`from . import utils`); the function used
    # mapping from scalar to vector
    @staticmethod
    def map_label_to_target(label, num_classes):
        target = torch.zeros(1, num_classes)
        ceil = int(math.ceil(label))
        floor = int(math.floor(label))
        if ceil == floor:
            target[0][floor-1] = 1
        else:
            target[0][floor-1] = ceil - label
            target[0][ceil-1] = label - floor
        return target


class Trainer(object):
    def __init__(self, args, model, criterion, optimizer, device):
        super(Trainer, self).__init__()
        self.args = args
        self.model = model
        self.criterion = criterion
        self.optimizer = optimizer
        self.device = device
        self.epoch = 0

    # helper function for training
    def train(self, dataset):
        self.model.train()
        self.optimizer.zero_grad()
        total_loss = 0.0
        indices = torch.randperm(len(dataset), dtype=torch.long, device='cpu')
        for idx in tqdm(range(len(dataset)), desc='Training epoch ' + str(self.epoch + 1) + ''):
            ltree, linput, rtree, rinput, label = dataset[indices[idx]]
            target = treelstm_utils.map_label_to_target(label, dataset.num_classes)  # differs: `utils.` (above)
            linput, rinput = linput.to(self.device), rinput.to(self.device)
            target = target.to(self.device)
            output = self.model(ltree, linput, rtree, rinput)
            loss = self.criterion(output, target)
            total_loss += loss.item()
            loss.backward()
            if idx % self.args.batchsize == 0 and idx > 0:
                self.optimizer.step()
                self.optimizer.zero_grad()
        self.epoch += 1
        return total_loss / len(dataset)

    # helper function for testing
    def test(self, dataset):
        self.model.eval()
        with torch.no_grad():
            total_loss = 0.0
            predictions = torch.zeros(len(dataset), dtype=torch.float, device='cpu')
            indices = torch.arange(1, dataset.num_classes + 1, dtype=torch.float, device='cpu')
            for idx in tqdm(range(len(dataset)), desc='Testing epoch  ' + str(self.epoch) + ''):
                ltree, linput, rtree, rinput, label = dataset[idx]
                target = treelstm_utils.map_label_to_target(label, dataset.num_classes)  # differs: as above
                linput, rinput = linput.to(self.device), rinput.to(self.device)
                target = target.to(self.device)
                output = self.model(ltree, linput, rtree, rinput)
                loss = self.criterion(output, target)
                total_loss += loss.item()
                output = output.squeeze().to('cpu')
                predictions[idx] = torch.dot(indices, torch.exp(output))
        return total_loss / len(dataset), predictions


class Metrics():
    def __init__(self, num_classes):
        self.num_classes = num_classes

    def pearson(self, predictions, labels):
        x = deepcopy(predictions)
        y = deepcopy(labels)
        x = (x - x.mean()) / x.std()
        y = (y - y.mean()) / y.std()
        return torch.mean(torch.mul(x, y))

    def mse(self, predictions, labels):
        x = deepcopy(predictions)
        y = deepcopy(labels)
        return torch.mean((x - y) ** 2)


# ---- numpy reference: the child-sum Tree-LSTM (Tai et al. 2015, eqs. 2-8) and the similarity head ----------

def np_node(p, x, child_c, child_h, pre='childsumtreelstm.'):
    """One child-sum node: x (in_dim,), child_c/child_h (children, mem); returns c, h of shape (1, mem)."""
    hs = child_h.sum(0, keepdims=True)
    iou = x @ p[pre + 'ioux.weight'].T + p[pre + 'ioux.bias'] + hs @ p[pre + 'iouh.weight'].T + p[pre + 'iouh.bias']
    i, o, u = np.split(iou, 3, axis=1)
    i, o, u = np_sigmoid(i), np_sigmoid(o), np.tanh(u)
    f = np_sigmoid(child_h @ p[pre + 'fh.weight'].T + p[pre + 'fh.bias']
                   + x @ p[pre + 'fx.weight'].T + p[pre + 'fx.bias'])
    c = i * u + (f * child_c).sum(0, keepdims=True)
    return c, o * np.tanh(c)


def np_tree(p, tree, embs, mem):
    """(c, h) of the root, children first, written without recursion (a post-order walk)."""
    order, stack = [], [tree]
    while stack:
        node = stack.pop()
        order.append(node)
        stack.extend(node.children)
    states = {}
    for node in reversed(order):
        if node.children:
            cc = np.concatenate([states[id(ch)][0] for ch in node.children])
            hh = np.concatenate([states[id(ch)][1] for ch in node.children])
        else:
            cc, hh = np.zeros((1, mem)), np.zeros((1, mem))
        states[id(node)] = np_node(p, embs[node.idx], cc, hh)
    return states[id(tree)]


def np_similarity(p, tokens_l, tree_l, tokens_r, tree_r, mem):
    emb = p['emb.weight']
    lc, _ = np_tree(p, tree_l, emb[tokens_l], mem)
    rc, _ = np_tree(p, tree_r, emb[tokens_r], mem)
    vec = np.concatenate([lc * rc, np.abs(lc - rc)], 1)
    out = np_sigmoid(vec @ p['similarity.wh.weight'].T + p['similarity.wh.bias'])
    return np_log_softmax(out @ p['similarity.wp.weight'].T + p['similarity.wp.bias'], axis=1)


def np_kl_mean(log_q, target):
    """KLDivLoss(reduction='mean'): the mean over every element of target * (log target - input), 0 where
    target is 0."""
    safe = np.where(target > 0, target, 1.0)
    return np.mean(np.where(target > 0, target * (np.log(safe) - log_q), 0.0))


def chain(depth):
    """A tree that is a path of `depth` nodes: node k's one child is node k + 1 (idx = k); the root is node 0."""
    nodes = [Tree() for _ in range(depth)]
    for k, node in enumerate(nodes):
        node.idx = k
    for k in range(depth - 1):
        nodes[k].add_child(nodes[k + 1])
    return nodes[0]


WORDS = ['a', 'man', 'woman', 'is', 'playing', 'guitar', 'piano', 'dog', 'runs', 'cat', 'sleeps', 'the']


def write_sick(path, seed=0):
    """# differs: SICK's a.toks/b.toks/a.parents/b.parents/sim.txt are made up: ten small pairs whose
    relatedness (1-5) is 1 + 4 x the share of words in common, each sentence a head-first dependency tree."""
    rng = np.random.default_rng(seed)
    os.makedirs(path, exist_ok=True)
    rows = {'a.toks': [], 'b.toks': [], 'a.parents': [], 'b.parents': [], 'sim.txt': []}
    for _ in range(10):
        n = int(rng.integers(3, 6))
        a = list(rng.choice(WORDS, n))
        b = [w if rng.random() < 0.6 else str(rng.choice(WORDS)) for w in a]
        if rng.random() < 0.3:
            b.append('zebra')   # unknown to the vocabulary: <unk>
        for side, words in (('a', a), ('b', b)):
            # word 1 is the root (parent 0), each later word hangs off a word before it
            parents = [0] + [int(rng.integers(1, k + 1)) for k in range(1, len(words))]
            rows[side + '.toks'].append(' '.join(words))
            rows[side + '.parents'].append(' '.join(map(str, parents)))
        share = len(set(a) & set(b)) / len(set(a) | set(b))
        rows['sim.txt'].append('%.2f' % (1 + 4 * share))
    for name, lines in rows.items():
        with open(os.path.join(path, name), 'w') as f:
            f.write('\n'.join(lines) + '\n')
    with open(os.path.join(path, 'sick.vocab'), 'w') as f:
        f.write('\n'.join(sorted(WORDS)) + '\n')


def sick_vocab(path):
    return Vocab(filename=os.path.join(path, 'sick.vocab'),
                 data=[Constants.PAD_WORD, Constants.UNK_WORD, Constants.BOS_WORD, Constants.EOS_WORD])


def test_treelstm_read_tree_builds_the_dependency_tree_and_size_depth_fail_as_written():
    root = SICKDataset.read_tree(None, '2 0 2 5 3')     # word 2 is the root; 1 and 3 hang off it, 5 off 3, 4 off 5
    assert root.idx == 1 and root.parent is None and sorted(c.idx for c in root.children) == [0, 2]
    three = [c for c in root.children if c.idx == 2][0]
    assert [c.idx for c in three.children] == [4] and [c.idx for c in three.children[0].children] == [3]
    assert three.children[0].parent is three and three.num_children == 1
    # Tree.size()/depth() read `getattr(self, '_size')` without a default: AttributeError on a fresh tree, in plain
    # Python as under PyTorch (the repo never calls them)
    with pytest.raises(AttributeError, match="_size"):
        root.size()
    with pytest.raises(AttributeError, match="_depth"):
        root.depth()


def test_treelstm_sick_dataset_vocab_and_items(tmp_path):
    write_sick(str(tmp_path))
    vocab = sick_vocab(str(tmp_path))
    assert vocab.size() == 4 + len(WORDS) and vocab.getIndex('<blank>') == Constants.PAD
    data = SICKDataset(str(tmp_path), vocab, 5)
    assert len(data) == 10 and data.labels.dtype == torch.float32
    with open(tmp_path / 'sim.txt') as f:
        np.testing.assert_allclose(arr(data.labels), [float(v) for v in f], rtol=1e-6)
    with open(tmp_path / 'b.toks') as f:
        lines = f.read().split('\n')
    for k, line in enumerate(lines[:10]):
        expected = [vocab.getIndex(w, default=Constants.UNK) for w in line.split()]
        assert data.rsentences[k].dtype == torch.int64 and data.rsentences[k].tolist() == expected
    ltree, lsent, rtree, rsent, label = data[torch.tensor(3)]   # a 0-d tensor indexes the lists, as randperm's
    assert ltree is not data.ltrees[3] and lsent.tolist() == data.lsentences[3].tolist()
    assert float(label) == pytest.approx(float(data.labels[3])) and label.shape == ()


@pytest.mark.parametrize("label, expected", [(3.6, [0, 0, 0.4, 0.6, 0]), (2.0, [0, 1, 0, 0, 0]),
                                             (4.75, [0, 0, 0, 0.25, 0.75])])
def test_treelstm_map_label_to_target_writes_through_target_0(label, expected):
    target = treelstm_utils.map_label_to_target(torch.tensor(label), 5)    # the dataset's 0-d float32 label
    assert target.shape == (1, 5) and target.dtype == torch.float32
    np.testing.assert_allclose(arr(target), [expected], atol=1e-6)


def test_treelstm_child_sum_values_and_gradients_against_numpy(tmp_path):
    torch.set_default_dtype(torch.float64)
    write_sick(str(tmp_path))
    data = SICKDataset(str(tmp_path), sick_vocab(str(tmp_path)), 5)
    model = SimilarityTreeLSTM(data.vocab.size(), 4, 5, 3, 5, False, False)
    criterion = nn.KLDivLoss()
    ltree, lsent, rtree, rsent, label = data[2]
    target = treelstm_utils.map_label_to_target(label, 5)
    p = params_of(model)
    np.testing.assert_allclose(arr(model(ltree, lsent, rtree, rsent)),
                               np_similarity(p, lsent.tolist(), ltree, rsent.tolist(), rtree, 5), rtol=1e-12)
    c, h = ltree.state
    c_np, h_np = np_tree(p, ltree, p['emb.weight'][lsent.tolist()], 5)
    np.testing.assert_allclose(arr(c), c_np, rtol=1e-12)
    np.testing.assert_allclose(arr(h), h_np, rtol=1e-12)
    t = arr(target)

    def loss_np(q):
        return np_kl_mean(np_similarity(q, lsent.tolist(), ltree, rsent.tolist(), rtree, 5), t)

    def loss_lib():
        with pytest.warns(UserWarning, match="batchmean"):     # PyTorch's F.kl_div warns on reduction='mean' too
            return criterion(model(ltree, lsent, rtree, rsent), target)

    names = ['childsumtreelstm.ioux.weight', 'childsumtreelstm.iouh.weight', 'childsumtreelstm.fh.weight',
             'childsumtreelstm.fx.bias', 'similarity.wh.weight', 'similarity.wp.bias']
    check_grads(model, names, loss_np, loss_lib)
    used = sorted(set(lsent.tolist()) | set(rsent.tolist()))
    grad = model.emb.weight.grad
    assert np.all(grad[[i for i in range(len(grad)) if i not in used]] == 0) and np.any(grad[used] != 0)


def test_treelstm_padding_row_and_frozen_embeddings():
    model = SimilarityTreeLSTM(8, 3, 4, 2, 5, False, True)
    assert not model.emb.weight.requires_grad and np.all(arr(model.emb.weight)[Constants.PAD] == 0)
    tree = SICKDataset.read_tree(None, '0 1')
    out = model(tree, torch.tensor([0, 5]), deepcopy(tree), torch.tensor([6, 7]))
    out.sum().backward()
    assert model.emb.weight.grad is None and model.childsumtreelstm.fh.weight.grad is not None
    with pytest.raises(TypeError, match="sparse=True"):      # the repo's --sparse switch (off by default)
        SimilarityTreeLSTM(8, 3, 4, 2, 5, True, False)


def test_treelstm_trainer_metrics_and_the_loss_falls(tmp_path):
    write_sick(str(tmp_path))
    data = SICKDataset(str(tmp_path), sick_vocab(str(tmp_path)), 5)
    args = argparse.Namespace(batchsize=3)
    model = SimilarityTreeLSTM(data.vocab.size(), 6, 6, 5, 5, False, False)
    criterion = nn.KLDivLoss()
    optimizer = optim.Adagrad(filter(lambda p: p.requires_grad, model.parameters()), lr=0.1, weight_decay=1e-4)
    trainer = Trainer(args, model, criterion, optimizer, torch.device('cpu'))
    metrics = Metrics(5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)       # KLDivLoss's 'mean' warning, once per call
        before, pred0 = trainer.test(data)
        for epoch in range(25):
            trainer.train(data)
        after, pred = trainer.test(data)
        again = trainer.test(data)[1]
    assert trainer.epoch == 25 and after < 0.4 * before
    # a prediction is sum_k k exp(log p_k): the expected relatedness under the model's softmax
    model.eval()
    with torch.no_grad():
        ltree, lsent, rtree, rsent, _ = data[4]
        probs = np.exp(arr(model(ltree, lsent, rtree, rsent)))[0]
    assert float(pred[4]) == pytest.approx(float(probs @ np.arange(1, 6)), rel=1e-5)
    x, y = arr(pred), arr(data.labels)
    zx, zy = (x - x.mean()) / x.std(ddof=1), (y - y.mean()) / y.std(ddof=1)
    assert float(metrics.pearson(pred, data.labels)) == pytest.approx(np.mean(zx * zy), rel=1e-4)
    assert float(metrics.mse(pred, data.labels)) == pytest.approx(np.mean((x - y) ** 2), rel=1e-5)
    assert float(metrics.mse(pred, data.labels)) < float(metrics.mse(pred0, data.labels))
    assert np.all(arr(pred) == arr(again))     # predictions written in place; eval mode is deterministic


def test_treelstm_a_deep_chain_recurses_in_the_forward_but_backward_walks_it():
    """A path of 3000 nodes: the forward's own Python recursion (`self.forward(tree.children[idx], inputs)`)
    passes Python's default limit of 1000 frames and raises RecursionError, as it does under PyTorch; with the
    limit raised, the forward runs, and backward walks the 3000-node-deep graph without recursing."""
    torch.set_default_dtype(torch.float64)
    depth = 3000
    cell = ChildSumTreeLSTM(3, 4)
    embs = torch.randn(depth, 3, requires_grad=True)
    assert sys.getrecursionlimit() < depth
    with pytest.raises(RecursionError):
        cell(chain(depth), embs)
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(depth * 3 + 500)
    try:
        tree = chain(depth)
        c, h = cell(tree, embs)
    finally:
        sys.setrecursionlimit(old)
    p = {'childsumtreelstm.' + k: v for k, v in params_of(cell).items()}
    c_np, h_np = np_tree(p, tree, arr(embs), 4)
    np.testing.assert_allclose(arr(h), h_np, rtol=1e-10)
    h.sum().backward()          # at the default recursion limit: the library's graph walk is a loop
    for name in ['fh.weight', 'ioux.bias']:
        idx = some_indices(p['childsumtreelstm.' + name].shape, 1, 3)

        def f(value, name=name):
            q = dict(p)
            q['childsumtreelstm.' + name] = value
            return np_tree(q, tree, arr(embs), 4)[1].sum()

        expected = central(f, p['childsumtreelstm.' + name], idx)
        np.testing.assert_allclose([dict(cell.named_parameters())[name].grad[i] for i in idx], expected,
                                   rtol=1e-5, atol=1e-10)
    # an input near the root matters; one 2999 forget gates down is forgotten (its gradient underflows to 0)
    idx = [(0, 0), (6, 2)]
    expected = central(lambda e: np_tree(p, tree, e, 4)[1].sum(), arr(embs), idx)
    np.testing.assert_allclose(embs.grad[tuple(np.array(idx).T)], expected, rtol=1e-5, atol=1e-10)
    assert np.all(np.isfinite(embs.grad)) and np.abs(embs.grad[-1]).max() < 1e-30


def test_treelstm_a_wide_node_sums_hundreds_of_children():
    torch.set_default_dtype(torch.float64)
    cell = ChildSumTreeLSTM(3, 4)
    root = Tree()
    root.idx = 0
    for k in range(1, 301):
        leaf = Tree()
        leaf.idx = k
        root.add_child(leaf)
    embs = torch.randn(301, 3, requires_grad=True)
    c, h = cell(root, embs)
    p = {'childsumtreelstm.' + k: v for k, v in params_of(cell).items()}
    np.testing.assert_allclose(arr(c), np_tree(p, root, arr(embs), 4)[0], rtol=1e-10)
    c.sum().backward()
    # every leaf's embedding gets a gradient through its own forget gate and the shared sum
    assert embs.grad.shape == (301, 3) and np.all(np.abs(embs.grad[1:]).sum(1) > 0)

    def f(value):
        return np_tree(p, root, value, 4)[0].sum()

    idx = [(0, 1), (17, 2), (300, 0)]
    np.testing.assert_allclose(embs.grad[tuple(np.array(idx).T)], central(f, arr(embs), idx), rtol=1e-6, atol=1e-10)


# ==== 2. ToruOwO/clockwork-rnn-pytorch: the Clockwork RNN generating audio =====================================

class RNN(nn.Module):
    def __init__(self, input_size, hidden_size, batch_first=True,
                 rnn_type='rnn'):
        super(RNN, self).__init__()
        if rnn_type == 'rnn':
            self.rnn = nn.RNN(input_size, hidden_size, batch_first=batch_first)
        elif rnn_type == 'lstm':
            self.rnn = nn.LSTM(input_size, hidden_size, batch_first=batch_first)
        elif rnn_type == 'gru':
            self.rnn = nn.GRU(input_size, hidden_size, batch_first=batch_first)
        else:
            raise ValueError('Unsupported recurrent network type.')
        self.fc = nn.Linear(hidden_size, input_size)

        self.input_size = input_size
        self.hidden_size = hidden_size
        self.batch_first = batch_first

    def forward(self, x):
        # h0 and c0 default to zero
        x, _ = self.rnn(x)

        if self.batch_first:
            B, T, _ = x.shape
            x = x.contiguous().view(B * T, self.hidden_size)
            return self.fc(x).view(B, T, self.input_size)
        else:
            T, B, _ = x.shape
            x = x.permute(1, 0, 2).view(B * T, self.hidden_size)
            return self.fc(x).view(B, T, self.input_size).permute(1, 0, 2)


class CwRNN(nn.Module):
    def __init__(self, input_size, hidden_size, n_modules):
        super(CwRNN, self).__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.rnn_cell = nn.RNNCell(input_size, hidden_size)
        self.fc = nn.Linear(hidden_size, input_size)

        assert hidden_size % n_modules == 0
        self.n_modules = n_modules
        self.module_size = hidden_size // n_modules
        self.module_period = [2 ** t for t in range(n_modules)]

    def step(self, x, hidden, t):
        """Only update block-rows that correspond to the executed modules."""
        hidden_out = torch.zeros_like(hidden)  # differs: `.cuda()` dropped (CPU only, docs/pytorch.md; the
        # source runs only on a GPU: PyTorch's `.cuda()` raises without one)

        for i in range(self.n_modules):
            start_row_idx = i * self.module_size
            end_row_idx = (i + 1) * self.module_size

            # check if execute current module
            if t % self.module_period[i] == 0:
                xi = torch.mm(x,
                    self.rnn_cell.weight_ih[
                        start_row_idx:end_row_idx].transpose(0, 1))
                xi = torch.add(xi,
                    self.rnn_cell.bias_ih[start_row_idx:end_row_idx])

                # upper triangular matrix mask
                xh = torch.mm(hidden[:, start_row_idx:],
                    self.rnn_cell.weight_hh[
                    start_row_idx:end_row_idx, start_row_idx:].transpose(0, 1))

                xh = torch.add(xh,
                    self.rnn_cell.bias_hh[start_row_idx:end_row_idx])
                xx = torch.tanh(torch.add(xi, xh))

                hidden_out[:, start_row_idx:end_row_idx] += xx

            else:
                hidden_out[:, start_row_idx:end_row_idx] += \
                    hidden[:, start_row_idx:end_row_idx]

        return hidden_out

    def forward(self, x):
        b, t, _ = x.shape
        hidden = torch.zeros(b, self.hidden_size)  # default to zeros  # differs: `.cuda()` dropped (as above)
        x_out = []
        for i in range(t):
            hx = self.step(x[:, i], hidden, i)  # (batch_size, hidden_size)
            hidden = hx
            hx = self.fc(hx)  # (batch_size, output_size)
            x_out.append(hx)

        # output shape (batch_size, seq_len, input_size)
        return torch.stack(x_out, dim=0).permute(1, 0, 2)


class scipy_io_wavfile:  # differs: `scipy.io.wavfile` (scipy is not installed): its `read`, by the `wave` module
    @staticmethod
    def read(fn):
        with wave.open(fn, 'rb') as w:
            rate, channels, frames = w.getframerate(), w.getnchannels(), w.readframes(w.getnframes())
        signal = np.frombuffer(frames, dtype='<i2').reshape(-1, channels)
        return rate, signal


class AudioSeq(object):
    ENCODING_VALUES = [2, 4, 8, 16, 32]

    def __init__(self, n_points, start_idx, fn, n_seq=1, encoding=16):
        # TODO : Find a better way to initialize values
        assert encoding in self.ENCODING_VALUES, "{}".format(  # differs: `"".format(`, which drops its message
            # (pyflakes flags the unused argument)
            "encoding values should be in {}".format(self.ENCODING_VALUES))
        assert isinstance(fn, str), 'wrong filename type {}'.format(type(fn))
        self.fn = fn
        self.rate, self.signal = scipy_io_wavfile.read(fn)  # differs: `scipy.io.wavfile.read` (above)

        # get signal
        assert (0 <= start_idx < len(self.signal))
        self.signal = self.signal[start_idx:start_idx + n_points * n_seq]
        self.signal = np.reshape(self.signal, (n_seq, n_points, -1))
        # self.signal = np.stack(np.split(self.signal, n_seq))

        # get normalized signal
        self.normalize()

    def normalize(self, encoding=16, verbose=False):
        # Normalization between -1.0 and 1.0
        self.nsignal = self.signal.astype(np.int64)
        M = np.amax(self.nsignal)
        m = np.amin(self.nsignal)
        print(f'Max {M}, min {m} before Normalization.')

        self.nsignal = -1.0 + 2.0 * (self.nsignal - float(m)) / float(M - m)
        if verbose:
            print(self.nsignal)


device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')


def plot_losses(losses, save_fn):
    # save losses
    np.save(save_fn + '.npy', losses)

    plt.clf()
    plt.plot(losses)
    plt.xlabel('Epoch')
    plt.title('Training losses')
    plt.savefig(save_fn + '.png')


def plot_results(y, y_pred, save_fn):
    n_points = y.shape[1]
    for i in range(y.shape[-1]):
        plt.clf()
        for j in range(y.shape[0]):
            plt.plot([k for k in range(j*n_points, (j+1)*n_points)],
                y[j, :, i], '-', alpha=0.5)
            plt.plot([k for k in range(j*n_points, (j+1)*n_points)],
                y_pred[j, :, i], '--', alpha=0.5)

        plt.xlabel('t')
        plt.ylabel('y')

        plt.legend(['GT', 'Pred'])

        plt.savefig(save_fn + f'_{i}.png')


def train(args):
    if not os.path.exists(args.save_dir):
        os.makedirs(args.save_dir)

    with open(os.path.join(args.save_dir, f'{args.save_fn}_args.txt'),
              'w') as fp:
        json.dump(args.__dict__, fp, indent=4)

    if args.model == 'r':
        model = RNN(input_size=2, hidden_size=args.hidden_size).to(device)
    elif args.model == 'b':
        model = RNN(input_size=2, hidden_size=args.hidden_size,
            rnn_type='lstm').to(device)
    elif args.model == 'g':
        model = RNN(input_size=2, hidden_size=args.hidden_size,
            rnn_type='gru').to(device)
    elif args.model == 'c':
        model = CwRNN(input_size=2, hidden_size=args.hidden_size,
            n_modules=args.n_modules).to(device)

    if args.optim == 'a':
        optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    elif args.optim == 'r':
        optimizer = torch.optim.RMSprop(model.parameters(), lr=args.lr,
            momentum=args.momentum)

    data = AudioSeq(args.n_points, args.start_idx, args.fn, n_seq=args.n_seq)
    print(f'Sampled {args.n_seq} audio sequences at rate {data.rate}, '
          f'each of length {data.signal.shape[1]}.')

    # differs: `.float()` added: torch.Tensor of a float64 array is float64 here (float32 in PyTorch), which
    # the float32 model would refuse (docs/pytorch.md)
    data = torch.Tensor(data.nsignal).float().to(device)  # (N, T, 2)

    # training
    losses = []
    for epoch in range(args.n_epochs):
        model.train()

        if args.no_input:
            pred = model(torch.zeros_like(data))  # differs: `.cuda()` dropped (as above)
        else:
            pred = model(data)
        loss = F.mse_loss(pred, data)

        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

        # validation
        valid_loss = 0.0

        model.eval()
        with torch.no_grad():

            if args.no_input:
                pred = model(torch.zeros_like(data))  # differs: `.cuda()` dropped (as above)
            else:
                pred = model(data)
            # pred = model(data)
            loss = F.mse_loss(pred, data)

            valid_loss += loss.item()

        losses.append(valid_loss)

        if (epoch + 1) % args.log_per_epoch == 0:
            print('Epoch [{}/{}], Validation loss: {:.4f}'
                  .format(epoch + 1, args.n_epochs, valid_loss))

    if args.vis:
        # visualize loss
        plot_losses(losses,
            os.path.join(args.save_dir, f'{args.save_fn}_loss'))

        # visualize training results
        data = data.detach().cpu().numpy()
        pred = pred.detach().cpu().numpy()
        plot_results(data, pred,
            os.path.join(args.save_dir, f'{args.save_fn}_plot'))


# ---- numpy reference: the clockwork recurrence (Koutnik et al. 2014, eq. 1-2 with block-triangular W_H) -----

def np_cwrnn(p, x, n_modules):
    """Every step t: module i (rows i*k .. (i+1)*k) updates when t % 2**i == 0, reading the hidden units of
    modules i.. (the slower ones), else keeps its rows; the output is fc of the new hidden state."""
    B, T, _ = x.shape
    H = p['rnn_cell.weight_hh'].shape[0]
    k = H // n_modules
    h = np.zeros((B, H))
    outs, hiddens = [], []
    for t in range(T):
        new = h.copy()
        for i in range(n_modules):
            rows = slice(i * k, (i + 1) * k)
            if t % 2 ** i == 0:
                new[:, rows] = np.tanh(x[:, t] @ p['rnn_cell.weight_ih'][rows].T + p['rnn_cell.bias_ih'][rows]
                                       + h[:, i * k:] @ p['rnn_cell.weight_hh'][rows, i * k:].T
                                       + p['rnn_cell.bias_hh'][rows])
        h = new
        hiddens.append(h)
        outs.append(h @ p['fc.weight'].T + p['fc.bias'])
    return np.stack(outs, 1), np.stack(hiddens, 1)


def write_wav(path, n, rate=8000, seed=0):
    """# differs: clair_de_lune.wav is made up: n stereo 16-bit frames of two slow sines and a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    left = 9000 * np.sin(2 * np.pi * t / 16) + 300 * rng.standard_normal(n)
    right = 7000 * np.sin(2 * np.pi * t / 40 + 1) + 300 * rng.standard_normal(n)
    frames = np.stack([left, right], 1).astype('<i2')
    with wave.open(path, 'wb') as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames.tobytes())
    return frames


def test_cwrnn_values_and_which_modules_run_at_each_step():
    torch.set_default_dtype(torch.float64)
    model = CwRNN(input_size=2, hidden_size=6, n_modules=3)
    assert model.module_period == [1, 2, 4] and model.module_size == 2
    x = np.random.default_rng(1).standard_normal((3, 9, 2))
    out = model(torch.tensor(x))
    expected, hiddens = np_cwrnn(params_of(model), x, 3)
    assert out.shape == (3, 9, 2)
    np.testing.assert_allclose(arr(out), expected, rtol=1e-12, atol=1e-14)
    # module 2 (period 4) holds its rows between t = 0, 4, 8; module 1 (period 2) between even steps
    h = torch.tensor(hiddens[:, 4])
    stepped = arr(model.step(torch.tensor(x[:, 5]), h, 5))
    np.testing.assert_array_equal(stepped[:, 2:], hiddens[:, 4, 2:])
    assert not np.allclose(stepped[:, :2], hiddens[:, 4, :2])
    np.testing.assert_allclose(stepped, hiddens[:, 5], rtol=1e-12)


def test_cwrnn_gradients_and_the_masked_block_gets_none():
    torch.set_default_dtype(torch.float64)
    model = CwRNN(input_size=2, hidden_size=6, n_modules=3)
    x = np.random.default_rng(2).standard_normal((2, 7, 2))
    y = np.random.default_rng(3).standard_normal((2, 7, 2))

    def loss_np(p):
        return np.mean((np_cwrnn(p, x, 3)[0] - y) ** 2)

    def loss_lib():
        return F.mse_loss(model(torch.tensor(x)), torch.tensor(y))

    check_grads(model, ['rnn_cell.weight_hh', 'rnn_cell.weight_ih', 'rnn_cell.bias_hh', 'fc.weight'],
                loss_np, loss_lib, count=3)
    g = model.rnn_cell.weight_hh.grad
    # module i's rows read the columns from i*k on (its own units and the slower modules'): the blocks below the
    # diagonal (module 1's rows x module 0's columns, ...) are never read, and their gradient is exactly zero
    assert np.all(g[2:4, :2] == 0) and np.all(g[4:, :4] == 0)
    assert np.all(g[:2] != 0) and np.all(g[2:4, 2:] != 0) and np.all(g[4:, 4:] != 0)
    idx = [(3, 1), (5, 0), (5, 4)]
    np.testing.assert_allclose(g[tuple(np.array(idx).T)], central(
        lambda w: loss_np({**params_of(model), 'rnn_cell.weight_hh': w}), arr(model.rnn_cell.weight_hh), idx),
        atol=1e-10)


def test_rnn_baseline_batch_first_and_the_permuted_view():
    """RNN(batch_first=False) writes `x.permute(1, 0, 2).view(B * T, H)`: PyTorch's view refuses a permuted
    tensor ("view size is not compatible with input tensor's size and stride ... Use .reshape(...) instead"),
    where the library's `view` is `reshape` (docs/pytorch.md) and gives the batch-major rows the author meant."""
    torch.set_default_dtype(torch.float64)
    x = np.random.default_rng(4).standard_normal((3, 5, 2))        # (B, T, 2)
    first = RNN(2, 4, rnn_type='gru')
    second = RNN(2, 4, batch_first=False, rnn_type='gru')
    second.load_state_dict(first.state_dict())
    out_first = first(torch.tensor(x))
    out_second = second(torch.tensor(x.transpose(1, 0, 2)))
    permuted = second.rnn(torch.tensor(x.transpose(1, 0, 2)))[0].permute(1, 0, 2)
    assert not permuted.is_contiguous() and permuted.view(15, 4).shape == (15, 4)
    np.testing.assert_allclose(arr(out_second).transpose(1, 0, 2), arr(out_first), rtol=1e-12)
    # the batch-first output against numpy: a GRU, then fc on every step
    p = params_of(first)
    h = np.zeros((3, 4))
    for t in range(5):
        gi = x[:, t] @ p['rnn.weight_ih_l0'].T + p['rnn.bias_ih_l0']
        gh = h @ p['rnn.weight_hh_l0'].T + p['rnn.bias_hh_l0']
        r, z = np_sigmoid(gi[:, :4] + gh[:, :4]), np_sigmoid(gi[:, 4:8] + gh[:, 4:8])
        n = np.tanh(gi[:, 8:] + r * gh[:, 8:])
        h = (1 - z) * n + z * h
        np.testing.assert_allclose(arr(out_first[:, t]), h @ p['fc.weight'].T + p['fc.bias'], rtol=1e-12)
    with pytest.raises(ValueError, match='Unsupported'):
        RNN(2, 4, rnn_type='tcn')


def test_audioseq_reads_and_normalises_the_wav(tmp_path, capsys):
    frames = write_wav(str(tmp_path / 'clip.wav'), 400)
    data = AudioSeq(30, 50, str(tmp_path / 'clip.wav'), n_seq=3)
    assert data.rate == 8000 and data.signal.shape == (3, 30, 2)
    np.testing.assert_array_equal(data.signal[1, 4], frames[50 + 30 + 4])
    raw = frames[50:140].astype(np.int64)
    np.testing.assert_allclose(data.nsignal.reshape(-1, 2), -1 + 2 * (raw - raw.min()) / (raw.max() - raw.min()))
    assert f'Max {raw.max()}, min {raw.min()}' in capsys.readouterr().out
    with pytest.raises(AssertionError):
        AudioSeq(30, 400, str(tmp_path / 'clip.wav'))


@pytest.mark.parametrize("model_kind, optim_kind", [('c', 'a'), ('c', 'r'), ('g', 'a')])
def test_clockwork_main_train_lowers_the_validation_loss(tmp_path, model_kind, optim_kind):
    write_wav(str(tmp_path / 'clip.wav'), 600)
    args = argparse.Namespace(fn=str(tmp_path / 'clip.wav'), n_seq=2, n_points=32, start_idx=100, no_input=False,
                              hidden_size=12, n_modules=3, lr=0.01, momentum=0.9, model=model_kind,
                              optim=optim_kind, n_epochs=25, log_per_epoch=5, save_dir=str(tmp_path / 'outputs'),
                              save_fn='0', vis=True)
    plt.calls.clear()
    _, printed = quietly(train, args)
    losses = np.load(str(tmp_path / 'outputs' / '0_loss.npy'))
    assert losses.shape == (25,) and losses[-1] < 0.6 * losses[0]
    assert 'Epoch [25/25], Validation loss: {:.4f}'.format(losses[-1]) in printed
    with open(tmp_path / 'outputs' / '0_args.txt') as fp:
        assert json.load(fp)['n_modules'] == 3
    assert plt.calls.count('savefig') == 3 and plt.calls.count('plot') == 1 + 2 * 2 * 2


# ==== 3. dannyneil/pytorch_plstm: the Phased LSTM (its first author's PyTorch port) ============================

OFF_SLOPE=1e-3

# function to extract grad
def set_grad(var):
    def hook(grad):
        var.grad = grad
    return hook

class GradMod(torch.autograd.Function):
    """
    We can implement our own custom autograd Functions by subclassing
    torch.autograd.Function and implementing the forward and backward passes
    which operate on Tensors.
    """
    @staticmethod
    def forward(ctx, input, other):
        """
        In the forward pass we receive a Tensor containing the input and return a
        Tensor containing the output. You can cache arbitrary Tensors for use in the
        backward pass using the save_for_backward method.
        """
        result = torch.fmod(input, other)
        ctx.save_for_backward(input, other)
        return result

    @staticmethod
    def backward(ctx, grad_output):
        """
        In the backward pass we receive a Tensor containing the gradient of the loss
        with respect to the output, and we need to compute the gradient of the loss
        with respect to the input.
        """
        x, y = ctx.saved_variables
        return grad_output * 1, grad_output * torch.neg(torch.floor_divide(x, y))

class PLSTM(nn.Module):
    def __init__(self, input_sz, hidden_sz):
        super().__init__()
        self.input_sz = input_sz
        self.hidden_size = hidden_sz
        # differs: `torch.Tensor(hidden_sz, 1)` and the like: the legacy constructor from sizes is refused here
        # (TypeError; one int is a 0-d tensor), docs/pytorch.md: `torch.empty` (zeros here), as it suggests
        self.Periods = nn.Parameter(torch.empty(hidden_sz, 1))
        self.Shifts = nn.Parameter(torch.empty(hidden_sz, 1))
        self.On_End = nn.Parameter(torch.empty(hidden_sz, 1))
        self.W = nn.Parameter(torch.empty(input_sz, hidden_sz * 4))
        self.U = nn.Parameter(torch.empty(hidden_sz, hidden_sz * 4))
        self.bias = nn.Parameter(torch.empty(hidden_sz * 4))
        self.init_weights()

    def init_weights(self):
        stdv = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            nn.init.uniform_(weight, -stdv, stdv)  # differs: `weight.data.uniform_(...)` (.data is the numpy
            # array, docs/pytorch.md)
        # Phased LSTM
        # -----------------------------------------------------
        nn.init.constant_(self.On_End, 0.05) # Set to be 5% "open"
        nn.init.uniform_(self.Shifts, 0, 100) # Have a wide spread of shifts
        # Uniformly distribute periods in log space between exp(1, 3)
        with torch.no_grad():  # differs: `self.Periods.data.copy_(...)` (as above)
            self.Periods.copy_(torch.exp((3 - 1) *
                torch.rand(self.Periods.shape) + 1))
        # -----------------------------------------------------

    def forward(self, x, ts,
                init_states=None):
        """Assumes x is of shape (batch, sequence, feature)"""
        bs, seq_sz, _ = x.size()
        hidden_seq = []
        if init_states is None:
            h_t, c_t = (torch.zeros(bs, self.hidden_size).to(x.device),
                        torch.zeros(bs, self.hidden_size).to(x.device))
        else:
            h_t, c_t = init_states

        # PHASED LSTM
        # -----------------------------------------------------
        # Precalculate some useful vars
        shift_broadcast = self.Shifts.view(1, -1)
        period_broadcast = abs(self.Periods.view(1, -1))
        on_mid_broadcast = abs(self.On_End.view(1, -1)) * 0.5 * period_broadcast
        on_end_broadcast = abs(self.On_End.view(1, -1)) * period_broadcast

        def calc_time_gate(time_input_n):
            # Broadcast the time across all units
            t_broadcast = time_input_n.unsqueeze(-1)
            # Get the time within the period
            in_cycle_time = GradMod.apply(t_broadcast + shift_broadcast, period_broadcast)

            # Find the phase
            is_up_phase = torch.le(in_cycle_time, on_mid_broadcast)
            is_down_phase = torch.gt(in_cycle_time, on_mid_broadcast)*torch.le(in_cycle_time, on_end_broadcast)


            # Set the mask
            sleep_wake_mask = torch.where(is_up_phase, in_cycle_time/on_mid_broadcast,
                                torch.where(is_down_phase,
                                    (on_end_broadcast-in_cycle_time)/on_mid_broadcast,
                                        OFF_SLOPE*(in_cycle_time/period_broadcast)))
            return sleep_wake_mask
        # -----------------------------------------------------

        HS = self.hidden_size
        for t in range(seq_sz):
            old_c_t = c_t
            old_h_t = h_t
            x_t = x[:, t, :]
            t_t = ts[:, t]
            # batch the computations into a single matrix multiplication
            gates = x_t @ self.W + h_t @ self.U + self.bias
            i_t, f_t, g_t, o_t = (
                torch.sigmoid(gates[:, :HS]), # input
                torch.sigmoid(gates[:, HS:HS*2]), # forget
                torch.tanh(gates[:, HS*2:HS*3]),
                torch.sigmoid(gates[:, HS*3:]), # output
            )
            c_t = f_t * c_t + i_t * g_t
            h_t = o_t * torch.tanh(c_t)

            # PHASED LSTM
            # -----------------------------------------------------
            # Get time gate openness
            sleep_wake_mask = calc_time_gate(t_t)
            # Sleep if off, otherwise stay a bit on
            c_t = sleep_wake_mask*c_t + (1. - sleep_wake_mask)*old_c_t
            h_t = sleep_wake_mask*h_t + (1. - sleep_wake_mask)*old_h_t
            # -----------------------------------------------------
            hidden_seq.append(h_t.unsqueeze(0))
        hidden_seq = torch.cat(hidden_seq, dim=0)
        # reshape from shape (sequence, batch, feature) to (batch, sequence, feature)
        hidden_seq = hidden_seq.transpose(0, 1).contiguous()
        return hidden_seq, (h_t, c_t)


# Thanks to https://gist.github.com/piEsposito/c8d0b2e1cc8e3cd98266da6fd69d3147

class CustomLSTM(nn.Module):
    def __init__(self, input_sz, hidden_sz):
        super().__init__()
        self.input_sz = input_sz
        self.hidden_size = hidden_sz
        self.W = nn.Parameter(torch.empty(input_sz, hidden_sz * 4))  # differs: `torch.Tensor(...)` (as above)
        self.U = nn.Parameter(torch.empty(hidden_sz, hidden_sz * 4))
        self.bias = nn.Parameter(torch.empty(hidden_sz * 4))
        self.init_weights()

    def init_weights(self):
        stdv = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            nn.init.uniform_(weight, -stdv, stdv)  # differs: `weight.data.uniform_(...)` (as above)

    def forward(self, x,
                init_states=None):
        """Assumes x is of shape (batch, sequence, feature)"""
        bs, seq_sz, _ = x.size()
        hidden_seq = []
        if init_states is None:
            h_t, c_t = (torch.zeros(bs, self.hidden_size).to(x.device),
                        torch.zeros(bs, self.hidden_size).to(x.device))
        else:
            h_t, c_t = init_states

        HS = self.hidden_size
        for t in range(seq_sz):
            x_t = x[:, t, :]
            # batch the computations into a single matrix multiplication
            gates = x_t @ self.W + h_t @ self.U + self.bias
            i_t, f_t, g_t, o_t = (
                torch.sigmoid(gates[:, :HS]), # input
                torch.sigmoid(gates[:, HS:HS*2]), # forget
                torch.tanh(gates[:, HS*2:HS*3]),
                torch.sigmoid(gates[:, HS*3:]), # output
            )
            c_t = f_t * c_t + i_t * g_t
            h_t = o_t * torch.tanh(c_t)
            hidden_seq.append(h_t.unsqueeze(0))
        hidden_seq = torch.cat(hidden_seq, dim=0)
        # reshape from shape (sequence, batch, feature) to (batch, sequence, feature)
        hidden_seq = hidden_seq.transpose(0, 1).contiguous()
        return hidden_seq, (h_t, c_t)


LSTMRaw = CustomLSTM  # differs: `from custom_lstm import CustomLSTM as LSTMRaw` (the class above)

PI = torch.acos(torch.zeros(1)).item() * 2

def sin_wave_iterator(min_period=1, max_period=100,
                      min_spec_period=5, max_spec_period=6,
                      batch_size=32, num_examples=10000,
                      min_duration=15, max_duration=125,
                      min_num_points=15, max_num_points=125,
                      sample_res=0.5, async_sample=True):

    # Calculate constants
    num_batches = int(math.ceil(float(num_examples)/batch_size))
    min_log_period, max_log_period = torch.log(torch.tensor(min_period)), torch.log(torch.tensor(max_period))

    b = 0
    while b < num_batches:
        # Choose curve and sampling parameters
        num_points = (max_num_points - min_num_points) * torch.rand(batch_size) + min_num_points
        duration = (max_duration - min_duration) * torch.rand(batch_size) + min_duration
        start = (max_duration - duration) * torch.rand(batch_size)
        periods = torch.exp((max_log_period - min_log_period) * torch.rand(batch_size) + min_log_period)
        shifts = duration * torch.rand(batch_size)

        # Ensure always at least half is special class
        periods[:int(batch_size/2)] = (max_spec_period - min_spec_period) * torch.rand(int(batch_size/2)) + \
            min_spec_period  # differs: wrapped at 120 characters

        # Define arrays of data to fill in
        all_t = []
        all_masks = []
        all_wavs = []
        for idx in range(batch_size):
            if async_sample:
                # Asynchronous condition
                sorted_ts, _ = torch.sort(torch.rand(num_points[idx].type(torch.int)))
                t = sorted_ts*duration[idx]+start[idx]
            else:
                # Synchronous condition, evenly sampled
                t = torch.arange(start[idx], start[idx]+duration[idx], step=sample_res)
            wavs = torch.sin(2.*PI/periods[idx]*t-shifts[idx])
            mask = torch.ones(wavs.size())
            all_t.append(t)
            all_masks.append(mask)
            all_wavs.append(wavs)

        # Now pack all the data down into masked matrices
        lengths = torch.tensor([len(item) for item in all_masks])
        max_length = torch.max(lengths)
        bXt = torch.zeros(batch_size, max_length)
        bXmask = torch.zeros(batch_size, max_length)
        bX = torch.zeros(batch_size, max_length, 1)
        for idx in range(batch_size):
            bX[idx, max_length-lengths[idx]:, 0] = all_wavs[idx]
            bXmask[idx, max_length-lengths[idx]:] = all_masks[idx]
            bXt[idx, max_length-lengths[idx]:] = all_t[idx]

        # Define and calculate labels
        bY = torch.zeros(batch_size)
        bY[(periods>=min_spec_period)*(periods<=max_spec_period)] = 1

        # Yield data
        yield bX.type(torch.float), bXmask.type(torch.bool), bXt.type(torch.float), bY.type(torch.LongTensor)
        b += 1


class Net(nn.Module):

    def __init__(self, inp_dim=1, hidden_dim=20, use_lstm=True):
        super(Net, self).__init__()
        self.hidden_dim = hidden_dim
        self.use_lstm = use_lstm

        if use_lstm:
            pass
            # One extra vector for time
            self.rnn = LSTMRaw(inp_dim + 1, hidden_dim)
        else:
            self.rnn = PLSTM(inp_dim, hidden_dim)
        self.linear = nn.Linear(hidden_dim, 2)

    def forward(self, points, times):
        if self.use_lstm:
            combined_input = torch.cat((points, torch.unsqueeze(times, dim=-1)), -1)
            lstm_out, _ = self.rnn(combined_input)
        else:
            lstm_out, _ = self.rnn(points, times)
        linear_out = self.linear(lstm_out)
        final_logits = linear_out[:, -1, :]
        classes = F.log_softmax(final_logits, dim=1)
        return classes


def plstm_train(args, model, device, train_loader, optimizer, epoch, clip_value=100):  # differs: `train` there
    # (renamed: the Clockwork RNN's main.py above has its own `train`)
    model.train()
    for batch_idx, (bX, bXmask, bT, bY) in enumerate(train_loader):
        bX, bXmask = bX.to(device), bXmask.to(device)
        bT, bY = bT.to(device), bY.to(device)
        optimizer.zero_grad()
        output = model(bX, bT)
        loss = F.nll_loss(output, bY)
        loss.backward()
        torch.nn.utils.clip_grad_value_(model.parameters(), clip_value)
        optimizer.step()
        if batch_idx % args.log_interval == 0:
            print('Train Epoch: {} \tLoss: {:.6f}'.format(
                batch_idx, loss.item()))


def plstm_test(model, device, test_loader):  # differs: `test` there (renamed: pytest would collect `test`)
    model.eval()
    test_loss = 0
    correct = 0
    total = 0
    with torch.no_grad():
        for b_idx, (bX, bXmask, bT, bY) in enumerate(test_loader):
            total += int(bXmask[:,-1].sum())
            bX, bXmask = bX.to(device), bXmask.to(device)
            bT, bY = bT.to(device), bY.to(device)
            output = model(bX, bT)
            test_loss += F.nll_loss(output, bY, reduction='sum').item()
            pred = output.argmax(dim=1, keepdim=True)
            correct += pred.eq(bY.view_as(pred)).sum().item()
    test_loss /= total

    print('\nTest set: Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)\n'.format(
        test_loss, correct, total,
        100. * correct / total))
    return correct / total


# ---- numpy reference: the Phased LSTM time gate (Neil et al. 2016, eq. 6-11) on an LSTM step --------------

def np_plstm(p, x, ts):
    """PLSTM.forward in float64 numpy: the LSTM step, then k_t = up / down / leak by the phase
    phi = fmod(t + s, |tau|), mixing the new (c, h) with the old; returns the hidden sequence and the
    per-step gate k (for checking which phases the data visits)."""
    B, T, _ = x.shape
    H = p['U'].shape[0]
    h, c = np.zeros((B, H)), np.zeros((B, H))
    period = np.abs(p['Periods'].reshape(1, -1))
    on_mid = np.abs(p['On_End'].reshape(1, -1)) * 0.5 * period
    on_end = np.abs(p['On_End'].reshape(1, -1)) * period
    hs, ks = [], []
    for t in range(T):
        z = x[:, t] @ p['W'] + h @ p['U'] + p['bias']
        i, f = np_sigmoid(z[:, :H]), np_sigmoid(z[:, H:2 * H])
        g, o = np.tanh(z[:, 2 * H:3 * H]), np_sigmoid(z[:, 3 * H:])
        c_new = f * c + i * g
        h_new = o * np.tanh(c_new)
        phi = np.fmod(ts[:, t, None] + p['Shifts'].reshape(1, -1), period)
        up = phi <= on_mid
        down = (phi > on_mid) & (phi <= on_end)
        k = np.where(up, phi / on_mid, np.where(down, (on_end - phi) / on_mid, OFF_SLOPE * phi / period))
        c = k * c_new + (1 - k) * c
        h = k * h_new + (1 - k) * h
        hs.append(h)
        ks.append(np.select([up, down], [0, 1], 2))
    return np.stack(hs, 1), np.stack(ks, 1)


def test_gradmod_fmod_forward_and_its_hand_written_backward():
    x = torch.tensor([[5.5, 7.0, 0.25], [13.0, 2.5, 9.75]], dtype=torch.float64, requires_grad=True)
    y = torch.tensor([[2.0, 3.0, 0.5]], dtype=torch.float64, requires_grad=True)
    out = GradMod.apply(x, y)
    np.testing.assert_allclose(arr(out), np.fmod(arr(x), arr(y)))
    g = np.array([[1.0, -2.0, 0.5], [3.0, 1.0, -1.0]])
    with pytest.warns(DeprecationWarning, match="'saved_variables' is deprecated; use 'saved_tensors'"):
        out.backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad, g)
    # d fmod(x, y) / dy = -trunc(x / y); the author's floor_divide agrees for x / y > 0, summed over the broadcast
    np.testing.assert_allclose(y.grad, (g * -np.floor(arr(x) / arr(y))).sum(0, keepdims=True))
    assert out.grad_fn is not None and 'GradMod' in repr(out.grad_fn)


def test_plstm_values_and_gradients_against_numpy():
    torch.set_default_dtype(torch.float64)
    model = PLSTM(2, 5)
    assert np.all(arr(model.On_End) == 0.05) and np.all((arr(model.Shifts) >= 0) & (arr(model.Shifts) <= 100))
    assert np.all((arr(model.Periods) >= np.e) & (arr(model.Periods) <= np.e ** 3))
    nn.init.constant_(model.On_End, 0.45)       # open half of each period, so every phase occurs below
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 12, 2))
    ts = np.sort(rng.uniform(0, 60, (3, 12)), axis=1)
    seq, (h, c) = model(torch.tensor(x), torch.tensor(ts))
    expected, phases = np_plstm(params_of(model), x, ts)
    assert set(np.unique(phases)) == {0, 1, 2}
    np.testing.assert_allclose(arr(seq), expected, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(arr(h), expected[:, -1], rtol=1e-10, atol=1e-13)
    y = rng.standard_normal((3, 12, 5))

    def loss_np(p):
        return np.sum(np_plstm(p, x, ts)[0] * y)

    def loss_lib():
        return (model(torch.tensor(x), torch.tensor(ts))[0] * torch.tensor(y)).sum()

    with pytest.warns(DeprecationWarning, match="saved_variables"):     # GradMod's backward, as in PyTorch
        check_grads(model, ['W', 'U', 'bias', 'Periods', 'Shifts', 'On_End'], loss_np, loss_lib, count=3)


def test_plstm_custom_lstm_is_pytorchs_lstm_with_w_transposed():
    """CustomLSTM (the baseline) keeps W (in, 4H) and U (H, 4H) with PyTorch's gate order i, f, g, o and one
    bias: with the bias zero, it is nn.LSTM(bias=False) with weight_ih = W^T and weight_hh = U^T."""
    torch.set_default_dtype(torch.float64)
    raw = CustomLSTM(3, 4)
    assert raw.bias.shape == (16,) and np.all(np.abs(arr(raw.W)) <= 0.5)
    layer = nn.LSTM(3, 4, batch_first=True, bias=False)
    with torch.no_grad():
        layer.weight_ih_l0.copy_(raw.W.t())
        layer.weight_hh_l0.copy_(raw.U.t())
        raw.bias.zero_()
    x = torch.randn(2, 6, 3)
    ours, (h, c) = raw(x)
    theirs, (h_n, c_n) = layer(x)
    np.testing.assert_allclose(arr(ours), arr(theirs), rtol=1e-12)
    np.testing.assert_allclose(arr(c), arr(c_n[0]), rtol=1e-12)


def test_plstm_a_shut_gate_gives_nan_gradients_through_where_as_in_pytorch():
    """With On_End at 0 every unit is in its closed phase, but `torch.where` still differentiates the branch it
    did not choose: in_cycle_time / on_mid is in_cycle_time / 0, and 0 x inf is NaN in On_End's gradient,
    as in PyTorch (whose where sends zeros to the unchosen branch and lets its backward make the NaN)."""
    torch.set_default_dtype(torch.float64)
    model = PLSTM(1, 3)
    nn.init.zeros_(model.On_End)
    x, ts = torch.randn(2, 4, 1), torch.tensor(np.sort(np.random.default_rng(9).uniform(1, 30, (2, 4)), 1))
    with warnings.catch_warnings(), np.errstate(divide='ignore', invalid='ignore'):
        warnings.simplefilter("ignore", RuntimeWarning)    # numpy's word on x / 0, where PyTorch is silent
        seq, _ = model(x, ts)
        expected, phases = np_plstm(params_of(model), arr(x), arr(ts))
        with pytest.warns(DeprecationWarning):
            seq.sum().backward()
        x0 = torch.tensor([0.0, 2.0], requires_grad=True)
        torch.where(x0 > 0, 1 / x0, 0 * x0).sum().backward()      # the same rule, by itself
    assert np.all(phases == 2)
    np.testing.assert_allclose(arr(seq), expected, rtol=1e-10, atol=1e-14)
    assert np.all(np.isnan(model.On_End.grad)) and np.all(np.isfinite(model.W.grad))
    assert np.isnan(x0.grad[0]) and x0.grad[1] == pytest.approx(-0.25)


@pytest.mark.parametrize("async_sample", [True, False])
def test_sin_wave_iterator_left_pads_and_labels(async_sample):
    assert PI == pytest.approx(math.pi, rel=1e-7) and isinstance(PI, float)
    batches = list(sin_wave_iterator(batch_size=6, num_examples=13, min_duration=5, max_duration=12,
                                     min_num_points=4, max_num_points=9, async_sample=async_sample))
    assert len(batches) == 3
    for bX, bXmask, bXt, bY in batches:
        assert bX.dtype == torch.float32 and bXmask.dtype == torch.bool and bY.dtype == torch.int64
        assert bX.shape[:2] == bXmask.shape == bXt.shape and bX.shape[2] == 1 and bY.shape == (6,)
        mask, t, wav = arr(bXmask).astype(bool), arr(bXt), arr(bX)[..., 0]
        n = mask.sum(1)
        assert n.max() == mask.shape[1] and np.all(mask[:, -1])
        for row in range(6):
            assert not mask[row, :mask.shape[1] - n[row]].any() and mask[row, mask.shape[1] - n[row]:].all()
            assert np.all(t[row, ~mask[row]] == 0) and np.all(wav[row, ~mask[row]] == 0)
            assert np.all(np.diff(t[row, mask[row]]) >= 0) and np.all(np.abs(wav[row]) <= 1)
            if not async_sample:
                # arange(start, start + duration, 0.5) with 0-d tensor bounds: evenly spaced by 0.5
                np.testing.assert_allclose(np.diff(t[row, mask[row]]), 0.5, rtol=1e-4)
                assert 5 <= n[row] * 0.5 <= 12.5
            else:
                assert 4 <= n[row] < 9
        assert np.all(arr(bY)[:3] == 1)         # the first half always has a period in [5, 6]


def test_sin_wave_iterator_waves_from_the_same_draws():
    """The waves are sin(2 pi / period * t - shift) at the drawn times: replaying the iterator's draws from the
    same seed gives the periods and shifts, and numpy computes the waves from them."""
    torch.manual_seed(3)
    bX, bXmask, bXt, bY = next(sin_wave_iterator(batch_size=4, num_examples=4, min_duration=5, max_duration=9,
                                                 min_num_points=3, max_num_points=6, async_sample=False))
    torch.manual_seed(3)
    draws = [arr(torch.rand(4)) for _ in range(5)] + [arr(torch.rand(2))]
    duration = 4 * draws[1] + 5
    periods = np.exp(np.log(100) * draws[3])
    periods[:2] = draws[5] + 5
    shifts = duration * draws[4]
    start = (9 - duration) * draws[2]
    mask = arr(bXmask).astype(bool)
    for row in range(4):
        t = arr(bXt)[row, mask[row]]
        assert t[0] == pytest.approx(start[row], rel=1e-5)
        np.testing.assert_allclose(arr(bX)[row, mask[row], 0], np.sin(2 * np.pi / periods[row] * t - shifts[row]),
                                   atol=2e-5)
        assert bY[row].item() == int(5 <= periods[row] <= 6)


def test_plstm_net_training_lowers_the_loss_and_test_reports_accuracy(capsys):
    torch.manual_seed(1)
    batches = list(sin_wave_iterator(batch_size=16, num_examples=64, min_duration=6, max_duration=20,
                                     min_num_points=6, max_num_points=14))
    args = argparse.Namespace(log_interval=2)
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    for use_lstm in (False, True):
        model = Net(hidden_dim=8, use_lstm=use_lstm).to(dev)
        optimizer = optim.Adam(model.parameters(), lr=2e-2)

        def mean_nll():
            model.eval()
            with torch.no_grad():
                return np.mean([F.nll_loss(model(bX, bT), bY).item() for bX, _, bT, bY in batches])

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)     # GradMod's ctx.saved_variables, as in PyTorch
            before = mean_nll()
            for epoch in range(1, 26):
                plstm_train(args, model, dev, batches, optimizer, epoch)
            after = mean_nll()
            accuracy = plstm_test(model, dev, batches)
        printed = capsys.readouterr().out
        assert after < 0.8 * before, (use_lstm, before, after)
        assert printed.count('Train Epoch: 0 \tLoss: ') == 25 and printed.count('Train Epoch: 2 \t') == 25
        correct = 0
        model.eval()
        with torch.no_grad():
            for bX, _, bT, bY in batches:
                correct += int((arr(model(bX, bT)).argmax(1) == arr(bY)).sum())
        assert accuracy == correct / 64 and 'Accuracy: {}/64'.format(correct) in printed


def test_plstm_clip_grad_value_caps_every_gradient():
    model = Net(hidden_dim=4, use_lstm=False)
    bX, _, bT, bY = next(sin_wave_iterator(batch_size=4, num_examples=4, min_duration=5, max_duration=9,
                                           min_num_points=3, max_num_points=6))
    with pytest.warns(DeprecationWarning):
        F.nll_loss(model(bX, bT), bY).backward()
    grads = {name: p.grad.copy() for name, p in model.named_parameters()}
    torch.nn.utils.clip_grad_value_(model.parameters(), 1e-3)
    for name, p in model.named_parameters():
        np.testing.assert_array_equal(p.grad, np.clip(grads[name], -1e-3, 1e-3))


# ==== 4. zhiyongc/GRU-D: GRU-D (Che et al. 2018) for traffic speeds with missing values =========================

class FilterLinear(nn.Module):
    def __init__(self, in_features, out_features, filter_square_matrix, bias=True):
        '''
        filter_square_matrix : filter square matrix, whose each elements is 0 or 1.
        '''
        super(FilterLinear, self).__init__()
        self.in_features = in_features
        self.out_features = out_features

        use_gpu = torch.cuda.is_available()
        self.filter_square_matrix = None
        if use_gpu:
            self.filter_square_matrix = Variable(filter_square_matrix.cuda(), requires_grad=False)
        else:
            self.filter_square_matrix = Variable(filter_square_matrix, requires_grad=False)

        # differs: `torch.Tensor(out_features, in_features)` and `torch.Tensor(out_features)`: the legacy
        # constructor from sizes (refused; one int is a 0-d tensor), docs/pytorch.md: `torch.empty`
        self.weight = Parameter(torch.empty(out_features, in_features))
        if bias:
            self.bias = Parameter(torch.empty(out_features))
        else:
            self.register_parameter('bias', None)
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1. / math.sqrt(self.weight.size(1))
        nn.init.uniform_(self.weight, -stdv, stdv)  # differs: `self.weight.data.uniform_(...)` (.data is the
        # numpy array, docs/pytorch.md)
        if self.bias is not None:
            nn.init.uniform_(self.bias, -stdv, stdv)  # differs: as above
#         print(self.weight.data)
#         print(self.bias.data)

    def forward(self, input):
#         print(self.filter_square_matrix.mul(self.weight))
        return F.linear(input, self.filter_square_matrix.mul(self.weight), self.bias)

    def __repr__(self):
        return self.__class__.__name__ + '(' \
            + 'in_features=' + str(self.in_features) \
            + ', out_features=' + str(self.out_features) \
            + ', bias=' + str(self.bias is not None) + ')'

class GRUD(nn.Module):
    def __init__(self, input_size, cell_size, hidden_size, X_mean, output_last = False):
        """
        Recurrent Neural Networks for Multivariate Times Series with Missing Values
        GRU-D: GRU exploit two representations of informative missingness patterns, i.e., masking and time interval.
        cell_size is the size of cell_state.

        Implemented based on the paper:
        @article{che2018recurrent,
          title={Recurrent neural networks for multivariate time series with missing values},
          author={Che, Zhengping and Purushotham, Sanjay and Cho, Kyunghyun and Sontag, David and Liu, Yan},
          journal={Scientific reports},
          volume={8},
          number={1},
          pages={6085},
          year={2018},
          publisher={Nature Publishing Group}
        }

        GRU-D:
            input_size: variable dimension of each time
            hidden_size: dimension of hidden_state
            mask_size: dimension of masking vector
            X_mean: the mean of the historical input data
        """

        super(GRUD, self).__init__()

        self.hidden_size = hidden_size
        self.delta_size = input_size
        self.mask_size = input_size

        use_gpu = torch.cuda.is_available()
        if use_gpu:
            self.identity = torch.eye(input_size).cuda()
            self.zeros = Variable(torch.zeros(input_size).cuda())
            self.X_mean = Variable(torch.Tensor(X_mean).cuda())
        else:
            self.identity = torch.eye(input_size)
            self.zeros = Variable(torch.zeros(input_size))
            self.X_mean = Variable(torch.Tensor(X_mean))

        self.zl = nn.Linear(input_size + hidden_size + self.mask_size, hidden_size)
        self.rl = nn.Linear(input_size + hidden_size + self.mask_size, hidden_size)
        self.hl = nn.Linear(input_size + hidden_size + self.mask_size, hidden_size)

        self.gamma_x_l = FilterLinear(self.delta_size, self.delta_size, self.identity)

        self.gamma_h_l = nn.Linear(self.delta_size, self.delta_size)

        self.output_last = output_last

    def step(self, x, x_last_obsv, x_mean, h, mask, delta):

        batch_size = x.shape[0]
        dim_size = x.shape[1]
        del batch_size, dim_size  # differs: never read in the source; deleted so that pyflakes passes the file

        delta_x = torch.exp(-torch.max(self.zeros, self.gamma_x_l(delta)))
        delta_h = torch.exp(-torch.max(self.zeros, self.gamma_h_l(delta)))

        x = mask * x + (1 - mask) * (delta_x * x_last_obsv + (1 - delta_x) * x_mean)
        h = delta_h * h

        combined = torch.cat((x, h, mask), 1)
        z = F.sigmoid(self.zl(combined))
        r = F.sigmoid(self.rl(combined))
        combined_r = torch.cat((x, r * h, mask), 1)
        h_tilde = F.tanh(self.hl(combined_r))
        h = (1 - z) * h + z * h_tilde

        return h

    def forward(self, input):
        batch_size = input.size(0)
        type_size = input.size(1)
        step_size = input.size(2)
        spatial_size = input.size(3)
        del type_size, spatial_size  # differs: as above

        Hidden_State = self.initHidden(batch_size)
        X = torch.squeeze(input[:,0,:,:])
        X_last_obsv = torch.squeeze(input[:,1,:,:])
        Mask = torch.squeeze(input[:,2,:,:])
        Delta = torch.squeeze(input[:,3,:,:])

        outputs = None
        for i in range(step_size):
            Hidden_State = self.step(torch.squeeze(X[:,i:i+1,:])\
                                     , torch.squeeze(X_last_obsv[:,i:i+1,:])\
                                     , torch.squeeze(self.X_mean[:,i:i+1,:])\
                                     , Hidden_State\
                                     , torch.squeeze(Mask[:,i:i+1,:])\
                                     , torch.squeeze(Delta[:,i:i+1,:]))
            if outputs is None:
                outputs = Hidden_State.unsqueeze(1)
            else:
                outputs = torch.cat((outputs, Hidden_State.unsqueeze(1)), 1)

        if self.output_last:
            return outputs[:,-1,:]
        else:
            return outputs

    def initHidden(self, batch_size):
        use_gpu = torch.cuda.is_available()
        if use_gpu:
            Hidden_State = Variable(torch.zeros(batch_size, self.hidden_size).cuda())
            return Hidden_State
        else:
            Hidden_State = Variable(torch.zeros(batch_size, self.hidden_size))
            return Hidden_State


class pd:  # differs: `import pandas as pd` (not installed; GRUD.py imports it unused): the DataFrame calls
    # PrepareDataset makes on the speed matrix (clip, max().max(), /, iloc[a:b].values, shape)
    class DataFrame:
        def __init__(self, values):
            self.values = np.asarray(values, dtype=np.float64)
            self.shape = self.values.shape

        def clip(self, lower, upper):
            return pd.DataFrame(self.values.clip(lower, upper))

        def max(self):
            return self.values.max(0)       # a Series, whose .max() is numpy's here

        def __truediv__(self, other):
            return pd.DataFrame(self.values / other)

        @property
        def iloc(self):
            return _ILoc(self.values)


class _ILoc:
    def __init__(self, values):
        self.values_ = values

    def __getitem__(self, rows):
        return pd.DataFrame(self.values_[rows])


def PrepareDataset(speed_matrix, \
                   BATCH_SIZE = 40, \
                   seq_len = 10, \
                   pred_len = 1, \
                   train_propotion = 0.7, \
                   valid_propotion = 0.2, \
                   masking = False, \
                   mask_ones_proportion = 0.8):
    """ Prepare training and testing datasets and dataloaders.

    Convert speed/volume/occupancy matrix to training and testing dataset.
    The vertical axis of speed_matrix is the time axis and the horizontal axis
    is the spatial axis.

    Args:
        speed_matrix: a Matrix containing spatial-temporal speed data for a network
        seq_len: length of input sequence
        pred_len: length of predicted sequence
    Returns:
        Training dataloader
        Testing dataloader
    """
    time_len = speed_matrix.shape[0]

    speed_matrix = speed_matrix.clip(0, 100)

    max_speed = speed_matrix.max().max()
    speed_matrix =  speed_matrix / max_speed

    speed_sequences, speed_labels = [], []
    for i in range(time_len - seq_len - pred_len):
        speed_sequences.append(speed_matrix.iloc[i:i+seq_len].values)
        speed_labels.append(speed_matrix.iloc[i+seq_len:i+seq_len+pred_len].values)
    speed_sequences, speed_labels = np.asarray(speed_sequences), np.asarray(speed_labels)

    # using zero-one mask to randomly set elements to zeros
    if masking:
        print('Split Speed finished. Start to generate Mask, Delta, Last_observed_X ...')
        np.random.seed(1024)
        Mask = np.random.choice([0,1], size=(speed_sequences.shape),
                                p = [1 - mask_ones_proportion, mask_ones_proportion])  # differs: wrapped at 120
        speed_sequences = np.multiply(speed_sequences, Mask)

        # temporal information
        interval = 5 # 5 minutes
        S = np.zeros_like(speed_sequences) # time stamps
        for i in range(S.shape[1]):
            S[:,i,:] = interval * i

        Delta = np.zeros_like(speed_sequences) # time intervals
        for i in range(1, S.shape[1]):
            Delta[:,i,:] = S[:,i,:] - S[:,i-1,:]

        missing_index = np.where(Mask == 0)

        X_last_obsv = speed_sequences
        for idx in range(missing_index[0].shape[0]):
            i = missing_index[0][idx]
            j = missing_index[1][idx]
            k = missing_index[2][idx]
            if j != 0:
                Delta[i,j,k] = Delta[i,j,k] + Delta[i,j-1,k]
                X_last_obsv[i,j,k] = X_last_obsv[i,j-1,k] # last observation
        Delta = Delta / Delta.max() # normalize

    # shuffle and split the dataset to training and testing datasets
    print('Generate Mask, Delta, Last_observed_X finished. Start to shuffle and split dataset ...')
    sample_size = speed_sequences.shape[0]
    index = np.arange(sample_size, dtype = int)
    np.random.seed(1024)
    np.random.shuffle(index)

    speed_sequences = speed_sequences[index]
    speed_labels = speed_labels[index]

    if masking:
        X_last_obsv = X_last_obsv[index]
        Mask = Mask[index]
        Delta = Delta[index]
        speed_sequences = np.expand_dims(speed_sequences, axis=1)
        X_last_obsv = np.expand_dims(X_last_obsv[index], axis=1)
        Mask = np.expand_dims(Mask[index], axis=1)
        Delta = np.expand_dims(Delta[index], axis=1)
        dataset_agger = np.concatenate((speed_sequences, X_last_obsv, Mask, Delta), axis = 1)

    train_index = int(np.floor(sample_size * train_propotion))
    valid_index = int(np.floor(sample_size * ( train_propotion + valid_propotion)))

    if masking:
        train_data, train_label = dataset_agger[:train_index], speed_labels[:train_index]
        valid_data, valid_label = dataset_agger[train_index:valid_index], speed_labels[train_index:valid_index]
        test_data, test_label = dataset_agger[valid_index:], speed_labels[valid_index:]
    else:
        train_data, train_label = speed_sequences[:train_index], speed_labels[:train_index]
        valid_data, valid_label = speed_sequences[train_index:valid_index], speed_labels[train_index:valid_index]
        test_data, test_label = speed_sequences[valid_index:], speed_labels[valid_index:]

    train_data, train_label = torch.Tensor(train_data), torch.Tensor(train_label)
    valid_data, valid_label = torch.Tensor(valid_data), torch.Tensor(valid_label)
    test_data, test_label = torch.Tensor(test_data), torch.Tensor(test_label)

    train_dataset = utils.TensorDataset(train_data, train_label)
    valid_dataset = utils.TensorDataset(valid_data, valid_label)
    test_dataset = utils.TensorDataset(test_data, test_label)

    train_dataloader = utils.DataLoader(train_dataset, batch_size = BATCH_SIZE, shuffle=True, drop_last = True)
    valid_dataloader = utils.DataLoader(valid_dataset, batch_size = BATCH_SIZE, shuffle=True, drop_last = True)
    test_dataloader = utils.DataLoader(test_dataset, batch_size = BATCH_SIZE, shuffle=True, drop_last = True)

    X_mean = np.mean(speed_sequences, axis = 0)

    print('Finished')

    return train_dataloader, valid_dataloader, test_dataloader, max_speed, X_mean

batch_size = None  # differs: main.py's global, set in its __main__ block from the first batch's size


def Train_Model(model, train_dataloader, valid_dataloader, num_epochs = 300, patience = 10, min_delta = 0.00001):

    print('Model Structure: ', model)
    print('Start Training ... ')

    # differs: `model.cuda()` dropped (CPU only, docs/pytorch.md; the source needs a GPU here)

    if (type(model) == nn.modules.container.Sequential):
        output_last = model[-1].output_last
        print('Output type dermined by the last layer')
    else:
        output_last = model.output_last
        print('Output type dermined by the model')

    loss_MSE = torch.nn.MSELoss()
    loss_L1 = torch.nn.L1Loss()

    del loss_L1  # differs: never read (as above)
    learning_rate = 0.0001
    optimizer = torch.optim.RMSprop(model.parameters(), lr = learning_rate, alpha=0.99)
    use_gpu = torch.cuda.is_available()

    interval = 100
    del interval  # differs: never read (as above)
    losses_train = []
    losses_valid = []
    losses_epochs_train = []
    losses_epochs_valid = []

    cur_time = time.time()
    pre_time = time.time()

    # Variables for Early Stopping
    is_best_model = 0
    patient_epoch = 0
    for epoch in range(num_epochs):

        trained_number = 0

        valid_dataloader_iter = iter(valid_dataloader)

        losses_epoch_train = []
        losses_epoch_valid = []

        for data in train_dataloader:
            inputs, labels = data

            if inputs.shape[0] != batch_size:
                continue

            if use_gpu:
                inputs, labels = Variable(inputs.cuda()), Variable(labels.cuda())
            else:
                inputs, labels = Variable(inputs), Variable(labels)

            model.zero_grad()

            outputs = model(inputs)

            if output_last:
                loss_train = loss_MSE(outputs, torch.squeeze(labels))  # differs: `labels` (B, 1, F) squeezed:
                # PyTorch broadcasts outputs (B, F) against it to (B, B, F) with a warning (the source's slip);
                # mse_loss refuses shapes that differ here (docs/pytorch.md)
            else:
                full_labels = torch.cat((inputs[:,1:,:], labels), dim = 1)
                loss_train = loss_MSE(outputs, full_labels)

            losses_train.append(loss_train.data)
            losses_epoch_train.append(loss_train.data)

            optimizer.zero_grad()

            loss_train.backward()

            optimizer.step()

             # validation
            try:
                inputs_val, labels_val = next(valid_dataloader_iter)
            except StopIteration:
                valid_dataloader_iter = iter(valid_dataloader)
                inputs_val, labels_val = next(valid_dataloader_iter)

            if use_gpu:
                inputs_val, labels_val = Variable(inputs_val.cuda()), Variable(labels_val.cuda())
            else:
                inputs_val, labels_val = Variable(inputs_val), Variable(labels_val)

            model.zero_grad()

            outputs_val = model(inputs_val)

            if output_last:
                loss_valid = loss_MSE(outputs_val, torch.squeeze(labels_val))  # differs: as above
            else:
                full_labels_val = torch.cat((inputs_val[:,1:,:], labels_val), dim = 1)
                loss_valid = loss_MSE(outputs_val, full_labels_val)

            losses_valid.append(loss_valid.data)
            losses_epoch_valid.append(loss_valid.data)

            # output
            trained_number += 1

        # differs: `sum(losses_epoch_train).cpu().numpy()[0]`: the 0-d loss's `.numpy()[0]` is an IndexError
        # under PyTorch >= 0.4 too (the repo was written for 0.3's one-element losses); `.data` is the array here
        avg_losses_epoch_train = float(sum(losses_epoch_train)) / float(len(losses_epoch_train))
        avg_losses_epoch_valid = float(sum(losses_epoch_valid)) / float(len(losses_epoch_valid))
        losses_epochs_train.append(avg_losses_epoch_train)
        losses_epochs_valid.append(avg_losses_epoch_valid)

        # Early Stopping
        if epoch == 0:
            is_best_model = 1
            best_model = model
            min_loss_epoch_valid = 10000.0
            if avg_losses_epoch_valid < min_loss_epoch_valid:
                min_loss_epoch_valid = avg_losses_epoch_valid
        else:
            if min_loss_epoch_valid - avg_losses_epoch_valid > min_delta:
                is_best_model = 1
                best_model = model
                min_loss_epoch_valid = avg_losses_epoch_valid
                patient_epoch = 0
            else:
                is_best_model = 0
                patient_epoch += 1
                if patient_epoch >= patience:
                    print('Early Stopped at Epoch:', epoch)
                    break

        # Print training parameters
        cur_time = time.time()
        print('Epoch: {}, train_loss: {}, valid_loss: {}, time: {}, best model: {}'.format( \
                    epoch, \
                    np.around(avg_losses_epoch_train, decimals=8),\
                    np.around(avg_losses_epoch_valid, decimals=8),\
                    np.around([cur_time - pre_time] , decimals=2),\
                    is_best_model) )
        pre_time = cur_time

    return best_model, [losses_train, losses_valid, losses_epochs_train, losses_epochs_valid]


# ---- numpy reference: GRU-D's decays and imputation (Che et al. 2018, eqs. 9-13) -------------------------

def np_grud(p, inputs, x_mean):
    """GRUD.forward in float64 numpy: inputs (B, 4, T, F) = x, last observed x, mask, delta."""
    X, X_last, M, D = (inputs[:, k] for k in range(4))
    B, T, Fdim = X.shape
    H = p['zl.weight'].shape[0]
    h = np.zeros((B, H))
    eye = np.eye(Fdim)
    outs = []
    for t in range(T):
        x, xl, m, d = X[:, t], X_last[:, t], M[:, t], D[:, t]
        gx = np.exp(-np.maximum(0, d @ (eye * p['gamma_x_l.weight']).T + p['gamma_x_l.bias']))
        gh = np.exp(-np.maximum(0, d @ p['gamma_h_l.weight'].T + p['gamma_h_l.bias']))
        x = m * x + (1 - m) * (gx * xl + (1 - gx) * x_mean[0, t])
        h = gh * h
        comb = np.concatenate([x, h, m], 1)
        z = np_sigmoid(comb @ p['zl.weight'].T + p['zl.bias'])
        r = np_sigmoid(comb @ p['rl.weight'].T + p['rl.bias'])
        ht = np.tanh(np.concatenate([x, r * h, m], 1) @ p['hl.weight'].T + p['hl.bias'])
        h = (1 - z) * h + z * ht
        outs.append(h)
    return np.stack(outs, 1)


def made_up_speeds(n=120, sensors=4, seed=0):
    """# differs: speed_matrix_2015 (Seattle loop detectors) is made up: n five-minute steps of `sensors`
    speeds near 55 mph with a daily-like dip and noise, some readings above the 100 that PrepareDataset clips."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)[:, None]
    speeds = 55 - 15 * (np.sin(2 * np.pi * t / 48 + np.arange(sensors)) > 0.6) + 3 * rng.standard_normal((n, sensors))
    speeds[5, 1] = 130.0
    return pd.DataFrame(speeds)


def grud_inputs(seed, B=3, T=6, Fdim=3):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.3, 1.0, (B, T, Fdim))
    m = (rng.random((B, T, Fdim)) < 0.7).astype(float)
    m[:, 0] = 1
    d = np.zeros_like(x)
    last = x.copy()
    for t in range(1, T):
        d[:, t] = np.where(m[:, t - 1] == 0, d[:, t - 1] + 1, 1)
        last[:, t] = np.where(m[:, t] == 1, x[:, t], last[:, t - 1])
    return np.stack([x * m, last, m, d / d.max()], 1), rng.uniform(0.4, 0.9, (1, T, Fdim))


def test_grud_filter_linear_masks_its_weight_and_prints_as_written():
    torch.set_default_dtype(torch.float64)
    layer = FilterLinear(3, 3, torch.eye(3))
    assert repr(layer) == 'FilterLinear(in_features=3, out_features=3, bias=True)'
    assert FilterLinear(3, 3, torch.eye(3), bias=False).bias is None
    assert [name for name, _ in layer.named_parameters()] == ['weight', 'bias']
    x = np.random.default_rng(6).standard_normal((4, 3))
    out = layer(torch.tensor(x))
    np.testing.assert_allclose(arr(out), x * np.diag(arr(layer.weight)) + arr(layer.bias), rtol=1e-12)
    out.pow(2).sum().backward()
    g = layer.weight.grad
    assert np.all(g[~np.eye(3, dtype=bool)] == 0) and np.all(np.diag(g) != 0)
    assert layer.filter_square_matrix.requires_grad is False


def test_grud_values_and_gradients_against_numpy():
    torch.set_default_dtype(torch.float64)
    inputs, x_mean = grud_inputs(7)
    model = GRUD(3, 3, 3, x_mean, output_last=False)
    out = model(torch.tensor(inputs))
    assert out.shape == (3, 6, 3)
    np.testing.assert_allclose(arr(out), np_grud(params_of(model), inputs, x_mean), rtol=1e-12, atol=1e-14)
    model.output_last = True
    np.testing.assert_allclose(arr(model(torch.tensor(inputs))), arr(out)[:, -1], rtol=1e-12)
    y = np.random.default_rng(8).uniform(0.3, 1.0, (3, 3))

    def loss_np(p):
        return np.mean((np_grud(p, inputs, x_mean)[:, -1] - y) ** 2)

    def loss_lib():
        return F.mse_loss(model(torch.tensor(inputs)), torch.tensor(y))

    check_grads(model, ['zl.weight', 'rl.bias', 'hl.weight', 'gamma_x_l.weight', 'gamma_h_l.weight',
                        'gamma_h_l.bias'], loss_np, loss_lib, count=3)
    g = model.gamma_x_l.weight.grad
    assert np.all(g[~np.eye(3, dtype=bool)] == 0)      # the identity filter: only the diagonal decays x


def test_grud_max_with_zeros_splits_the_gradient_at_a_tie():
    """`torch.max(self.zeros, gamma(delta))` is the elementwise maximum; where gamma(delta) is exactly 0
    PyTorch sends half the gradient each way (its derivatives.yaml for maximum), and so does the library."""
    zeros = Variable(torch.zeros(3))
    g = torch.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    out = torch.exp(-torch.max(zeros, g))
    out.sum().backward()
    np.testing.assert_allclose(arr(out), np.exp(-np.maximum(0, [-1.0, 0.0, 2.0])))
    np.testing.assert_allclose(g.grad, [0.0, -0.5, -np.exp(-2.0)], rtol=1e-6)


def test_grud_prepare_dataset_masks_decays_and_loaders(capsys):
    speed_matrix = made_up_speeds()
    train_dl, valid_dl, test_dl, max_speed, X_mean = PrepareDataset(speed_matrix, BATCH_SIZE=8, seq_len=6,
                                                                  masking=True)
    printed = capsys.readouterr().out
    assert 'Start to generate Mask' in printed and printed.strip().endswith('Finished')
    assert max_speed == 100.0                   # clipped at 100 first
    assert X_mean.shape == (1, 6, 4)
    batches = list(train_dl)
    n = 120 - 6 - 1
    assert len(batches) == int(np.floor(n * 0.7)) // 8 and all(b[0].shape == (8, 4, 6, 4) for b in batches)
    inputs, labels = batches[0]
    assert labels.shape == (8, 1, 4) and inputs.dtype == torch.float64   # torch.Tensor keeps numpy's float64
    x, last, mask, delta = (arr(inputs)[:, k] for k in range(4))
    assert set(np.unique(mask)) == {0.0, 1.0} and np.all(delta[:, 0] == 0) and 0 < delta.max() <= 1
    # a missing reading carries the last observation on, and its interval grows by one step (5 minutes)
    gap = mask[:, 1:] == 0
    np.testing.assert_array_equal(last[:, 1:][gap], last[:, :-1][gap])
    step = delta[:, 1:][mask[:, 1:] == 1].max()
    np.testing.assert_allclose(delta[:, 1:][gap], delta[:, :-1][gap] + step)
    assert len(list(valid_dl)) == (int(np.floor(n * 0.9)) - int(np.floor(n * 0.7))) // 8


def test_grud_train_model_lowers_the_loss(capsys, monkeypatch):
    torch.set_default_dtype(torch.float64)      # PrepareDataset's torch.Tensor(numpy float64) is float64 here
    torch.manual_seed(2)
    train_dl, valid_dl, test_dl, max_speed, X_mean = PrepareDataset(made_up_speeds(n=90), BATCH_SIZE=8,
                                                                  seq_len=6, masking=True)
    monkeypatch.setitem(globals(), 'batch_size', 8)     # main.py's global, read inside Train_Model
    grud = GRUD(4, 4, 4, X_mean, output_last=True)
    best, (losses_train, losses_valid, epochs_train, epochs_valid) = Train_Model(grud, train_dl, valid_dl,
                                                                               num_epochs=20)
    printed = capsys.readouterr().out
    assert best is grud and 'FilterLinear(in_features=4, out_features=4, bias=True)' in printed
    assert 'Output type dermined by the model' in printed and printed.count('Epoch: ') == len(epochs_train)
    assert len(epochs_train) == 20 and epochs_train[-1] < 0.7 * epochs_train[0]
    assert len(losses_train) == 20 * len(list(train_dl)) and epochs_valid[-1] < epochs_valid[0]
    with pytest.raises(ValueError, match="differ"):   # the source's loss_MSE(outputs, labels): (8, 4) vs (8, 1, 4)
        nn.MSELoss()(grud(next(iter(train_dl))[0]), next(iter(train_dl))[1])


# ==== the two library changes this round ========================================================================

def test_arange_takes_0d_tensor_bounds_as_pytorchs_scalar_arguments():
    """sin_wave_iterator's synchronous branch: `torch.arange(start[idx], start[idx] + duration[idx], step=0.5)`
    with 0-d tensors, which PyTorch's parser reads as numbers (a Scalar argument takes a 0-d tensor that does not
    require grad); the dtype follows the numbers, int64 when every bound is an integer."""
    start, duration = torch.tensor([1.25, 3.0]), torch.tensor([2.0, 1.0])
    t = torch.arange(start[0], start[0] + duration[0], step=0.5)
    assert t.dtype == torch.float32
    np.testing.assert_allclose(arr(t), np.arange(1.25, 3.25, 0.5))
    n = torch.arange(torch.tensor(7))
    assert n.dtype == torch.int64 and n.tolist() == list(range(7))
    assert torch.arange(torch.tensor(1), 8, torch.tensor(3)).tolist() == [1, 4, 7]
    with pytest.raises(TypeError, match="arange: end must be a number, got a tensor of shape \\(2,\\)"):
        torch.arange(start)
    with pytest.raises(TypeError, match="requires_grad=True"):
        torch.arange(torch.tensor(3.0, requires_grad=True))


def test_nn_parameter_is_pytorchs_module_path_for_parameter():
    """GRUD.py's `from torch.nn.parameter import Parameter` (PyTorch's public module) ports as it is."""
    import microgradseq.nn.parameter as parameter_module
    assert Parameter is nn.Parameter and parameter_module.UninitializedParameter is nn.UninitializedParameter
    layer = FilterLinear(2, 2, torch.eye(2))
    assert isinstance(layer.weight, nn.Parameter) and [p is layer.weight for p in layer.parameters()][0]
