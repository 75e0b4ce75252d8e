"""Porting, round 41: recurrent models trained on DYNAMIC PROGRAMMING and structured losses, where autodiff goes
through loops of indexing, logsumexp, max and gather written by hand in Python. Each source is written as its
author wrote it, with only the imports changed (`# differs:` marks each other change and why); sizes are small
and the data is made up:

1. L0-zhang/lstm-crf-with-batch_size bilstm_crf.py (16184cf37984b5af2d92740c835424a482d16e67): a batched
   BiLSTM-CRF (the PyTorch tutorial's model with a batch axis): `nn.LSTM(batch_first=True, bidirectional=True)`
   from a random `init_hidden`, the forward algorithm with its own `log_sum_exp` over [B, C, C] scores, the gold
   path's score by `gather` and `transitions[tags[:, 1:], tags[:, :-1]]`, Viterbi with back pointers written
   into a long tensor by `acc_score_t, bps[:, t, :] = acc_score_t.max(dim=-1)`, `forward` branching on the
   script's global `model.training`, and the script's `__main__` (two sentences, `DataLoader(batch_size=2,
   shuffle=True)`, SGD with weight decay, then decoding under `eval()` and `no_grad`).
2. kmkurn/pytorch-crf torchcrf/__init__.py (00843f54e6d3817422e779806dc96a129f53a85e, the `torchcrf` package as
   released): `CRF(num_tags, batch_first)` with `nn.init.uniform_`, masks, `emissions[i, torch.arange(B), tags[i]]`,
   `torch.logsumexp`, `torch.where(mask[i].unsqueeze(1), next_score, score)`, the four reductions, and the batched
   Viterbi decode whose back-tracking reads `history[:seq_ends[idx]]`; put on top of a BiLSTM here.
3. Maghoumi/pytorch-softdtw-cuda soft_dtw_cuda.py (0a53dd724b6f784a21e09565bb0bf2b73faeb9c3): the CPU soft-DTW
   (`compute_softdtw`, `compute_softdtw_backward`, the `torch.autograd.Function` `_SoftDTW` with
   `ctx.save_for_backward`, `SoftDTW` with Sakoe-Chiba `bandwidth` and `normalize`, `timed_run` with
   `torch.autograd.grad(..., grad_outputs=...)`); numba's `@jit(nopython=True)` is a stand-in that returns the
   function (numba is not installed; the CUDA kernels and `profile`, which need a GPU, are left out).
4. ast0414/pointer-networks-pytorch model.py (117cb42781c38d3c7595002901777c6794a78337): a pointer network
   (`masked_log_softmax` and `masked_max` adopted from allennlp, an `Encoder` over `pack_padded_sequence`, an
   `Attention` with a 1x1 `Conv1d`, `bmm` and `repeat`, and `PointerNet` decoding with an `LSTMCell` and
   `torch.gather` of the pointed encoder output), trained here to sort numbers (the repository's train script
   is not in the index).
5. sarcDV/Miscellaneous Hidden-Markov-model.py (2b1674943f89b37e9dc612f5c5aeaa4db9354c3d): an HMM's forward
   algorithm in probability space, `alpha = torch.matmul(alpha.unsqueeze(0), self.A) * self.B[:, obs[t]]`.

Every source was found in the index and read there: none was written from memory. PyTorch's behaviour was read
from its aten/src/ATen/native/TensorCompare.cpp (pytorch/pytorch 0acb13f480b3ebee1351081a2a84eba548a3fcf5) and
aten/src/ATen/native/TensorAdvancedIndexing.cpp (`masked_fill_impl_cpu`).

What broke (one gap, fixed with this round; the tests under G1 pin PyTorch's behaviour):

  G1. `torch.where` with a uint8 condition. torchcrf makes its default mask `torch.ones_like(tags,
      dtype=torch.uint8)` (and `decode`'s `emissions.new_ones(..., dtype=torch.uint8)`), and its users pass
      `ByteTensor` masks as its docstrings say, then `torch.where(mask[i].unsqueeze(1), next_score, score)`:
      here "TypeError: where: the condition must be a boolean array or tensor, got dtype uint8", so the CRF
      neither computes a likelihood nor decodes unless it is given a bool mask. PyTorch (`where_self` in
      TensorCompare.cpp) accepts a uint8 condition, warns once ("where received a uint8 condition tensor. This
      behavior is deprecated and will be removed in a future version of PyTorch. Use a boolean condition
      instead.") and reads it as `condition.to(kBool)`; every other dtype is refused. Fixed: `where` does the
      same (`ops/elementwise._condition`).

Met and left as documented in docs/pytorch.md (the lines say `differs:`):

  - `.data` is a read-only numpy array: L0-zhang's `self.transitions.data[self.start_idx, :] = -10000` is the
    same item assignment under `no_grad`.
  - `x.max(-1)[0]` is row 0 of the maxima here (with a warning naming `dim=`): L0-zhang's `log_sum_exp` is
    `x.max(-1).values` (docs: fast.ai's LogSumExp).
  - `t.numpy()` is a read-only view: soft-DTW's `compute_softdtw_backward` writes -inf into the R it is given
    (`R[:, :, -1] = -np.inf`), so `_SoftDTW.backward` hands it `R.detach().cpu().numpy().copy()`.

Met and changed because PyTorch refuses it too: ast0414's `masked_max` fills through `(1.0 - mask).byte()`;
`masked_fill` refuses a uint8 mask here and in current PyTorch ("masked_fill_ only supports boolean masks, but
got mask with dtype unsigned char"; the script predates that), so it is `.bool()`.

Noticed and left alone:
  - L0-zhang's `forward` reads the global `model.training`, not `self.training` (it works when the script's
    model is called `model`, as here); its LSTM starts from `torch.randn` states drawn on every call, so the loss
    and the decoded paths are random functions of the weights (the checks below draw the same states again).
  - L0-zhang's Viterbi never forbids the path from ending in START or passing through STOP except through the
    -10000 transitions, as its forward algorithm does; decoding and the partition function agree on that.
  - ast0414's `Attention.V` is `nn.Parameter(torch.FloatTensor(hidden_size))`, never initialised: PyTorch's
    holds whatever memory it got, here zeros (the tests set it with `nn.init.uniform_`).
  - the HMM's A, B and pi are `randn`, not probabilities: its "log_prob" is a polynomial in them, not a log.

Names the library lacks: none met (numba is not PyTorch's).

Expected values come from numpy written here in float64: sums over every tag path, every alignment path and every
hidden-state path (brute force with itertools), a numpy BiLSTM and pointer network, and central finite differences
of those; never from the library's own outputs.
"""

# differs: torchcrf annotates with `torch.ByteTensor`, which the library lacks: annotations are left unevaluated
from __future__ import annotations

import itertools
import math
import warnings
from typing import List, Optional

import numpy as np
import pytest
from porting_references import arr, central, np_lstm_cell, some_indices

import microgradseq as torch
import microgradseq.nn as nn
import microgradseq.optim as optim
from microgradseq.autograd import Function
from microgradseq.utils.data import DataLoader


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)
    np.random.seed(0)
    yield
    torch.set_default_dtype(torch.float32)


# ---- numpy references (float64), written here ------------------------------------------------------------

def np_logsumexp(z, axis=None):
    m = np.max(z, axis=axis, keepdims=True)
    out = m + np.log(np.exp(z - m).sum(axis=axis, keepdims=True))
    return out.squeeze() if axis is None else np.squeeze(out, axis=axis)


def np_bilstm(p, x, lengths, h0=None, c0=None, prefix="lstm."):
    """A one-layer bidirectional nn.LSTM(batch_first=True) over x (B, T, I), each row stopped at its length (a
    packed sequence; the reverse direction starts at the row's last step). Returns outputs (B, T, 2H) with zeros
    past the lengths, and the final (h, c) of shape (2, B, H)."""
    batch, steps, _ = x.shape
    hidden = p[prefix + "weight_hh_l0"].shape[1]
    out = np.zeros((batch, steps, 2 * hidden))
    h_n, c_n = np.zeros((2, batch, hidden)), np.zeros((2, batch, hidden))
    for d, suffix in enumerate(("", "_reverse")):
        w_ih, w_hh = p[prefix + "weight_ih_l0" + suffix], p[prefix + "weight_hh_l0" + suffix]
        b_ih, b_hh = p[prefix + "bias_ih_l0" + suffix], p[prefix + "bias_hh_l0" + suffix]
        for b in range(batch):
            h = np.zeros(hidden) if h0 is None else h0[d, b]
            c = np.zeros(hidden) if c0 is None else c0[d, b]
            times = range(lengths[b]) if d == 0 else reversed(range(lengths[b]))
            for t in times:
                h, c = np_lstm_cell(x[b, t], h, c, w_ih, w_hh, b_ih, b_hh)
                out[b, t, d * hidden:(d + 1) * hidden] = h
            h_n[d, b], c_n[d, b] = h, c
    return out, (h_n, c_n)


def np_tag_paths(length, num_tags):
    return itertools.product(range(num_tags), repeat=length)


def np_tutorial_crf(feats, trans, start, stop):
    """The tutorial's CRF (L0-zhang's): trans[next, prev], a path starts from START and ends in STOP.
    Returns log Z by enumerating every path, the best path and its score."""
    length, num_tags = feats.shape
    scores = {}
    for path in np_tag_paths(length, num_tags):
        full = (start,) + path
        s = sum(trans[full[t + 1], full[t]] + feats[t, full[t + 1]] for t in range(length))
        scores[path] = s + trans[stop, path[-1]]
    values = np.array(list(scores.values()))
    best = max(scores, key=scores.get)
    return np_logsumexp(values), list(best), scores[best]


def np_tutorial_gold(feats, trans, tags, start, stop):
    full = [start] + list(tags)
    return sum(trans[full[t + 1], full[t]] + feats[t, full[t + 1]] for t in range(len(tags))) + trans[stop, tags[-1]]


def np_torchcrf(emissions, start, end, trans, length):
    """torchcrf's CRF for one sequence (emissions (T, C), its first `length` steps): trans[prev, next].
    Returns log Z, the best path and a function scoring a path."""
    em = emissions[:length]

    def score(path):
        s = start[path[0]] + em[0, path[0]] + end[path[-1]]
        return s + sum(trans[path[t - 1], path[t]] + em[t, path[t]] for t in range(1, length))

    paths = list(np_tag_paths(length, em.shape[1]))
    values = np.array([score(p) for p in paths])
    return np_logsumexp(values), list(paths[int(np.argmax(values))]), score


def np_alignment_paths(n, m, bandwidth=0):
    """Every monotone alignment path from (0, 0) to (n-1, m-1) with steps (1,0), (0,1), (1,1); a Sakoe-Chiba
    band |i - j| <= bandwidth when bandwidth > 0 (soft_dtw_cuda's pruning, on its 1-based indices)."""
    paths = []

    def walk(i, j, path):
        if 0 < bandwidth < abs(i - j):
            return
        if (i, j) == (n - 1, m - 1):
            paths.append(path)
            return
        for di, dj in ((1, 0), (0, 1), (1, 1)):
            if i + di < n and j + dj < m:
                walk(i + di, j + dj, path + [(i + di, j + dj)])

    walk(0, 0, [(0, 0)])
    return paths


def np_soft_dtw(x, y, gamma, bandwidth=0):
    """Soft-DTW by its definition: -gamma log sum over alignment paths of exp(-cost / gamma), squared
    Euclidean costs."""
    d = ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)
    costs = np.array([sum(d[i, j] for i, j in p) for p in np_alignment_paths(len(x), len(y), bandwidth)])
    return -gamma * np_logsumexp(-costs / gamma)


# ==== 1. L0-zhang/lstm-crf-with-batch_size bilstm_crf.py (as written, imports changed) =======================

START_TAG = "<START>"
STOP_TAG = "<STOP>"

# %%


def argmax(vec):
    # return the argmax as a python int
    _, idx = torch.max(vec, 1)
    return idx.item()


def prepare_sequence(seq, to_ix):
    idxs = [to_ix[w] for w in seq]
    return torch.tensor(idxs, dtype=torch.long)


def log_sum_exp(x):
    """calculate log(sum(exp(x))) = max(x) + log(sum(exp(x - max(x))))
    """
    max_score = x.max(-1).values  # differs: `x.max(-1)[0]` is row 0 of the maxima here (docs/pytorch.md)
    return max_score + (x - max_score.unsqueeze(-1)).exp().sum(-1).log()


class BiLSTM_CRF(nn.Module):

    def __init__(self, vocab_size, tag_to_ix, embedding_dim, hidden_dim, batch_size):
        super(BiLSTM_CRF, self).__init__()
        self.embedding_dim = embedding_dim
        self.hidden_dim = hidden_dim
        self.vocab_size = vocab_size
        self.tag_to_ix = tag_to_ix
        self.tagset_size = len(tag_to_ix)
        self.bs = batch_size

        self.word_embeds = nn.Embedding(vocab_size, embedding_dim)
        self.lstm = nn.LSTM(embedding_dim, hidden_dim // 2,
                            num_layers=1, bidirectional=True, batch_first=True)

        self.hidden2tag = nn.Linear(hidden_dim, self.tagset_size)
        self.transitions = nn.Parameter(
            torch.randn(self.tagset_size, self.tagset_size))

        self.start_idx = self.tag_to_ix[START_TAG]
        self.stop_idx = self.tag_to_ix[STOP_TAG]
        # These two statements enforce the constraint that we never transfer
        # to the start tag and we never transfer from the stop tag
        with torch.no_grad():  # differs: `.data` is a read-only array here: the same writes under no_grad
            self.transitions[self.start_idx, :] = -10000
            self.transitions[:, self.stop_idx] = -10000

        self.hidden = self.init_hidden()

    def init_hidden(self):
        return (torch.randn(2, self.bs, self.hidden_dim//2),
                torch.randn(2, self.bs, self.hidden_dim//2))

    def _get_lstm_features(self, sentence):
        B, length = sentence.shape
        self.hidden = self.init_hidden()
        embeds = self.word_embeds(sentence).view(B, length,  -1)
        lstm_out, self.hidden = self.lstm(embeds, self.hidden)
        lstm_out = lstm_out.view(B, length, self.hidden_dim)
        lstm_feats = self.hidden2tag(lstm_out)
        return lstm_feats

    def _forward_alg(self, features):
        """calculate the partition function with forward algorithm.
        TRICK: log_sum_exp([x1, x2, x3, x4, ...]) = log_sum_exp([log_sum_exp([x1, x2]),
                                                                 log_sum_exp([x3, x4]), ...])

        :param features: features. [B, L, C]
        :return:    [B], score in the log space
        """
        B, L, C = features.shape
        scores = torch.full((B, C), -1e4,
                            device=features.device)  # [B, C]
        scores[:, self.start_idx] = 0.
        trans = self.transitions.unsqueeze(0)  # [1, C, C]

        # Iterate through the sentence
        for t in range(L):
            emit_score_t = features[:, t].unsqueeze(2)  # [B, C, 1]
            # [B, 1, C] + [1, C, C] + [B, C, 1] => [B, C, C]
            scores = scores.unsqueeze(1) + trans + emit_score_t
            scores = log_sum_exp(scores)  # [B, C]

        scores = log_sum_exp(scores + self.transitions[self.stop_idx])
        return scores

    def _score_sentence(self, features, tags):
        """Gives the score of a provided tag sequence

        :param features: [B, L, C]
        :param tags: [B, L]
        :return: [B] score in the log space
        """
        B, L, C = features.shape

        # emission score
        emit_scores = features.gather(
            dim=2, index=tags.unsqueeze(-1)).squeeze(-1)

        # transition score
        start_tag = torch.full((B, 1), self.start_idx,
                               dtype=torch.long, device=tags.device)
        tags = torch.cat([start_tag, tags], dim=1)  # [B, L+1]
        trans_scores = self.transitions[tags[:, 1:], tags[:, :-1]]

        score = (trans_scores + emit_scores).sum(1) + \
            self.transitions[self.stop_idx, tags[:, -1]]
        return score

    def _viterbi_decode(self, features):
        B, L, C = features.shape
        bps = torch.zeros(B, L, C, dtype=torch.long,
                          device=features.device)  # back pointers

        # Initialize the viterbi variables in log space
        max_score = torch.full(
            (B, C), -1e4, device=features.device)  # [B, C]
        max_score[:, self.start_idx] = 0

        for t in range(L):
            emit_score_t = features[:, t]  # [B, C]
            acc_score_t = max_score.unsqueeze(
                1) + self.transitions  # [B, C, C]= [B, 1, C] + [C, C]
            acc_score_t, bps[:, t, :] = acc_score_t.max(dim=-1)
            acc_score_t += emit_score_t
            max_score = acc_score_t

        # Transition to STOP_TAG
        max_score += self.transitions[self.stop_idx]
        best_score, best_tag = max_score.max(dim=-1)

        # Follow the back pointers to decode the best path.
        best_paths = []
        bps = bps.cpu().numpy()
        for b in range(B):
            best_tag_b = best_tag[b].item()

            best_path = [best_tag_b]
            for bps_t in reversed(bps[b]):
                best_tag_b = bps_t[best_tag_b]
                best_path.append(best_tag_b)
            # drop the last tag and reverse the left
            best_paths.append(best_path[-2::-1])
        return best_score, best_paths

    def forward(self, sentences, tags=None):
        """
        B: batch size, L: sequence length,
        param features: [B, L, C], batch of unary scores
        return:
            training:
                loss
            eval:
                best_score*best_paths
                best_score: [B]
                best_paths: [B, L]
        """
        features = self._get_lstm_features(sentences)
        B, L, C = features.shape

        if model.training:
            forward_score = self._forward_alg(features)
            gold_score = self._score_sentence(
                features, tags[:, :L].long())
            loss = (forward_score - gold_score).mean()
            return loss
        else:
            return self._viterbi_decode(features)


model = None   # differs: the script's `__main__` makes the global `model` its forward reads; the tests set it


def l0zhang_main(epochs=300):
    """The script's `if __name__ == "__main__":` block, as written (its prints collected)."""
    global model
    printed = []

    # Make up some training data
    training_data = [(
        "the journal reported  apple corporation made money".split(),
        "B  I O B I O O".split()
    ), (
        "georgia tech is a university in georgia".split(),
        "B I O O O O B".split()
    )]

    word_to_ix = {}
    for sentence, tags in training_data:
        for word in sentence:
            if word not in word_to_ix:
                word_to_ix[word] = len(word_to_ix)

    tag_to_ix = {"B": 0, "I": 1, "O": 2, START_TAG: 3, STOP_TAG: 4}

    data_train = []
    for sentence, tags in training_data:
        sentence_in = prepare_sequence(sentence, word_to_ix)
        targets = torch.tensor([tag_to_ix[t] for t in tags], dtype=torch.long)
        data_train.append((sentence_in, targets))

    train_data = DataLoader(data_train, batch_size=2,
                            shuffle=True, num_workers=0)

    model = BiLSTM_CRF(len(word_to_ix), tag_to_ix,
                       embedding_dim=5,  hidden_dim=4, batch_size=2)
    optimizer = optim.SGD(model.parameters(), lr=0.05, weight_decay=1e-4)

    # %%
    # Make sure prepare_sequence from earlier in the LSTM section is loaded
    model.train()
    for epoch in range(epochs):
        for sentence_in, targets in train_data:
            model.zero_grad()
            loss = model(sentence_in, targets)
            loss.backward()
            optimizer.step()
            printed.append(loss.item())  # differs: `print(loss)`, kept to be checked
    # %%
    # # Check predictions after training
    model.eval()
    with torch.no_grad():
        # precheck_sent = prepare_sequence(training_data[0][0], word_to_ix)
        decoded = model(sentence_in)  # differs: `print(model(sentence_in))`, kept to be checked
    # # We got it!
    return printed, decoded, sentence_in, targets


def l0zhang_params(m):
    return {k: arr(v) for k, v in m.state_dict().items()}


def np_l0zhang_loss(p, sentences, tags, h0, c0, start, stop):
    """The batched BiLSTM-CRF loss in numpy: features from the BiLSTM (initial states h0, c0), then the mean of
    log Z - gold score over the batch, log Z by enumerating every path."""
    x = p["word_embeds.weight"][sentences]
    lengths = [sentences.shape[1]] * sentences.shape[0]
    out, _ = np_bilstm(p, x, lengths, h0, c0)
    feats = out @ p["hidden2tag.weight"].T + p["hidden2tag.bias"]
    total = 0.0
    for b in range(len(sentences)):
        log_z, _, _ = np_tutorial_crf(feats[b], p["transitions"], start, stop)
        total += log_z - np_tutorial_gold(feats[b], p["transitions"], tags[b], start, stop)
    return total / len(sentences), feats


def test_l0zhang_main_runs_as_written_and_learns_both_sentences():
    printed, (best_score, best_paths), sentence_in, targets = l0zhang_main()
    assert len(printed) == 300 and all(math.isfinite(v) for v in printed)
    assert np.mean(printed[-10:]) < 0.5 * np.mean(printed[:10])
    # after training, the decoded paths are the training tags (the script's "We got it!")
    assert best_paths == targets.tolist()
    assert best_score.shape == (2,)


def test_l0zhang_crf_pieces_against_brute_force():
    global model
    torch.set_default_dtype(torch.float64)
    tag_to_ix = {"B": 0, "I": 1, "O": 2, START_TAG: 3, STOP_TAG: 4}
    model = BiLSTM_CRF(6, tag_to_ix, embedding_dim=3, hidden_dim=4, batch_size=2)
    rng = np.random.default_rng(1)
    feats_np = rng.normal(size=(2, 3, 5))
    feats = torch.tensor(feats_np)
    trans = arr(model.transitions)
    assert (trans[3, :] == -10000).all() and (trans[:, 4] == -10000).all()
    log_z = arr(model._forward_alg(feats))
    tags = np.array([[0, 1, 2], [2, 2, 0]])
    gold = arr(model._score_sentence(feats, torch.tensor(tags)))
    best_score, best_paths = model._viterbi_decode(feats)
    for b in range(2):
        z, best, best_value = np_tutorial_crf(feats_np[b], trans, 3, 4)
        np.testing.assert_allclose(log_z[b], z, rtol=1e-10)
        np.testing.assert_allclose(gold[b], np_tutorial_gold(feats_np[b], trans, tags[b], 3, 4), rtol=1e-10)
        assert best_paths[b] == best
        np.testing.assert_allclose(arr(best_score)[b], best_value, rtol=1e-10)


def test_l0zhang_loss_and_gradients_against_numpy():
    global model
    torch.set_default_dtype(torch.float64)
    tag_to_ix = {"B": 0, "I": 1, "O": 2, START_TAG: 3, STOP_TAG: 4}
    model = BiLSTM_CRF(6, tag_to_ix, embedding_dim=3, hidden_dim=4, batch_size=2)
    model.train()
    sentences = np.array([[0, 3, 5], [2, 1, 4]])
    tags = np.array([[0, 1, 2], [2, 0, 1]])
    torch.manual_seed(7)
    h0, c0 = arr(torch.randn(2, 2, 2)), arr(torch.randn(2, 2, 2))    # the draws init_hidden makes next
    torch.manual_seed(7)
    loss = model(torch.tensor(sentences), torch.tensor(tags))
    loss.backward()
    p = l0zhang_params(model)
    expected, _ = np_l0zhang_loss(p, sentences, tags, h0, c0, 3, 4)
    np.testing.assert_allclose(loss.item(), expected, rtol=1e-9)
    for name in ("hidden2tag.weight", "transitions", "lstm.weight_hh_l0_reverse", "word_embeds.weight"):
        idx = some_indices(p[name].shape, 4, seed=len(name))
        if name == "transitions":
            idx = [(0, 1), (2, 2), (1, 0), (4, 2)]            # the -10000 entries have gradient ~0
        if name == "word_embeds.weight":
            idx = [(0, 1), (3, 2), (5, 0), (2, 1)]

        def f(v, name=name):
            q = dict(p)
            q[name] = v
            return np_l0zhang_loss(q, sentences, tags, h0, c0, 3, 4)[0]

        got = np.array([dict(model.named_parameters())[name].grad[i] for i in idx])
        np.testing.assert_allclose(got, central(f, p[name], idx), rtol=1e-5, atol=1e-8)


# ==== 2. kmkurn/pytorch-crf torchcrf/__init__.py (as written, imports changed) ===============================

class CRF(nn.Module):
    """Conditional random field.

    This module implements a conditional random field [LMP01]_. The forward computation
    of this class computes the log likelihood of the given sequence of tags and
    emission score tensor. This class also has `decode <CRF.decode>` method which finds
    the best tag sequence given an emission score tensor using `Viterbi algorithm`_.

    Arguments
    ---------
    num_tags : int
        Number of tags.
    batch_first : bool, optional
        Whether the first dimension corresponds to the size of a minibatch.

    Attributes
    ----------
    start_transitions : :class:`~torch.nn.Parameter`
        Start transition score tensor of size ``(num_tags,)``.
    end_transitions : :class:`~torch.nn.Parameter`
        End transition score tensor of size ``(num_tags,)``.
    transitions : :class:`~torch.nn.Parameter`
        Transition score tensor of size ``(num_tags, num_tags)``.

    References
    ----------
    .. [LMP01] Lafferty, J., McCallum, A., Pereira, F. (2001).
       "Conditional random fields: Probabilistic models for segmenting and
       labeling sequence data". *Proc. 18th International Conf. on Machine
       Learning*. Morgan Kaufmann. pp. 282–289.

    .. _Viterbi algorithm: https://en.wikipedia.org/wiki/Viterbi_algorithm
    """

    def __init__(self, num_tags: int, batch_first: bool = False) -> None:
        if num_tags <= 0:
            raise ValueError(f'invalid number of tags: {num_tags}')
        super().__init__()
        self.num_tags = num_tags
        self.batch_first = batch_first
        self.start_transitions = nn.Parameter(torch.empty(num_tags))
        self.end_transitions = nn.Parameter(torch.empty(num_tags))
        self.transitions = nn.Parameter(torch.empty(num_tags, num_tags))

        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Initialize the transition parameters.

        The parameters will be initialized randomly from a uniform distribution
        between -0.1 and 0.1.
        """
        nn.init.uniform_(self.start_transitions, -0.1, 0.1)
        nn.init.uniform_(self.end_transitions, -0.1, 0.1)
        nn.init.uniform_(self.transitions, -0.1, 0.1)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(num_tags={self.num_tags})'

    def forward(
            self,
            emissions: torch.Tensor,
            tags: torch.LongTensor,
            mask: Optional[torch.ByteTensor] = None,
            reduction: str = 'sum',
    ) -> torch.Tensor:
        """Compute the conditional log likelihood of a sequence of tags given emission scores.

        Arguments
        ---------
        emissions : :class:`~torch.Tensor`
            Emission score tensor of size ``(seq_length, batch_size, num_tags)`` if
            ``batch_first`` is ``False``, ``(batch_size, seq_length, num_tags)`` otherwise.
        tags : :class:`~torch.LongTensor`
            Sequence of tags tensor of size ``(seq_length, batch_size)`` if
            ``batch_first`` is ``False``, ``(batch_size, seq_length)`` otherwise.
        mask : :class:`~torch.ByteTensor`, optional
            Mask tensor of size ``(seq_length, batch_size)`` if ``batch_first`` is ``False``,
            ``(batch_size, seq_length)`` otherwise.
        reduction : str, optional
            Specifies  the reduction to apply to the output: 'none'|'sum'|'mean'|'token_mean'.
            'none': no reduction will be applied. 'sum': the output will be summed over batches.
            'mean': the output will be averaged over batches. 'token_mean': the output will be
            averaged over tokens.

        Returns
        -------
        :class:`~torch.Tensor`
            The log likelihood. This will have size ``(batch_size,)`` if reduction is 'none',
            ``()`` otherwise.
        """
        self._validate(emissions, tags=tags, mask=mask)
        if reduction not in ('none', 'sum', 'mean', 'token_mean'):
            raise ValueError(f'invalid reduction: {reduction}')
        if mask is None:
            mask = torch.ones_like(tags, dtype=torch.uint8)

        if self.batch_first:
            emissions = emissions.transpose(0, 1)
            tags = tags.transpose(0, 1)
            mask = mask.transpose(0, 1)

        # shape: (batch_size,)
        numerator = self._compute_score(emissions, tags, mask)
        # shape: (batch_size,)
        denominator = self._compute_normalizer(emissions, mask)
        # shape: (batch_size,)
        llh = numerator - denominator

        if reduction == 'none':
            return llh
        if reduction == 'sum':
            return llh.sum()
        if reduction == 'mean':
            return llh.mean()
        assert reduction == 'token_mean'
        return llh.sum() / mask.float().sum()

    def decode(self, emissions: torch.Tensor,
               mask: Optional[torch.ByteTensor] = None) -> List[List[int]]:
        """Find the most likely tag sequence using Viterbi algorithm.

        Arguments
        ---------
        emissions : :class:`~torch.Tensor`
            Emission score tensor of size ``(seq_length, batch_size, num_tags)`` if
            ``batch_first`` is ``False``, ``(batch_size, seq_length, num_tags)`` otherwise.
        mask : :class:`~torch.ByteTensor`, optional
            Mask tensor of size ``(seq_length, batch_size)`` if ``batch_first`` is ``False``,
            ``(batch_size, seq_length)`` otherwise.

        Returns
        -------
        List[List[int]]
            List of list containing the best tag sequence for each batch.
        """
        self._validate(emissions, mask=mask)
        if mask is None:
            mask = emissions.new_ones(emissions.shape[:2], dtype=torch.uint8)

        if self.batch_first:
            emissions = emissions.transpose(0, 1)
            mask = mask.transpose(0, 1)

        return self._viterbi_decode(emissions, mask)

    def _validate(
            self,
            emissions: torch.Tensor,
            tags: Optional[torch.LongTensor] = None,
            mask: Optional[torch.ByteTensor] = None) -> None:
        if emissions.dim() != 3:
            raise ValueError(f'emissions must have dimension of 3, got {emissions.dim()}')
        if emissions.size(2) != self.num_tags:
            raise ValueError(
                f'expected last dimension of emissions is {self.num_tags}, '
                f'got {emissions.size(2)}')

        if tags is not None:
            if emissions.shape[:2] != tags.shape:
                raise ValueError(
                    'the first two dimensions of emissions and tags must match, '
                    f'got {tuple(emissions.shape[:2])} and {tuple(tags.shape)}')

        if mask is not None:
            if emissions.shape[:2] != mask.shape:
                raise ValueError(
                    'the first two dimensions of emissions and mask must match, '
                    f'got {tuple(emissions.shape[:2])} and {tuple(mask.shape)}')
            no_empty_seq = not self.batch_first and mask[0].all()
            no_empty_seq_bf = self.batch_first and mask[:, 0].all()
            if not no_empty_seq and not no_empty_seq_bf:
                raise ValueError('mask of the first timestep must all be on')

    def _compute_score(
            self, emissions: torch.Tensor, tags: torch.LongTensor,
            mask: torch.ByteTensor) -> torch.Tensor:
        # emissions: (seq_length, batch_size, num_tags)
        # tags: (seq_length, batch_size)
        # mask: (seq_length, batch_size)
        assert emissions.dim() == 3 and tags.dim() == 2
        assert emissions.shape[:2] == tags.shape
        assert emissions.size(2) == self.num_tags
        assert mask.shape == tags.shape
        assert mask[0].all()

        seq_length, batch_size = tags.shape
        mask = mask.float()

        # Start transition score and first emission
        # shape: (batch_size,)
        score = self.start_transitions[tags[0]]
        score += emissions[0, torch.arange(batch_size), tags[0]]

        for i in range(1, seq_length):
            # Transition score to next tag, only added if next timestep is valid (mask == 1)
            # shape: (batch_size,)
            score += self.transitions[tags[i - 1], tags[i]] * mask[i]

            # Emission score for next tag, only added if next timestep is valid (mask == 1)
            # shape: (batch_size,)
            score += emissions[i, torch.arange(batch_size), tags[i]] * mask[i]

        # End transition score
        # shape: (batch_size,)
        seq_ends = mask.long().sum(dim=0) - 1
        # shape: (batch_size,)
        last_tags = tags[seq_ends, torch.arange(batch_size)]
        # shape: (batch_size,)
        score += self.end_transitions[last_tags]

        return score

    def _compute_normalizer(
            self, emissions: torch.Tensor, mask: torch.ByteTensor) -> torch.Tensor:
        # emissions: (seq_length, batch_size, num_tags)
        # mask: (seq_length, batch_size)
        assert emissions.dim() == 3 and mask.dim() == 2
        assert emissions.shape[:2] == mask.shape
        assert emissions.size(2) == self.num_tags
        assert mask[0].all()

        seq_length = emissions.size(0)

        # Start transition score and first emission; score has size of
        # (batch_size, num_tags) where for each batch, the j-th column stores
        # the score that the first timestep has tag j
        # shape: (batch_size, num_tags)
        score = self.start_transitions + emissions[0]

        for i in range(1, seq_length):
            # Broadcast score for every possible next tag
            # shape: (batch_size, num_tags, 1)
            broadcast_score = score.unsqueeze(2)

            # Broadcast emission score for every possible current tag
            # shape: (batch_size, 1, num_tags)
            broadcast_emissions = emissions[i].unsqueeze(1)

            # Compute the score tensor of size (batch_size, num_tags, num_tags) where
            # for each sample, entry at row i and column j stores the sum of scores of all
            # possible tag sequences so far that end with transitioning from tag i to tag j
            # and emitting
            # shape: (batch_size, num_tags, num_tags)
            next_score = broadcast_score + self.transitions + broadcast_emissions

            # Sum over all possible current tags, but we're in score space, so a sum
            # becomes a log-sum-exp: for each sample, entry i stores the sum of scores of
            # all possible tag sequences so far, that end in tag i
            # shape: (batch_size, num_tags)
            next_score = torch.logsumexp(next_score, dim=1)

            # Set score to the next score if this timestep is valid (mask == 1)
            # shape: (batch_size, num_tags)
            score = torch.where(mask[i].unsqueeze(1), next_score, score)

        # End transition score
        # shape: (batch_size, num_tags)
        score += self.end_transitions

        # Sum (log-sum-exp) over all possible tags
        # shape: (batch_size,)
        return torch.logsumexp(score, dim=1)

    def _viterbi_decode(self, emissions: torch.FloatTensor,
                        mask: torch.ByteTensor) -> List[List[int]]:
        # emissions: (seq_length, batch_size, num_tags)
        # mask: (seq_length, batch_size)
        assert emissions.dim() == 3 and mask.dim() == 2
        assert emissions.shape[:2] == mask.shape
        assert emissions.size(2) == self.num_tags
        assert mask[0].all()

        seq_length, batch_size = mask.shape

        # Start transition and first emission
        # shape: (batch_size, num_tags)
        score = self.start_transitions + emissions[0]
        history = []

        # score is a tensor of size (batch_size, num_tags) where for every batch,
        # value at column j stores the score of the best tag sequence so far that ends
        # with tag j
        # history saves where the best tags candidate transitioned from; this is used
        # when we trace back the best tag sequence

        # Viterbi algorithm recursive case: we compute the score of the best tag sequence
        # for every possible next tag
        for i in range(1, seq_length):
            # Broadcast viterbi score for every possible next tag
            # shape: (batch_size, num_tags, 1)
            broadcast_score = score.unsqueeze(2)

            # Broadcast emission score for every possible current tag
            # shape: (batch_size, 1, num_tags)
            broadcast_emission = emissions[i].unsqueeze(1)

            # Compute the score tensor of size (batch_size, num_tags, num_tags) where
            # for each sample, entry at row i and column j stores the score of the best
            # tag sequence so far that ends with transitioning from tag i to tag j and emitting
            # shape: (batch_size, num_tags, num_tags)
            next_score = broadcast_score + self.transitions + broadcast_emission

            # Find the maximum score over all possible current tag
            # shape: (batch_size, num_tags)
            next_score, indices = next_score.max(dim=1)

            # Set score to the next score if this timestep is valid (mask == 1)
            # and save the index that produces the next score
            # shape: (batch_size, num_tags)
            score = torch.where(mask[i].unsqueeze(1), next_score, score)
            history.append(indices)

        # End transition score
        # shape: (batch_size, num_tags)
        score += self.end_transitions

        # Now, compute the best path for each sample

        # shape: (batch_size,)
        seq_ends = mask.long().sum(dim=0) - 1
        best_tags_list = []

        for idx in range(batch_size):
            # Find the tag which maximizes the score at the last timestep; this is our best tag
            # for the last timestep
            _, best_last_tag = score[idx].max(dim=0)
            best_tags = [best_last_tag.item()]

            # We trace back where the best last tag comes from, append that to our best tag
            # sequence, and trace it back again, and so on
            for hist in reversed(history[:seq_ends[idx]]):
                best_last_tag = hist[idx][best_tags[-1]]
                best_tags.append(best_last_tag.item())

            # Reverse the order because we start from the last timestep
            best_tags.reverse()
            best_tags_list.append(best_tags)

        return best_tags_list


def make_crf_case(batch_first=False, seed=2):
    torch.set_default_dtype(torch.float64)
    crf = CRF(3, batch_first=batch_first)
    rng = np.random.default_rng(seed)
    emissions = rng.normal(size=(4, 2, 3))                   # (seq_length, batch, num_tags)
    tags = rng.integers(0, 3, size=(4, 2))
    lengths = [4, 2]
    mask = np.array([[t < n for n in lengths] for t in range(4)])
    return crf, emissions, tags, lengths, mask


def crf_params(crf):
    return arr(crf.start_transitions), arr(crf.end_transitions), arr(crf.transitions)


@pytest.mark.parametrize("batch_first", [False, True])
def test_torchcrf_llh_and_decode_against_brute_force_with_a_bool_mask(batch_first):
    crf, emissions, tags, lengths, mask = make_crf_case(batch_first)
    start, end, trans = crf_params(crf)
    em, tg, mk = torch.tensor(emissions), torch.tensor(tags), torch.tensor(mask)
    if batch_first:
        em, tg, mk = em.transpose(0, 1), tg.transpose(0, 1), mk.transpose(0, 1)
    llh = arr(crf(em, tg, mask=mk, reduction='none'))
    decoded = crf.decode(em, mask=mk)
    expected = []
    for b in range(2):
        log_z, best, score = np_torchcrf(emissions[:, b], start, end, trans, lengths[b])
        expected.append(score(list(tags[:lengths[b], b])) - log_z)
        assert decoded[b] == best
    np.testing.assert_allclose(llh, expected, rtol=1e-10)
    np.testing.assert_allclose(crf(em, tg, mask=mk).item(), sum(expected), rtol=1e-10)
    np.testing.assert_allclose(crf(em, tg, mask=mk, reduction='mean').item(), np.mean(expected), rtol=1e-10)
    np.testing.assert_allclose(crf(em, tg, mask=mk, reduction='token_mean').item(), sum(expected) / 6, rtol=1e-10)
    with pytest.raises(ValueError, match="invalid reduction"):
        crf(em, tg, mask=mk, reduction='foo')
    with pytest.raises(ValueError, match="mask of the first timestep must all be on"):
        crf(em, tg, mask=torch.zeros_like(mk))


def test_torchcrf_gradients_against_central_differences():
    crf, emissions, tags, lengths, mask = make_crf_case()
    start, end, trans = crf_params(crf)
    em = torch.tensor(emissions, requires_grad=True)
    nll = -crf(em, torch.tensor(tags), mask=torch.tensor(mask))
    nll.backward()

    def f(emissions=emissions, start=start, end=end, trans=trans):
        total = 0.0
        for b in range(2):
            log_z, _, score = np_torchcrf(emissions[:, b], start, end, trans, lengths[b])
            total -= score(list(tags[:lengths[b], b])) - log_z
        return total

    idx = [(0, 0, 1), (1, 1, 2), (3, 0, 0), (3, 1, 1), (2, 1, 0)]     # (3, 1, ...) and (2, 1, ...) are masked
    np.testing.assert_allclose(np.asarray(em.grad)[tuple(np.array(idx).T)],
                               central(lambda v: f(emissions=v), emissions, idx), rtol=1e-6, atol=1e-10)
    assert np.asarray(em.grad)[2:, 1].max() == 0.0
    tidx = [(0, 1), (2, 2), (1, 0)]
    np.testing.assert_allclose(np.asarray(crf.transitions.grad)[tuple(np.array(tidx).T)],
                               central(lambda v: f(trans=v), trans, tidx), rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(np.asarray(crf.start_transitions.grad),
                               central(lambda v: f(start=v), start, [(0,), (1,), (2,)]), rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(np.asarray(crf.end_transitions.grad),
                               central(lambda v: f(end=v), end, [(0,), (1,), (2,)]), rtol=1e-6, atol=1e-10)


class BiLSTMTorchCRF(nn.Module):
    """The usual BiLSTM under torchcrf (written here: emissions from a BiLSTM and a Linear, loss -llh)."""

    def __init__(self, vocab, tags, emb=6, hidden=6):
        super().__init__()
        self.emb = nn.Embedding(vocab, emb)
        self.lstm = nn.LSTM(emb, hidden // 2, bidirectional=True, batch_first=True)
        self.fc = nn.Linear(hidden, tags)
        self.crf = CRF(tags, batch_first=True)

    def emissions(self, x):
        return self.fc(self.lstm(self.emb(x))[0])

    def loss(self, x, y, mask):
        return -self.crf(self.emissions(x), y, mask=mask, reduction='mean')


def test_torchcrf_on_a_bilstm_learns_a_tagging_rule():
    # tag = 1 where the word is a "name" (ids 5..7) and the previous word is "mr" (id 1), 2 for other names, else 0
    rng = np.random.default_rng(3)
    x = rng.integers(0, 8, size=(16, 6))
    x[:, 0] = np.where(x[:, 0] == 1, 0, x[:, 0])
    y = np.where(x >= 5, 2, 0)
    y[:, 1:] = np.where((x[:, 1:] >= 5) & (x[:, :-1] == 1), 1, y[:, 1:])
    lengths = rng.integers(3, 7, size=16)
    lengths[0] = 6
    mask = np.arange(6)[None, :] < lengths[:, None]
    model_ = BiLSTMTorchCRF(8, 3)
    opt = optim.Adam(model_.parameters(), lr=0.05)
    X, Y, M = torch.tensor(x), torch.tensor(y), torch.tensor(mask)
    losses = []
    for _ in range(40):
        opt.zero_grad()
        loss = model_.loss(X, Y, M)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.2 * losses[0]
    with torch.no_grad():
        decoded = model_.crf.decode(model_.emissions(X), mask=M)
    right = sum(int(d == list(y[b, :lengths[b]])) for b, d in enumerate(decoded))
    assert [len(d) for d in decoded] == list(lengths)
    assert right >= 14


def test_gap_torchcrf_default_uint8_mask():
    crf, emissions, tags, lengths, mask = make_crf_case()
    start, end, trans = crf_params(crf)
    em = torch.tensor(emissions)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # PyTorch: "where received a uint8 condition tensor ..." once
        llh = arr(crf(em, torch.tensor(tags), reduction='none'))
        decoded = crf.decode(em)
    for b in range(2):
        log_z, best, score = np_torchcrf(emissions[:, b], start, end, trans, 4)
        np.testing.assert_allclose(llh[b], score(list(tags[:, b])) - log_z, rtol=1e-10)
        assert decoded[b] == best


def test_gap_where_uint8_condition():
    cond = torch.tensor([1, 0, 2], dtype=torch.uint8)
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.warns(UserWarning, match="uint8 condition"):
        y = torch.where(cond, x, torch.zeros(3))
    assert y.tolist() == [1.0, 0.0, 3.0]
    y.sum().backward()
    assert np.asarray(x.grad).tolist() == [1.0, 0.0, 1.0]
    with pytest.raises(TypeError):
        torch.where(torch.tensor([1, 0, 2]), x, x)          # int64: refused in PyTorch too


# ==== 3. Maghoumi/pytorch-softdtw-cuda soft_dtw_cuda.py, the CPU implementation (as written, imports changed) ==

def jit(nopython=True):  # differs: numba's `from numba import jit` is not installed: the function runs as Python
    return lambda function: function


# ----------------------------------------------------------------------------------------------------------------------
#
# The following is the CPU implementation based on https://github.com/Sleepwalking/pytorch-softdtw
# Credit goes to Kanru Hua.
# I've added support for batching and pruning.
#
# ----------------------------------------------------------------------------------------------------------------------
@jit(nopython=True)
def compute_softdtw(D, gamma, bandwidth):
    B = D.shape[0]
    N = D.shape[1]
    M = D.shape[2]
    R = np.ones((B, N + 2, M + 2)) * np.inf
    R[:, 0, 0] = 0
    for b in range(B):
        for j in range(1, M + 1):
            for i in range(1, N + 1):

                # Check the pruning condition
                if 0 < bandwidth < np.abs(i - j):
                    continue

                r0 = -R[b, i - 1, j - 1] / gamma
                r1 = -R[b, i - 1, j] / gamma
                r2 = -R[b, i, j - 1] / gamma
                rmax = max(max(r0, r1), r2)
                rsum = np.exp(r0 - rmax) + np.exp(r1 - rmax) + np.exp(r2 - rmax)
                softmin = - gamma * (np.log(rsum) + rmax)
                R[b, i, j] = D[b, i - 1, j - 1] + softmin
    return R

# ----------------------------------------------------------------------------------------------------------------------
@jit(nopython=True)
def compute_softdtw_backward(D_, R, gamma, bandwidth):
    B = D_.shape[0]
    N = D_.shape[1]
    M = D_.shape[2]
    D = np.zeros((B, N + 2, M + 2))
    E = np.zeros((B, N + 2, M + 2))
    D[:, 1:N + 1, 1:M + 1] = D_
    E[:, -1, -1] = 1
    R[:, :, -1] = -np.inf
    R[:, -1, :] = -np.inf
    R[:, -1, -1] = R[:, -2, -2]
    for k in range(B):
        for j in range(M, 0, -1):
            for i in range(N, 0, -1):

                if np.isinf(R[k, i, j]):
                    R[k, i, j] = -np.inf

                # Check the pruning condition
                if 0 < bandwidth < np.abs(i - j):
                    continue

                a0 = (R[k, i + 1, j] - R[k, i, j] - D[k, i + 1, j]) / gamma
                b0 = (R[k, i, j + 1] - R[k, i, j] - D[k, i, j + 1]) / gamma
                c0 = (R[k, i + 1, j + 1] - R[k, i, j] - D[k, i + 1, j + 1]) / gamma
                a = np.exp(a0)
                b = np.exp(b0)
                c = np.exp(c0)
                E[k, i, j] = E[k, i + 1, j] * a + E[k, i, j + 1] * b + E[k, i + 1, j + 1] * c
    return E[:, 1:N + 1, 1:M + 1]

# ----------------------------------------------------------------------------------------------------------------------
class _SoftDTW(Function):
    """
    CPU implementation based on https://github.com/Sleepwalking/pytorch-softdtw
    """

    @staticmethod
    def forward(ctx, D, gamma, bandwidth):
        dev = D.device
        dtype = D.dtype
        gamma = torch.Tensor([gamma]).to(dev).type(dtype)  # dtype fixed
        bandwidth = torch.Tensor([bandwidth]).to(dev).type(dtype)
        D_ = D.detach().cpu().numpy()
        g_ = gamma.item()
        b_ = bandwidth.item()
        R = torch.Tensor(compute_softdtw(D_, g_, b_)).to(dev).type(dtype)
        ctx.save_for_backward(D, R, gamma, bandwidth)
        return R[:, -2, -2]

    @staticmethod
    def backward(ctx, grad_output):
        dev = grad_output.device
        dtype = grad_output.dtype
        D, R, gamma, bandwidth = ctx.saved_tensors
        D_ = D.detach().cpu().numpy()
        R_ = R.detach().cpu().numpy().copy()  # differs: `.numpy()` is read-only here and the backward writes R
        g_ = gamma.item()
        b_ = bandwidth.item()
        E = torch.Tensor(compute_softdtw_backward(D_, R_, g_, b_)).to(dev).type(dtype)
        return grad_output.view(-1, 1, 1).expand_as(E) * E, None, None

# ----------------------------------------------------------------------------------------------------------------------
class SoftDTW(torch.nn.Module):
    """
    The soft DTW implementation that optionally supports CUDA
    """

    def __init__(self, use_cuda, gamma=1.0, normalize=False, bandwidth=None):
        """
        Initializes a new instance using the supplied parameters
        :param use_cuda: Flag indicating whether the CUDA implementation should be used
        :param gamma: sDTW's gamma parameter
        :param normalize: Flag indicating whether to perform normalization
                          (as discussed in https://github.com/mblondel/soft-dtw/issues/10#issuecomment-383564790)
        :param bandwidth: Sakoe-Chiba bandwidth for pruning. Passing 'None' will disable pruning.
        """
        super(SoftDTW, self).__init__()
        self.normalize = normalize
        self.gamma = gamma
        self.bandwidth = 0 if bandwidth is None else float(bandwidth)
        self.use_cuda = use_cuda

    def _get_func_dtw(self, x, y):
        """
        Checks the inputs and selects the proper implementation to use.
        """
        bx, lx, dx = x.shape
        by, ly, dy = y.shape
        # Make sure the dimensions match
        assert bx == by  # Equal batch sizes
        assert dx == dy  # Equal feature dimensions

        use_cuda = self.use_cuda

        if use_cuda:
            if lx != ly:  # The length of the sequences must be equal
                print("SoftDTW: Cannot use CUDA because the length of the two sequences differ")
                use_cuda = False
            elif lx > 1024:  # We should be able to spawn enough threads in CUDA
                print("SoftDTW: Cannot use CUDA because the sequence length > 1024 "
                      "(the maximum block size supported by CUDA)")  # (one string, wrapped to 120 columns here)
                use_cuda = False

        # Finally, return the correct function
        return _SoftDTWCUDA.apply if use_cuda else _SoftDTW.apply

    def _calc_distance_matrix(self, x, y):
        """
        Calculates the Euclidean distance between each element in x and y per timestep
        """
        n = x.size(1)
        m = y.size(1)
        d = x.size(2)
        x = x.unsqueeze(2).expand(-1, n, m, d)
        y = y.unsqueeze(1).expand(-1, n, m, d)
        return torch.pow(x - y, 2).sum(3)

    def forward(self, X, Y):
        """
        Compute the soft-DTW value between X and Y
        :param X: One batch of examples, batch_size x seq_len x dims
        :param Y: The other batch of examples, batch_size x seq_len x dims
        :return: The computed results
        """

        # Check the inputs and get the correct implementation
        func_dtw = self._get_func_dtw(X, Y)

        if self.normalize:
            # Stack everything up and run
            x = torch.cat([X, X, Y])
            y = torch.cat([Y, X, Y])
            D = self._calc_distance_matrix(x, y)
            out = func_dtw(D, self.gamma, self.bandwidth)
            out_xy, out_xx, out_yy = torch.split(out, X.shape[0])
            return out_xy - 1 / 2 * (out_xx + out_yy)
        else:
            D_xy = self._calc_distance_matrix(X, Y)
            return func_dtw(D_xy, self.gamma, self.bandwidth)

# ----------------------------------------------------------------------------------------------------------------------
def timed_run(a, b, sdtw):
    """
    Runs a and b through sdtw, and times the forward and backward passes.
    Assumes that a requires gradients.
    :return: timing, forward result, backward result
    """
    from timeit import default_timer as timer

    # Forward
    start = timer()
    forward = sdtw(a, b)
    end = timer()
    t = end - start

    grad_outputs = torch.ones_like(forward)

    # Backward
    start = timer()
    grads = torch.autograd.grad(forward, a, grad_outputs=grad_outputs)[0]
    end = timer()

    # Total time
    t += end - start

    return t, forward, grads


_SoftDTWCUDA = None   # differs: the CUDA kernels need numba.cuda and a GPU; `use_cuda=False` never reaches them


@pytest.mark.parametrize("bandwidth", [None, 1])
def test_softdtw_value_and_gradient_against_all_alignment_paths(bandwidth):
    torch.set_default_dtype(torch.float64)
    rng = np.random.default_rng(4)
    x_np, y_np = rng.normal(size=(2, 4, 2)), rng.normal(size=(2, 3, 2))
    sdtw = SoftDTW(False, gamma=0.5, bandwidth=bandwidth)
    a = torch.tensor(x_np, requires_grad=True)
    t, forward, grads = timed_run(a, torch.tensor(y_np), sdtw)
    assert t >= 0 and forward.shape == (2,)
    band = 0 if bandwidth is None else bandwidth
    expected = [np_soft_dtw(x_np[b], y_np[b], 0.5, band) for b in range(2)]
    np.testing.assert_allclose(arr(forward), expected, rtol=1e-10)
    idx = [(0, 0, 0), (0, 3, 1), (1, 2, 0), (1, 1, 1)]

    def f(v):
        return sum(np_soft_dtw(v[b], y_np[b], 0.5, band) for b in range(2))

    np.testing.assert_allclose(arr(grads)[tuple(np.array(idx).T)], central(f, x_np, idx), rtol=1e-6, atol=1e-10)


def test_softdtw_small_gamma_tends_to_dtw_and_normalize_is_zero_on_itself():
    torch.set_default_dtype(torch.float64)
    rng = np.random.default_rng(5)
    x_np, y_np = rng.normal(size=(1, 4, 1)), rng.normal(size=(1, 4, 1))
    d = (x_np[0] - y_np[0].T) ** 2
    dtw = min(sum(d[i, j] for i, j in p) for p in np_alignment_paths(4, 4))
    value = SoftDTW(False, gamma=1e-3)(torch.tensor(x_np), torch.tensor(y_np)).item()
    assert abs(value - dtw) < 1e-2
    norm = SoftDTW(False, gamma=1.0, normalize=True)
    same = norm(torch.tensor(x_np), torch.tensor(x_np)).item()
    assert abs(same) < 1e-12
    full = norm(torch.tensor(x_np), torch.tensor(y_np)).item()
    expected = (np_soft_dtw(x_np[0], y_np[0], 1.0) - 0.5 * (np_soft_dtw(x_np[0], x_np[0], 1.0)
                                                           + np_soft_dtw(y_np[0], y_np[0], 1.0)))
    np.testing.assert_allclose(full, expected, rtol=1e-10)


def test_softdtw_trains_a_gru_to_a_shifted_wave():
    # a GRU reads a sine and is trained with soft-DTW to output the same wave, where a time shift costs little
    t = np.linspace(0, 2 * np.pi, 10)
    x = torch.tensor(np.stack([np.sin(t + s) for s in (0.0, 0.5, 1.0, 1.5)])[:, :, None], dtype=torch.float32)
    target = torch.tensor(np.stack([np.sin(t + s + 0.3) for s in (0.0, 0.5, 1.0, 1.5)])[:, :, None],
                          dtype=torch.float32)
    gru, head = nn.GRU(1, 8, batch_first=True), nn.Linear(8, 1)
    sdtw = SoftDTW(use_cuda=False, gamma=0.1)
    opt = optim.Adam(list(gru.parameters()) + list(head.parameters()), lr=0.03)
    losses = []
    for _ in range(30):
        opt.zero_grad()
        loss = sdtw(head(gru(x)[0]), target).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0]


# ==== 4. ast0414/pointer-networks-pytorch model.py (as written, imports changed; its tabs are spaces
# and its three lines past 120 columns are wrapped) ===============

# Adopted from allennlp (https://github.com/allenai/allennlp/blob/master/allennlp/nn/util.py)
def masked_log_softmax(vector: torch.Tensor, mask: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """
    ``torch.nn.functional.log_softmax(vector)`` does not work if some elements of ``vector`` should be
    masked.  This performs a log_softmax on just the non-masked portions of ``vector``.  Passing
    ``None`` in for the mask is also acceptable; you'll just get a regular log_softmax.
    ``vector`` can have an arbitrary number of dimensions; the only requirement is that ``mask`` is
    broadcastable to ``vector's`` shape.  If ``mask`` has fewer dimensions than ``vector``, we will
    unsqueeze on dimension 1 until they match.  If you need a different unsqueezing of your mask,
    do it yourself before passing the mask into this function.
    In the case that the input vector is completely masked, the return value of this function is
    arbitrary, but not ``nan``.  You should be masking the result of whatever computation comes out
    of this in that case, anyway, so the specific values returned shouldn't matter.  Also, the way
    that we deal with this case relies on having single-precision floats; mixing half-precision
    floats with fully-masked vectors will likely give you ``nans``.
    If your logits are all extremely negative (i.e., the max value in your logit vector is -50 or
    lower), the way we handle masking here could mess you up.  But if you've got logit values that
    extreme, you've got bigger problems than this.
    """
    if mask is not None:
        mask = mask.float()
        while mask.dim() < vector.dim():
            mask = mask.unsqueeze(1)
        # vector + mask.log() is an easy way to zero out masked elements in logspace, but it
        # results in nans when the whole vector is masked.  We need a very small value instead of a
        # zero in the mask for these cases.  log(1 + 1e-45) is still basically 0, so we can safely
        # just add 1e-45 before calling mask.log().  We use 1e-45 because 1e-46 is so small it
        # becomes 0 - this is just the smallest value we can actually use.
        vector = vector + (mask + 1e-45).log()
    return torch.nn.functional.log_softmax(vector, dim=dim)


# Adopted from allennlp (https://github.com/allenai/allennlp/blob/master/allennlp/nn/util.py)
def masked_max(vector: torch.Tensor,
               mask: torch.Tensor,
               dim: int,
               keepdim: bool = False,
               min_val: float = -1e7) -> (torch.Tensor, torch.Tensor):
    """
    To calculate max along certain dimensions on masked values
    Parameters
    ----------
    vector : ``torch.Tensor``
        The vector to calculate max, assume unmasked parts are already zeros
    mask : ``torch.Tensor``
        The mask of the vector. It must be broadcastable with vector.
    dim : ``int``
        The dimension to calculate max
    keepdim : ``bool``
        Whether to keep dimension
    min_val : ``float``
        The minimal value for paddings
    Returns
    -------
    A ``torch.Tensor`` of including the maximum values.
    """
    one_minus_mask = (1.0 - mask).bool()  # differs: `.byte()`: masked_fill refuses uint8, as current PyTorch does
    replaced_vector = vector.masked_fill(one_minus_mask, min_val)
    max_value, max_index = replaced_vector.max(dim=dim, keepdim=keepdim)
    return max_value, max_index


class Encoder(nn.Module):
    def __init__(self, embedding_dim, hidden_size, num_layers=1, batch_first=True, bidirectional=True):
        super(Encoder, self).__init__()

        self.batch_first = batch_first
        self.rnn = nn.LSTM(input_size=embedding_dim, hidden_size=hidden_size, num_layers=num_layers,
                           batch_first=batch_first, bidirectional=bidirectional)

    def forward(self, embedded_inputs, input_lengths):
        # Pack padded batch of sequences for RNN module
        packed = nn.utils.rnn.pack_padded_sequence(embedded_inputs, input_lengths, batch_first=self.batch_first)
        # Forward pass through RNN
        outputs, hidden = self.rnn(packed)
        # Unpack padding
        outputs, _ = nn.utils.rnn.pad_packed_sequence(outputs, batch_first=self.batch_first)
        # Return output and final hidden state
        return outputs, hidden


class Attention(nn.Module):
    def __init__(self, hidden_size, use_cuda=False):
        super(Attention, self).__init__()
        self.hidden_size = hidden_size
        self.W1 = nn.Conv1d(hidden_size, hidden_size, 1, 1)
        self.W2 = nn.Linear(hidden_size, hidden_size, bias=False)
        self.V = nn.Parameter(torch.FloatTensor(hidden_size))

    def forward(self, decoder_state, encoder_outputs, mask):
        encoder_outputs = encoder_outputs.permute(0, 2, 1)  # (batch_size, hidden_size, max_seq_len)
        encoder_transform = self.W1(encoder_outputs)
        decoder_transform = self.W2(decoder_state).unsqueeze(2)  # (batch_size, hidden_size, 1 (unsqueezed))
        decoder_transform = decoder_transform.repeat(1, 1, encoder_outputs.size(2))
        # (batch_size, hidden_size, max_seq_len)
        # 1st line of Eq.(3) in the paper
        # (batch_size, max_seq_len, 1) => (batch_size, max_seq_len)
        V = self.V.unsqueeze(0).unsqueeze(0).repeat(encoder_outputs.size(0), 1, 1)
        u_i = torch.bmm(V, torch.tanh(encoder_transform + decoder_transform)).squeeze(1)
        # softmax with only valid inputs, excluding zero padded parts
        # log-softmax for a better numerical stability
        log_score = masked_log_softmax(u_i, mask, dim=-1)
        return log_score


class PointerNet(nn.Module):
    def __init__(self, input_dim, embedding_dim, hidden_size, bidirectional=True, batch_first=True):
        super(PointerNet, self).__init__()

        # Embedding dimension
        self.embedding_dim = embedding_dim
        # (Decoder) hidden size
        self.hidden_size = hidden_size
        # Bidirectional Encoder
        self.bidirectional = bidirectional
        self.num_directions = 2 if bidirectional else 1
        self.num_layers = 1
        self.batch_first = batch_first

        # We use an embedding layer for more complicate application usages later, e.g., word sequences.
        self.embedding = nn.Linear(in_features=input_dim, out_features=embedding_dim, bias=False)
        self.encoder = Encoder(embedding_dim=embedding_dim, hidden_size=hidden_size, num_layers=self.num_layers,
                               bidirectional=bidirectional, batch_first=batch_first)
        self.decoding_rnn = nn.LSTMCell(input_size=hidden_size, hidden_size=hidden_size)
        self.attn = Attention(hidden_size=hidden_size)

        for m in self.modules():
            if isinstance(m, nn.Linear):
                if m.bias is not None:
                    torch.nn.init.zeros_(m.bias)

    def forward(self, input_seq, input_lengths):

        if self.batch_first:
            batch_size = input_seq.size(0)
            max_seq_len = input_seq.size(1)
        else:
            batch_size = input_seq.size(1)
            max_seq_len = input_seq.size(0)

        # Embedding
        embedded = self.embedding(input_seq)
        # (batch_size, max_seq_len, embedding_dim)

        # encoder_output => (batch_size, max_seq_len, hidden_size) if batch_first
        #                   else (max_seq_len, batch_size, hidden_size)
        # hidden_size is usually set same as embedding size
        # encoder_hidden => (num_layers * num_directions, batch_size, hidden_size) for each of h_n and c_n
        encoder_outputs, encoder_hidden = self.encoder(embedded, input_lengths)

        if self.bidirectional:
            # Optionally, Sum bidirectional RNN outputs
            encoder_outputs = encoder_outputs[:, :, :self.hidden_size] + encoder_outputs[:, :, self.hidden_size:]

        encoder_h_n, encoder_c_n = encoder_hidden
        encoder_h_n = encoder_h_n.view(self.num_layers, self.num_directions, batch_size, self.hidden_size)
        encoder_c_n = encoder_c_n.view(self.num_layers, self.num_directions, batch_size, self.hidden_size)

        # Lets use zeros as an intial input for sorting example
        decoder_input = encoder_outputs.new_zeros(torch.Size((batch_size, self.hidden_size)))
        decoder_hidden = (encoder_h_n[-1, 0, :, :].squeeze(), encoder_c_n[-1, 0, :, :].squeeze())

        range_tensor = torch.arange(max_seq_len, device=input_lengths.device,
                                    dtype=input_lengths.dtype).expand(batch_size, max_seq_len, max_seq_len)
        each_len_tensor = input_lengths.view(-1, 1, 1).expand(batch_size, max_seq_len, max_seq_len)

        row_mask_tensor = (range_tensor < each_len_tensor)
        col_mask_tensor = row_mask_tensor.transpose(1, 2)
        mask_tensor = row_mask_tensor * col_mask_tensor

        pointer_log_scores = []
        pointer_argmaxs = []

        for i in range(max_seq_len):
            # We will simply mask out when calculating attention or max (and loss later)
            # not all input and hiddens, just for simplicity
            sub_mask = mask_tensor[:, i, :].float()

            # h, c: (batch_size, hidden_size)
            h_i, c_i = self.decoding_rnn(decoder_input, decoder_hidden)

            # next hidden
            decoder_hidden = (h_i, c_i)

            # Get a pointer distribution over the encoder outputs using attention
            # (batch_size, max_seq_len)
            log_pointer_score = self.attn(h_i, encoder_outputs, sub_mask)
            pointer_log_scores.append(log_pointer_score)

            # Get the indices of maximum pointer
            _, masked_argmax = masked_max(log_pointer_score, sub_mask, dim=1, keepdim=True)

            pointer_argmaxs.append(masked_argmax)
            index_tensor = masked_argmax.unsqueeze(-1).expand(batch_size, 1, self.hidden_size)

            # (batch_size, hidden_size)
            decoder_input = torch.gather(encoder_outputs, dim=1, index=index_tensor).squeeze(1)

        pointer_log_scores = torch.stack(pointer_log_scores, 1)
        pointer_argmaxs = torch.cat(pointer_argmaxs, 1)

        return pointer_log_scores, pointer_argmaxs, mask_tensor


def np_pointer_net(p, x, lengths):
    """ast0414's PointerNet in numpy: returns the (B, L, L) log scores and the (B, L) argmaxes."""
    hidden = p["decoding_rnn.weight_hh"].shape[1]
    emb = x @ p["embedding.weight"].T
    out, (h_n, c_n) = np_bilstm(p, emb, lengths, prefix="encoder.rnn.")
    enc = out[:, :, :hidden] + out[:, :, hidden:]
    batch, steps = x.shape[:2]
    dec_in, h, c = np.zeros((batch, hidden)), h_n[0], c_n[0]
    valid = (np.arange(steps)[None, :] < np.array(lengths)[:, None]).astype(np.float64)
    enc_t = enc @ p["attn.W1.weight"][:, :, 0].T + p["attn.W1.bias"]          # (B, L, H)
    scores, argmaxes = [], []
    for i in range(steps):
        h, c = np_lstm_cell(dec_in, h, c, p["decoding_rnn.weight_ih"], p["decoding_rnn.weight_hh"],
                            p["decoding_rnn.bias_ih"], p["decoding_rnn.bias_hh"])
        sub = valid * valid[:, i:i + 1]
        u = np.tanh(enc_t + (h @ p["attn.W2.weight"].T)[:, None, :]) @ p["attn.V"]
        v = u + np.log(sub.astype(np.float32) + np.float32(1e-45))   # `mask.float()`: float32, 1e-45 a subnormal
        logp = v - np_logsumexp(v, axis=1)[:, None]
        pick = np.argmax(np.where(sub > 0, logp, -1e7), axis=1)
        scores.append(logp)
        argmaxes.append(pick)
        dec_in = enc[np.arange(batch), pick]
    return np.stack(scores, 1), np.stack(argmaxes, 1)


def make_pointer_case():
    torch.set_default_dtype(torch.float64)
    net = PointerNet(input_dim=1, embedding_dim=4, hidden_size=4)
    nn.init.uniform_(net.attn.V, -1, 1)
    rng = np.random.default_rng(6)
    x = rng.uniform(size=(3, 4, 1))
    lengths = [4, 3, 2]
    for b, n in enumerate(lengths):
        x[b, n:] = 0.0
    return net, x, lengths


def test_pointer_net_runs_as_written_against_numpy():
    net, x, lengths = make_pointer_case()
    log_scores, argmaxs, mask_tensor = net(torch.tensor(x), torch.tensor(lengths))
    p = {k: arr(v) for k, v in net.state_dict().items()}
    expected_scores, expected_argmaxes = np_pointer_net(p, x, lengths)
    np.testing.assert_allclose(arr(log_scores), expected_scores, rtol=1e-9, atol=1e-9)
    assert argmaxs.tolist() == expected_argmaxes.tolist()
    assert mask_tensor.dtype == torch.bool and mask_tensor[1].tolist() == [
        [True, True, True, False], [True, True, True, False], [True, True, True, False], [False] * 4]
    # each valid row is a distribution over the valid positions (the padding gets ~e^-103)
    probs = np.exp(arr(log_scores))
    np.testing.assert_allclose(probs.sum(-1), 1.0, rtol=1e-12)
    assert probs[2, :2, 2:].max() < 1e-40


def nll_pointer(log_scores, targets, mask_tensor):
    """The training loss written here: -log p(target pointer) over the valid decoding steps."""
    picked = log_scores.gather(2, targets.unsqueeze(-1)).squeeze(-1)          # (B, L)
    valid = mask_tensor[:, :, 0].float()
    return -(picked * valid).sum() / valid.sum()


def test_pointer_net_gradients_against_numpy_central_differences():
    net, x, lengths = make_pointer_case()
    targets = np.array([[np.argsort(x[b, :n, 0]).tolist() + [0] * (4 - n)][0] for b, n in enumerate(lengths)])
    log_scores, _, mask_tensor = net(torch.tensor(x), torch.tensor(lengths))
    loss = nll_pointer(log_scores, torch.tensor(targets), mask_tensor)
    loss.backward()
    p = {k: arr(v) for k, v in net.state_dict().items()}
    valid = np.arange(4)[None, :] < np.array(lengths)[:, None]

    def f_of(name):
        def f(v):
            q = dict(p)
            q[name] = v
            s, _ = np_pointer_net(q, x, lengths)
            picked = np.take_along_axis(s, targets[:, :, None], 2)[:, :, 0]
            return -(picked * valid).sum() / valid.sum()
        return f

    params = dict(net.named_parameters())
    for name in ("attn.V", "attn.W2.weight", "attn.W1.weight", "decoding_rnn.weight_hh", "encoder.rnn.weight_ih_l0",
                 "embedding.weight"):
        idx = some_indices(p[name].shape, 3, seed=len(name))
        got = np.array([np.asarray(params[name].grad)[i] for i in idx])
        np.testing.assert_allclose(got, central(f_of(name), p[name], idx), rtol=1e-5, atol=1e-9)


def test_pointer_net_learns_to_sort():
    net = PointerNet(input_dim=1, embedding_dim=8, hidden_size=8)
    nn.init.uniform_(net.attn.V, -1, 1)
    opt = optim.Adam(net.parameters(), lr=0.02)
    rng = np.random.default_rng(8)
    lengths = torch.tensor([5] * 16)
    losses = []
    for step in range(40):
        x = rng.uniform(size=(16, 5, 1)).astype(np.float32)
        targets = torch.tensor(np.argsort(x[:, :, 0], axis=1))
        log_scores, argmaxs, mask_tensor = net(torch.tensor(x), lengths)
        loss = nll_pointer(log_scores, targets, mask_tensor)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert np.mean(losses[-5:]) < 0.75 * np.mean(losses[:5])


# ==== 5. sarcDV/Miscellaneous Hidden-Markov-model.py (as written, imports changed) ============================

class HMM(nn.Module):
    def __init__(self, num_states, num_obs):
        super(HMM, self).__init__()
        self.num_states = num_states
        self.num_obs = num_obs
        self.A = nn.Parameter(torch.randn(num_states, num_states))
        self.B = nn.Parameter(torch.randn(num_states, num_obs))
        self.pi = nn.Parameter(torch.randn(num_states))

    def forward(self, obs):
        alpha = self.pi * self.B[:, obs[0]]
        for t in range(1, len(obs)):
            alpha = torch.matmul(alpha.unsqueeze(0), self.A) * self.B[:, obs[t]]
        return alpha.sum()


def hmm_example():
    """The script's example, as written (its print kept as the return value)."""
    # Esempio di utilizzo
    model = HMM(num_states=3, num_obs=2)
    obs = torch.tensor([0, 1, 0, 1])
    log_prob = model(obs)
    return model, obs, log_prob


def np_hmm_brute_force(pi, A, B, obs):
    total = 0.0
    for states in itertools.product(range(len(pi)), repeat=len(obs)):
        term = pi[states[0]] * B[states[0], obs[0]]
        for t in range(1, len(obs)):
            term *= A[states[t - 1], states[t]] * B[states[t], obs[t]]
        total += term
    return total


def test_hmm_forward_against_every_state_path_and_its_gradients():
    torch.set_default_dtype(torch.float64)
    hmm, obs, log_prob = hmm_example()
    pi, A, B, o = arr(hmm.pi), arr(hmm.A), arr(hmm.B), obs.tolist()
    assert log_prob.shape == ()
    np.testing.assert_allclose(log_prob.item(), np_hmm_brute_force(pi, A, B, o), rtol=1e-10)
    log_prob.backward()
    for name, value in (("A", A), ("B", B), ("pi", pi)):
        idx = list(np.ndindex(value.shape))

        def f(v, name=name):
            args = {"A": A, "B": B, "pi": pi}
            args[name] = v
            return np_hmm_brute_force(args["pi"], args["A"], args["B"], o)

        got = np.asarray(getattr(hmm, name).grad)[tuple(np.array(idx).T)]
        np.testing.assert_allclose(got, central(f, value, idx), rtol=1e-6, atol=1e-9)


def test_hmm_fit_raises_the_likelihood_of_a_sequence():
    # with probabilities for A, B and pi, the forward value is p(obs): gradient steps on -log p raise it
    hmm = HMM(num_states=2, num_obs=2)
    with torch.no_grad():
        hmm.A.copy_(torch.tensor([[0.6, 0.4], [0.3, 0.7]]))
        hmm.B.copy_(torch.tensor([[0.5, 0.5], [0.4, 0.6]]))
        hmm.pi.copy_(torch.tensor([0.5, 0.5]))
    obs = torch.tensor([0, 0, 1, 1, 0, 0, 1, 1])
    pi, A, B = arr(hmm.pi), arr(hmm.A), arr(hmm.B)
    before = np_hmm_brute_force(pi, A, B, obs.tolist())
    opt = optim.SGD(hmm.parameters(), lr=0.01)
    for _ in range(5):
        opt.zero_grad()
        loss = -torch.log(hmm(obs))
        loss.backward()
        opt.step()
    after = np_hmm_brute_force(arr(hmm.pi), arr(hmm.A), arr(hmm.B), obs.tolist())
    np.testing.assert_allclose(hmm(obs).item(), after, rtol=1e-5)
    assert after > before
