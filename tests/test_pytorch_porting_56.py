"""Porting, round 56: RECURRENCES OVER STRUCTURE AND CONTINUOUS TIME -- gated graph networks, hierarchical attention,
GRU-ODE-Bayes and the neural Hawkes process, as public PyTorch code writes them. Each is written as its author wrote
it, with only the imports changed (`# differs:` marks each other change and why):

1. Gated graph neural networks. chingyaoc/ggnn.pytorch (Li et al. 2016, bAbI): model.py
   (dce9aa6e53ae7a670e4c9013f3249c8039760426: `AttrProxy`, `Propogator` -- messages `torch.bmm(A_in, state_in)` over
   the in- and out-halves of the adjacency, a GRU-like gated update -- and `GGNN` with a Linear per edge type and
   direction, `torch.stack(...).transpose(0, 1).contiguous().view(...)`, the output MLP summed per node);
   utils/data/dataset.py (d064a0347d259ce577daa32e392e843b97aae737: the graph-file reader, `create_adjacency_matrix`,
   `bAbIDataset`); utils/data/dataloader.py (9825b0440ef0805ca11092a9e331897c40982cc5); utils/train.py and
   utils/test.py (19b8bf238fc0950f8d0a92f4f661706cd4585570); main.py (f0f248d8ae9fa18156abb17c3b90e02f498da46a: `main`
   with `net.double()`, CrossEntropyLoss over the nodes' scores, Adam). The graphs are made up in processed_1's
   format. facebookresearch/ppuda's `GatedGNN` (the Graph HyperNetwork's propagation): ppuda/ghn/gatedgnn.py
   (9b2a4b3dd6cced4d3db79a0a3262b69c49ab0781: `torch.unique(return_counts=True)`, `F.pad` and `cumsum` of node
   counts, masks by comparison and `&`, `torch.flipud`, per node `torch.nonzero`, an MLP of the predecessors' states
   summed per graph by `zeros(B, C).scatter_add_`, virtual edges divided by their distance, and a shared GRUCell
   written back with `hx[ind] = self.gru(m, hx[ind]).to(hx)` into the tensor it was given), ppuda/ghn/mlp.py
   (83c82a68a9271984e038c864603e830ccc27b002) and `get_activation` of ppuda/ghn/layers.py
   (04188590c0c26c2fa0a7f4d13ba3f962cd1fcb90: `nn.ReLU(inplace=True)`).
2. Hierarchical attention networks (Yang et al. 2016): sgrvinod/a-PyTorch-Tutorial-to-Text-Classification, model.py
   (cee495d58606cb9ab0c06069bf8953ff506ff604, written for PyTorch 0.4: documents sorted by length, packed into
   sentences, sentences sorted and packed into words, bidirectional GRUs over `PackedSequence(data, batch_sizes)`,
   attention scores exponentiated and re-padded by `pad_packed_sequence` of 1-d data so each softmax runs over its
   own sentence or document, then unsorted); datasets.py (f78aed526b64a16c216950ea71ef86a38b0c1b27: `HANDataset` over
   a `torch.load`ed dict of lists); utils.py and train.py (3fe0830ae6316c190680a18a6899bbcbfedb2400: `init_embedding`,
   `load_word2vec_embeddings`, `clip_gradient`, `save_checkpoint`, `AverageMeter`, `adjust_learning_rate`; `main`
   with frozen or fine-tuned embeddings and Adam over `filter(lambda p: p.requires_grad, ...)`, `train`). The
   documents and the word2vec vectors are made up (gensim, nltk and pandas are not installed).
3. GRU-ODE-Bayes (De Brouwer et al. 2019): edebrouwer/gru_ode_bayes gru_ode_bayes/models.py
   (19b236fff0caa8469fbb93054bda488568bdaaff): `GRUODECell`, `FullGRUODECell` and their autonomous forms (dh/dt =
   (1 - z)(n - h)), `GRUObservationCellLogvar` and `GRUObservationCell` (the prep layer `torch.matmul` of a (n, d, 1, 4)
   stack with a (d, 4, p) weight, `gru_input.relu_()`, permutes, and `temp = h.clone(); temp[i_obs] = ...`),
   `NNFOwithBayesianJumps` (Euler or midpoint steps of the ODE between irregular observation times, the Bayesian jump
   at each, the KL term, the smoother's `class_loss_vec[i_obs] += ...`, `return_path`), `compute_KL_loss`,
   `gaussian_KL`, `GRUODEBayesSeq` and `SeqGRUBayes` (a GRU step per observed feature, stepping a packed batch by its
   `batch_sizes` with `hidden[-dec:]`). The batches are made up as its pandas collate functions lay them out.
4. The neural Hawkes process (Mei & Eisner 2017): ant-research/EasyTemporalPointProcess,
   easy_tpp/model/torch_model/torch_nhp.py and torch_basemodel.py (8a47a6a00ead5ed074251dbc2fa9efde36138853:
   `ContTimeLSTMCell` with its decay c(t) = c-bar + (c - c-bar) exp(-delta (t - t_i)), `NHP.forward`,
   `loglike_loss`, `compute_states_at_sample_times`, `compute_intensities_at_sample_times`, and the base model's
   `compute_loglikelihood` with `masked_fill_(~seq_mask, 1.0)` and `masked_select`, `make_dtime_loss_samples` by
   `torch.linspace`, `get_logits_at_last_step` by `torch.gather`); easy_tpp/preprocess/event_tokenizer.py
   (0bc41b89ab248b7f4a5e88bdb1f1f9ed284fa3a4: `make_pad_sequence` and the type mask). The event sequences are made up.

Every source was read in the index at the commit named; none was written from memory.

What broke (fixed in this round's library change):
  - `t.scatter_(dim, index, src, reduce='add')` (and `'multiply'`, and a number for src) raised `TypeError: scatter:
    reduce= is not supported (PyTorch's scatter_reduce is not here)`, though scatter_reduce is here. PyTorch's
    scatter takes `reduce="add"` or `"multiply"`: the entries sent to a position are added to (multiplied into)
    self's, an index named twice counting twice, with a deprecation warning for a tensor src ("Use
    torch.scatter_reduce instead"). It is now `scatter_reduce`'s "sum" ("prod") with self included
    (microgradseq/ops/filling.py), with that warning; the gradient is scatter_reduce's, where PyTorch's backward
    through it is not implemented (pytorch/pytorch issue 88097); docs/pytorch.md and docs/api.md say so. A GNN's
    message sum written the older way, `zeros(B, C).scatter_(0, index, m, reduce='add')`, runs now.

Met and left as documented (docs/pytorch.md; the lines say `differs:`):
  - `.data` is the read-only numpy array: ggnn.pytorch's `m.weight.data.normal_(0.0, 0.02)` and `m.bias.data.fill_(0)`
    and gru_ode_bayes's `m.bias.data.fill_(0.05)` are `nn.init` calls; ggnn's test loop's `output.data.max(1,
    keepdim=True)[1]` and `target.data.view_as(pred)` are `.detach()` (and `max(dim=1, ...)`, since `t.max(1)` is
    numpy's values here); the HAN's `param.grad.data.clamp_(...)` clips the numpy gradient with `np.clip(..., out=)`.
  - `torch.save` of a module: the HAN's `save_checkpoint` saves the model and optimizer objects, a TypeError here; its
    `main` saves their state dicts (a test pins the TypeError).
Met and as PyTorch: the HAN's PyTorch-0.4 unpacking `sentences, bs = pack_padded_sequence(...)` (four fields from
PyTorch 1.1 on: a ValueError in both; written `sentences, bs, _, _`); ggnn's `loss.data[0]` (an IndexError from
PyTorch 0.5 on); `hx[ind] = ...` into a leaf that requires grad (RuntimeError); `hx = x` then `hx[ind] = ...` changes
the caller's tensor; `dropout=` on one-layer GRUs warns; `pin_memory=True` warns without an accelerator; `F.tanh`
does not warn (PyTorch 2's); the `padding_idx` row of an Embedding gets no gradient; `print(net)`'s text.

Met and changed for reasons outside the library (marked): numpy from 1.24 refuses `np.array` of ragged lists
(ggnn's `split_set`: `dtype=object`); ggnn's `assert (cond, 'msg')` always passes (written as the assert it means);
pytest would collect ggnn's `test` function (`test.__test__ = False`) and the HAN's `main` and `train` share
ggnn's names (renamed `han_main`, `han_train`); torchdiffeq (the "dopri5" solver), gensim, nltk and pandas are not
installed; EasyTPP's thinning sampler is not ported and its yaml config is a namespace; sizes, epochs and learning
rates are smaller; comments that ran past 120 characters sit on the line above.

Noticed and left alone (the sources', in PyTorch too):
  - ggnn.pytorch's test loss sums the batches' mean losses and divides by the number of graphs (a tenth of the mean at
    batch size 10).
  - The HAN's train.py (3fe0830a) divides the learning rate by 10 after every epoch; its softmaxes subtract the
    maximum over the whole batch, not per sentence (the same weights unless a sentence's exponentials underflow).
  - gru_ode_bayes's observation cells build a `gru_debug` GRUCell they never use (its parameters are in the model);
    the smoother adds the final classification loss after counting the evaluations, so each patient's loss is
    divided by one fewer term than it sums; `SeqGRUBayes.ode_step` reads `self.solver` and `self.gru_c`, which it
    does not have (it is never called).
  - EasyTPP pads time stamps and gaps with the pad token id (2.0 here), so padded steps decay by that gap (masked out
    of the loss); with two events NHP returns the initial zero state, not decayed; `torch.finfo(torch.float32).eps`
    is numpy's float32 scalar here (docs/api.md) and a Python float in PyTorch, the same value.

Expected values come from numpy written here in float64 (the GGNN propagation, the GatedGNN traversal, per-sentence
bidirectional GRUs with attention pooling, the ODE's Euler and midpoint steps with the observation jumps, the
continuous-time LSTM and the Hawkes log-likelihood, central differences of those), never from the library's own
outputs.
"""

import argparse
import math
import os
import time
import types

import numpy as np
import pytest
from porting_references import arr, check_named_grads, np_sigmoid, params_of, quietly

import microgradseq as torch
import microgradseq.backends.cudnn as cudnn
import microgradseq.nn as nn
import microgradseq.nn.functional as F
import microgradseq.optim as optim
from microgradseq.autograd import Variable
from microgradseq.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence
from microgradseq.utils.data import DataLoader
from microgradseq.utils.data import Dataset as TorchDataset


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

def np_relu(z):
    return np.maximum(z, 0.0)


def np_softplus(z, beta=1.0):
    """PyTorch's Softplus: log(1 + exp(beta z)) / beta, and z itself where beta z > 20 (its threshold)."""
    return np.where(beta * z > 20, z, np.logaddexp(0.0, beta * z) / beta)


def np_linear(p, name, x):
    out = x @ p[name + ".weight"].T
    return out + p[name + ".bias"] if name + ".bias" in p else out


def np_gru_cell(x, h, w_ih, w_hh, b_ih, b_hh):
    """PyTorch's GRU cell, gates r, z, n: n = tanh(W_in x + b_in + r (W_hn h + b_hn)), h' = (1 - z) n + z h."""
    ir, iz, in_ = np.split(x @ w_ih.T + b_ih, 3, axis=-1)
    hr, hz, hn = np.split(h @ w_hh.T + b_hh, 3, axis=-1)
    r, z = np_sigmoid(ir + hr), np_sigmoid(iz + hz)
    return (1 - z) * np.tanh(in_ + r * hn) + z * h


def np_gru_cell_named(p, prefix, x, h, suffix=""):
    return np_gru_cell(x, h, p[f"{prefix}weight_ih{suffix}"], p[f"{prefix}weight_hh{suffix}"],
                       p[f"{prefix}bias_ih{suffix}"], p[f"{prefix}bias_hh{suffix}"])


def randomize(model, seed, scale=0.5):
    """Every parameter set to N(0, scale^2) draws (the sources' initialisations make tiny weights), in place."""
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for _, p in model.named_parameters():
            p.copy_(torch.tensor(rng.normal(0.0, scale, p.shape), dtype=p.dtype))
    return model


def check_grads(model, names, loss_np, loss_lib, count=3, rtol=1e-5, atol=1e-8):
    """Library gradients of the named parameters against central differences of the numpy loss."""
    check_named_grads(model, names, loss_np, loss_lib, count, rtol, atol)


# ==== 1. Gated graph neural networks: chingyaoc/ggnn.pytorch and facebookresearch/ppuda's GatedGNN =============

# ---- chingyaoc/ggnn.pytorch model.py (dce9aa6e53ae7a670e4c9013f3249c8039760426) ----

class AttrProxy(object):
    """
    Translates index lookups into attribute lookups.
    To implement some trick which able to use list of nn.Module in a nn.Module
    see https://discuss.pytorch.org/t/list-of-nn-module-in-a-nn-module/219/2
    """
    def __init__(self, module, prefix):
        self.module = module
        self.prefix = prefix

    def __getitem__(self, i):
        return getattr(self.module, self.prefix + str(i))


class Propogator(nn.Module):
    """
    Gated Propogator for GGNN
    Using LSTM gating mechanism
    """
    def __init__(self, state_dim, n_node, n_edge_types):
        super(Propogator, self).__init__()

        self.n_node = n_node
        self.n_edge_types = n_edge_types

        self.reset_gate = nn.Sequential(
            nn.Linear(state_dim*3, state_dim),
            nn.Sigmoid()
        )
        self.update_gate = nn.Sequential(
            nn.Linear(state_dim*3, state_dim),
            nn.Sigmoid()
        )
        self.tansform = nn.Sequential(
            nn.Linear(state_dim*3, state_dim),
            nn.Tanh()
        )

    def forward(self, state_in, state_out, state_cur, A):
        A_in = A[:, :, :self.n_node*self.n_edge_types]
        A_out = A[:, :, self.n_node*self.n_edge_types:]

        a_in = torch.bmm(A_in, state_in)
        a_out = torch.bmm(A_out, state_out)
        a = torch.cat((a_in, a_out, state_cur), 2)

        r = self.reset_gate(a)
        z = self.update_gate(a)
        joined_input = torch.cat((a_in, a_out, r * state_cur), 2)
        h_hat = self.tansform(joined_input)

        output = (1 - z) * state_cur + z * h_hat

        return output


class GGNN(nn.Module):
    """
    Gated Graph Sequence Neural Networks (GGNN)
    Mode: SelectNode
    Implementation based on https://arxiv.org/abs/1511.05493
    """
    def __init__(self, opt):
        super(GGNN, self).__init__()

        # differs: the source's `assert (cond, 'message')` asserts a tuple, always true (Python's SyntaxWarning
        # "assertion is always true"); written without the parentheses it means, the check it was meant to be
        assert opt.state_dim >= opt.annotation_dim, \
            'state_dim must be no less than annotation_dim'

        self.state_dim = opt.state_dim
        self.annotation_dim = opt.annotation_dim
        self.n_edge_types = opt.n_edge_types
        self.n_node = opt.n_node
        self.n_steps = opt.n_steps

        for i in range(self.n_edge_types):
            # incoming and outgoing edge embedding
            in_fc = nn.Linear(self.state_dim, self.state_dim)
            out_fc = nn.Linear(self.state_dim, self.state_dim)
            self.add_module("in_{}".format(i), in_fc)
            self.add_module("out_{}".format(i), out_fc)

        self.in_fcs = AttrProxy(self, "in_")
        self.out_fcs = AttrProxy(self, "out_")

        # Propogation Model
        self.propogator = Propogator(self.state_dim, self.n_node, self.n_edge_types)

        # Output Model
        self.out = nn.Sequential(
            nn.Linear(self.state_dim + self.annotation_dim, self.state_dim),
            nn.Tanh(),
            nn.Linear(self.state_dim, 1)
        )

        self._initialization()

    def _initialization(self):
        for m in self.modules():
            if isinstance(m, nn.Linear):
                # differs: `m.weight.data.normal_(0.0, 0.02)` and `m.bias.data.fill_(0)`: `.data` is the read-only
                # numpy array here (docs/pytorch.md); nn.init writes into the parameters
                nn.init.normal_(m.weight, 0.0, 0.02)
                nn.init.zeros_(m.bias)

    def forward(self, prop_state, annotation, A):
        for i_step in range(self.n_steps):
            in_states = []
            out_states = []
            for i in range(self.n_edge_types):
                in_states.append(self.in_fcs[i](prop_state))
                out_states.append(self.out_fcs[i](prop_state))
            in_states = torch.stack(in_states).transpose(0, 1).contiguous()
            in_states = in_states.view(-1, self.n_node*self.n_edge_types, self.state_dim)
            out_states = torch.stack(out_states).transpose(0, 1).contiguous()
            out_states = out_states.view(-1, self.n_node*self.n_edge_types, self.state_dim)

            prop_state = self.propogator(in_states, out_states, prop_state, A)

        join_state = torch.cat((prop_state, annotation), 2)

        output = self.out(join_state)
        output = output.sum(2)

        return output


# ---- chingyaoc/ggnn.pytorch utils/data/dataset.py (d064a0347d259ce577daa32e392e843b97aae737) ----

def load_graphs_from_file(file_name):
    data_list = []
    edge_list = []
    target_list = []
    with open(file_name,'r') as f:
        for line in f:
            if len(line.strip()) == 0:
                data_list.append([edge_list,target_list])
                edge_list = []
                target_list = []
            else:
                digits = []
                line_tokens = line.split(" ")
                if line_tokens[0] == "?":
                    for i in range(1, len(line_tokens)):
                        digits.append(int(line_tokens[i]))
                    target_list.append(digits)
                else:
                    for i in range(len(line_tokens)):
                        digits.append(int(line_tokens[i]))
                    edge_list.append(digits)
    return data_list

def find_max_edge_id(data_list):
    max_edge_id = 0
    for data in data_list:
        edges = data[0]
        for item in edges:
            if item[1] > max_edge_id:
                max_edge_id = item[1]
    return max_edge_id

def find_max_node_id(data_list):
    max_node_id = 0
    for data in data_list:
        edges = data[0]
        for item in edges:
            if item[0] > max_node_id:
                max_node_id = item[0]
            if item[2] > max_node_id:
                max_node_id = item[2]
    return max_node_id

def find_max_task_id(data_list):
    max_node_id = 0
    for data in data_list:
        targe = data[1]
        for item in targe:
            if item[0] > max_node_id:
                max_node_id = item[0]
    return max_node_id

def split_set(data_list):
    n_examples = len(data_list)
    idx = range(n_examples)
    train = idx[:50]
    val = idx[-50:]
    # differs: `np.array(data_list)` of the ragged [edges, targets] lists is a ValueError from numpy 1.24 on
    # (numpy's, not the library's): an object array, as older numpy made with its deprecation warning
    return np.array(data_list, dtype=object)[train],np.array(data_list, dtype=object)[val]

def data_convert(data_list, n_annotation_dim):
    n_nodes = find_max_node_id(data_list)
    n_tasks = find_max_task_id(data_list)
    task_data_list = []
    for i in range(n_tasks):
        task_data_list.append([])
    for item in data_list:
        edge_list = item[0]
        target_list = item[1]
        for target in target_list:
            task_type = target[0]
            task_output = target[-1]
            annotation = np.zeros([n_nodes, n_annotation_dim])
            annotation[target[1]-1][0] = 1
            task_data_list[task_type-1].append([edge_list, annotation, task_output])
    return task_data_list

def create_adjacency_matrix(edges, n_nodes, n_edge_types):
    a = np.zeros([n_nodes, n_nodes * n_edge_types * 2])
    for edge in edges:
        src_idx = edge[0]
        e_type = edge[1]
        tgt_idx = edge[2]
        a[tgt_idx-1][(e_type - 1) * n_nodes + src_idx - 1] =  1
        a[src_idx-1][(e_type - 1 + n_edge_types) * n_nodes + tgt_idx - 1] =  1
    return a


class bAbIDataset():
    """
    Load bAbI tasks for GGNN
    """
    def __init__(self, path, task_id, is_train):
        all_data = load_graphs_from_file(path)
        self.n_edge_types =  find_max_edge_id(all_data)
        self.n_tasks = find_max_task_id(all_data)
        self.n_node = find_max_node_id(all_data)

        all_task_train_data, all_task_val_data = split_set(all_data)

        if is_train:
            all_task_train_data = data_convert(all_task_train_data, 1)
            self.data = all_task_train_data[task_id]
        else:
            all_task_val_data = data_convert(all_task_val_data, 1)
            self.data = all_task_val_data[task_id]

    def __getitem__(self, index):
        am = create_adjacency_matrix(self.data[index][0], self.n_node, self.n_edge_types)
        annotation = self.data[index][1]
        target = self.data[index][2] - 1
        return am, annotation, target

    def __len__(self):
        return len(self.data)


# ---- chingyaoc/ggnn.pytorch utils/data/dataloader.py (9825b0440ef0805ca11092a9e331897c40982cc5) ----

class bAbIDataloader(DataLoader):

    def __init__(self, *args, **kwargs):
        super(bAbIDataloader, self).__init__(*args, **kwargs)


# ---- chingyaoc/ggnn.pytorch utils/train.py and utils/test.py (19b8bf238fc0950f8d0a92f4f661706cd4585570) ----

def train(epoch, dataloader, net, criterion, optimizer, opt):
    net.train()
    for i, (adj_matrix, annotation, target) in enumerate(dataloader, 0):
        net.zero_grad()

        padding = torch.zeros(len(annotation), opt.n_node, opt.state_dim - opt.annotation_dim).double()
        init_input = torch.cat((annotation, padding), 2)
        if opt.cuda:
            init_input = init_input.cuda()
            adj_matrix = adj_matrix.cuda()
            annotation = annotation.cuda()
            target = target.cuda()

        init_input = Variable(init_input)
        adj_matrix = Variable(adj_matrix)
        annotation = Variable(annotation)
        target = Variable(target)

        output = net(init_input, annotation, adj_matrix)

        loss = criterion(output, target)

        loss.backward()
        optimizer.step()

        if i % int(len(dataloader) / 10 + 1) == 0 and opt.verbal:
            # differs: `loss.data[0]` (PyTorch 0.3): an IndexError on a 0-d loss from PyTorch 0.5 on, as here
            print('[%d/%d][%d/%d] Loss: %.4f' % (epoch, opt.niter, i, len(dataloader), loss.item()))


def test(dataloader, net, criterion, optimizer, opt):
    test_loss = 0
    correct = 0
    net.eval()
    for i, (adj_matrix, annotation, target) in enumerate(dataloader, 0):
        padding = torch.zeros(len(annotation), opt.n_node, opt.state_dim - opt.annotation_dim).double()
        init_input = torch.cat((annotation, padding), 2)
        if opt.cuda:
            init_input = init_input.cuda()
            adj_matrix = adj_matrix.cuda()
            annotation = annotation.cuda()
            target = target.cuda()

        init_input = Variable(init_input)
        adj_matrix = Variable(adj_matrix)
        annotation = Variable(annotation)
        target = Variable(target)

        output = net(init_input, annotation, adj_matrix)

        # differs: `criterion(output, target).data[0]`, PyTorch 0.3's; `.item()` in PyTorch from 0.5 on, as here
        test_loss += criterion(output, target).item()
        # differs: `output.data.max(1, keepdim=True)[1]` and `target.data.view_as(pred)`: `.data` is the numpy
        # array here, and `t.max(1)` numpy's values (docs/pytorch.md): `.detach()` and `max(dim=1, ...)`
        pred = output.detach().max(dim=1, keepdim=True)[1]

        correct += pred.eq(target.detach().view_as(pred)).cpu().sum()

    test_loss /= len(dataloader.dataset)
    print('Test set: Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)'.format(
        test_loss, correct, len(dataloader.dataset),
        100. * correct / len(dataloader.dataset)))
    return test_loss, int(correct)  # differs: returned, for the test to read (the source prints them)


test.__test__ = False  # differs: pytest would collect the source's `test` as a test of this file


# ---- chingyaoc/ggnn.pytorch main.py (f0f248d8ae9fa18156abb17c3b90e02f498da46a), `main` as written ----

def main(opt):
    train_dataset = bAbIDataset(opt.dataroot, opt.question_id, True)
    train_dataloader = bAbIDataloader(train_dataset, batch_size=opt.batchSize, \
                                      shuffle=True, num_workers=2)

    test_dataset = bAbIDataset(opt.dataroot, opt.question_id, False)
    test_dataloader = bAbIDataloader(test_dataset, batch_size=opt.batchSize, \
                                     shuffle=False, num_workers=2)

    opt.annotation_dim = 1  # for bAbI
    opt.n_edge_types = train_dataset.n_edge_types
    opt.n_node = train_dataset.n_node

    net = GGNN(opt)
    net.double()
    print(net)

    criterion = nn.CrossEntropyLoss()

    if opt.cuda:
        net.cuda()
        criterion.cuda()

    optimizer = optim.Adam(net.parameters(), lr=opt.lr)

    results = []  # differs: each epoch's test result kept, for the test to read
    for epoch in range(0, opt.niter):
        train(epoch, train_dataloader, net, criterion, optimizer, opt)
        results.append(test(test_dataloader, net, criterion, optimizer, opt))
    return net, results


# ---- facebookresearch/ppuda ppuda/ghn/layers.py (04188590c0c26c2fa0a7f4d13ba3f962cd1fcb90): get_activation ----

def get_activation(activation):
    if activation is not None:
        if activation == 'relu':
            f = nn.ReLU(inplace=True)
        elif activation == 'lrelu':
            f = nn.LeakyReLU()
        elif activation == 'selu':
            f = nn.SELU()
        elif activation == 'elu':
            f = nn.ELU()
        elif activation == 'rrelu':
            f = nn.RReLU()
        elif activation == 'sigmoid':
            f = nn.Sigmoid()
        else:
            raise NotImplementedError(activation)
    else:
        f = nn.Identity()

    return f


# ---- facebookresearch/ppuda ppuda/ghn/mlp.py (83c82a68a9271984e038c864603e830ccc27b002) ----

class MLP(nn.Module):
    def __init__(self,
                 in_features=32,
                 hid=(32, 32),
                 activation='relu',
                 last_activation='same'):
        super(MLP, self).__init__()

        assert len(hid) > 0, hid
        fc = []
        for j, n in enumerate(hid):
            fc.extend([nn.Linear(in_features if j == 0 else hid[j - 1], n),
                       get_activation(last_activation if
                                      (j == len(hid) - 1 and
                                       last_activation != 'same')
                                      else activation)])
        self.fc = nn.Sequential(*fc)


    def forward(self, x, *args, **kwargs):
        if isinstance(x, tuple):
            x = x[0]
        return self.fc(x)


# ---- facebookresearch/ppuda ppuda/ghn/gatedgnn.py (9b2a4b3dd6cced4d3db79a0a3262b69c49ab0781); its comments that
# ran past 120 characters sit on the line above ----

class GatedGNN(nn.Module):
    r"""
    Gated Graph Neural Network based on "Chris Zhang, Mengye Ren, Raquel Urtasun. Graph HyperNetworks for Neural
    Architecture Search. ICLR 2019."
    Performs node feature propagation according to Eq. 3 and 4 in the paper.
    """
    def __init__(self,
                 in_features=32,
                 ve=False,
                 T=1):
        """
        Initializes Gated Graph Neural Network.
        :param in_features: how many features in each node.
        :param ve: use virtual edges defined according to Eq. 4 in the paper.
        :param T: number of forward+backward graph traversal steps.
        """
        super(GatedGNN, self).__init__()
        self.in_features = in_features
        self.hid = in_features
        self.ve = ve
        self.T = T
        self.mlp = MLP(in_features, hid=( (self.hid // 2) if ve else self.hid, self.hid))
        if ve:
            self.mlp_ve = MLP(in_features, hid=(self.hid // 2, self.hid))

        self.gru = nn.GRUCell(self.hid, self.hid)  # shared across all nodes/cells in a graph


    def forward(self, x, edges, node_graph_ind):
        r"""
        Updates node features by sequentially traversing the graph in the forward and backward directions.
        :param x: (N, C) node features, where N is the total number of nodes in a batch of B graphs, C is node
                  feature dimensionality.
        :param edges: (M, 4) tensor of edges, where M is the total number of edges;
                       first column in edges is the row indices of edges,
                       second column in edges is the column indices of edges,
                       third column in edges is the shortest path distance between the nodes,
                       fourth column in edges is the graph indices (from 0 to B-1) within a batch for each edge.
        :param node_graph_ind: (N,) tensor of graph indices (from 0 to B-1) within a batch for each node.
        :return: updated (N, C) node features.
        """

        assert x.dim() == 2 and edges.dim() == 2 and edges.shape[1] == 4, (x.shape, edges.shape)
        n_nodes = torch.unique(node_graph_ind, return_counts=True)[1]

        B, C = len(n_nodes), x.shape[1]  # batch size, features

        ve, edge_graph_ind = edges[:, 2], edges[:, 3]

        assert n_nodes.sum() == len(x), (n_nodes.sum(), x.shape)

        is_1hop = ve == 1
        if self.ve:
            ve = ve.view(-1, 1)   # according to Eq. 4 in the paper

        traversal_orders = [1, 0]  # forward, backward

        edge_offset = torch.cumsum(F.pad(n_nodes[:-1], (1, 0)), 0)[edge_graph_ind]
        node_inds = torch.cat([torch.arange(n) for n in n_nodes]).to(x.device).view(-1, 1)

        # Parallelize computation of indices and masks of one/all hops
        # This will slightly speed up the operations in the main loop
        # But indexing of the GPU tensors (used in the main loop) for some reason remains slow, see
        # https://github.com/pytorch/pytorch/issues/29973 for more info
        all_nodes = torch.arange(edges[:, 1].max() + 1, device=x.device)
        masks_1hop, masks_all = {}, {}
        for order in traversal_orders:
            masks_all[order] = edges[:, order].view(1, -1) == all_nodes.view(-1, 1)
            masks_1hop[order] = masks_all[order] & is_1hop.view(1, -1)
        mask2d = node_inds == all_nodes.view(1, -1)
        edge_graph_ind = edge_graph_ind.view(-1, 1).expand(-1, C)

        hx = x  # initial hidden node features

        # Main loop
        for t in range(self.T):
            for order in traversal_orders:  # forward, backward
                # node indices from which the message will be passed further
                start = edges[:, 1 - order] + edge_offset
                for node in (all_nodes if order else torch.flipud(all_nodes)):

                    # Compute the message by aggregating features from neighbors
                    e_1hop = torch.nonzero(masks_1hop[order][node, :]).view(-1)
                    # transform node features of all 1-hop neighbors
                    m = self.mlp(hx[start[e_1hop]])
                    # sum the transformed features into a (B,C) tensor
                    m = torch.zeros(B, C, dtype=m.dtype, device=m.device).scatter_add_(0, edge_graph_ind[e_1hop], m)
                    if self.ve:
                        e = torch.nonzero(masks_all[order][node, :]).view(-1)       # virtual edges connected to node
                        # transform node features of all ve-hop neighbors
                        m_ve = self.mlp_ve(hx[start[e]]) / ve[e].to(m)
                        # sum m and m_ve according to Eq. 4 in the paper
                        m = m.scatter_add_(0, edge_graph_ind[e], m_ve)

                    # Udpate node hidden states in parallel for a batch of graphs
                    ind = torch.nonzero(mask2d[:, node]).view(-1)
                    if B > 1:
                        m = m[node_graph_ind[ind]]
                    hx[ind] = self.gru(m, hx[ind]).to(hx)  # 'to(hx)' is to make automatic mixed precision work

        return hx


# ==== 2. Hierarchical attention networks: sgrvinod/a-PyTorch-Tutorial-to-Text-Classification =====================

# ---- model.py (cee495d58606cb9ab0c06069bf8953ff506ff604), written for PyTorch 0.4 (its README); comments that ran
# past 120 characters sit on the line above ----

class HierarchialAttentionNetwork(nn.Module):
    """
    The overarching Hierarchial Attention Network (HAN).
    """

    def __init__(self, n_classes, vocab_size, emb_size, word_rnn_size, sentence_rnn_size, word_rnn_layers,
                 sentence_rnn_layers, word_att_size, sentence_att_size, dropout=0.5):
        """
        :param n_classes: number of classes
        :param vocab_size: number of words in the vocabulary of the model
        :param emb_size: size of word embeddings
        :param word_rnn_size: size of (bidirectional) word-level RNN
        :param sentence_rnn_size: size of (bidirectional) sentence-level RNN
        :param word_rnn_layers: number of layers in word-level RNN
        :param sentence_rnn_layers: number of layers in sentence-level RNN
        :param word_att_size: size of word-level attention layer
        :param sentence_att_size: size of sentence-level attention layer
        :param dropout: dropout
        """
        super(HierarchialAttentionNetwork, self).__init__()

        # Sentence-level attention module (which will, in-turn, contain the word-level attention module)
        self.sentence_attention = SentenceAttention(vocab_size, emb_size, word_rnn_size, sentence_rnn_size,
                                                    word_rnn_layers, sentence_rnn_layers, word_att_size,
                                                    sentence_att_size, dropout)

        # Classifier
        self.fc = nn.Linear(2 * sentence_rnn_size, n_classes)

        self.dropout = nn.Dropout(dropout)

    def forward(self, documents, sentences_per_document, words_per_sentence):
        """
        Forward propagation.

        :param documents: encoded document-level data, a tensor of dimensions (n_documents, sent_pad_len, word_pad_len)
        :param sentences_per_document: document lengths, a tensor of dimensions (n_documents)
        :param words_per_sentence: sentence lengths, a tensor of dimensions (n_documents, sent_pad_len)
        :return: class scores, attention weights of words, attention weights of sentences
        """
        # Apply sentence-level attention module (and in turn, word-level attention module) to get document embeddings
        # (n_documents, 2 * sentence_rnn_size), (n_documents, max_doc_len_in_batch, max_sent_len_in_batch),
        # (n_documents, max_doc_len_in_batch)
        document_embeddings, word_alphas, sentence_alphas = self.sentence_attention(documents, sentences_per_document,
                                                                                    words_per_sentence)

        # Classify
        scores = self.fc(self.dropout(document_embeddings))  # (n_documents, n_classes)

        return scores, word_alphas, sentence_alphas


class SentenceAttention(nn.Module):
    """
    The sentence-level attention module.
    """

    def __init__(self, vocab_size, emb_size, word_rnn_size, sentence_rnn_size, word_rnn_layers, sentence_rnn_layers,
                 word_att_size, sentence_att_size, dropout):
        """
        :param vocab_size: number of words in the vocabulary of the model
        :param emb_size: size of word embeddings
        :param word_rnn_size: size of (bidirectional) word-level RNN
        :param sentence_rnn_size: size of (bidirectional) sentence-level RNN
        :param word_rnn_layers: number of layers in word-level RNN
        :param sentence_rnn_layers: number of layers in sentence-level RNN
        :param word_att_size: size of word-level attention layer
        :param sentence_att_size: size of sentence-level attention layer
        :param dropout: dropout
        """
        super(SentenceAttention, self).__init__()

        # Word-level attention module
        self.word_attention = WordAttention(vocab_size, emb_size, word_rnn_size, word_rnn_layers, word_att_size,
                                            dropout)

        # Bidirectional sentence-level RNN
        self.sentence_rnn = nn.GRU(2 * word_rnn_size, sentence_rnn_size, num_layers=sentence_rnn_layers,
                                   bidirectional=True, dropout=dropout, batch_first=True)

        # Sentence-level attention network
        self.sentence_attention = nn.Linear(2 * sentence_rnn_size, sentence_att_size)

        # Sentence context vector to take dot-product with
        # this performs a dot product with the linear layer's 1D parameter vector, which is the sentence context vector
        self.sentence_context_vector = nn.Linear(sentence_att_size, 1,
                                                 bias=False)
        # You could also do this with:
        # self.sentence_context_vector = nn.Parameter(torch.FloatTensor(1, sentence_att_size))
        # self.sentence_context_vector.data.uniform_(-0.1, 0.1)
        # And then take the dot-product

        # Dropout
        self.dropout = nn.Dropout(dropout)

    def forward(self, documents, sentences_per_document, words_per_sentence):
        """
        Forward propagation.

        :param documents: encoded document-level data, a tensor of dimensions (n_documents, sent_pad_len, word_pad_len)
        :param sentences_per_document: document lengths, a tensor of dimensions (n_documents)
        :param words_per_sentence: sentence lengths, a tensor of dimensions (n_documents, sent_pad_len)
        :return: document embeddings, attention weights of words, attention weights of sentences
        """
        # Sort documents by decreasing document lengths (SORTING #1)
        sentences_per_document, doc_sort_ind = sentences_per_document.sort(dim=0, descending=True)
        documents = documents[doc_sort_ind]  # (n_documents, sent_pad_len, word_pad_len)
        words_per_sentence = words_per_sentence[doc_sort_ind]  # (n_documents, sent_pad_len)

        # Re-arrange as sentences by removing pad-sentences (DOCUMENTS -> SENTENCES)
        # differs: `sentences, bs = pack_padded_sequence(...)`: PyTorch 0.4's PackedSequence was the pair (data,
        # batch_sizes); from PyTorch 1.1 on, as here, it has four fields, and a pair unpacking is a ValueError
        # (n_sentences, word_pad_len), bs is the effective batch size at each sentence-timestep
        sentences, bs, _, _ = pack_padded_sequence(documents,
                                                   lengths=sentences_per_document.tolist(),
                                                   batch_first=True)

        # Re-arrange sentence lengths in the same way (DOCUMENTS -> SENTENCES)
        # (n_sentences), '_' is the same as 'bs' in the earlier step
        words_per_sentence, *_ = pack_padded_sequence(words_per_sentence,  # differs: four fields, as above
                                                      lengths=sentences_per_document.tolist(),
                                                      batch_first=True)

        # Find sentence embeddings by applying the word-level attention module
        # (n_sentences, 2 * word_rnn_size), (n_sentences, max_sent_len_in_batch)
        sentences, word_alphas = self.word_attention(sentences,
                                                     words_per_sentence)
        sentences = self.dropout(sentences)

        # Apply the sentence-level RNN over the sentence embeddings (PyTorch automatically applies it on the
        # packed_sequence using the effective batch_size)
        (sentences, *_), _ = self.sentence_rnn(  # differs: four fields, as above
            PackedSequence(sentences, bs))  # (n_sentences, 2 * sentence_rnn_size), (max(sent_lens))

        # Find attention vectors by applying the attention linear layer
        att_s = self.sentence_attention(sentences)  # (n_sentences, att_size)
        att_s = F.tanh(att_s)  # (n_sentences, att_size)
        # Take the dot-product of the attention vectors with the context vector (i.e. parameter of linear layer)
        att_s = self.sentence_context_vector(att_s).squeeze(1)  # (n_sentences)

        # Compute softmax over the dot-product manually
        # Manually because they have to be computed only over sentences in the same document

        # First, take the exponent
        max_value = att_s.max()  # scalar, for numerical stability during exponent calculation
        att_s = torch.exp(att_s - max_value)  # (n_sentences)

        # Re-arrange as documents by re-padding with 0s (SENTENCES -> DOCUMENTS)
        att_s, _ = pad_packed_sequence(PackedSequence(att_s, bs),
                                       batch_first=True)  # (n_documents, max_doc_len_in_batch)

        # Calculate softmax values
        sentence_alphas = att_s / torch.sum(att_s, dim=1, keepdim=True)  # (n_documents, max_doc_len_in_batch)

        # Similarly re-arrange sentence-level RNN outputs as documents by re-padding with 0s (SENTENCES -> DOCUMENTS)
        # (n_documents, max_doc_len_in_batch, 2 * sentence_rnn_size)
        documents, _ = pad_packed_sequence(PackedSequence(sentences, bs),
                                           batch_first=True)

        # Find document embeddings
        documents = documents * sentence_alphas.unsqueeze(
            2)  # (n_documents, max_doc_len_in_batch, 2 * sentence_rnn_size)
        documents = documents.sum(dim=1)  # (n_documents, 2 * sentence_rnn_size)

        # Also re-arrange word_alphas (SENTENCES -> DOCUMENTS)
        # (n_documents, max_doc_len_in_batch, max_sent_len_in_batch)
        word_alphas, _ = pad_packed_sequence(PackedSequence(word_alphas, bs),
                                             batch_first=True)

        # Unsort documents into the original order (INVERSE OF SORTING #1)
        _, doc_unsort_ind = doc_sort_ind.sort(dim=0, descending=False)  # (n_documents)
        documents = documents[doc_unsort_ind]  # (n_documents, 2 * sentence_rnn_size)
        sentence_alphas = sentence_alphas[doc_unsort_ind]  # (n_documents, max_doc_len_in_batch)
        word_alphas = word_alphas[doc_unsort_ind]  # (n_documents, max_doc_len_in_batch, max_sent_len_in_batch)

        return documents, word_alphas, sentence_alphas


class WordAttention(nn.Module):
    """
    The word-level attention module.
    """

    def __init__(self, vocab_size, emb_size, word_rnn_size, word_rnn_layers, word_att_size, dropout):
        """
        :param vocab_size: number of words in the vocabulary of the model
        :param emb_size: size of word embeddings
        :param word_rnn_size: size of (bidirectional) word-level RNN
        :param word_rnn_layers: number of layers in word-level RNN
        :param word_att_size: size of word-level attention layer
        :param dropout: dropout
        """
        super(WordAttention, self).__init__()

        # Embeddings (look-up) layer
        self.embeddings = nn.Embedding(vocab_size, emb_size)

        # Bidirectional word-level RNN
        self.word_rnn = nn.GRU(emb_size, word_rnn_size, num_layers=word_rnn_layers, bidirectional=True,
                               dropout=dropout, batch_first=True)

        # Word-level attention network
        self.word_attention = nn.Linear(2 * word_rnn_size, word_att_size)

        # Word context vector to take dot-product with
        self.word_context_vector = nn.Linear(word_att_size, 1, bias=False)
        # You could also do this with:
        # self.word_context_vector = nn.Parameter(torch.FloatTensor(1, word_att_size))
        # self.word_context_vector.data.uniform_(-0.1, 0.1)
        # And then take the dot-product

        self.dropout = nn.Dropout(dropout)

    def init_embeddings(self, embeddings):
        """
        Initialized embedding layer with pre-computed embeddings.

        :param embeddings: pre-computed embeddings
        """
        self.embeddings.weight = nn.Parameter(embeddings)

    def fine_tune_embeddings(self, fine_tune=False):
        """
        Allow fine-tuning of embedding layer? (Only makes sense to not-allow if using pre-trained embeddings).

        :param fine_tune: allow?
        """
        for p in self.embeddings.parameters():
            p.requires_grad = fine_tune

    def forward(self, sentences, words_per_sentence):
        """
        Forward propagation.

        :param sentences: encoded sentence-level data, a tensor of dimension (n_sentences, word_pad_len, emb_size)
        :param words_per_sentence: sentence lengths, a tensor of dimension (n_sentences)
        :return: sentence embeddings, attention weights of words
        """
        # Sort sentences by decreasing sentence lengths (SORTING #2)
        words_per_sentence, sent_sort_ind = words_per_sentence.sort(dim=0, descending=True)
        sentences = sentences[sent_sort_ind]  # (n_sentences, word_pad_len, emb_size)

        # Get word embeddings, apply dropout
        sentences = self.dropout(self.embeddings(sentences))  # (n_sentences, word_pad_len, emb_size)

        # Re-arrange as words by removing pad-words (SENTENCES -> WORDS)
        # (n_words, emb_size), bw is the effective batch size at each word-timestep
        words, bw, _, _ = pack_padded_sequence(sentences,  # differs: four fields, as above
                                               lengths=words_per_sentence.tolist(),
                                               batch_first=True)

        # Apply the word-level RNN over the word embeddings (PyTorch automatically applies it on the packed_sequence
        # using the effective batch_size)
        (words, *_), _ = self.word_rnn(PackedSequence(words, bw))  # differs: four fields, as above

        # Find attention vectors by applying the attention linear layer
        att_w = self.word_attention(words)  # (n_words, att_size)
        att_w = F.tanh(att_w)  # (n_words, att_size)
        # Take the dot-product of the attention vectors with the context vector (i.e. parameter of linear layer)
        att_w = self.word_context_vector(att_w).squeeze(1)  # (n_words)

        # Compute softmax over the dot-product manually
        # Manually because they have to be computed only over words in the same sentence

        # First, take the exponent
        max_value = att_w.max()  # scalar, for numerical stability during exponent calculation
        att_w = torch.exp(att_w - max_value)  # (n_words)

        # Re-arrange as sentences by re-padding with 0s (WORDS -> SENTENCES)
        att_w, _ = pad_packed_sequence(PackedSequence(att_w, bw),
                                       batch_first=True)  # (n_sentences, max_sent_len_in_batch)

        # Calculate softmax values
        word_alphas = att_w / torch.sum(att_w, dim=1, keepdim=True)  # (n_sentences, max_sent_len_in_batch)

        # Similarly re-arrange word-level RNN outputs as sentences by re-padding with 0s (WORDS -> SENTENCES)
        sentences, _ = pad_packed_sequence(PackedSequence(words, bw),
                                           batch_first=True)  # (n_sentences, max_sent_len_in_batch, 2 * word_rnn_size)

        # Find sentence embeddings
        sentences = sentences * word_alphas.unsqueeze(2)  # (n_sentences, max_sent_len_in_batch, 2 * word_rnn_size)
        sentences = sentences.sum(dim=1)  # (n_sentences, 2 * word_rnn_size)

        # Unsort sentences into the original order (INVERSE OF SORTING #2)
        _, sent_unsort_ind = sent_sort_ind.sort(dim=0, descending=False)  # (n_sentences)
        sentences = sentences[sent_unsort_ind]  # (n_sentences, 2 * word_rnn_size)
        word_alphas = word_alphas[sent_unsort_ind]  # (n_sentences, max_sent_len_in_batch)

        return sentences, word_alphas


# ---- utils.py (3fe0830ae6316c190680a18a6899bbcbfedb2400): the parts the model and train.py use ----

def init_embedding(input_embedding):
    """
    Initialize embedding tensor with values from the uniform distribution.

    :param input_embedding: embedding tensor
    """
    bias = np.sqrt(3.0 / input_embedding.size(1))
    nn.init.uniform_(input_embedding, -bias, bias)


class KeyedVectorsStandIn:
    """differs: gensim (not installed) loads the word2vec vectors; this stand-in answers the three things
    `load_word2vec_embeddings` reads of them: `vector_size`, `vocab` and `w2v[word]` (a float32 array)."""

    def __init__(self, vectors):
        self.vocab = dict(vectors)
        self.vector_size = len(next(iter(self.vocab.values())))

    def __getitem__(self, word):
        return np.asarray(self.vocab[word], dtype=np.float32)


def load_word2vec_embeddings(word2vec_file, word_map):
    """
    Load pre-trained embeddings for words in the word map.

    :param word2vec_file: location of the trained word2vec model
    :param word_map: word map
    :return: embeddings for words in the word map, embedding size
    """
    # Load word2vec model into memory
    w2v = word2vec_file  # differs: `gensim.models.KeyedVectors.load(word2vec_file, mmap='r')`: the stand-in itself

    print("\nEmbedding length is %d.\n" % w2v.vector_size)

    # Create tensor to hold embeddings for words that are in-corpus
    embeddings = torch.FloatTensor(len(word_map), w2v.vector_size)
    init_embedding(embeddings)

    # Read embedding file
    print("Loading embeddings...")
    for word in word_map:
        if word in w2v.vocab:
            embeddings[word_map[word]] = torch.FloatTensor(w2v[word])

    print("Done.\n Embedding vocabulary: %d.\n" % len(word_map))

    return embeddings, w2v.vector_size


def clip_gradient(optimizer, grad_clip):
    """
    Clip gradients computed during backpropagation to prevent gradient explosion.

    :param optimizer: optimized with the gradients to be clipped
    :param grad_clip: gradient clip value
    """
    for group in optimizer.param_groups:
        for param in group['params']:
            if param.grad is not None:
                # differs: `param.grad.data.clamp_(-grad_clip, grad_clip)`: the gradient is a numpy array here
                # (docs/pytorch.md), clipped in place by numpy
                np.clip(param.grad, -grad_clip, grad_clip, out=param.grad)


def save_checkpoint(epoch, model, optimizer, word_map):
    """
    Save model checkpoint.

    :param epoch: epoch number
    :param model: model
    :param optimizer: optimizer
    :param best_acc: best accuracy achieved so far (not necessarily in this checkpoint)
    :param word_map: word map
    :param epochs_since_improvement: number of epochs since last improvement
    :param is_best: is this checkpoint the best so far?
    """
    state = {'epoch': epoch,
             'model': model,
             'optimizer': optimizer,
             'word_map': word_map}
    filename = 'checkpoint_han.pth.tar'
    torch.save(state, filename)


class AverageMeter(object):
    """
    Keeps track of most recent, average, sum, and count of a metric.
    """

    def __init__(self):
        self.reset()

    def reset(self):
        self.val = 0
        self.avg = 0
        self.sum = 0
        self.count = 0

    def update(self, val, n=1):
        self.val = val
        self.sum += val * n
        self.count += n
        self.avg = self.sum / self.count


def adjust_learning_rate(optimizer, scale_factor):
    """
    Shrinks learning rate by a specified factor.

    :param optimizer: optimizer whose learning rates must be decayed
    :param scale_factor: factor to scale by
    """

    print("\nDECAYING learning rate.")
    for param_group in optimizer.param_groups:
        param_group['lr'] = param_group['lr'] * scale_factor
    print("The new learning rate is %f\n" % (optimizer.param_groups[0]['lr'],))


# ---- datasets.py (f78aed526b64a16c216950ea71ef86a38b0c1b27) ----

class HANDataset(TorchDataset):
    """
    A PyTorch Dataset class to be used in a PyTorch DataLoader to create batches.
    """
    def __init__(self, data_folder, split):
        """
        :param data_folder: folder where data files are stored
        :param split: split, one of 'TRAIN' or 'TEST'
        """
        split = split.upper()
        assert split in {'TRAIN', 'TEST'}
        self.split = split

        # Load data
        self.data = torch.load(os.path.join(data_folder, split + '_data.pth.tar'))

    def __getitem__(self, i):
        return torch.LongTensor(self.data['docs'][i]), \
               torch.LongTensor([self.data['sentences_per_document'][i]]), \
               torch.LongTensor(self.data['words_per_sentence'][i]), \
               torch.LongTensor([self.data['labels'][i]])

    def __len__(self):
        return len(self.data['labels'])


# ---- train.py (3fe0830ae6316c190680a18a6899bbcbfedb2400): its module-level settings, `main` and `train` ----

# Data parameters
data_folder = '/media/ssd/han data'
word2vec_file = os.path.join(data_folder, 'word2vec_model')  # path to pre-trained word2vec embeddings
# differs: `with open(os.path.join(data_folder, 'word_map.json'), 'r') as j: word_map = json.load(j)` at import;
# the test sets `word_map`, `data_folder` and `word2vec_file` (the stand-in vectors) before calling `han_main`
word_map = None

# Model parameters
n_classes = 3  # differs: `len(label_map)`, utils.py's ten Yahoo Answers classes; the made-up documents have three
word_rnn_size = 50  # word RNN size
sentence_rnn_size = 50  # character RNN size
word_rnn_layers = 1  # number of layers in character RNN
sentence_rnn_layers = 1  # number of layers in word RNN
word_att_size = 100  # size of the word-level attention layer (also the size of the word context vector)
sentence_att_size = 100  # size of the sentence-level attention layer (also the size of the sentence context vector)
dropout = 0.3  # dropout
fine_tune_word_embeddings = True  # fine-tune word embeddings?

# Training parameters
start_epoch = 0  # start at this epoch
batch_size = 64  # batch size
lr = 1e-3  # learning rate
momentum = 0.9  # momentum
workers = 4  # number of workers for loading data in the DataLoader
epochs = 2  # number of epochs to run without early-stopping
grad_clip = None  # clip gradients at this value
print_freq = 2000  # print training or validation status every __ batches
checkpoint = None  # path to model checkpoint, None if none

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

cudnn.benchmark = True  # set to true only if inputs to model are fixed size; otherwise lot of computational overhead


def han_main():  # differs: `main`, renamed beside ggnn.pytorch's `main`
    """
    Training and validation.
    """
    global checkpoint, start_epoch, word_map

    # Initialize model or load checkpoint
    if checkpoint is not None:
        checkpoint = torch.load(checkpoint)
        model = checkpoint['model']
        optimizer = checkpoint['optimizer']
        word_map = checkpoint['word_map']
        start_epoch = checkpoint['epoch'] + 1
        print(
            '\nLoaded checkpoint from epoch %d.\n' % (start_epoch - 1))
    else:
        # load pre-trained word2vec embeddings
        embeddings, emb_size = load_word2vec_embeddings(word2vec_file, word_map)

        model = HierarchialAttentionNetwork(n_classes=n_classes,
                                            vocab_size=len(word_map),
                                            emb_size=emb_size,
                                            word_rnn_size=word_rnn_size,
                                            sentence_rnn_size=sentence_rnn_size,
                                            word_rnn_layers=word_rnn_layers,
                                            sentence_rnn_layers=sentence_rnn_layers,
                                            word_att_size=word_att_size,
                                            sentence_att_size=sentence_att_size,
                                            dropout=dropout)
        model.sentence_attention.word_attention.init_embeddings(
            embeddings)  # initialize embedding layer with pre-trained embeddings
        model.sentence_attention.word_attention.fine_tune_embeddings(fine_tune_word_embeddings)  # fine-tune
        optimizer = optim.Adam(params=filter(lambda p: p.requires_grad, model.parameters()), lr=lr)

    # Loss functions
    criterion = nn.CrossEntropyLoss()

    # Move to device
    model = model.to(device)
    criterion = criterion.to(device)

    # DataLoaders
    train_loader = torch.utils.data.DataLoader(HANDataset(data_folder, 'train'), batch_size=batch_size, shuffle=True,
                                               num_workers=workers, pin_memory=True)

    history = []  # differs: each epoch's (loss, accuracy) kept, for the test to read
    # Epochs
    for epoch in range(start_epoch, epochs):
        # One epoch's training
        history.append(han_train(train_loader=train_loader,
                                 model=model,
                                 criterion=criterion,
                                 optimizer=optimizer,
                                 epoch=epoch))

        # Decay learning rate every epoch
        adjust_learning_rate(optimizer, 0.1)

        # Save checkpoint
        # differs: the model and optimizer objects are saved by their state dicts (torch.save of a module raises
        # a TypeError here, docs/pytorch.md)
        save_checkpoint(epoch, model.state_dict(), optimizer.state_dict(), word_map)
    return model, history


def han_train(train_loader, model, criterion, optimizer, epoch):  # differs: `train`, renamed as `main` above
    """
    Performs one epoch's training.

    :param train_loader: DataLoader for training data
    :param model: model
    :param criterion: cross entropy loss layer
    :param optimizer: optimizer
    :param epoch: epoch number
    """

    model.train()  # training mode enables dropout

    batch_time = AverageMeter()  # forward prop. + back prop. time per batch
    data_time = AverageMeter()  # data loading time per batch
    losses = AverageMeter()  # cross entropy loss
    accs = AverageMeter()  # accuracies

    start = time.time()

    # Batches
    for i, (documents, sentences_per_document, words_per_sentence, labels) in enumerate(train_loader):

        data_time.update(time.time() - start)

        documents = documents.to(device)  # (batch_size, sentence_limit, word_limit)
        sentences_per_document = sentences_per_document.squeeze(1).to(device)  # (batch_size)
        words_per_sentence = words_per_sentence.to(device)  # (batch_size, sentence_limit)
        labels = labels.squeeze(1).to(device)  # (batch_size)

        # Forward prop.
        # (n_documents, n_classes), (n_documents, max_doc_len_in_batch, max_sent_len_in_batch),
        # (n_documents, max_doc_len_in_batch)
        scores, word_alphas, sentence_alphas = model(documents, sentences_per_document,
                                                     words_per_sentence)

        # Loss
        loss = criterion(scores, labels)  # scalar

        # Back prop.
        optimizer.zero_grad()
        loss.backward()

        # Clip gradients
        if grad_clip is not None:
            clip_gradient(optimizer, grad_clip)

        # Update
        optimizer.step()

        # Find accuracy
        _, predictions = scores.max(dim=1)  # (n_documents)
        correct_predictions = torch.eq(predictions, labels).sum().item()
        accuracy = correct_predictions / labels.size(0)

        # Keep track of metrics
        losses.update(loss.item(), labels.size(0))
        batch_time.update(time.time() - start)
        accs.update(accuracy, labels.size(0))

        start = time.time()

        # Print training status
        if i % print_freq == 0:
            print('Epoch: [{0}][{1}/{2}]\t'
                  'Batch Time {batch_time.val:.3f} ({batch_time.avg:.3f})\t'
                  'Data Load Time {data_time.val:.3f} ({data_time.avg:.3f})\t'
                  'Loss {loss.val:.4f} ({loss.avg:.4f})\t'
                  'Accuracy {acc.val:.3f} ({acc.avg:.3f})'.format(epoch, i, len(train_loader),
                                                                  batch_time=batch_time,
                                                                  data_time=data_time, loss=losses,
                                                                  acc=accs))
    return losses.avg, accs.avg  # differs: returned, for the test to read (the source prints them)


# ==== 3. GRU-ODE-Bayes (De Brouwer et al. 2019): edebrouwer/gru_ode_bayes gru_ode_bayes/models.py ==============
# ---- (19b236fff0caa8469fbb93054bda488568bdaaff); lines past 120 characters wrapped ----

# differs: `from torchdiffeq import odeint`: torchdiffeq is not installed; only the "dopri5" solver calls it
def odeint(*args, **kwargs):
    raise NotImplementedError("torchdiffeq is not installed")


# GRU-ODE: Neural Negative Feedback ODE with Bayesian jumps

class GRUODECell(torch.nn.Module):
    def __init__(self, input_size, hidden_size, bias=True):
        """
        For p(t) modelling input_size should be 2x the x size.
        """
        super().__init__()
        self.input_size  = input_size
        self.hidden_size = hidden_size
        self.bias        = bias

        self.lin_xz = torch.nn.Linear(input_size, hidden_size, bias=bias)
        self.lin_xn = torch.nn.Linear(input_size, hidden_size, bias=bias)

        self.lin_hz = torch.nn.Linear(hidden_size, hidden_size, bias=False)
        self.lin_hn = torch.nn.Linear(hidden_size, hidden_size, bias=False)


    def forward(self, x, h):
        """
        Returns a change due to one step of using GRU-ODE for all h.
        The step size is given by delta_t.

        Args:
            x        input values
            h        hidden state (current)
            delta_t  time step

        Returns:
            Updated h
        """
        z = torch.sigmoid(self.lin_xz(x) + self.lin_hz(h))
        n = torch.tanh(self.lin_xn(x) + self.lin_hn(z * h))

        dh = (1 - z) * (n - h)
        return dh

class GRUODECell_Autonomous(torch.nn.Module):
    def __init__(self, hidden_size, bias=True):
        """
        For p(t) modelling input_size should be 2x the x size.
        """
        super().__init__()
        self.hidden_size = hidden_size
        self.bias        = bias

        #self.lin_xz = torch.nn.Linear(input_size, hidden_size, bias=bias)
        #self.lin_xn = torch.nn.Linear(input_size, hidden_size, bias=bias)

        self.lin_hz = torch.nn.Linear(hidden_size, hidden_size, bias=False)
        self.lin_hn = torch.nn.Linear(hidden_size, hidden_size, bias=False)


    def forward(self, t, h):
        """
        Returns a change due to one step of using GRU-ODE for all h.
        The step size is given by delta_t.

        Args:
            t        time
            h        hidden state (current)

        Returns:
            Updated h
        """
        x = torch.zeros_like(h)
        z = torch.sigmoid(x + self.lin_hz(h))
        n = torch.tanh(x + self.lin_hn(z * h))

        dh = (1 - z) * (n - h)
        return dh


class FullGRUODECell(torch.nn.Module):
    def __init__(self, input_size, hidden_size, bias=True):
        """
        For p(t) modelling input_size should be 2x the x size.
        """
        super().__init__()

        #self.lin_xh = torch.nn.Linear(input_size, hidden_size, bias=bias)
        #self.lin_xz = torch.nn.Linear(input_size, hidden_size, bias=bias)
        #self.lin_xr = torch.nn.Linear(input_size, hidden_size, bias=bias)

        self.lin_x = torch.nn.Linear(input_size, hidden_size * 3, bias=bias)

        self.lin_hh = torch.nn.Linear(hidden_size, hidden_size, bias=False)
        self.lin_hz = torch.nn.Linear(hidden_size, hidden_size, bias=False)
        self.lin_hr = torch.nn.Linear(hidden_size, hidden_size, bias=False)

    def forward(self, x, h):
        """
        Executes one step with GRU-ODE for all h.
        The step size is given by delta_t.

        Args:
            x        input values
            h        hidden state (current)
            delta_t  time step

        Returns:
            Updated h
        """
        xr, xz, xh = torch.chunk(self.lin_x(x), 3, dim=1)
        r = torch.sigmoid(xr + self.lin_hr(h))
        z = torch.sigmoid(xz + self.lin_hz(h))
        u = torch.tanh(xh + self.lin_hh(r * h))

        dh = (1 - z) * (u - h)
        return dh

class FullGRUODECell_Autonomous(torch.nn.Module):

    def __init__(self, hidden_size, bias=True):
        """
        For p(t) modelling input_size should be 2x the x size.
        """
        super().__init__()

        #self.lin_xh = torch.nn.Linear(input_size, hidden_size, bias=bias)
        #self.lin_xz = torch.nn.Linear(input_size, hidden_size, bias=bias)
        #self.lin_xr = torch.nn.Linear(input_size, hidden_size, bias=bias)

        #self.lin_x = torch.nn.Linear(input_size, hidden_size * 3, bias=bias)

        self.lin_hh = torch.nn.Linear(hidden_size, hidden_size, bias=False)
        self.lin_hz = torch.nn.Linear(hidden_size, hidden_size, bias=False)
        self.lin_hr = torch.nn.Linear(hidden_size, hidden_size, bias=False)

    def forward(self, t, h):
        """
        Executes one step with autonomous GRU-ODE for all h.
        The step size is given by delta_t.

        Args:
            t        time of evaluation
            h        hidden state (current)

        Returns:
            Updated h
        """
        #xr, xz, xh = torch.chunk(self.lin_x(x), 3, dim=1)
        x = torch.zeros_like(h)
        r = torch.sigmoid(x + self.lin_hr(h))
        z = torch.sigmoid(x + self.lin_hz(h))
        u = torch.tanh(x + self.lin_hh(r * h))

        dh = (1 - z) * (u - h)
        return dh

class GRUObservationCellLogvar(torch.nn.Module):
    """Implements discrete update based on the received observations."""

    def __init__(self, input_size, hidden_size, prep_hidden, bias=True):
        super().__init__()
        self.gru_d     = torch.nn.GRUCell(prep_hidden * input_size, hidden_size, bias=bias)
        self.gru_debug = torch.nn.GRUCell(prep_hidden * input_size, hidden_size, bias=bias)

        ## prep layer and its initialization
        std            = math.sqrt(2.0 / (4 + prep_hidden))
        self.w_prep    = torch.nn.Parameter(std * torch.randn(input_size, 4, prep_hidden))
        self.bias_prep = torch.nn.Parameter(0.1 + torch.zeros(input_size, prep_hidden))

        self.input_size  = input_size
        self.prep_hidden = prep_hidden

    def forward(self, h, p, X_obs, M_obs, i_obs):
        ## only updating rows that have observations
        p_obs        = p[i_obs]

        mean, logvar = torch.chunk(p_obs, 2, dim=1)
        sigma        = torch.exp(0.5 * logvar)
        error        = (X_obs - mean) / sigma

        ## log normal loss, over all observations
        log_lik_c    = np.log(np.sqrt(2*np.pi))
        losses       = 0.5 * ((torch.pow(error, 2) + logvar + 2*log_lik_c) * M_obs)
        if losses.sum()!=losses.sum():
            import ipdb; ipdb.set_trace()

        ## TODO: try removing X_obs (they are included in error)
        gru_input    = torch.stack([X_obs, mean, logvar, error], dim=2).unsqueeze(2)
        gru_input    = torch.matmul(gru_input, self.w_prep).squeeze(2) + self.bias_prep
        gru_input.relu_()
        ## gru_input is (sample x feature x prep_hidden)
        gru_input    = gru_input.permute(2, 0, 1)
        gru_input    = (gru_input * M_obs).permute(1, 2, 0).contiguous().view(-1, self.prep_hidden * self.input_size)

        temp = h.clone()
        temp[i_obs] = self.gru_d(gru_input, h[i_obs])
        h = temp

        return h, losses

class GRUObservationCell(torch.nn.Module):
    """Implements discrete update based on the received observations."""

    def __init__(self, input_size, hidden_size, prep_hidden, bias=True):
        super().__init__()
        self.gru_d     = torch.nn.GRUCell(prep_hidden * input_size, hidden_size, bias=bias)
        self.gru_debug = torch.nn.GRUCell(prep_hidden * input_size, hidden_size, bias=bias)

        ## prep layer and its initialization
        std            = math.sqrt(2.0 / (4 + prep_hidden))
        self.w_prep    = torch.nn.Parameter(std * torch.randn(input_size, 4, prep_hidden))
        self.bias_prep = torch.nn.Parameter(0.1 + torch.zeros(input_size, prep_hidden))

        self.input_size  = input_size
        self.prep_hidden = prep_hidden
        self.var_eps     = 1e-6

    def forward(self, h, p, X_obs, M_obs, i_obs):
        ## only updating rows that have observations
        p_obs     = p[i_obs]
        mean, var = torch.chunk(p_obs, 2, dim=1)
        ## making var non-negative and also non-zero (by adding a small value)
        var       = torch.abs(var) + self.var_eps
        error     = (X_obs - mean) / torch.sqrt(var)

        ## log normal loss, over all observations
        loss         = 0.5 * ((torch.pow(error, 2) + torch.log(var)) * M_obs).sum()


        ## TODO: try removing X_obs (they are included in error)
        gru_input    = torch.stack([X_obs, mean, var, error], dim=2).unsqueeze(2)
        gru_input    = torch.matmul(gru_input, self.w_prep).squeeze(2) + self.bias_prep
        gru_input.relu_()
        ## gru_input is (sample x feature x prep_hidden)
        gru_input    = gru_input.permute(2, 0, 1)
        gru_input    = (gru_input * M_obs).permute(1, 2, 0).contiguous().view(-1, self.prep_hidden * self.input_size)

        temp = h.clone()
        temp[i_obs] = self.gru_d(gru_input, h[i_obs])
        h = temp

        return h, loss


def init_weights(m):
    if type(m) == torch.nn.Linear:
        torch.nn.init.xavier_uniform_(m.weight)
        if m.bias is not None:
            # differs: `m.bias.data.fill_(0.05)`: `.data` is the read-only numpy array here (docs/pytorch.md)
            torch.nn.init.constant_(m.bias, 0.05)

class NNFOwithBayesianJumps(torch.nn.Module):
    ## Neural Negative Feedback ODE with Bayesian jumps
    def __init__(self, input_size, hidden_size, p_hidden, prep_hidden, bias=True, cov_size=1, cov_hidden=1,
                 classification_hidden=1, logvar=True, mixing=1, dropout_rate=0, full_gru_ode=False,
                 solver="euler", impute = True, **options):
        """
        The smoother variable computes the classification loss as a weighted average of the projection of the
        latents at each observation.
        impute feeds the parameters of the distribution to GRU-ODE at each step.
        """

        super().__init__()

        self.impute = impute
        self.p_model = torch.nn.Sequential(
            torch.nn.Linear(hidden_size, p_hidden, bias=bias),
            torch.nn.ReLU(),
            torch.nn.Dropout(p=dropout_rate),
            torch.nn.Linear(p_hidden, 2 * input_size, bias=bias),
        )

        self.classification_model = torch.nn.Sequential(
            torch.nn.Linear(hidden_size,classification_hidden,bias=bias),
            torch.nn.ReLU(),
            torch.nn.Dropout(p=dropout_rate),
            torch.nn.Linear(classification_hidden,1,bias=bias)
        )
        if full_gru_ode:
            if impute is False:
                self.gru_c   = FullGRUODECell_Autonomous(hidden_size, bias = bias)
            else:
                self.gru_c   = FullGRUODECell(2 * input_size, hidden_size, bias=bias)

        else:
            if impute is False:
                self.gru_c = GRUODECell_Autonomous(hidden_size, bias= bias)
            else:
                self.gru_c   = GRUODECell(2 * input_size, hidden_size, bias=bias)

        if logvar:
            self.gru_obs = GRUObservationCellLogvar(input_size, hidden_size, prep_hidden, bias=bias)
        else:
            self.gru_obs = GRUObservationCell(input_size, hidden_size, prep_hidden, bias=bias)

        self.covariates_map = torch.nn.Sequential(
            torch.nn.Linear(cov_size, cov_hidden, bias=bias),
            torch.nn.ReLU(),
            torch.nn.Dropout(p=dropout_rate),
            torch.nn.Linear(cov_hidden, hidden_size, bias=bias),
            torch.nn.Tanh()
        )

        assert solver in ["euler", "midpoint", "dopri5"], "Solver must be either 'euler' or 'midpoint' or 'dopri5'."

        self.solver     = solver
        self.store_hist = options.pop("store_hist",False)
        self.input_size = input_size
        self.logvar     = logvar
        self.mixing     = mixing #mixing hyperparameter for loss_1 and loss_2 aggregation.

        self.apply(init_weights)

    def ode_step(self, h, p, delta_t, current_time):
        """Executes a single ODE step."""
        eval_times = torch.tensor([0],device = h.device, dtype = torch.float64)
        eval_ps = torch.tensor([0],device = h.device, dtype = torch.float32)
        if self.impute is False:
            p = torch.zeros_like(p)

        if self.solver == "euler":
            h = h + delta_t * self.gru_c(p, h)
            p = self.p_model(h)

        elif self.solver == "midpoint":
            k  = h + delta_t / 2 * self.gru_c(p, h)
            pk = self.p_model(k)

            h = h + delta_t * self.gru_c(pk, k)
            p = self.p_model(h)

        elif self.solver == "dopri5":
            assert self.impute==False #Dopri5 solver is only compatible with autonomous ODE.
            solution, eval_times, eval_vals = odeint(self.gru_c,h,torch.tensor([0,delta_t]),method=self.solver,
                                                     options={"store_hist":self.store_hist})
            if self.store_hist:
                eval_ps = self.p_model(torch.stack([ev[0] for ev in eval_vals]))
            eval_times = torch.stack(eval_times) + current_time
            h = solution[1,:,:]
            p = self.p_model(h)

        current_time += delta_t
        return h,p,current_time, eval_times, eval_ps

        raise ValueError(f"Unknown solver '{self.solver}'.")

    def forward(self, times, time_ptr, X, M, obs_idx, delta_t, T, cov,
                return_path=False, smoother = False, class_criterion = None, labels=None):
        """
        Args:
            times      np vector of observation times
            time_ptr   start indices of data for a given time
            X          data tensor
            M          mask tensor (1.0 if observed, 0.0 if unobserved)
            obs_idx    observed patients of each datapoint (indexed within the current minibatch)
            delta_t    time step for Euler
            T          total time
            cov        static covariates for learning the first h0
            return_path   whether to return the path of h

        Returns:
            h          hidden state at final time (T)
            loss       loss of the Gaussian observations
        """

        h = self.covariates_map(cov)

        p            = self.p_model(h)
        current_time = 0.0
        counter      = 0

        loss_1 = 0 #Pre-jump loss
        loss_2 = 0 #Post-jump loss (KL between p_updated and the actual sample)

        if return_path:
            path_t = [0]
            path_p = [p]
            path_h = [h]

        if smoother:
            class_loss_vec = torch.zeros(cov.shape[0],device = h.device)
            num_evals_vec  = torch.zeros(cov.shape[0],device = h.device)
            class_criterion = class_criterion
            assert class_criterion is not None

        assert len(times) + 1 == len(time_ptr)
        assert (len(times) == 0) or (times[-1] <= T)

        eval_times_total = torch.tensor([],dtype = torch.float64, device = h.device)
        eval_vals_total  = torch.tensor([],dtype = torch.float32, device = h.device)

        for i, obs_time in enumerate(times):
            ## Propagation of the ODE until next observation
            while current_time < (obs_time-0.001*delta_t): #0.0001 delta_t used for numerical consistency.

                if self.solver == "dopri5":
                    h, p, current_time, eval_times, eval_ps = self.ode_step(h, p, obs_time-current_time,
                                                                            current_time)
                else:
                    h, p, current_time, eval_times, eval_ps = self.ode_step(h, p, delta_t, current_time)
                eval_times_total = torch.cat((eval_times_total, eval_times))
                eval_vals_total  = torch.cat((eval_vals_total, eval_ps))

                #Storing the predictions.
                if return_path:
                    path_t.append(current_time)
                    path_p.append(p)
                    path_h.append(h)

            ## Reached an observation
            start = time_ptr[i]
            end   = time_ptr[i+1]

            X_obs = X[start:end]
            M_obs = M[start:end]
            i_obs = obs_idx[start:end]

            ## Using GRUObservationCell to update h. Also updating p and loss
            h, losses = self.gru_obs(h, p, X_obs, M_obs, i_obs)

            if smoother:
                class_loss_vec[i_obs] += class_criterion(self.classification_model(h[i_obs]),labels[i_obs]).squeeze(1)
                num_evals_vec[i_obs] +=1
            if losses.sum()!=losses.sum():
                import ipdb;ipdb.set_trace()
            loss_1    = loss_1+ losses.sum()
            p         = self.p_model(h)

            loss_2 = loss_2 + compute_KL_loss(p_obs = p[i_obs], X_obs = X_obs, M_obs = M_obs, logvar=self.logvar)

            if return_path:
                path_t.append(obs_time)
                path_p.append(p)
                path_h.append(h)

        ## after every observation has been processed, propagating until T
        while current_time < T:
            if self.solver == "dopri5":
                h, p, current_time,eval_times, eval_ps = self.ode_step(h, p, T-current_time, current_time)
            else:
                h, p, current_time,eval_times, eval_ps = self.ode_step(h, p, delta_t, current_time)
            eval_times_total = torch.cat((eval_times_total,eval_times))
            eval_vals_total  = torch.cat((eval_vals_total, eval_ps))
            #counter += 1
            #current_time = counter * delta_t

            #Storing the predictions
            if return_path:
                path_t.append(current_time)
                path_p.append(p)
                path_h.append(h)

        loss = loss_1 + self.mixing * loss_2

        if smoother:
            class_loss_vec += class_criterion(self.classification_model(h),labels).squeeze(1)
            class_loss_vec /= num_evals_vec

        class_pred = self.classification_model(h)

        if return_path:
            if smoother:
                return h, loss, class_pred, np.array(path_t), torch.stack(path_p), torch.stack(path_h), class_loss_vec
            else:
                return h, loss, class_pred, np.array(path_t), torch.stack(path_p), torch.stack(path_h), \
                    eval_times_total, eval_vals_total
        else:
            if smoother:
                return h, loss, class_pred, class_loss_vec
            else:
                return h, loss, class_pred, loss_1

def compute_KL_loss(p_obs, X_obs, M_obs, obs_noise_std=1e-2, logvar=True):
    obs_noise_std = torch.tensor(obs_noise_std)
    if logvar:
        mean, var = torch.chunk(p_obs, 2, dim=1)
        std = torch.exp(0.5*var)
    else:
        mean, var = torch.chunk(p_obs, 2, dim=1)
        ## making var non-negative and also non-zero (by adding a small value)
        std       = torch.pow(torch.abs(var) + 1e-5,0.5)

    return (gaussian_KL(mu_1 = mean, mu_2 = X_obs, sigma_1 = std, sigma_2 = obs_noise_std)*M_obs).sum()


def gaussian_KL(mu_1, mu_2, sigma_1, sigma_2):
    return(torch.log(sigma_2) - torch.log(sigma_1) + (torch.pow(sigma_1,2)+torch.pow((mu_1 - mu_2),2)) / (2*sigma_2**2)
           - 0.5)


class GRUODEBayesSeq(torch.nn.Module):
    def __init__(self, input_size, hidden_size, p_hidden, prep_hidden, bias=True, cov_size=1, cov_hidden=1,
                 classification_hidden=1, logvar=True, mixing=1, dropout_rate=0, obs_noise_std=1e-2,
                 full_gru_ode=False):
        super().__init__()
        self.obs_noise_std = obs_noise_std
        self.classification_model = torch.nn.Sequential(
            torch.nn.Linear(hidden_size, classification_hidden, bias=bias),
            torch.nn.ReLU(),
            torch.nn.Dropout(p=dropout_rate),
            torch.nn.Linear(classification_hidden, 1, bias=bias),
        )
        if full_gru_ode:
            self.gru_c   = FullGRUODECell(2 * input_size, hidden_size, bias=bias)
        else:
            self.gru_c   = GRUODECell(2 * input_size, hidden_size, bias=bias)

        self.gru_bayes = SeqGRUBayes(input_size=input_size, hidden_size=hidden_size, prep_hidden=prep_hidden,
                                     p_hidden=p_hidden, bias=bias)

        self.covariates_map = torch.nn.Sequential(
            torch.nn.Linear(cov_size, cov_hidden, bias=bias),
            torch.nn.ReLU(),
            torch.nn.Dropout(p=dropout_rate),
            torch.nn.Linear(cov_hidden, hidden_size, bias=bias),
        )
        self.input_size = input_size
        self.mixing     = mixing #mixing hyperparameter for loss_1 and loss_2 aggregation.
        self.apply(init_weights)

    def forward(self, times, time_ptr, Xpadded, Fpadded, X, M, lengths,
                obs_idx, delta_t, T, cov, return_path=False):
        """
        Args:
            times      np vector of observation times
            time_ptr   start indices of data for a given time
            Xpadded    data tensor (padded)
            Fpadded    feature id of each data point (padded)
            X          observation tensor
            M          mask tensor
            obs_idx    observed patients of each datapoint (current minibatch)
            delta_t    time step for Euler
            T          total time
            cov        static covariates for learning the first h0
            return_path   whether to return the path of h

        Returns:
            h          hidden state at final time (T)
            loss       loss of the Gaussian observations
        """

        h       = self.covariates_map(cov)
        p       = self.gru_bayes.p_model(h)
        time    = 0.0
        counter = 0

        loss_1 = 0 # Pre-jump loss
        loss_2 = 0 # Post-jump loss

        if return_path:
            path_t = [0]
            path_p = [p]

        assert len(times) + 1 == len(time_ptr)
        assert (len(times) == 0) or (times[-1] <= T)

        for i, obs_time in enumerate(times):
            ## Propagation of the ODE until obs_time
            while time < obs_time:
                h = h + delta_t * self.gru_c(p, h)
                p = self.gru_bayes.p_model(h)

                ## using counter to avoid numerical errors
                counter += 1
                time = counter * delta_t
                ## Storing the predictions.
                if return_path:
                    path_t.append(time)
                    path_p.append(p)

            ## Reached obs_time
            start = time_ptr[i]
            end   = time_ptr[i+1]

            L_obs = lengths[start:end]
            X_obs = pack_padded_sequence(Xpadded[start:end], L_obs, batch_first=True)
            F_obs = pack_padded_sequence(Fpadded[start:end], L_obs, batch_first=True)
            i_obs = obs_idx[start:end]

            Xf_batch = X[start:end]
            Mf_batch = M[start:end]

            ## Using GRU-Bayes to update h. Also updating p and loss
            h, loss_i, loss_pre = self.gru_bayes(h, X_obs, F_obs, i_obs, X=Xf_batch, M=Mf_batch)
            loss_1    = loss_1 + loss_i + loss_pre.sum()
            p         = self.gru_bayes.p_model(h)

            loss_2 = loss_2 + compute_KL_loss(p_obs = p[i_obs], X_obs = Xf_batch, M_obs = Mf_batch,
                                              obs_noise_std=self.obs_noise_std)

            if return_path:
                path_t.append(obs_time)
                path_p.append(p)

        while time < T:
            h = h + delta_t * self.gru_c(p, h)
            p = self.gru_bayes.p_model(h)

            counter += 1
            time = counter * delta_t
            if return_path:
                path_t.append(time)
                path_p.append(p)

        loss = loss_1 + self.mixing * loss_2
        class_pred = self.classification_model(h)
        if return_path:
            return h, loss, class_pred, np.array(path_t), torch.stack(path_p)
        return h, loss, class_pred


class SeqGRUBayes(torch.nn.Module):
    """

    Inputs to forward:
        h      tensor of hiddens
        X_obs  PackedSequence of observation values
        F_obs  PackedSequence of feature ids
        i_obs  indices of h that have been observed

    Returns updated h.
    """
    def __init__(self, input_size, hidden_size, prep_hidden, p_hidden, bias=True):
        super().__init__()
        self.p_model = torch.nn.Sequential(
            torch.nn.Linear(hidden_size, p_hidden, bias=bias),
            torch.nn.ReLU(),
            torch.nn.Linear(p_hidden, 2 * input_size, bias=bias),
        )
        self.gru = torch.nn.GRUCell(prep_hidden, hidden_size, bias=bias)

        ## prep layer and its initialization
        std            = math.sqrt(2.0 / (4 + prep_hidden))
        self.w_prep    = torch.nn.Parameter(std * torch.randn(input_size, 4, prep_hidden))
        self.bias_prep = torch.nn.Parameter(0.1 + torch.zeros(input_size, prep_hidden))

        self.input_size  = input_size
        self.prep_hidden = prep_hidden
        self.var_eps     = 1e-6

    def p_mean_logvar(self, h):
        p      = self.p_model(h)
        mean, logvar = torch.chunk(p, 2, dim=1)
        return mean, logvar

    def step_1feature(self, hidden, X_step, F_step):
        ## 1) Compute error on the observed features
        mean, logvar = self.p_mean_logvar(hidden)
        ## mean, logvar both are [ Batch  x  input_size ]
        hrange = torch.arange(hidden.shape[0])
        mean   = mean[   hrange, F_step ]
        logvar = logvar[ hrange, F_step ]

        sigma  = torch.exp(0.5 * logvar)
        error  = (X_step - mean) / sigma

        ## log normal loss, over all observations
        loss   = 0.5 * (torch.pow(error, 2) + logvar).sum()

        ## TODO: try removing X_obs (they are included in error)
        gru_input = torch.stack([X_step, mean, logvar, error], dim=1).unsqueeze(1)
        ## 2) Select the matrices from w_prep and bias_prep; multiply
        W         = self.w_prep[F_step, :, :]
        bias      = self.bias_prep[F_step]
        gru_input = torch.matmul(gru_input, W).squeeze(1) + bias
        gru_input.relu_()

        return self.gru(gru_input, hidden), loss

    def ode_step(self, h, p, delta_t):
        if self.solver == "euler":
            h = h + delta_t * self.gru_c(p, h)
            p = self.p_model(h)
            return h, p

        if self.solver == "midpoint":
            k  = h + delta_t / 2 * self.gru_c(p, h)
            pk = self.p_model(k)

            h2 = h + delta_t * self.gru_c(pk, k)
            p2 = self.p_model(h2)
            return h2, p2

        raise ValueError(f"Unknown solver '{self.solver}'.")

    def forward(self, h, X_obs, F_obs, i_obs, X, M):
        """
        See https://github.com/pytorch/pytorch/blob/a462edd0f6696a4cac4dd04c60d1ad3c9bc0b99c/torch/nn/_functions/
        rnn.py#L118-L154
        """
        ## selecting h to be updated
        hidden = h[i_obs]

        output          = []
        input_offset    = 0
        last_batch_size = X_obs.batch_sizes[0]
        hiddens         = []
        #flat_hidden     = not isinstance(hidden, tuple)


        ## computing loss before any updates
        mean, logvar = self.p_mean_logvar(hidden)
        sigma        = torch.exp(0.5 * logvar)
        error        = (X - mean) / sigma
        losses_pre   = 0.5 * ((torch.pow(error, 2) + logvar) * M)

        ## updating hidden
        loss = 0
        input_offset = 0
        for batch_size in X_obs.batch_sizes:
            X_step = X_obs.data[input_offset:input_offset + batch_size]
            F_step = F_obs.data[input_offset:input_offset + batch_size]
            input_offset += batch_size

            dec = last_batch_size - batch_size
            if dec > 0:
                hiddens.append(hidden[-dec:])
                hidden = hidden[:-dec]
            last_batch_size = batch_size

            hidden, loss_b = self.step_1feature(hidden, X_step, F_step)
            loss = loss + loss_b

        hiddens.append(hidden)
        hiddens.reverse()

        hidden = torch.cat(hiddens, dim=0)

        ## updating observed trajectories
        h2        = h.clone()
        h2[i_obs] = hidden

        return h2, loss, losses_pre


# ==== 4. The neural Hawkes process (Mei & Eisner 2017): ant-research/EasyTemporalPointProcess ==================

# ---- easy_tpp/model/torch_model/torch_basemodel.py (8a47a6a00ead5ed074251dbc2fa9efde36138853) ----

class TorchBaseModel(nn.Module):
    def __init__(self, model_config):
        """Initialize the BaseModel

        Args:
            model_config (EasyTPP.ModelConfig): model spec of configs
        """
        super(TorchBaseModel, self).__init__()
        self.loss_integral_num_sample_per_step = model_config.loss_integral_num_sample_per_step
        self.hidden_size = model_config.hidden_size
        self.num_event_types = model_config.num_event_types  # not include [PAD], [BOS], [EOS]
        self.num_event_types_pad = model_config.num_event_types_pad  # include [PAD], [BOS], [EOS]
        self.pad_token_id = model_config.pad_token_id
        self.eps = torch.finfo(torch.float32).eps

        self.layer_type_emb = nn.Embedding(self.num_event_types_pad,  # have padding
                                           self.hidden_size,
                                           padding_idx=self.pad_token_id)

        self.gen_config = model_config.thinning
        self.event_sampler = None
        if self.gen_config:
            # differs: torch_thinning's EventSampler (the thinning algorithm for sampling) is not ported; the
            # tests give no thinning config
            raise NotImplementedError("EventSampler")

    @staticmethod
    def get_logits_at_last_step(logits, batch_non_pad_mask, sample_len=None):
        """Retrieve the hidden states of last non-pad events.

        Args:
            logits (tensor): [batch_size, seq_len, hidden_dim], a sequence of logits
            batch_non_pad_mask (tensor): [batch_size, seq_len], a sequence of masks
            sample_len (tensor): default None, use batch_non_pad_mask to find out the last non-mask position

        ref: https://medium.com/analytics-vidhya/understanding-indexing-with-pytorch-gather-33717a84ebc4

        Returns:
            tensor: retrieve the logits of EOS event
        """

        seq_len = batch_non_pad_mask.sum(dim=1)
        select_index = seq_len - 1 if sample_len is None else seq_len - 1 - sample_len
        # [batch_size, hidden_dim]
        select_index = select_index.unsqueeze(1).repeat(1, logits.size(-1))
        # [batch_size, 1, hidden_dim]
        select_index = select_index.unsqueeze(1)
        # [batch_size, hidden_dim]
        last_logits = torch.gather(logits, dim=1, index=select_index).squeeze(1)
        return last_logits

    def compute_loglikelihood(self, time_delta_seq, lambda_at_event, lambdas_loss_samples, seq_mask,
                              lambda_type_mask):
        """Compute the loglikelihood of the event sequence based on Equation (8) of NHP paper.

        Args:
            time_delta_seq (tensor): [batch_size, seq_len], time_delta_seq from model input.
            lambda_at_event (tensor): [batch_size, seq_len, num_event_types], unmasked intensity at
            (right after) the event.
            lambdas_loss_samples (tensor): [batch_size, seq_len, num_sample, num_event_types],
            intensity at sampling times.
            seq_mask (tensor): [batch_size, seq_len], sequence mask vector to mask the padded events.
            lambda_type_mask (tensor): [batch_size, seq_len, num_event_types], type mask matrix to mask the
            padded event types.

        Returns:
            tuple: event loglike, non-event loglike, intensity at event with padding events masked
        """

        # Sum of lambda over every type and every event point
        # [batch_size, seq_len]
        event_lambdas = torch.sum(lambda_at_event * lambda_type_mask, dim=-1) + self.eps

        # mask the pad event
        event_lambdas = event_lambdas.masked_fill_(~seq_mask, 1.0)

        # [batch_size, seq_len)
        event_ll = torch.log(event_lambdas)

        # Compute the big lambda integral in equation (8) of NHP paper
        # 1 - take num_mc_sample rand points in each event interval
        # 2 - compute its lambda value for every sample point
        # 3 - take average of these sample points
        # 4 - times the interval length

        # [batch_size, seq_len, n_loss_sample]
        lambdas_total_samples = lambdas_loss_samples.sum(dim=-1)

        # interval_integral - [batch_size, seq_len]
        # interval_integral = length_interval * average of sampled lambda(t)
        non_event_ll = lambdas_total_samples.mean(dim=-1) * time_delta_seq * seq_mask

        num_events = torch.masked_select(event_ll, event_ll.ne(0.0)).size()[0]

        return event_ll, non_event_ll, num_events

    def make_dtime_loss_samples(self, time_delta_seq):
        """Generate the time point samples for every interval.

        Args:
            time_delta_seq (tensor): [batch_size, seq_len].

        Returns:
            tensor: [batch_size, seq_len, n_samples]
        """
        # [1, 1, n_samples]
        dtimes_ratio_sampled = torch.linspace(start=0.0,
                                              end=1.0,
                                              steps=self.loss_integral_num_sample_per_step)[None, None, :]

        # [batch_size, max_len, n_samples]
        sampled_dtimes = time_delta_seq[:, :, None] * dtimes_ratio_sampled

        return sampled_dtimes

    def compute_states_at_sample_times(self, **kwargs):
        raise NotImplementedError('This need to implemented in inherited class ! ')


# ---- easy_tpp/model/torch_model/torch_nhp.py (8a47a6a00ead5ed074251dbc2fa9efde36138853) ----

class ContTimeLSTMCell(nn.Module):
    """LSTM Cell in Neural Hawkes Process, NeurIPS'17.
    """

    def __init__(self, hidden_dim, beta=1.0):
        """Initialize the continuous LSTM cell.

        Args:
            hidden_dim (int): dim of hidden state.
            beta (float, optional): beta in nn.Softplus. Defaults to 1.0.
        """
        super(ContTimeLSTMCell, self).__init__()
        self.hidden_dim = hidden_dim
        self.init_dense_layer(hidden_dim, bias=True, beta=beta)

    def init_dense_layer(self, hidden_dim, bias, beta):
        """Initialize linear layers given Equations (5a-6c) in the paper.

        Args:
            hidden_dim (int): dim of hidden state.
            bias (bool): whether to use bias term in nn.Linear.
            beta (float): beta in nn.Softplus.
        """

        self.layer_input = nn.Linear(hidden_dim * 2, hidden_dim, bias=bias)
        self.layer_forget = nn.Linear(hidden_dim * 2, hidden_dim, bias=bias)
        self.layer_output = nn.Linear(hidden_dim * 2, hidden_dim, bias=bias)
        self.layer_input_bar = nn.Linear(hidden_dim * 2, hidden_dim, bias=bias)
        self.layer_forget_bar = nn.Linear(hidden_dim * 2, hidden_dim, bias=bias)
        self.layer_pre_c = nn.Linear(hidden_dim * 2, hidden_dim, bias=bias)
        self.layer_decay = nn.Sequential(
            nn.Linear(hidden_dim * 2, hidden_dim, bias=bias),
            nn.Softplus(beta=beta))

    def forward(self, x_i, hidden_i_minus, cell_i_minus, cell_bar_i_minus_1):
        """Update the continuous-time LSTM cell.

        Args:
            x_i (tensor): event embedding vector at t_i.
            hidden_i_minus (tensor): hidden state at t_i-
            cell_i_minus (tensor): cell state at t_i-
            cell_bar_i_minus_1 (tensor): cell bar state at t_{i-1}

        Returns:
            list: cell state, cell bar state, decay and output at t_i
        """

        x_i_ = torch.cat((x_i, hidden_i_minus), dim=1)

        # update input gate - Equation (5a)
        gate_input = torch.nn.Sigmoid()(self.layer_input(x_i_))

        # update forget gate - Equation (5b)
        gate_forget = torch.nn.Sigmoid()(self.layer_forget(x_i_))

        # update output gate - Equation (5d)
        gate_output = torch.nn.Sigmoid()(self.layer_output(x_i_))

        # update input bar - similar to Equation (5a)
        gate_input_bar = torch.nn.Sigmoid()(self.layer_input_bar(x_i_))

        # update forget bar - similar to Equation (5b)
        gate_forget_bar = torch.nn.Sigmoid()(self.layer_forget_bar(x_i_))

        # update gate z - Equation (5c)
        gate_pre_c = torch.tanh(self.layer_pre_c(x_i_))

        # update gate decay - Equation (6c)
        gate_decay = self.layer_decay(x_i_)

        # update cell state to t_i+ - Equation (6a)
        cell_i = gate_forget * cell_i_minus + gate_input * gate_pre_c

        # update cell state bar - Equation (6b)
        cell_bar_i = gate_forget_bar * cell_bar_i_minus_1 + gate_input_bar * gate_pre_c

        return cell_i, cell_bar_i, gate_decay, gate_output

    def decay(self, cell_i, cell_bar_i, gate_decay, gate_output, dtime):
        """Cell and hidden state decay according to Equation (7).

        Args:
            cell_i (tensor): cell state at t_i.
            cell_bar_i (tensor): cell bar state at t_i.
            gate_decay (tensor): gate decay state at t_i.
            gate_output (tensor): gate output state at t_i.
            dtime (tensor): delta time to decay.

        Returns:
            list: list of cell and hidden state tensors after the decay.
        """
        c_t = cell_bar_i + (cell_i - cell_bar_i) * torch.exp(-gate_decay * dtime)

        h_t = gate_output * torch.tanh(c_t)

        return c_t, h_t


class NHP(TorchBaseModel):
    """Torch implementation of The Neural Hawkes Process: A Neurally Self-Modulating Multivariate Point Process,
       NeurIPS 2017, https://arxiv.org/abs/1612.09328.
    """

    def __init__(self, model_config):
        """Initialize the NHP model.

        Args:
            model_config (EasyTPP.ModelConfig): config of model specs.
        """
        super(NHP, self).__init__(model_config)
        self.beta = model_config.model_specs.get('beta', 1.0)
        self.bias = model_config.model_specs.get('bias', False)
        self.rnn_cell = ContTimeLSTMCell(self.hidden_size)

        self.layer_intensity = nn.Sequential(
            nn.Linear(self.hidden_size, self.num_event_types, self.bias),
            nn.Softplus(self.beta))

    def init_state(self, batch_size):
        """Initialize hidden and cell states.

        Args:
            batch_size (int): size of batch data.

        Returns:
            list: list of hidden states, cell states and cell bar states.
        """
        h_t, c_t, c_bar = torch.zeros(batch_size,
                                      3 * self.hidden_size).chunk(3, dim=1)
        return h_t, c_t, c_bar

    def forward(self, batch, **kwargs):
        """Call the model.

        Args:
            batch (tuple, list): batch input.

        Returns:
            list: hidden states, [batch_size, seq_len, hidden_dim], states right before the event happens;
                  stacked decay states,  [batch_size, max_seq_length, 4, hidden_dim], states right after
                  the event happens.
        """
        time_seq, time_delta_seq, event_seq, batch_non_pad_mask, _, type_mask = batch

        all_hiddens = []
        all_outputs = []
        all_cells = []
        all_cell_bars = []
        all_decays = []

        max_steps = kwargs.get('max_steps', None)

        max_decay_time = kwargs.get('max_decay_time', 5.0)

        # last event has no time label
        max_seq_length = max_steps if max_steps is not None else event_seq.size(1) - 1

        batch_size = len(event_seq)
        h_t, c_t, c_bar_i = self.init_state(batch_size)

        # if only one event, then we dont decay
        if max_seq_length == 1:
            types_sub_batch = event_seq[:, 0]
            x_t = self.layer_type_emb(types_sub_batch)
            cell_i, c_bar_i, decay_i, output_i = \
                self.rnn_cell(x_t, h_t, c_t, c_bar_i)

            # Append all output
            all_outputs.append(output_i)
            all_decays.append(decay_i)
            all_cells.append(cell_i)
            all_cell_bars.append(c_bar_i)
            all_hiddens.append(h_t)
        else:
            # Loop over all events
            for i in range(max_seq_length):
                if i == event_seq.size(1) - 1:
                    dt = torch.ones_like(time_delta_seq[:, i]) * max_decay_time
                else:
                    dt = time_delta_seq[:, i + 1]  # need to carefully check here
                types_sub_batch = event_seq[:, i]
                x_t = self.layer_type_emb(types_sub_batch)

                # cell_i  (batch_size, process_dim)
                cell_i, c_bar_i, decay_i, output_i = \
                    self.rnn_cell(x_t, h_t, c_t, c_bar_i)

                # States decay - Equation (7) in the paper
                c_t, h_t = self.rnn_cell.decay(cell_i,
                                               c_bar_i,
                                               decay_i,
                                               output_i,
                                               dt[:, None])

                # Append all output
                all_outputs.append(output_i)
                all_decays.append(decay_i)
                all_cells.append(cell_i)
                all_cell_bars.append(c_bar_i)
                all_hiddens.append(h_t)

        # (batch_size, max_seq_length, hidden_dim)
        cell_stack = torch.stack(all_cells, dim=1)
        cell_bar_stack = torch.stack(all_cell_bars, dim=1)
        decay_stack = torch.stack(all_decays, dim=1)
        output_stack = torch.stack(all_outputs, dim=1)

        # [batch_size, max_seq_length, hidden_dim]
        hiddens_stack = torch.stack(all_hiddens, dim=1)

        # [batch_size, max_seq_length, 4, hidden_dim]
        decay_states_stack = torch.stack((cell_stack,
                                          cell_bar_stack,
                                          decay_stack,
                                          output_stack),
                                         dim=2)

        return hiddens_stack, decay_states_stack

    def loglike_loss(self, batch):
        """Compute the loglike loss.

        Args:
            batch (list): batch input.

        Returns:
            list: loglike loss, num events.
        """
        time_seqs, time_delta_seqs, type_seqs, batch_non_pad_mask, _, type_mask = batch

        hiddens_ti, decay_states = self.forward(batch)

        # Num of samples in each batch and num of event time point in the sequence
        batch_size, seq_len, _ = hiddens_ti.size()

        # Lambda(t) right before each event time point
        # lambda_at_event - [batch_size, num_times=max_len-1, num_event_types]
        # Here we drop the last event because it has no delta_time label (can not decay)
        lambda_at_event = self.layer_intensity(hiddens_ti)

        # Compute the big lambda integral in Equation (8)
        # 1 - take num_mc_sample rand points in each event interval
        # 2 - compute its lambda value for every sample point
        # 3 - take average of these sample points
        # 4 - times the interval length

        # interval_t_sample - [batch_size, num_times=max_len-1, num_mc_sample]
        # for every batch and every event point => do a sampling (num_mc_sampling)
        # the first dtime is zero, so we use time_delta_seq[:, 1:]
        interval_t_sample = self.make_dtime_loss_samples(time_delta_seqs[:, 1:])

        # [batch_size, num_times = max_len - 1, num_mc_sample, hidden_size]
        state_t_sample = self.compute_states_at_sample_times(decay_states, interval_t_sample)

        # [batch_size, num_times = max_len - 1, num_mc_sample, event_num]
        lambda_t_sample = self.layer_intensity(state_t_sample)

        event_ll, non_event_ll, num_events = self.compute_loglikelihood(lambda_at_event=lambda_at_event,
                                                                        lambdas_loss_samples=lambda_t_sample,
                                                                        time_delta_seq=time_delta_seqs[:, 1:],
                                                                        seq_mask=batch_non_pad_mask[:, 1:],
                                                                        lambda_type_mask=type_mask[:, 1:])

        # (num_samples, num_times)
        loss = - (event_ll - non_event_ll).sum()
        return loss, num_events

    def compute_states_at_sample_times(self, decay_states, sample_dtimes):
        """Compute the states at sampling times.

        Args:
            decay_states (tensor): states right after the events.
            sample_dtimes (tensor): delta times in sampling.

        Returns:
            tensor: hiddens states at sampling times.
        """
        # update the states given last event
        # cells (batch_size, num_times, hidden_dim)
        cells, cell_bars, decays, outputs = decay_states.unbind(dim=-2)

        # Use broadcasting to compute the decays at all time steps
        # at all sample points
        # h_ts shape (batch_size, num_times, num_mc_sample, hidden_dim)
        # cells[:, :, None, :]  (batch_size, num_times, 1, hidden_dim)
        _, h_ts = self.rnn_cell.decay(cells[:, :, None, :],
                                      cell_bars[:, :, None, :],
                                      decays[:, :, None, :],
                                      outputs[:, :, None, :],
                                      sample_dtimes[..., None])

        return h_ts

    def compute_intensities_at_sample_times(self, time_seqs, time_delta_seqs, type_seqs, sample_dtimes, **kwargs):
        """Compute the intensity at sampled times, not only event times.

        Args:
            time_seqs (tensor): [batch_size, seq_len], times seqs.
            time_delta_seqs (tensor): [batch_size, seq_len], time delta seqs.
            type_seqs (tensor): [batch_size, seq_len], event type seqs.
            sample_dtimes (tensor): [batch_size, seq_len, num_sample], sampled inter-event timestamps.

        Returns:
            tensor: [batch_size, num_times, num_mc_sample, num_event_types],
                    intensity at each timestamp for each event type.
        """

        compute_last_step_only = kwargs.get('compute_last_step_only', False)

        input_ = time_seqs, time_delta_seqs, type_seqs, None, None, None

        # forward to the last but one event
        hiddens_ti, decay_states = self.forward(input_, **kwargs)

        # Num of samples in each batch and num of event time point in the sequence
        batch_size, seq_len, _ = hiddens_ti.size()

        # update the states given last event
        # cells (batch_size, num_times, hidden_dim)
        cells, cell_bars, decays, outputs = decay_states.unbind(dim=-2)

        if compute_last_step_only:
            interval_t_sample = sample_dtimes[:, -1:, :, None]
            _, h_ts = self.rnn_cell.decay(cells[:, -1:, None, :],
                                          cell_bars[:, -1:, None, :],
                                          decays[:, -1:, None, :],
                                          outputs[:, -1:, None, :],
                                          interval_t_sample)

            # [batch_size, 1, num_mc_sample, num_event_types]
            sampled_intensities = self.layer_intensity(h_ts)

        else:
            # interval_t_sample - [batch_size, num_times, num_mc_sample, 1]
            interval_t_sample = sample_dtimes[..., None]
            # Use broadcasting to compute the decays at all time steps
            # at all sample points
            # h_ts shape (batch_size, num_times, num_mc_sample, hidden_dim)
            # cells[:, :, None, :]  (batch_size, num_times, 1, hidden_dim)
            _, h_ts = self.rnn_cell.decay(cells[:, :, None, :],
                                          cell_bars[:, :, None, :],
                                          decays[:, :, None, :],
                                          outputs[:, :, None, :],
                                          interval_t_sample)

            # [batch_size, num_times, num_mc_sample, num_event_types]
            sampled_intensities = self.layer_intensity(h_ts)

        return sampled_intensities


# ---- easy_tpp/preprocess/event_tokenizer.py (0bc41b89ab248b7f4a5e88bdb1f1f9ed284fa3a4): the padding and mask
# ---- helpers of EventTokenizer (numpy), as static functions here ----

def make_pad_sequence(seqs,
                      pad_token_id,
                      padding_side,
                      max_len,
                      dtype=np.float32,
                      group_by_event_types=False):
    if not group_by_event_types:
        if padding_side == "right":
            pad_seq = np.array([seq + [pad_token_id] * (max_len - len(seq)) for seq in seqs], dtype=dtype)
        else:
            pad_seq = np.array([[pad_token_id] * (max_len - len(seq)) + seq for seq in seqs], dtype=dtype)
    else:
        pad_seq = []
        for seq in seqs:
            if padding_side == "right":
                pad_seq.append(np.array([s + [pad_token_id] * (max_len - len(s)) for s in seq], dtype=dtype))
            else:
                pad_seq.append(np.array([[pad_token_id] * (max_len - len(s)) + s for s in seqs], dtype=dtype))

        pad_seq = np.array(pad_seq)
    return pad_seq


def make_type_mask_for_pad_sequence(num_event_types, pad_seqs):  # differs: `self.num_event_types` an argument
    type_mask = np.zeros([*pad_seqs.shape, num_event_types], dtype=np.int32)
    for i in range(num_event_types):
        type_mask[:, :, i] = pad_seqs == i

    return type_mask


def np_ggnn(p, prop, annotation, A, n_steps, n_edge_types, n_node):
    """The GGNN of Li et al. as model.py computes it, in numpy: per edge type an in and an out transform of every
    node's state, messages a = A_in [in states] and A_out [out states], a GRU-like gated update, then the output
    MLP of [state, annotation] summed to one score per node."""
    for _ in range(n_steps):
        ins = np.stack([np_linear(p, f"in_{i}", prop) for i in range(n_edge_types)], 1)   # (B, E, n, D)
        outs = np.stack([np_linear(p, f"out_{i}", prop) for i in range(n_edge_types)], 1)
        ins = ins.reshape(len(prop), n_node * n_edge_types, -1)
        outs = outs.reshape(len(prop), n_node * n_edge_types, -1)
        a_in = A[:, :, :n_node * n_edge_types] @ ins
        a_out = A[:, :, n_node * n_edge_types:] @ outs
        a = np.concatenate([a_in, a_out, prop], 2)
        r = np_sigmoid(np_linear(p, "propogator.reset_gate.0", a))
        z = np_sigmoid(np_linear(p, "propogator.update_gate.0", a))
        h_hat = np.tanh(np_linear(p, "propogator.tansform.0", np.concatenate([a_in, a_out, r * prop], 2)))
        prop = (1 - z) * prop + z * h_hat
    join = np.concatenate([prop, annotation], 2)
    return np_linear(p, "out.2", np.tanh(np_linear(p, "out.0", join))).sum(2)


def ggnn_opt(**kw):
    opt = argparse.Namespace(state_dim=4, annotation_dim=1, n_edge_types=2, n_node=5, n_steps=3, cuda=False,
                             verbal=False, niter=1)
    opt.__dict__.update(kw)
    return opt


def chain_graphs(n_graphs, n_node, seed):
    """Made-up bAbI-like graphs in processed_1's format: a chain of type-1 edges ("north of") over a random order
    of the nodes, its reversed edges of type 2, and one question "? 1 a b": b is the node a points to."""
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(n_graphs):
        order = rng.permutation(n_node) + 1
        for a, b in zip(order[:-1], order[1:]):
            lines += [f"{a} 1 {b}", f"{b} 2 {a}"]
        k = rng.integers(n_node - 1)
        lines += [f"? 1 {order[k]} {order[k + 1]}", ""]
    return "\n".join(lines) + "\n"


def test_ggnn_dataset_reads_the_graph_file_and_builds_both_halves_of_the_adjacency(tmp_path):
    path = tmp_path / "4_graphs.txt"
    path.write_text("1 1 2\n2 2 1\n? 1 1 2\n\n3 1 1\n1 2 3\n? 1 3 1\n\n")
    data = load_graphs_from_file(str(path))
    assert data == [[[[1, 1, 2], [2, 2, 1]], [[1, 1, 2]]], [[[3, 1, 1], [1, 2, 3]], [[1, 3, 1]]]]
    assert (find_max_edge_id(data), find_max_node_id(data), find_max_task_id(data)) == (2, 3, 1)
    ds = bAbIDataset(str(path), 0, True)   # fewer than 50 graphs: train and validation are both all of them
    am, annotation, target = ds[1]
    # edge 3 -1-> 1: row 1 (target node) reads column (type 0) * 3 + (3 - 1) of the "in" half; row 3 (source)
    # reads column (type 0 + 2 types) * 3 + (1 - 1) of the "out" half
    expected = np.zeros((3, 12))
    expected[0, 0 * 3 + 2] = expected[2, 2 * 3 + 0] = 1      # 3 -1-> 1
    expected[2, 1 * 3 + 0] = expected[0, 3 * 3 + 2] = 1      # 1 -2-> 3
    np.testing.assert_array_equal(am, expected)
    np.testing.assert_array_equal(annotation[:, 0], [0, 0, 1])      # the question's node, 3
    assert target == 0 and len(ds) == 2                               # answer node 1, counted from 0


def test_ggnn_forward_against_numpy(float64):
    opt = ggnn_opt()
    net = randomize(GGNN(opt), 1)
    rng = np.random.default_rng(2)
    A = (rng.random((3, 5, 20)) < 0.3).astype(np.float64)
    annotation = rng.normal(size=(3, 5, 1))
    init = np.concatenate([annotation, np.zeros((3, 5, 3))], 2)
    out = net(torch.tensor(init), torch.tensor(annotation), torch.tensor(A))
    assert out.shape == (3, 5)
    np.testing.assert_allclose(arr(out), np_ggnn(params_of(net), init, annotation, A, 3, 2, 5), rtol=1e-10)
    assert net.in_fcs[1] is net.in_1 and net.out_fcs[0] is net.out_0           # AttrProxy's lookups
    assert [n for n, _ in net.named_parameters()][:4] == ["in_0.weight", "in_0.bias", "out_0.weight", "out_0.bias"]


def test_ggnn_cross_entropy_gradients_against_central_differences(float64):
    opt = ggnn_opt(n_steps=2)
    net = randomize(GGNN(opt), 3)
    rng = np.random.default_rng(4)
    A = (rng.random((2, 5, 20)) < 0.3).astype(np.float64)
    annotation = rng.normal(size=(2, 5, 1))
    init = np.concatenate([annotation, np.zeros((2, 5, 3))], 2)
    target = np.array([1, 4])

    def loss_np(p):
        out = np_ggnn(p, init, annotation, A, 2, 2, 5)
        z = out - out.max(1, keepdims=True)
        return -np.mean(z[np.arange(2), target] - np.log(np.exp(z).sum(1)))

    def loss_lib():
        return nn.CrossEntropyLoss()(net(torch.tensor(init), torch.tensor(annotation), torch.tensor(A)),
                                     torch.tensor(target))

    check_grads(net, ["in_1.weight", "out_0.bias", "propogator.reset_gate.0.weight", "propogator.tansform.0.weight",
                      "out.0.weight", "out.2.bias"], loss_np, loss_lib)


def test_ggnn_initialisation_as_written_meets_the_read_only_data():
    with pytest.raises(AttributeError, match="normal_"):
        nn.Linear(4, 4).weight.data.normal_(0.0, 0.02)      # the source's line (docs/pytorch.md: .data is numpy)
    net = GGNN(ggnn_opt(state_dim=40, n_edge_types=3))
    weights = np.concatenate([arr(m.weight).ravel() for m in net.modules() if isinstance(m, nn.Linear)])
    assert abs(weights.std() - 0.02) < 0.002
    assert all(np.all(arr(m.bias) == 0) for m in net.modules() if isinstance(m, nn.Linear))


def test_ggnn_main_learns_which_node_the_marked_one_points_to(tmp_path, capsys):
    path = tmp_path / "4_graphs.txt"
    path.write_text(chain_graphs(100, 5, 7))
    opt = ggnn_opt(dataroot=str(path), question_id=0, batchSize=10, n_steps=2, niter=6, lr=0.01, workers=2)
    torch.manual_seed(0)
    net, results = main(opt)
    out = capsys.readouterr().out
    assert "GGNN(" in out and out.count("Test set: Average loss:") == 6
    losses, correct = zip(*results)
    # test_loss is the sum of batch means over the 50 graphs (the source's), so about a tenth of the mean
    # cross-entropy: log 5 / 10 at the start, falling as the net learns; every question is answered
    assert losses[0] < np.log(5) / 10 and losses[-1] < 0.6 * losses[0] and losses == tuple(sorted(losses)[::-1])
    assert correct[-1] == 50 and opt.n_node == 5 and opt.n_edge_types == 2
    assert net.in_0.weight.dtype == torch.float64


def test_ggnn_test_loop_as_written_indexes_a_0d_loss():
    # the source's `criterion(output, target).data[0]`: a 0-d value, an IndexError in PyTorch 0.5 and later too
    loss = nn.CrossEntropyLoss()(torch.randn(2, 3), torch.tensor([0, 2]))
    with pytest.raises(IndexError):
        loss.data[0]


def test_ggnn_prints_as_pytorch_prints_it():
    # main.py's `print(net)`: PyTorch's module text (AttrProxy is not a module and does not show)
    expected = """GGNN(
  (in_0): Linear(in_features=4, out_features=4, bias=True)
  (out_0): Linear(in_features=4, out_features=4, bias=True)
  (in_1): Linear(in_features=4, out_features=4, bias=True)
  (out_1): Linear(in_features=4, out_features=4, bias=True)
  (propogator): Propogator(
    (reset_gate): Sequential(
      (0): Linear(in_features=12, out_features=4, bias=True)
      (1): Sigmoid()
    )
    (update_gate): Sequential(
      (0): Linear(in_features=12, out_features=4, bias=True)
      (1): Sigmoid()
    )
    (tansform): Sequential(
      (0): Linear(in_features=12, out_features=4, bias=True)
      (1): Tanh()
    )
  )
  (out): Sequential(
    (0): Linear(in_features=5, out_features=4, bias=True)
    (1): Tanh()
    (2): Linear(in_features=4, out_features=1, bias=True)
  )
)"""
    assert repr(GGNN(ggnn_opt())) == expected


def np_mlp(p, prefix, x):
    """ppuda's MLP: Linear, ReLU, Linear, ReLU (last_activation='same')."""
    return np_relu(np_linear(p, prefix + ".fc.2", np_relu(np_linear(p, prefix + ".fc.0", x))))


def np_gated_gnn(p, x, edges, node_graph_ind, T, ve_on):
    """GatedGNN.forward in numpy: for each node in topological order (then reversed), the summed MLP messages of its
    1-hop predecessors (successors going backward), plus the virtual edges' MLP messages divided by their distance,
    per graph; then every graph's copy of that node takes one GRUCell step."""
    n_nodes = np.unique(node_graph_ind, return_counts=True)[1]
    B, C = len(n_nodes), x.shape[1]
    dist, egi = edges[:, 2], edges[:, 3]
    offset = np.cumsum(np.concatenate([[0], n_nodes[:-1]]))[egi]
    node_inds = np.concatenate([np.arange(n) for n in n_nodes])
    all_nodes = np.arange(edges[:, 1].max() + 1)
    hx = x.copy()
    for _ in range(T):
        for order in (1, 0):
            start = edges[:, 1 - order] + offset
            for node in (all_nodes if order else all_nodes[::-1]):
                e1 = np.nonzero((edges[:, order] == node) & (dist == 1))[0]
                m = np.zeros((B, C))
                np.add.at(m, egi[e1], np_mlp(p, "mlp", hx[start[e1]]))
                if ve_on:
                    e = np.nonzero(edges[:, order] == node)[0]
                    np.add.at(m, egi[e], np_mlp(p, "mlp_ve", hx[start[e]]) / dist[e][:, None])
                ind = np.nonzero(node_inds == node)[0]
                if B > 1:
                    m = m[node_graph_ind[ind]]
                hx[ind] = np_gru_cell_named(p, "gru.", m, hx[ind])
    return hx


# two made-up graphs: 0 -> 1 -> 2 -> 3 with 1 -> 3 (and virtual edges 0 -> 2, 0 -> 3 at distance 2), and 0 -> 1 -> 2
# (virtual 0 -> 2); columns: from, to, shortest-path distance, graph
EDGES = np.array([[0, 1, 1, 0], [1, 2, 1, 0], [1, 3, 1, 0], [2, 3, 1, 0], [0, 2, 2, 0], [0, 3, 2, 0],
                  [0, 1, 1, 1], [1, 2, 1, 1], [0, 2, 2, 1]])
NODE_GRAPH = np.array([0, 0, 0, 0, 1, 1, 1])


@pytest.mark.parametrize("ve,T", [(False, 1), (True, 2)])
def test_gated_gnn_forward_against_numpy(ve, T, float64):
    gnn = randomize(GatedGNN(4, ve=ve, T=T), 5)
    x0 = np.random.default_rng(6).normal(size=(7, 4))
    x = torch.tensor(x0) * 1.0
    out = gnn(x, torch.tensor(EDGES), torch.tensor(NODE_GRAPH))
    np.testing.assert_allclose(arr(out), np_gated_gnn(params_of(gnn), x0, EDGES, NODE_GRAPH, T, ve), rtol=1e-10)
    # `hx = x` and `hx[ind] = ...`: the source writes into the tensor it was given, as PyTorch does
    assert out is x
    assert [type(m).__name__ for m in gnn.mlp.fc] == ["Linear", "ReLU", "Linear", "ReLU"]
    assert gnn.mlp.fc[1].inplace and (gnn.mlp.fc[0].out_features == (2 if ve else 4))


def test_gated_gnn_single_graph_and_a_node_without_predecessors(float64):
    # one graph (B == 1: the message is not gathered per node); node 0 has no incoming edge, so its forward message
    # is the MLP of an empty batch scattered into zeros
    edges, graph = EDGES[EDGES[:, 3] == 1], NODE_GRAPH[NODE_GRAPH == 1] * 0
    edges = edges * np.array([1, 1, 1, 0])
    gnn = randomize(GatedGNN(4, ve=True), 7)
    x0 = np.random.default_rng(8).normal(size=(3, 4))
    out = gnn(torch.tensor(x0) * 1.0, torch.tensor(edges), torch.tensor(graph))
    np.testing.assert_allclose(arr(out), np_gated_gnn(params_of(gnn), x0, edges, graph, 1, True), rtol=1e-10)


def test_gated_gnn_gradients_through_the_written_states(float64):
    # x comes from an embedding (a GHN embeds each node's op type), so the rows the loop writes into are not a leaf
    gnn = randomize(GatedGNN(4, ve=True, T=1), 9)
    emb = randomize(nn.Embedding(7, 4), 10)
    weights = np.random.default_rng(11).normal(size=(7, 4))

    class Both(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb, self.gnn = emb, gnn

    both = Both()

    def loss_np(p):
        x = p["emb.weight"][np.arange(7)]
        q = {k[len("gnn."):]: v for k, v in p.items() if k.startswith("gnn.")}
        return (np_gated_gnn(q, x, EDGES, NODE_GRAPH, 1, True) * weights).sum()

    def loss_lib():
        hx = gnn(emb(torch.arange(7)), torch.tensor(EDGES), torch.tensor(NODE_GRAPH))
        return (hx * torch.tensor(weights)).sum()

    check_grads(both, ["emb.weight", "gnn.gru.weight_hh", "gnn.gru.bias_ih", "gnn.mlp.fc.0.weight",
                       "gnn.mlp_ve.fc.2.weight", "gnn.mlp_ve.fc.0.bias"], loss_np, loss_lib, count=4)


def test_gated_gnn_given_a_leaf_that_requires_grad_refuses_to_write_into_it():
    # PyTorch: "a leaf Variable that requires grad is being used in an in-place operation"
    x = torch.randn(7, 4, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        GatedGNN(4)(x, torch.tensor(EDGES), torch.tensor(NODE_GRAPH))


def test_gated_gnn_learns_each_nodes_depth():
    torch.manual_seed(0)
    gnn = GatedGNN(8, ve=False, T=1)
    readout = nn.Linear(8, 1)
    start = nn.Parameter(torch.randn(8) * 0.1)
    opt = optim.Adam(list(gnn.parameters()) + list(readout.parameters()) + [start], lr=0.03)
    edges, graph = torch.tensor(EDGES), torch.tensor(NODE_GRAPH)
    depth = torch.tensor([0., 1., 2., 3., 0., 1., 2.]).view(-1, 1)   # longest path from node 0
    losses = []
    for _ in range(40):
        opt.zero_grad()
        hx = gnn(start.expand(7, 8) * 1.0, edges, graph)
        loss = F.mse_loss(readout(hx), depth)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.05 * losses[0]


WA = "sentence_attention.word_attention."


def np_bigru(p, prefix, xs):
    """A one-layer bidirectional GRU over one sequence xs (L, I), as PyTorch's: (L, 2H), forward then reverse."""
    H = p[prefix + "weight_hh_l0"].shape[1]
    hf, hb, fwd, bwd = np.zeros((1, H)), np.zeros((1, H)), [], [None] * len(xs)
    for x in xs:
        hf = np_gru_cell_named(p, prefix, x[None], hf, "_l0")
        fwd.append(hf[0])
    for t in reversed(range(len(xs))):
        hb = np_gru_cell_named(p, prefix, xs[t][None], hb, "_l0_reverse")
        bwd[t] = hb[0]
    return np.concatenate([np.array(fwd), np.array(bwd)], 1)


def np_attention_pool(p, att, ctx, outs):
    """u_t = c . tanh(W o_t + b), alpha = softmax(u) over the sequence's own positions, sum_t alpha_t o_t."""
    u = np.tanh(np_linear(p, att, outs)) @ p[ctx + ".weight"][0]
    alpha = np.exp(u - u.max())
    alpha = alpha / alpha.sum()
    return (alpha[:, None] * outs).sum(0), alpha


def np_han(p, docs, spd, wps):
    """The HAN of Yang et al. document by document, sentence by sentence, with no packing: scores, word alphas
    padded to (docs, max sentences, max words) and sentence alphas padded to (docs, max sentences)."""
    max_s, max_w = max(spd), max(wps[d, s] for d in range(len(docs)) for s in range(spd[d]))
    scores, word_alphas, sent_alphas = [], np.zeros((len(docs), max_s, max_w)), np.zeros((len(docs), max_s))
    for d in range(len(docs)):
        vecs = []
        for s in range(spd[d]):
            words = docs[d, s, :wps[d, s]]
            outs = np_bigru(p, WA + "word_rnn.", p[WA + "embeddings.weight"][words])
            v, a = np_attention_pool(p, WA + "word_attention", WA + "word_context_vector", outs)
            vecs.append(v)
            word_alphas[d, s, :len(a)] = a
        outs = np_bigru(p, "sentence_attention.sentence_rnn.", np.array(vecs))
        v, a = np_attention_pool(p, "sentence_attention.sentence_attention",
                                 "sentence_attention.sentence_context_vector", outs)
        sent_alphas[d, :len(a)] = a
        scores.append(np_linear(p, "fc", v))
    return np.array(scores), word_alphas, sent_alphas


def make_han(vocab=12, emb=4, word=3, sent=3, att=5, n_classes=3, dropout=0.5):
    # a one-layer GRU with dropout warns, in PyTorch as here (the source passes dropout to 1-layer GRUs)
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        return HierarchialAttentionNetwork(n_classes, vocab, emb, word, sent, 1, 1, att, att, dropout)


# three made-up documents of up to 3 sentences of up to 5 word ids (0 pads), as utils.create_input_files pads them
DOCS = np.array([[[1, 2, 3, 0, 0], [4, 5, 6, 7, 8], [0, 0, 0, 0, 0]],
                 [[9, 1, 0, 0, 0], [2, 0, 0, 0, 0], [3, 4, 5, 6, 0]],
                 [[7, 8, 9, 10, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]]])
SPD = np.array([2, 3, 1])
WPS = np.array([[3, 5, 0], [2, 1, 4], [4, 0, 0]])


def test_han_as_written_unpacks_a_packed_sequence_into_two_as_pytorch_0_4_did():
    packed = pack_padded_sequence(torch.tensor(DOCS[[1, 0, 2]]), lengths=[3, 2, 1], batch_first=True)
    with pytest.raises(ValueError, match="too many values to unpack"):
        sentences, bs = packed                      # the source's line: four fields from PyTorch 1.1 on, as here
    assert packed.batch_sizes.tolist() == [3, 2, 1] and packed.data.shape == (6, 5)


def test_han_forward_against_numpy(float64):
    model = randomize(make_han(), 12).eval()
    scores, word_alphas, sentence_alphas = model(torch.tensor(DOCS), torch.tensor(SPD), torch.tensor(WPS))
    e_scores, e_words, e_sents = np_han(params_of(model), DOCS, SPD, WPS)
    np.testing.assert_allclose(arr(scores), e_scores, rtol=1e-10)
    np.testing.assert_allclose(arr(word_alphas), e_words, rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(arr(sentence_alphas), e_sents, rtol=1e-10, atol=1e-15)
    assert word_alphas.shape == (3, 3, 5) and sentence_alphas.shape == (3, 3)
    # each real sentence's word weights and each document's sentence weights sum to one; padding gets zero
    np.testing.assert_allclose(arr(word_alphas).sum(2)[WPS > 0], 1.0)
    np.testing.assert_allclose(arr(sentence_alphas).sum(1), 1.0)
    assert np.all(arr(word_alphas)[WPS == 0] == 0)


def test_han_unsorting_gives_each_document_its_own_results(float64):
    model = randomize(make_han(), 13).eval()
    order = [2, 0, 1]
    a = model(torch.tensor(DOCS), torch.tensor(SPD), torch.tensor(WPS))
    b = model(torch.tensor(DOCS[order]), torch.tensor(SPD[order]), torch.tensor(WPS[order]))
    for x, y in zip(a, b):
        np.testing.assert_allclose(arr(x)[order], arr(y), rtol=1e-12, atol=1e-15)


def test_han_gradients_against_central_differences(float64):
    model = randomize(make_han(), 14).eval()
    labels = np.array([2, 0, 1])

    def loss_np(p):
        s = np_han(p, DOCS, SPD, WPS)[0]
        z = s - s.max(1, keepdims=True)
        return -np.mean(z[np.arange(3), labels] - np.log(np.exp(z).sum(1)))

    def loss_lib():
        scores = model(torch.tensor(DOCS), torch.tensor(SPD), torch.tensor(WPS))[0]
        return nn.CrossEntropyLoss()(scores, torch.tensor(labels))

    check_grads(model, [WA + "embeddings.weight", WA + "word_rnn.weight_ih_l0_reverse", WA + "word_rnn.bias_hh_l0",
                        WA + "word_context_vector.weight", "sentence_attention.sentence_rnn.weight_hh_l0_reverse",
                        "sentence_attention.sentence_attention.weight", "fc.bias"], loss_np, loss_lib)


def test_han_frozen_embeddings_stay_out_of_the_optimizer_and_clip_gradient_clamps():
    model = make_han()
    vectors = KeyedVectorsStandIn({"<pad>": [0.0] * 4, "good": [1.0, 0.5, 0.0, -1.0]})
    word_map = {"<pad>": 0, "good": 1, "bad": 2, **{f"w{i}": i for i in range(3, 12)}}
    (embeddings, emb_size), printed = quietly(load_word2vec_embeddings, vectors, word_map)
    assert emb_size == 4 and "Embedding length is 4." in printed and embeddings.shape == (12, 4)
    np.testing.assert_array_equal(arr(embeddings)[1], [1.0, 0.5, 0.0, -1.0])          # the word's vector
    assert np.abs(arr(embeddings)[2]).max() <= np.sqrt(3.0 / 4)                        # init_embedding's range
    model.sentence_attention.word_attention.init_embeddings(embeddings)
    model.sentence_attention.word_attention.fine_tune_embeddings(False)
    optimizer = optim.Adam(params=filter(lambda p: p.requires_grad, model.parameters()), lr=1e-3)
    params = optimizer.param_groups[0]['params']
    assert len(params) == len(list(model.parameters())) - 1
    assert not any(p is model.sentence_attention.word_attention.embeddings.weight for p in params)
    scores = model(torch.tensor(DOCS), torch.tensor(SPD), torch.tensor(WPS))[0]
    nn.CrossEntropyLoss()(scores, torch.tensor([0, 1, 2])).backward()
    before = {id(p): p.grad.copy() for p in params}
    clip_gradient(optimizer, 0.01)
    for p in params:
        np.testing.assert_array_equal(p.grad, np.clip(before[id(p)], -0.01, 0.01))
    assert model.sentence_attention.word_attention.embeddings.weight.grad is None
    with pytest.raises(AttributeError):
        params[0].grad.data.clamp_(-0.01, 0.01)        # the source's line: `.grad` is a numpy array here


def keyword_documents(n, seed):
    """Made-up documents over a 14-word vocabulary: the class is which of the words 1, 2, 3 appears in them (once,
    in a random sentence), the other words are noise from 4..13; 1 to 3 sentences of 2 to 6 words."""
    rng = np.random.default_rng(seed)
    docs, spd, wps, labels = [], [], [], []
    for _ in range(n):
        label = int(rng.integers(3))
        n_sent = int(rng.integers(1, 4))
        lens = [int(rng.integers(2, 7)) for _ in range(n_sent)]
        doc = [[int(w) for w in rng.integers(4, 14, size=k)] for k in lens]
        s = int(rng.integers(n_sent))
        doc[s][int(rng.integers(lens[s]))] = label + 1
        docs.append([d + [0] * (6 - len(d)) for d in doc] + [[0] * 6] * (3 - n_sent))
        spd.append(n_sent)
        wps.append(lens + [0] * (3 - n_sent))
        labels.append(label)
    return {'docs': docs, 'labels': labels, 'sentences_per_document': spd, 'words_per_sentence': wps}


@pytest.mark.filterwarnings("ignore:dropout option adds dropout")
def test_han_train_py_main_lowers_the_loss_and_saves_state_dicts(tmp_path, monkeypatch, capsys):
    # TRAIN_data.pth.tar as utils.create_input_files writes it (a dict of lists), read back by HANDataset
    torch.save(keyword_documents(240, 15), os.path.join(str(tmp_path), 'TRAIN_data.pth.tar'))
    word_map = {'<pad>': 0, **{f"w{i}": i for i in range(1, 13)}, '<unk>': 13}
    vectors = KeyedVectorsStandIn({f"w{i}": np.random.default_rng(i).normal(0, 0.5, 8) for i in range(1, 13)})
    for name, value in dict(data_folder=str(tmp_path), word2vec_file=vectors, word_map=word_map, word_rnn_size=8,
                            sentence_rnn_size=8, word_att_size=8, sentence_att_size=8, batch_size=16, lr=0.05,
                            epochs=2, dropout=0.1).items():
        monkeypatch.setitem(globals(), name, value)   # differs: train.py's settings, smaller
    monkeypatch.chdir(tmp_path)
    torch.manual_seed(0)
    with pytest.warns(UserWarning, match="pin_memory"):    # PyTorch's warning without an accelerator
        model, history = han_main()
    out = capsys.readouterr().out
    assert out.count("DECAYING learning rate.") == 2 and "The new learning rate is 0.000500" in out
    assert out.count("Epoch: [") == 2             # print_freq 2000: batch 0 of each epoch
    (loss0, acc0), (loss1, acc1) = history
    assert loss1 < 0.3 * loss0 and acc1 > 0.9 > acc0
    saved = torch.load(str(tmp_path / 'checkpoint_han.pth.tar'))
    assert saved['epoch'] == 1 and saved['word_map'] == word_map
    fresh = HierarchialAttentionNetwork(3, 14, 8, 8, 8, 1, 1, 8, 8, 0.1)
    fresh.load_state_dict(saved['model'])
    np.testing.assert_array_equal(arr(fresh.fc.weight), arr(model.fc.weight))


def test_han_save_checkpoint_as_written_refuses_the_module(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model = make_han()
    with pytest.raises(TypeError, match="state_dict"):
        save_checkpoint(0, model, optim.Adam(model.parameters()), {'<pad>': 0})


def np_gru_ode(p, pre, x, h, full=False):
    """dh/dt of GRU-ODE: (1 - z)(n - h) with z = s(W_xz x + U_z h), n = tanh(W_xn x + U_n (z h)); the "full" cell has
    a reset gate r and u = tanh(W_xh x + U_h (r h)). x is None for the autonomous cells (a zero input)."""
    xs = (lambda name, k: np_linear(p, pre + name, x) if x is not None else 0.0)
    if full:
        xr, xz, xh = np.split(np_linear(p, pre + "lin_x", x), 3, axis=1) if x is not None else (0.0, 0.0, 0.0)
        r = np_sigmoid(xr + np_linear(p, pre + "lin_hr", h))
        z = np_sigmoid(xz + np_linear(p, pre + "lin_hz", h))
        return (1 - z) * (np.tanh(xh + np_linear(p, pre + "lin_hh", r * h)) - h)
    z = np_sigmoid(xs("lin_xz", 0) + np_linear(p, pre + "lin_hz", h))
    return (1 - z) * (np.tanh(xs("lin_xn", 0) + np_linear(p, pre + "lin_hn", z * h)) - h)


def np_prep(p, pre, parts, M):
    """The observation cells' "prep" layer: per feature f a (4 -> prep_hidden) map of [x, mean, (log)var, error],
    ReLU, masked by M, laid out sample by (feature, prep) as the source's permutes leave it."""
    g = np.stack(parts, 2)[:, :, None, :] @ p[pre + "w_prep"]          # (n, d, 1, prep)
    g = np_relu(g[:, :, 0, :] + p[pre + "bias_prep"])
    return (g * M[:, :, None]).reshape(len(g), -1)


def np_obs_cell(p, pre, h, P, X, M, i_obs, logvar=True):
    mean, v = np.split(P[i_obs], 2, axis=1)
    if logvar:
        error = (X - mean) / np.exp(0.5 * v)
        loss = 0.5 * ((error ** 2 + v + 2 * np.log(np.sqrt(2 * np.pi))) * M)
    else:
        v = np.abs(v) + 1e-6
        error = (X - mean) / np.sqrt(v)
        loss = 0.5 * ((error ** 2 + np.log(v)) * M).sum()
    h = h.copy()
    h[i_obs] = np_gru_cell_named(p, pre + "gru_d.", np_prep(p, pre, [X, mean, v, error], M), h[i_obs])
    return h, loss


def np_kl(P, X, M, logvar=True, noise=1e-2):
    mean, v = np.split(P, 2, axis=1)
    std = np.exp(0.5 * v) if logvar else np.sqrt(np.abs(v) + 1e-5)
    return ((np.log(noise) - np.log(std) + (std ** 2 + (mean - X) ** 2) / (2 * noise ** 2) - 0.5) * M).sum()


def np_mlp2(p, pre, x, last=None):
    """Linear, ReLU, (Dropout,) Linear: the p_model, classification and covariate maps (indices 0 and 3, or 0 and 2
    without the dropout); `last` a final activation."""
    i2 = pre + ".3" if pre + ".3.weight" in p else pre + ".2"
    out = np_linear(p, i2, np_relu(np_linear(p, pre + ".0", x)))
    return last(out) if last else out


def np_nnfo(p, batch, delta_t, T, solver="euler", logvar=True, full=False, mixing=1, labels=None):
    """NNFOwithBayesianJumps.forward in numpy: h0 from the covariates, ODE steps of GRU-ODE up to each observation
    time (Euler or midpoint), then the observation cell's jump and the KL term; the smoother's per-patient
    classification losses when labels are given."""
    pm = (lambda h: np_mlp2(p, "p_model", h))
    cls = (lambda h: np_mlp2(p, "classification_model", h))
    h = np_mlp2(p, "covariates_map", batch["cov"], np.tanh)
    P, t, loss_1, loss_2 = pm(h), 0.0, 0.0, 0.0
    path_t, path_p = [0], [P]
    class_loss, n_evals = np.zeros(len(h)), np.zeros(len(h))
    bce = (lambda z, y: np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))))

    def step(h, P):
        if solver == "euler":
            h = h + delta_t * np_gru_ode(p, "gru_c.", P, h, full)
        else:
            k = h + delta_t / 2 * np_gru_ode(p, "gru_c.", P, h, full)
            h = h + delta_t * np_gru_ode(p, "gru_c.", pm(k), k, full)
        return h, pm(h)

    for i, obs_time in enumerate(batch["times"]):
        while t < obs_time - 0.001 * delta_t:
            h, P = step(h, P)
            t += delta_t
            path_t.append(t)
            path_p.append(P)
        rows = slice(batch["time_ptr"][i], batch["time_ptr"][i + 1])
        X, M, i_obs = batch["X"][rows], batch["M"][rows], batch["obs_idx"][rows]
        h, losses = np_obs_cell(p, "gru_obs.", h, P, X, M, i_obs, logvar)
        if labels is not None:
            class_loss[i_obs] += bce(cls(h[i_obs]), labels[i_obs])[:, 0]
            n_evals[i_obs] += 1
        loss_1 += losses.sum()
        P = pm(h)
        loss_2 += np_kl(P[i_obs], X, M, logvar)
        path_t.append(obs_time)
        path_p.append(P)
    while t < T:
        h, P = step(h, P)
        t += delta_t
        path_t.append(t)
        path_p.append(P)
    if labels is not None:
        class_loss = (class_loss + bce(cls(h), labels)[:, 0]) / n_evals
    return dict(h=h, loss=loss_1 + mixing * loss_2, class_pred=cls(h), loss_1=loss_1, path_t=np.array(path_t),
                path_p=np.array(path_p), class_loss=class_loss)


def ode_batch():
    """Three made-up patients with two features, observed at irregular times (what custom_collate_fn builds from
    its DataFrame: the sorted distinct times, a pointer to each time's rows, values, masks and each row's patient)."""
    rng = np.random.default_rng(16)
    return dict(times=np.array([0.5, 1.0, 1.75]), time_ptr=np.array([0, 2, 3, 6]),
                X=rng.normal(size=(6, 2)), M=np.array([[1., 1.], [1., 0.], [0., 1.], [1., 1.], [1., 1.], [1., 0.]]),
                obs_idx=np.array([0, 2, 1, 0, 1, 2]), cov=rng.normal(size=(3, 1)))


def run_nnfo(model, batch, delta_t=0.25, T=2.0, **kw):
    return model(batch["times"], batch["time_ptr"], torch.tensor(batch["X"]), torch.tensor(batch["M"]),
                 torch.tensor(batch["obs_idx"]), delta_t, T, torch.tensor(batch["cov"]), **kw)


def make_nnfo(seed, **kw):
    kw = dict(dict(input_size=2, hidden_size=4, p_hidden=5, prep_hidden=3, cov_size=1, cov_hidden=3,
                   classification_hidden=2), **kw)
    return randomize(NNFOwithBayesianJumps(**kw), seed, 0.4)


@pytest.mark.parametrize("cls,full,autonomous", [(GRUODECell, False, False), (FullGRUODECell, True, False),
                                                 (GRUODECell_Autonomous, False, True),
                                                 (FullGRUODECell_Autonomous, True, True)])
def test_gru_ode_cells_against_numpy(cls, full, autonomous, float64):
    cell = randomize(cls(5) if autonomous else cls(3, 5), 17)
    rng = np.random.default_rng(18)
    x, h = rng.normal(size=(4, 3)), rng.normal(size=(4, 5))
    dh = cell(torch.tensor(0.5), torch.tensor(h)) if autonomous else cell(torch.tensor(x), torch.tensor(h))
    np.testing.assert_allclose(arr(dh), np_gru_ode(params_of(cell), "", None if autonomous else x, h, full),
                               rtol=1e-10)


@pytest.mark.parametrize("logvar", [True, False])
def test_observation_cells_jump_only_the_observed_rows(logvar, float64):
    cls = GRUObservationCellLogvar if logvar else GRUObservationCell
    cell = randomize(cls(2, 4, 3), 19)
    rng = np.random.default_rng(20)
    h, P = rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    X, M, i_obs = rng.normal(size=(3, 2)), np.array([[1., 0.], [1., 1.], [0., 1.]]), np.array([3, 0, 4])
    h_t = torch.tensor(h, requires_grad=True)
    new_h, loss = cell(h_t, torch.tensor(P), torch.tensor(X), torch.tensor(M), torch.tensor(i_obs))
    e_h, e_loss = np_obs_cell(params_of(cell), "", h, P, X, M, i_obs, logvar)
    np.testing.assert_allclose(arr(new_h), e_h, rtol=1e-10)
    np.testing.assert_allclose(arr(loss), e_loss, rtol=1e-10)
    np.testing.assert_array_equal(arr(new_h)[[1, 2]], h[[1, 2]])      # `temp = h.clone(); temp[i_obs] = ...`
    assert arr(h_t).tolist() == h.tolist()                               # h itself is left as it was
    # the gradient reaches the rows that were not observed through the clone, with slope 1
    new_h.sum().backward()
    np.testing.assert_array_equal(h_t.grad[[1, 2]], 1.0)


@pytest.mark.parametrize("solver,logvar,full", [("euler", True, False), ("midpoint", False, True)])
def test_nnfo_forward_against_numpy(solver, logvar, full, float64):
    model = make_nnfo(21, solver=solver, logvar=logvar, full_gru_ode=full)
    batch = ode_batch()
    h, loss, class_pred, loss_1 = run_nnfo(model, batch)
    e = np_nnfo(params_of(model), batch, 0.25, 2.0, solver, logvar, full)
    for got, want in [(h, e["h"]), (loss, e["loss"]), (class_pred, e["class_pred"]), (loss_1, e["loss_1"])]:
        np.testing.assert_allclose(arr(got), want, rtol=1e-10)
    out = run_nnfo(model, batch, return_path=True)
    np.testing.assert_allclose(out[3], e["path_t"])
    np.testing.assert_allclose(arr(out[4]), e["path_p"], rtol=1e-10)
    # 2 + 2 + 3 + 1 Euler steps: the step counts of the ODE between observations (and to T)
    assert len(e["path_t"]) == 1 + 8 + 3 and out[5].shape == (12, 3, 4)
    assert out[6].dtype == torch.float64 and out[7].dtype == torch.float32 and out[6].shape == (8,)


def test_nnfo_smoother_accumulates_each_patients_classification_loss(float64):
    model = make_nnfo(22)
    batch = ode_batch()
    labels = np.array([[1.], [0.], [1.]])
    out = run_nnfo(model, batch, smoother=True, class_criterion=nn.BCEWithLogitsLoss(reduction='none'),
                   labels=torch.tensor(labels))
    e = np_nnfo(params_of(model), batch, 0.25, 2.0, labels=labels)
    np.testing.assert_allclose(arr(out[3]), e["class_loss"], rtol=1e-10)
    np.testing.assert_allclose(arr(out[1]), e["loss"], rtol=1e-10)


def test_nnfo_gradients_against_central_differences(float64):
    # mixing weighs the KL term, whose 1 / (2 0.01^2) makes the loss some 1e4 (too large for central differences)
    model = make_nnfo(23, mixing=1e-3)
    batch = ode_batch()
    check_grads(model, ["gru_c.lin_xz.weight", "gru_c.lin_hn.weight", "gru_obs.w_prep", "gru_obs.bias_prep",
                        "gru_obs.gru_d.weight_hh", "p_model.3.weight", "covariates_map.0.weight"],
                lambda p: np_nnfo(p, batch, 0.25, 2.0, mixing=1e-3)["loss"], lambda: run_nnfo(model, batch)[1])


def test_nnfo_init_weights_and_training_lowers_the_loss():
    torch.manual_seed(0)
    model = NNFOwithBayesianJumps(2, 8, 8, 4, cov_size=1, cov_hidden=4, classification_hidden=2, logvar=True)
    biases = [arr(m.bias) for m in model.modules() if isinstance(m, nn.Linear) and m.bias is not None]
    assert len(biases) == 8 and all(np.all(b == np.float32(0.05)) for b in biases)      # init_weights
    batch = {k: (v.astype(np.float32) if k in ("X", "M", "cov") else v) for k, v in ode_batch().items()}
    opt = optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for _ in range(30):
        opt.zero_grad()
        loss = run_nnfo(model, batch)[1]
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def np_seq_bayes(p, h, Xpad, Fpad, lengths, i_obs, X, M):
    """SeqGRUBayes in numpy, one patient at a time: its observed features in order, each a GRU step on the prep
    layer of [x, mean, logvar, error] for that feature, with the Gaussian loss before each step."""
    pm = (lambda h: np_mlp2(p, "gru_bayes.p_model", h))
    mean, lv = np.split(pm(h[i_obs]), 2, axis=1)
    losses_pre = 0.5 * ((((X - mean) / np.exp(0.5 * lv)) ** 2 + lv) * M)
    h2, loss = h.copy(), 0.0
    for row, patient in enumerate(i_obs):
        hj = h[patient][None]
        for k in range(lengths[row]):
            f, x = Fpad[row, k], Xpad[row, k]
            m, v = np.split(pm(hj), 2, axis=1)
            m, v = m[0, f], v[0, f]
            e = (x - m) / np.exp(0.5 * v)
            loss += 0.5 * (e ** 2 + v)
            g = np_relu(np.array([x, m, v, e]) @ p["gru_bayes.w_prep"][f] + p["gru_bayes.bias_prep"][f])
            hj = np_gru_cell_named(p, "gru_bayes.gru.", g[None], hj)
        h2[patient] = hj[0]
    return h2, loss, losses_pre


def test_gru_ode_bayes_seq_steps_each_feature_through_the_packed_batch(float64):
    # seq_collate_fn's layout: at each time the rows sorted by how many features they observe, the observed values
    # and their feature ids padded, and the lengths
    model = randomize(GRUODEBayesSeq(2, 4, 5, 3, cov_size=1, cov_hidden=3, classification_hidden=2), 24, 0.4)
    rng = np.random.default_rng(25)
    times, time_ptr = np.array([0.5, 1.0, 1.75]), np.array([0, 2, 3, 6])
    M = np.array([[1., 1.], [0., 1.], [1., 0.], [1., 1.], [1., 1.], [1., 0.]])
    obs_idx = np.array([2, 0, 1, 0, 1, 2])
    X = rng.normal(size=(6, 2)) * M
    lengths = M.sum(1).astype(np.int64)
    Fpad = np.array([[0, 1], [1, 0], [0, 0], [0, 1], [0, 1], [0, 0]])
    Xpad = np.stack([X[i, Fpad[i]] * (np.arange(2) < lengths[i]) for i in range(6)])
    cov = rng.normal(size=(3, 1))
    h, loss, class_pred, path_t, path_p = model(times, time_ptr, torch.tensor(Xpad), torch.tensor(Fpad),
                                                torch.tensor(X), torch.tensor(M), torch.LongTensor(lengths),
                                                torch.tensor(obs_idx), 0.25, 2.0, torch.tensor(cov), return_path=True)
    p = params_of(model)
    eh = np_mlp2(p, "covariates_map", cov)
    pm = (lambda h: np_mlp2(p, "gru_bayes.p_model", h))
    P, t, counter, loss_1, loss_2 = pm(eh), 0.0, 0, 0.0, 0.0
    for i, obs_time in enumerate(times):
        while t < obs_time:
            eh = eh + 0.25 * np_gru_ode(p, "gru_c.", P, eh)
            P = pm(eh)
            counter += 1
            t = counter * 0.25
        rows = slice(time_ptr[i], time_ptr[i + 1])
        eh, loss_i, loss_pre = np_seq_bayes(p, eh, Xpad[rows], Fpad[rows], lengths[rows], obs_idx[rows], X[rows],
                                            M[rows])
        loss_1 += loss_i + loss_pre.sum()
        P = pm(eh)
        loss_2 += np_kl(P[obs_idx[rows]], X[rows], M[rows])
    while t < 2.0:
        eh = eh + 0.25 * np_gru_ode(p, "gru_c.", P, eh)
        P = pm(eh)
        counter += 1
        t = counter * 0.25
    np.testing.assert_allclose(arr(h), eh, rtol=1e-10)
    np.testing.assert_allclose(arr(loss), loss_1 + loss_2, rtol=1e-10)
    np.testing.assert_allclose(arr(class_pred), np_mlp2(p, "classification_model", eh), rtol=1e-10)
    assert path_t.tolist() == [0, .25, .5, .5, .75, 1., 1., 1.25, 1.5, 1.75, 1.75, 2.]


def np_ct_lstm(p, pre, x, h, c, c_bar, beta=1.0):
    """The continuous-time LSTM's jump at an event (eqs. 5a-6c): gates i, f, o, i-bar, f-bar from [x, h], z = tanh,
    the decay rate delta = softplus; c <- f c + i z and the target c-bar <- f-bar c-bar + i-bar z."""
    xh = np.concatenate([x, h], -1)
    g = (lambda name: np_sigmoid(np_linear(p, pre + name, xh)))
    z = np.tanh(np_linear(p, pre + "layer_pre_c", xh))
    delta = np_softplus(np_linear(p, pre + "layer_decay.0", xh), beta)
    return (g("layer_forget") * c + g("layer_input") * z, g("layer_forget_bar") * c_bar + g("layer_input_bar") * z,
            delta, g("layer_output"))


def np_ct_decay(c, c_bar, delta, o, dt):
    """Eq. 7: c(t) = c-bar + (c - c-bar) exp(-delta (t - t_i)), h(t) = o tanh(c(t))."""
    c_t = c_bar + (c - c_bar) * np.exp(-delta * dt)
    return c_t, o * np.tanh(c_t)


def np_nhp(p, dtimes, types, H):
    """NHP.forward in numpy: per event the jump, then the decay over the gap to the next event; the hidden state
    just before each next event, and (c, c-bar, delta, o) just after each event."""
    B, L = types.shape
    h, c, c_bar = np.zeros((B, H)), np.zeros((B, H)), np.zeros((B, H))
    hiddens, states = [], []
    for i in range(L - 1):
        c_i, c_bar, delta, o = np_ct_lstm(p, "rnn_cell.", p["layer_type_emb.weight"][types[:, i]], h, c, c_bar)
        c, h = np_ct_decay(c_i, c_bar, delta, o, dtimes[:, i + 1][:, None])
        hiddens.append(h)
        states.append(np.stack([c_i, c_bar, delta, o], 1))
    return np.stack(hiddens, 1), np.stack(states, 1)


def np_nhp_loss(p, dtimes, types, mask, type_mask, H, n_samples, beta=1.0):
    """Eq. 8's negative log-likelihood as loglike_loss computes it: log intensity of each next event's type (+ eps,
    padded events masked to log 1), minus the integral of the total intensity over each gap by the mean of its
    values at n evenly spaced points (both ends included) times the gap."""
    hiddens, states = np_nhp(p, dtimes, types, H)
    lam = (lambda h: np_softplus(h @ p["layer_intensity.0.weight"].T, beta))
    event = (lam(hiddens) * type_mask[:, 1:]).sum(-1) + 2.0 ** -23
    event = np.where(mask[:, 1:], event, 1.0)
    samples = dtimes[:, 1:, None] * np.linspace(0, 1, n_samples)[None, None, :]
    c, c_bar, delta, o = (states[:, :, k][:, :, None, :] for k in range(4))
    _, h_s = np_ct_decay(c, c_bar, delta, o, samples[..., None])
    non_event = lam(h_s).sum(-1).mean(-1) * dtimes[:, 1:] * mask[:, 1:]
    return -(np.log(event) - non_event).sum()


def nhp_config(**kw):
    """differs: EasyTPP's ModelConfig (read from a yaml) is a namespace of the fields the models read."""
    config = types.SimpleNamespace(loss_integral_num_sample_per_step=5, hidden_size=4, num_event_types=2,
                                   num_event_types_pad=3, pad_token_id=2, thinning=None, model_specs={})
    config.__dict__.update(kw)
    return config


def nhp_batch(dtype=np.float64):
    """Three made-up sequences of event times and types, padded as EventTokenizer pads them (times and types with
    the pad id, right side), the non-pad mask and the one-hot type mask."""
    time_seqs = [[0.0, 0.5, 1.3, 2.0], [0.0, 0.25, 1.0], [0.0, 0.75]]
    type_seqs = [[0, 1, 1, 0], [1, 0, 0], [0, 1]]
    dtime_seqs = [[0.0] + list(np.diff(t)) for t in time_seqs]
    times = make_pad_sequence(time_seqs, 2, "right", 4, dtype)
    dtimes = make_pad_sequence(dtime_seqs, 2, "right", 4, dtype)
    event_types = make_pad_sequence(type_seqs, 2, "right", 4, np.int64)
    mask = np.full_like(event_types, True, dtype=bool)
    for i, seq in enumerate(type_seqs):
        mask[i, len(seq):] = False
    return times, dtimes, event_types, mask, make_type_mask_for_pad_sequence(2, event_types)


def as_batch(times, dtimes, event_types, mask, type_mask):
    return (torch.tensor(times), torch.tensor(dtimes), torch.tensor(event_types), torch.tensor(mask), None,
            torch.tensor(type_mask))


def test_nhp_padding_and_masks_as_the_tokenizer_makes_them():
    times, dtimes, event_types, mask, type_mask = nhp_batch(np.float32)
    assert times.dtype == np.float32 and times[2].tolist() == [0.0, 0.75, 2.0, 2.0]      # padded with the pad id
    assert event_types.tolist() == [[0, 1, 1, 0], [1, 0, 0, 2], [0, 1, 2, 2]]
    assert mask.tolist() == [[True] * 4, [True] * 3 + [False], [True] * 2 + [False] * 2]
    assert type_mask.dtype == np.int32 and type_mask[2].tolist() == [[1, 0], [0, 1], [0, 0], [0, 0]]


def test_cont_time_lstm_cell_and_its_decay_against_numpy(float64):
    cell = randomize(ContTimeLSTMCell(3, beta=2.0), 26)
    rng = np.random.default_rng(27)
    x, h, c, c_bar = (rng.normal(size=(2, 3)) for _ in range(4))
    out = cell(torch.tensor(x), torch.tensor(h), torch.tensor(c), torch.tensor(c_bar))
    expected = np_ct_lstm(params_of(cell), "", x, h, c, c_bar, beta=2.0)
    for got, want in zip(out, expected):
        np.testing.assert_allclose(arr(got), want, rtol=1e-10)
    dt = np.array([[0.3], [2.5]])
    for got, want in zip(cell.decay(*out, torch.tensor(dt)), np_ct_decay(*expected, dt)):
        np.testing.assert_allclose(arr(got), want, rtol=1e-10)
    # the decay rate is positive (a Softplus), and the cell moves from c toward c-bar as the gap grows
    assert np.all(arr(out[2]) > 0)
    far = cell.decay(*out, torch.tensor([[1e8], [1e8]]))[0]
    np.testing.assert_allclose(arr(far), arr(out[1]), rtol=1e-6)


def test_nhp_forward_and_loglike_loss_against_numpy(float64):
    model = randomize(NHP(nhp_config()), 28)
    batch = nhp_batch()
    hiddens, states = model(as_batch(*batch))
    e_hiddens, e_states = np_nhp(params_of(model), batch[1], batch[2], 4)
    np.testing.assert_allclose(arr(hiddens), e_hiddens, rtol=1e-10)
    np.testing.assert_allclose(arr(states), e_states, rtol=1e-10)
    assert states.shape == (3, 3, 4, 4)
    loss, num_events = model.loglike_loss(as_batch(*batch))
    np.testing.assert_allclose(arr(loss), np_nhp_loss(params_of(model), batch[1], batch[2], batch[3], batch[4], 4, 5),
                               rtol=1e-10)
    assert num_events == 3 + 2 + 1          # the events after the first of each sequence


def test_nhp_gradients_against_central_differences(float64):
    model = randomize(NHP(nhp_config(model_specs={'beta': 1.5})), 29)
    batch = nhp_batch()
    check_grads(model, ["layer_type_emb.weight", "rnn_cell.layer_decay.0.weight", "rnn_cell.layer_forget_bar.bias",
                        "rnn_cell.layer_pre_c.weight", "layer_intensity.0.weight"],
                lambda p: np_nhp_loss(p, batch[1], batch[2], batch[3], batch[4], 4, 5, beta=1.5),
                lambda: model.loglike_loss(as_batch(*batch))[0])
    # the pad id's row gets no gradient (padding_idx), as in PyTorch
    assert np.all(model.layer_type_emb.weight.grad[2] == 0)


def test_nhp_intensities_at_sample_times_and_the_last_step(float64):
    model = randomize(NHP(nhp_config()), 30)
    times, dtimes, event_types, _, _ = nhp_batch()
    sample = np.random.default_rng(31).random((3, 4, 6))
    t = (torch.tensor(times), torch.tensor(dtimes), torch.tensor(event_types))
    lam = model.compute_intensities_at_sample_times(*t, torch.tensor(sample), max_steps=4)
    p = params_of(model)
    _, states = np_nhp(p, np.concatenate([dtimes, np.full((3, 1), 5.0)], 1),
                       np.concatenate([event_types, np.zeros((3, 1), np.int64)], 1), 4)
    c, c_bar, delta, o = (states[:, :, k][:, :, None, :] for k in range(4))
    expected = np_softplus(np_ct_decay(c, c_bar, delta, o, sample[..., None])[1] @ p["layer_intensity.0.weight"].T)
    assert lam.shape == (3, 4, 6, 2)
    np.testing.assert_allclose(arr(lam), expected, rtol=1e-10)
    last = model.compute_intensities_at_sample_times(*t, torch.tensor(sample), max_steps=4, compute_last_step_only=True)
    np.testing.assert_allclose(arr(last), expected[:, -1:], rtol=1e-10)


def test_nhp_one_event_steps_without_a_decay_and_last_logits_by_gather(float64):
    model = randomize(NHP(nhp_config()), 32)
    times, dtimes, event_types, mask, type_mask = (a[:, :2] for a in nhp_batch())
    hiddens, states = model(as_batch(times, dtimes, event_types, mask, type_mask))
    # max_seq_length == 1: the hidden state given back is the initial zeros, not decayed
    assert hiddens.shape == (3, 1, 4) and np.all(arr(hiddens) == 0)
    logits = torch.tensor(np.random.default_rng(33).normal(size=(3, 4, 5)))
    last = TorchBaseModel.get_logits_at_last_step(logits, torch.tensor(nhp_batch()[3]))
    np.testing.assert_array_equal(arr(last), arr(logits)[[0, 1, 2], [3, 2, 1]])


def test_nhp_training_lowers_the_negative_log_likelihood():
    torch.manual_seed(0)
    model = NHP(nhp_config(hidden_size=8, loss_integral_num_sample_per_step=10))
    rng = np.random.default_rng(34)
    # made-up sequences in which type 1 follows type 0 after about 0.2, and type 0 follows type 1 after about 1
    time_seqs, type_seqs = [], []
    for _ in range(16):
        t, k, ts, ks = 0.0, 0, [], []
        for _ in range(6):
            ts.append(t)
            ks.append(k)
            t += rng.exponential(0.2 if k == 0 else 1.0)
            k = 1 - k
        time_seqs.append(ts)
        type_seqs.append(ks)
    dtime_seqs = [[0.0] + list(np.diff(t)) for t in time_seqs]
    event_types = make_pad_sequence(type_seqs, 2, "right", 6, np.int64)
    batch = (torch.tensor(make_pad_sequence(time_seqs, 2, "right", 6)),
             torch.tensor(make_pad_sequence(dtime_seqs, 2, "right", 6)), torch.tensor(event_types),
             torch.ones(16, 6, dtype=torch.bool), None, torch.tensor(make_type_mask_for_pad_sequence(2, event_types)))
    opt = optim.Adam(model.parameters(), lr=0.02)
    losses = []
    for _ in range(40):
        opt.zero_grad()
        loss, num_events = model.loglike_loss(batch)
        (loss / num_events).backward()
        opt.step()
        losses.append(loss.item() / num_events)
    assert losses[-1] < losses[0] - 0.3


# ==== What broke: `scatter_(..., reduce='add')`, the older spelling of a message sum ================================

def test_scatter_reduce_add_sums_messages_as_scatter_add_does(float64):
    # GatedGNN's `torch.zeros(B, C).scatter_add_(0, edge_graph_ind[e_1hop], m)` written with scatter_'s reduce=
    # (the form before scatter_reduce): the sum per graph, an index named twice adding twice
    rng = np.random.default_rng(35)
    m0 = rng.normal(size=(5, 3))
    graph = np.array([0, 1, 1, 0, 1])
    index = torch.tensor(graph).view(-1, 1).expand(-1, 3)
    m = torch.tensor(m0, requires_grad=True)
    with pytest.warns(UserWarning, match="The reduce argument of torch.scatter with Tensor src is deprecated"):
        summed = torch.zeros(2, 3).scatter_(0, index, m, reduce='add')
    expected = np.zeros((2, 3))
    np.add.at(expected, graph, m0)
    np.testing.assert_allclose(arr(summed), expected, rtol=1e-12)
    np.testing.assert_allclose(arr(summed), arr(torch.zeros(2, 3).scatter_add_(0, index, m)), rtol=1e-12)
    # the gradient is scatter_reduce's (PyTorch's backward through scatter's reduce= is not implemented)
    w = rng.normal(size=(2, 3))
    (summed * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(m.grad, w[graph], rtol=1e-12)


def test_scatter_reduce_with_a_number_as_pytorchs_docs_show():
    # torch.Tensor.scatter_'s docstring examples (pytorch/pytorch torch/_tensor_docs.py)
    added = torch.full((2, 4), 2.).scatter_(1, torch.tensor([[2], [3]]), 1.23, reduce='add')
    multiplied = torch.full((2, 4), 2.).scatter_(1, torch.tensor([[2], [3]]), 1.23, reduce='multiply')
    np.testing.assert_allclose(arr(added), [[2, 2, 3.23, 2], [2, 2, 2, 3.23]], rtol=1e-6)
    np.testing.assert_allclose(arr(multiplied), [[2, 2, 2.46, 2], [2, 2, 2, 2.46]], rtol=1e-6)
    # a number sent twice to one position, into integers (2.7 written as 2, as PyTorch writes it)
    counts = torch.zeros(3, dtype=torch.int64).scatter_(0, torch.tensor([0, 0, 2]), 2.7, reduce='add')
    assert counts.tolist() == [4, 0, 2]
    with pytest.raises(ValueError, match="scatter: reduce must be 'add' or 'multiply'"):
        torch.zeros(3).scatter_(0, torch.tensor([0]), 1.0, reduce='mean')
