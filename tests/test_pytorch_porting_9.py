"""Porting, round 9: Andrej Karpathy's two character-level language-model codes, each with only its
imports changed and its data made synthetic and small. The ports are written as the sources are, so a
test fails while a gap it meets is open; the tests at the end of this file pin PyTorch's behaviour for
each gap the round found (G1: `torch.tril`; G2: `torch.roll`; G3: `nn.LayerNorm`; G4:
`Module.zero_grad(set_to_none=...)`; G5: `DataLoader(pin_memory=True)` on a CPU; G6: a
`RandomSampler(replacement=True, num_samples=int(1e10))` drawn as it is iterated; G7:
`DataLoader(num_workers=4)`; G8: the module `torch.utils.data.dataloader`):

1. karpathy/makemore, makemore.py (read at commit f61811b9, the revision with `ModelConfig` and the
   six model types): the
   `Transformer` (`NewGELU`, `CausalSelfAttention` with a `torch.tril` mask kept by `register_buffer`
   and `masked_fill(..., float('-inf'))`, `Block` with `nn.LayerNorm` and an `nn.ModuleDict` MLP, an
   `nn.ModuleList` of blocks), the bag-of-words `BoW`, the `RNN` with its hand-written `RNNCell` and
   `GRUCell`, the Bengio `MLP` (`torch.roll`), the `Bigram` table; `generate` (top-k), `print_samples`,
   `evaluate` (`torch.inference_mode`), `CharDataset`, `create_datasets`, `InfiniteDataLoader`
   (`RandomSampler` with replacement and `num_samples`), and the `__main__` block: argparse, AdamW,
   the training loop. Run on a made-up names file.
2. karpathy/ng-video-lecture ("Let's build GPT: from scratch, in code, spelled out"), bigram.py (at
   commit f88e1bd7) and gpt.py (at 4c8e9028, the `GPTLanguageModel` with `_init_weights`): `get_batch` by `torch.randint`/`torch.stack`, `@torch.no_grad()` `estimate_loss` between
   `model.eval()` and `model.train()`, the bigram lookup table, and `Head`, `MultiHeadAttention`,
   `FeedFoward`, `Block` (`nn.LayerNorm`, `nn.Dropout`), position embeddings of `torch.arange`,
   `_init_weights` by `self.apply`, AdamW, `generate` by `torch.multinomial` and `torch.cat`. Each
   script's module body is a function of its text (its `input.txt`); the tests read what it prints.

Each test checks behaviour against a bound from its task, computed in closed form or with numpy: the
entropy of uniform guessing (log of the vocabulary size), the best any bigram model can do (the
conditional entropy of the next character given the previous one), the made-up language's own rules
(the generated names and text use only its characters and follow its rules), never against the
library's own earlier output. No PyTorch needed."""

import argparse
import collections
import math
import os
import re
import sys
import time
from dataclasses import dataclass
from typing import List

import numpy as np
import pytest

import microgradseq as torch
import microgradseq.nn as nn
from microgradseq.nn import functional as F
from microgradseq.utils.data import Dataset
from microgradseq.utils.data.dataloader import DataLoader      # (makemore's import, G8)


class SummaryWriter:  # differs: `from torch.utils.tensorboard import SummaryWriter`; no TensorBoard here
    def __init__(self, log_dir=None):
        self.log_dir = log_dir

    def add_scalar(self, tag, scalar_value, global_step=None):
        pass

    def flush(self):
        pass


# ---- 1. karpathy/makemore: makemore.py -----------------------------------------------------------

@dataclass
class ModelConfig:
    block_size: int = None # length of the input sequences of integers
    vocab_size: int = None # the input integers are in range [0 .. vocab_size -1]
    # parameters below control the sizes of each model slightly differently
    n_layer: int = 4
    n_embd: int = 64
    n_embd2: int = 64
    n_head: int = 4

# -----------------------------------------------------------------------------
# Transformer Language Model (*exactly* as used in GPT-2)

class NewGELU(nn.Module):
    """
    Implementation of the GELU activation function currently in Google BERT repo (identical to OpenAI GPT).
    Reference: Gaussian Error Linear Units (GELU) paper: https://arxiv.org/abs/1606.08415
    """
    def forward(self, x):
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))

class CausalSelfAttention(nn.Module):
    """
    A vanilla multi-head masked self-attention layer with a projection at the end.
    It is possible to use torch.nn.MultiheadAttention here but I am including an
    explicit implementation here to show that there is nothing too scary here.
    """

    def __init__(self, config):
        super().__init__()
        assert config.n_embd % config.n_head == 0
        # key, query, value projections for all heads, but in a batch
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd)
        # output projection
        self.c_proj = nn.Linear(config.n_embd, config.n_embd)
        # causal mask to ensure that attention is only applied to the left in the input sequence
        self.register_buffer("bias", torch.tril(torch.ones(config.block_size, config.block_size))
                                     .view(1, 1, config.block_size, config.block_size))
        self.n_head = config.n_head
        self.n_embd = config.n_embd

    def forward(self, x):
        B, T, C = x.size() # batch size, sequence length, embedding dimensionality (n_embd)

        # calculate query, key, values for all heads in batch and move head forward to be the batch dim
        q, k ,v  = self.c_attn(x).split(self.n_embd, dim=2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) # (B, nh, T, hs)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) # (B, nh, T, hs)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) # (B, nh, T, hs)

        # causal self-attention; Self-attend: (B, nh, T, hs) x (B, nh, hs, T) -> (B, nh, T, T)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(self.bias[:,:,:T,:T] == 0, float('-inf'))
        att = F.softmax(att, dim=-1)
        y = att @ v # (B, nh, T, T) x (B, nh, T, hs) -> (B, nh, T, hs)
        y = y.transpose(1, 2).contiguous().view(B, T, C) # re-assemble all head outputs side by side

        # output projection
        y = self.c_proj(y)
        return y

class Block(nn.Module):
    """ an unassuming Transformer block """

    def __init__(self, config):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd)
        self.mlp = nn.ModuleDict(dict(
            c_fc    = nn.Linear(config.n_embd, 4 * config.n_embd),
            c_proj  = nn.Linear(4 * config.n_embd, config.n_embd),
            act     = NewGELU(),
        ))
        m = self.mlp
        self.mlpf = lambda x: m.c_proj(m.act(m.c_fc(x))) # MLP forward

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        x = x + self.mlpf(self.ln_2(x))
        return x

class Transformer(nn.Module):
    """ Transformer Language Model, exactly as seen in GPT-2 """

    def __init__(self, config):
        super().__init__()
        self.block_size = config.block_size

        self.transformer = nn.ModuleDict(dict(
            wte = nn.Embedding(config.vocab_size, config.n_embd),
            wpe = nn.Embedding(config.block_size, config.n_embd),
            h = nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
            ln_f = nn.LayerNorm(config.n_embd),
        ))
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)

        # report number of parameters (note we don't count the decoder parameters in lm_head)
        n_params = sum(p.numel() for p in self.transformer.parameters())
        print("number of parameters: %.2fM" % (n_params/1e6,))

    def get_block_size(self):
        return self.block_size

    def forward(self, idx, targets=None):
        device = idx.device
        b, t = idx.size()
        assert t <= self.block_size, f"Cannot forward sequence of length {t}, block size is only {self.block_size}"
        pos = torch.arange(0, t, dtype=torch.long, device=device).unsqueeze(0) # shape (1, t)

        # forward the GPT model itself
        tok_emb = self.transformer.wte(idx) # token embeddings of shape (b, t, n_embd)
        pos_emb = self.transformer.wpe(pos) # position embeddings of shape (1, t, n_embd)
        x = tok_emb + pos_emb
        for block in self.transformer.h:
            x = block(x)
        x = self.transformer.ln_f(x)
        logits = self.lm_head(x)

        # if we are given some desired targets also calculate the loss
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)

        return logits, loss

# -----------------------------------------------------------------------------
# Bag of Words (BoW) language model

class CausalBoW(nn.Module):
    """
    Causal bag of words. Averages the preceding elements and looks suspiciously like
    a CausalAttention module you'd find in a transformer, for no apparent reason at all ;)
    """
    def __init__(self, config):
        super().__init__()

        # used to mask out vectors and preserve autoregressive property
        self.block_size = config.block_size
        self.register_buffer("bias", torch.tril(torch.ones(config.block_size, config.block_size))
                            .view(1, config.block_size, config.block_size))

    def forward(self, x):
        B, T, C = x.size() # batch size, sequence length, n_embd

        # do the weighted average of all preceeding token features
        att = torch.zeros((B, T, T), device=x.device)
        att = att.masked_fill(self.bias[:,:T,:T] == 0, float('-inf'))
        att = F.softmax(att, dim=-1)
        y = att @ x # (B, T, T) x (B, T, C) -> (B, T, C)

        return y

class BoWBlock(nn.Module):
    """ collects BoW features and adds an MLP """

    def __init__(self, config):
        super().__init__()

        # Causal BoW module
        self.cbow = CausalBoW(config)
        # MLP assembler
        self.mlp = nn.ModuleDict(dict(
            c_fc    = nn.Linear(config.n_embd, config.n_embd2),
            c_proj  = nn.Linear(config.n_embd2, config.n_embd),
        ))
        m = self.mlp
        self.mlpf = lambda x: m.c_proj(F.tanh(m.c_fc(x))) # MLP forward

    def forward(self, x):
        x = x + self.cbow(x)
        x = x + self.mlpf(x)
        return x

class BoW(nn.Module):
    """
    takes the previous block_size tokens, encodes them with a lookup table,
    also encodes their positions with lookup table, then averages all of those
    embeddings up and uses that to predict the next token.
    """

    def __init__(self, config):
        super().__init__()
        self.block_size = config.block_size
        self.vocab_size = config.vocab_size
        # token embedding
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        # position embedding
        self.wpe = nn.Embedding(config.block_size, config.n_embd)
        # context block
        self.context_block = BoWBlock(config)
        # language model head decoder layer
        self.lm_head = nn.Linear(config.n_embd, self.vocab_size)

    def get_block_size(self):
        return self.block_size

    def forward(self, idx, targets=None):

        device = idx.device
        b, t = idx.size()
        assert t <= self.block_size, f"Cannot forward sequence of length {t}, block size is only {self.block_size}"
        pos = torch.arange(0, t, dtype=torch.long, device=device).unsqueeze(0) # shape (1, t)

        # forward the token and position embedding layers
        tok_emb = self.wte(idx) # token embeddings of shape (b, t, n_embd)
        pos_emb = self.wpe(pos) # position embeddings of shape (1, t, n_embd)
        # add and run through the decoder MLP
        x = tok_emb + pos_emb
        # run the bag of words context module
        x = self.context_block(x)
        # decode to next token probability
        logits = self.lm_head(x)

        # if we are given some desired targets also calculate the loss
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)

        return logits, loss

# -----------------------------------------------------------------------------
"""
Recurrent Neural Net language model: either a vanilla RNN recurrence or a GRU.
Did not implement an LSTM because its API is a bit more annoying as it has
both a hidden state and a cell state, but it's very similar to GRU and in
practice works just as well.
"""

class RNNCell(nn.Module):
    """
    the job of a 'Cell' is to:
    take input at current time step x_{t} and the hidden state at the
    previous time step h_{t-1} and return the resulting hidden state
    h_{t} at the current timestep
    """
    def __init__(self, config):
        super().__init__()
        self.xh_to_h = nn.Linear(config.n_embd + config.n_embd2, config.n_embd2)

    def forward(self, xt, hprev):
        xh = torch.cat([xt, hprev], dim=1)
        ht = F.tanh(self.xh_to_h(xh))
        return ht

class GRUCell(nn.Module):
    """
    same job as RNN cell, but a bit more complicated recurrence formula
    that makes the GRU more expressive and easier to optimize.
    """
    def __init__(self, config):
        super().__init__()
        # input, forget, output, gate
        self.xh_to_z = nn.Linear(config.n_embd + config.n_embd2, config.n_embd2)
        self.xh_to_r = nn.Linear(config.n_embd + config.n_embd2, config.n_embd2)
        self.xh_to_hbar = nn.Linear(config.n_embd + config.n_embd2, config.n_embd2)

    def forward(self, xt, hprev):
        # first use the reset gate to wipe some channels of the hidden state to zero
        xh = torch.cat([xt, hprev], dim=1)
        r = F.sigmoid(self.xh_to_r(xh))
        hprev_reset = r * hprev
        # calculate the candidate new hidden state hbar
        xhr = torch.cat([xt, hprev_reset], dim=1)
        hbar = F.tanh(self.xh_to_hbar(xhr))
        # calculate the switch gate that determines if each channel should be updated at all
        z = F.sigmoid(self.xh_to_z(xh))
        # blend the previous hidden state and the new candidate hidden state
        ht = (1 - z) * hprev + z * hbar
        return ht

class RNN(nn.Module):

    def __init__(self, config, cell_type):
        super().__init__()
        self.block_size = config.block_size
        self.vocab_size = config.vocab_size
        self.start = nn.Parameter(torch.zeros(1, config.n_embd2)) # the starting hidden state
        self.wte = nn.Embedding(config.vocab_size, config.n_embd) # token embeddings table
        if cell_type == 'rnn':
            self.cell = RNNCell(config)
        elif cell_type == 'gru':
            self.cell = GRUCell(config)
        self.lm_head = nn.Linear(config.n_embd2, self.vocab_size)

    def get_block_size(self):
        return self.block_size

    def forward(self, idx, targets=None):
        device = idx.device
        b, t = idx.size()

        # embed all the integers up front and all at once for efficiency
        emb = self.wte(idx) # (b, t, n_embd)

        # sequentially iterate over the inputs and update the RNN state each tick
        hprev = self.start.expand((b, -1)) # expand out the batch dimension
        hiddens = []
        for i in range(t):
            xt = emb[:, i, :] # (b, n_embd)
            ht = self.cell(xt, hprev) # (b, n_embd2)
            hprev = ht
            hiddens.append(ht)

        # decode the outputs
        hidden = torch.stack(hiddens, 1) # (b, t, n_embd2)
        logits = self.lm_head(hidden)

        # if we are given some desired targets also calculate the loss
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)

        return logits, loss

# -----------------------------------------------------------------------------
# MLP language model

class MLP(nn.Module):
    """
    takes the previous block_size tokens, encodes them with a lookup table,
    concatenates the vectors and predicts the next token with an MLP.

    Reference:
    Bengio et al. 2003 https://www.jmlr.org/papers/volume3/bengio03a/bengio03a.pdf
    """

    def __init__(self, config):
        super().__init__()
        self.block_size = config.block_size
        self.vocab_size = config.vocab_size
        self.wte = nn.Embedding(config.vocab_size + 1, config.n_embd) # token embeddings table
        # +1 in the line above for a special <BLANK> token that gets inserted if encoding a token
        # before the beginning of the input sequence
        self.mlp = nn.Sequential(
            nn.Linear(self.block_size * config.n_embd, config.n_embd2),
            nn.Tanh(),
            nn.Linear(config.n_embd2, self.vocab_size)
        )

    def get_block_size(self):
        return self.block_size

    def forward(self, idx, targets=None):

        # gather the word embeddings of the previous 3 words
        embs = []
        for k in range(self.block_size):
            tok_emb = self.wte(idx) # token embeddings of shape (b, t, n_embd)
            idx = torch.roll(idx, 1, 1)
            idx[:, 0] = self.vocab_size # special <BLANK> token
            embs.append(tok_emb)

        # concat all of the embeddings together and pass through an MLP
        x = torch.cat(embs, -1) # (b, t, n_embd * block_size)
        logits = self.mlp(x)

        # if we are given some desired targets also calculate the loss
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)

        return logits, loss

# -----------------------------------------------------------------------------
# Bigram language model

class Bigram(nn.Module):
    """
    Bigram Language Model 'neural net', simply a lookup table of logits for the
    next character given a previous character.
    """

    def __init__(self, config):
        super().__init__()
        n = config.vocab_size
        self.logits = nn.Parameter(torch.zeros((n, n)))

    def get_block_size(self):
        return 1 # this model only needs one previous character to predict the next

    def forward(self, idx, targets=None):

         # 'forward pass', lol
        logits = self.logits[idx]

        # if we are given some desired targets also calculate the loss
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)

        return logits, loss

# -----------------------------------------------------------------------------
# helper functions for evaluating and sampling from the model

@torch.no_grad()
def generate(model, idx, max_new_tokens, temperature=1.0, do_sample=False, top_k=None):
    """
    Take a conditioning sequence of indices idx (LongTensor of shape (b,t)) and complete
    the sequence max_new_tokens times, feeding the predictions back into the model each time.
    Most likely you'll want to make sure to be in model.eval() mode of operation for this.
    """
    block_size = model.get_block_size()
    for _ in range(max_new_tokens):
        # if the sequence context is growing too long we must crop it at block_size
        idx_cond = idx if idx.size(1) <= block_size else idx[:, -block_size:]
        # forward the model to get the logits for the index in the sequence
        logits, _ = model(idx_cond)
        # pluck the logits at the final step and scale by desired temperature
        logits = logits[:, -1, :] / temperature
        # optionally crop the logits to only the top k options
        if top_k is not None:
            v, _ = torch.topk(logits, top_k)
            logits[logits < v[:, [-1]]] = -float('Inf')
        # apply softmax to convert logits to (normalized) probabilities
        probs = F.softmax(logits, dim=-1)
        # either sample from the distribution or take the most likely element
        if do_sample:
            idx_next = torch.multinomial(probs, num_samples=1)
        else:
            _, idx_next = torch.topk(probs, k=1, dim=-1)
        # append sampled index to the running sequence and continue
        idx = torch.cat((idx, idx_next), dim=1)

    return idx

def print_samples(num=10):
    """ samples from the model and pretty prints the decoded samples """
    X_init = torch.zeros(num, 1, dtype=torch.long).to(args.device)
    top_k = args.top_k if args.top_k != -1 else None
    steps = train_dataset.get_output_length() - 1 # -1 because we already start with <START> token (index 0)
    X_samp = generate(model, X_init, steps, top_k=top_k, do_sample=True).to('cpu')
    train_samples, test_samples, new_samples = [], [], []
    for i in range(X_samp.size(0)):
        # get the i'th row of sampled integers, as python list
        row = X_samp[i, 1:].tolist() # note: we need to crop out the first <START> token
        # token 0 is the <STOP> token, so we crop the output sequence at that point
        crop_index = row.index(0) if 0 in row else len(row)
        row = row[:crop_index]
        word_samp = train_dataset.decode(row)
        # separately track samples that we have and have not seen before
        if train_dataset.contains(word_samp):
            train_samples.append(word_samp)
        elif test_dataset.contains(word_samp):
            test_samples.append(word_samp)
        else:
            new_samples.append(word_samp)
    print('-'*80)
    for lst, desc in [(train_samples, 'in train'), (test_samples, 'in test'), (new_samples, 'new')]:
        print(f"{len(lst)} samples that are {desc}:")
        for word in lst:
            print(word)
    print('-'*80)

@torch.inference_mode()
def evaluate(model, dataset, batch_size=50, max_batches=None):
    model.eval()
    loader = DataLoader(dataset, shuffle=True, batch_size=batch_size, num_workers=0)
    losses = []
    for i, batch in enumerate(loader):
        batch = [t.to(args.device) for t in batch]
        X, Y = batch
        logits, loss = model(X, Y)
        losses.append(loss.item())
        if max_batches is not None and i >= max_batches:
            break
    mean_loss = torch.tensor(losses).mean().item()
    model.train() # reset model back to training mode
    return mean_loss

# -----------------------------------------------------------------------------
# helper functions for creating the training and test Datasets that emit words

class CharDataset(Dataset):

    def __init__(self, words, chars, max_word_length):
        self.words = words
        self.chars = chars
        self.max_word_length = max_word_length
        self.stoi = {ch:i+1 for i,ch in enumerate(chars)}
        self.itos = {i:s for s,i in self.stoi.items()} # inverse mapping

    def __len__(self):
        return len(self.words)

    def contains(self, word):
        return word in self.words

    def get_vocab_size(self):
        return len(self.chars) + 1 # all the possible characters and special 0 token

    def get_output_length(self):
        return self.max_word_length + 1 # <START> token followed by words

    def encode(self, word):
        ix = torch.tensor([self.stoi[w] for w in word], dtype=torch.long)
        return ix

    def decode(self, ix):
        word = ''.join(self.itos[i] for i in ix)
        return word

    def __getitem__(self, idx):
        word = self.words[idx]
        ix = self.encode(word)
        x = torch.zeros(self.max_word_length + 1, dtype=torch.long)
        y = torch.zeros(self.max_word_length + 1, dtype=torch.long)
        x[1:1+len(ix)] = ix
        y[:len(ix)] = ix
        y[len(ix)+1:] = -1 # index -1 will mask the loss at the inactive locations
        return x, y

def create_datasets(input_file):

    # preprocessing of the input text file
    with open(input_file, 'r') as f:
        data = f.read()
    words = data.splitlines()
    words = [w.strip() for w in words] # get rid of any leading or trailing white space
    words = [w for w in words if w] # get rid of any empty strings
    chars = sorted(list(set(''.join(words)))) # all the possible characters
    max_word_length = max(len(w) for w in words)
    print(f"number of examples in the dataset: {len(words)}")
    print(f"max word length: {max_word_length}")
    print(f"number of unique characters in the vocabulary: {len(chars)}")
    print("vocabulary:")
    print(''.join(chars))

    # partition the input data into a training and the test set
    test_set_size = min(1000, int(len(words) * 0.1)) # 10% of the training set, or up to 1000 examples
    rp = torch.randperm(len(words)).tolist()
    train_words = [words[i] for i in rp[:-test_set_size]]
    test_words = [words[i] for i in rp[-test_set_size:]]
    print(f"split up the dataset into {len(train_words)} training examples and {len(test_words)} test examples")

    # wrap in dataset objects
    train_dataset = CharDataset(train_words, chars, max_word_length)
    test_dataset = CharDataset(test_words, chars, max_word_length)

    return train_dataset, test_dataset

class InfiniteDataLoader:
    """
    this is really hacky and I'm not proud of it, but there doesn't seem to be
    a better way in PyTorch to just create an infinite dataloader?
    """

    def __init__(self, dataset, **kwargs):
        train_sampler = torch.utils.data.RandomSampler(dataset, replacement=True, num_samples=int(1e10))
        self.train_loader = DataLoader(dataset, sampler=train_sampler, **kwargs)
        self.data_iter = iter(self.train_loader)

    def next(self):
        try:
            batch = next(self.data_iter)
        except StopIteration: # this will technically only happen after 1e10 samples... (i.e. basically never)
            self.data_iter = iter(self.train_loader)
            batch = next(self.data_iter)
        return batch

# -----------------------------------------------------------------------------
def main(argv):  # (the script's `if __name__ == '__main__':` block; its names are the module's globals)
    global args, train_dataset, test_dataset, model

    # parse command line args
    parser = argparse.ArgumentParser(description="Make More")
    # system/input/output
    parser.add_argument('--input-file', '-i', type=str, default='names.txt', help="input file with things one per line")
    parser.add_argument('--work-dir', '-o', type=str, default='out', help="output working directory")
    parser.add_argument('--resume', action='store_true', help="when this flag is used, we will resume optimization from existing model in the workdir")
    parser.add_argument('--sample-only', action='store_true', help="just sample from the model and quit, don't train")
    parser.add_argument('--num-workers', '-n', type=int, default=4, help="number of data workers for both train/test")
    parser.add_argument('--max-steps', type=int, default=-1, help="max number of optimization steps to run for, or -1 for infinite.")
    parser.add_argument('--device', type=str, default='cpu', help="device to use for compute, examples: cpu|cuda|cuda:2|mps")
    parser.add_argument('--seed', type=int, default=3407, help="seed")
    # sampling
    parser.add_argument('--top-k', type=int, default=-1, help="top-k for sampling, -1 means no top-k")
    # model
    parser.add_argument('--type', type=str, default='transformer', help="model class type to use, bigram|mlp|rnn|gru|bow|transformer")
    parser.add_argument('--n-layer', type=int, default=4, help="number of layers")
    parser.add_argument('--n-head', type=int, default=4, help="number of heads (in a transformer)")
    parser.add_argument('--n-embd', type=int, default=64, help="number of feature channels in the model")
    parser.add_argument('--n-embd2', type=int, default=64, help="number of feature channels elsewhere in the model")
    # optimization
    parser.add_argument('--batch-size', '-b', type=int, default=32, help="batch size during optimization")
    parser.add_argument('--learning-rate', '-l', type=float, default=5e-4, help="learning rate")
    parser.add_argument('--weight-decay', '-w', type=float, default=0.01, help="weight decay")
    args = parser.parse_args(argv)
    print(vars(args))

    # system inits
    torch.manual_seed(args.seed)
    torch.cuda.manual_seed_all(args.seed)
    os.makedirs(args.work_dir, exist_ok=True)
    writer = SummaryWriter(log_dir=args.work_dir)

    # init datasets
    train_dataset, test_dataset = create_datasets(args.input_file)
    vocab_size = train_dataset.get_vocab_size()
    block_size = train_dataset.get_output_length()
    print(f"dataset determined that: {vocab_size=}, {block_size=}")

    # init model
    config = ModelConfig(vocab_size=vocab_size, block_size=block_size,
                       n_layer=args.n_layer, n_head=args.n_head,
                       n_embd=args.n_embd, n_embd2=args.n_embd2)
    if args.type == 'transformer':
        model = Transformer(config)
    elif args.type == 'bigram':
        model = Bigram(config)
    elif args.type == 'mlp':
        model = MLP(config)
    elif args.type == 'rnn':
        model = RNN(config, cell_type='rnn')
    elif args.type == 'gru':
        model = RNN(config, cell_type='gru')
    elif args.type == 'bow':
        model = BoW(config)
    else:
        raise ValueError(f'model type {args.type} is not recognized')
    model.to(args.device)
    print(f"model #params: {sum(p.numel() for p in model.parameters())}")
    if args.resume or args.sample_only: # note: if we sample-only then we also assume we are resuming
        print("resuming from existing model in the workdir")
        model.load_state_dict(torch.load(os.path.join(args.work_dir, 'model.pt')))
    if args.sample_only:
        print_samples(num=50)
        sys.exit()

    # init optimizer
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.learning_rate, weight_decay=args.weight_decay, betas=(0.9, 0.99), eps=1e-8)

    # init dataloader
    batch_loader = InfiniteDataLoader(train_dataset, batch_size=args.batch_size, pin_memory=True, num_workers=args.num_workers)

    # training loop
    best_loss = None
    step = 0
    while True:

        t0 = time.time()

        # get the next batch, ship to device, and unpack it to input and target
        batch = batch_loader.next()
        batch = [t.to(args.device) for t in batch]
        X, Y = batch

        # feed into the model
        logits, loss = model(X, Y)

        # calculate the gradient, update the weights
        model.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

        # wait for all CUDA work on the GPU to finish then calculate iteration time taken
        if args.device.startswith('cuda'):
            torch.cuda.synchronize()
        t1 = time.time()

        # logging
        if step % 10 == 0:
            print(f"step {step} | loss {loss.item():.4f} | step time {(t1-t0)*1000:.2f}ms")

        # evaluate the model
        if step > 0 and step % 500 == 0:
            train_loss = evaluate(model, train_dataset, batch_size=100, max_batches=10)
            test_loss  = evaluate(model, test_dataset,  batch_size=100, max_batches=10)
            writer.add_scalar("Loss/train", train_loss, step)
            writer.add_scalar("Loss/test", test_loss, step)
            writer.flush()
            print(f"step {step} train loss: {train_loss} test loss: {test_loss}")
            # save the model to disk if it has improved
            if best_loss is None or test_loss < best_loss:
                out_path = os.path.join(args.work_dir, "model.pt")
                print(f"test loss {test_loss} is the best so far, saving model to {out_path}")
                torch.save(model.state_dict(), out_path)
                best_loss = test_loss

        # sample from the model
        if step > 0 and step % 200 == 0:
            print_samples(num=10)

        step += 1
        # termination conditions
        if args.max_steps >= 0 and step >= args.max_steps:
            break


# The made-up names: two or three consonant-vowel syllables with one vowel throughout ("vowel
# harmony"): "bakada", "tiki". A model that sees only the previous character cannot know which vowel
# comes next after the first; one that sees the whole name can.
CONSONANTS, VOWELS = "bdgklmnprst", "aeiou"
HARMONIC = re.compile(f"([{CONSONANTS}])([{VOWELS}])[{CONSONANTS}]\\2(?:[{CONSONANTS}]\\2)?")


def harmony_names(count, seed=0):
    rng = np.random.default_rng(seed)
    words = []
    for _ in range(count):
        vowel = VOWELS[rng.integers(len(VOWELS))]
        words.append("".join(CONSONANTS[c] + vowel for c in rng.integers(len(CONSONANTS), size=rng.integers(2, 4))))
    return words


def harmony_bounds():
    """Per predicted token (each letter and the stop, as makemore's loss counts them), in nats: the
    entropy of uniform guessing, the best any bigram model can do (the conditional entropy of a token
    given the one before, from the expected pair counts of a name), and the language's own entropy."""
    c, v, n = len(CONSONANTS), len(VOWELS), np.array([2, 3])        # syllables: 2 or 3, equally likely
    tokens = (2 * n + 1).mean()                                    # 6 predicted tokens per name on average
    uniform = math.log(c + v + 1)
    stop_after_vowel = 1 / n.mean()                                # a vowel ends the name once in 2.5
    after_vowel = -(stop_after_vowel * math.log(stop_after_vowel)
                    + (1 - stop_after_vowel) * math.log((1 - stop_after_vowel) / c))
    bigram = (math.log(c) + n.mean() * math.log(v) + n.mean() * after_vowel) / tokens
    language = (math.log(2) + math.log(v) + n.mean() * math.log(c)) / tokens
    return uniform, bigram, language


def printed_samples(text):
    """The words print_samples printed, from its three lists."""
    block = text.split('-' * 80)[-2]
    return [line for line in block.splitlines()[1:] if not re.fullmatch(r"\d+ samples that are .*:", line)]


MAKEMORE_RUNS = [  # (type, extra command-line options, steps)
    ("bigram", ["--learning-rate", "5e-2"], 300),
    ("mlp", ["--learning-rate", "1e-2"], 300),
    ("rnn", ["--learning-rate", "1e-2"], 300),
    ("gru", ["--learning-rate", "1e-2", "--top-k", "6"], 300),
    ("bow", ["--learning-rate", "1e-2"], 300),
    ("transformer", ["--learning-rate", "5e-3", "--n-layer", "2", "--n-head", "2"], 300),
]


PIN_MEMORY_WARNING = "ignore:'pin_memory' argument is set as true"     # (PyTorch warns so too without a GPU)


@pytest.mark.filterwarnings(PIN_MEMORY_WARNING)
@pytest.mark.parametrize("model_type, options, steps", MAKEMORE_RUNS, ids=[run[0] for run in MAKEMORE_RUNS])
def test_makemore_learns_the_made_up_names(tmp_path, capsys, model_type, options, steps):
    """makemore.py run as `python makemore.py -i names.txt -o out --type <type> --max-steps <steps>`
    (small widths, a higher learning rate, no data workers) on 600 made-up names. Its test loss must be
    far below uniform guessing over the 17 tokens (ln 17 = 2.83 nats); the bigram table must reach
    about the best a bigram model can do (1.95 nats), and the models that see more than the previous
    character must go well below it (toward the language's own 1.38), their sampled names keeping one
    vowel throughout where a bigram's seldom do. Every sampled name is made of the names' letters."""
    words = harmony_names(600)
    (tmp_path / "names.txt").write_text("\n".join(words) + "\n")
    main(["-i", str(tmp_path / "names.txt"), "-o", str(tmp_path / "out"), "--type", model_type,
          "--max-steps", str(steps), "--num-workers", "0", "--n-embd", "32", "--n-embd2", "32", *options])
    assert train_dataset.get_vocab_size() == 17 and len(test_dataset) == 60 and len(train_dataset) == 540

    uniform, bigram, language = harmony_bounds()
    test_loss = evaluate(model, test_dataset, batch_size=100, max_batches=10)
    assert model.training
    if model_type == "bigram":
        assert test_loss < bigram + 0.15
    else:
        assert test_loss < bigram - 0.35
    assert language - 0.25 < test_loss < uniform - 0.6

    capsys.readouterr()
    print_samples(num=100)
    samples = printed_samples(capsys.readouterr().out)
    assert len(samples) == 100
    assert set("".join(samples)) <= set(CONSONANTS + VOWELS)
    harmonic = sum(HARMONIC.fullmatch(word) is not None for word in samples) / len(samples)
    if model_type == "bigram":
        assert harmonic < 0.3
    else:
        assert harmonic > 0.85


@pytest.mark.filterwarnings(PIN_MEMORY_WARNING)
def test_makemore_char_dataset_and_the_infinite_loader_give_pytorchs_batches():
    """CharDataset's rows: x is <START> then the word's letters then zeros, y is the letters, the stop
    token 0, then -1 (masked in the loss); the infinite loader gives batches of its batch size forever
    (more batches than the data has rows), every row a word of the dataset; generate's top-k keeps
    only the k most likely tokens."""
    words = ["bada", "kikiki", "tutu"]
    dataset = CharDataset(words, sorted(set("".join(words))), max(len(w) for w in words))
    assert dataset.get_vocab_size() == 8 and dataset.get_output_length() == 7
    x, y = dataset[0]
    assert x.dtype == torch.long and x.tolist() == [0, 2, 1, 3, 1, 0, 0]
    assert y.tolist() == [2, 1, 3, 1, 0, -1, -1]
    assert dataset.decode(dataset.encode("tutu").tolist()) == "tutu"

    torch.manual_seed(0)
    loader = InfiniteDataLoader(dataset, batch_size=4, pin_memory=True, num_workers=0)
    for _ in range(5):
        X, Y = loader.next()
        assert X.shape == (4, 7) and Y.shape == (4, 7)
        for row in X.tolist():
            assert dataset.decode([i for i in row[1:] if i]) in words

    class Fixed(nn.Module):                         # next-token logits 0, 1, ..., 5 whatever came before
        def get_block_size(self):
            return 3

        def forward(self, idx, targets=None):
            return torch.arange(6).float().expand(idx.size(0), idx.size(1), 6), None

    torch.manual_seed(0)
    out = generate(Fixed(), torch.zeros(50, 1, dtype=torch.long), 4, do_sample=True, top_k=2)
    assert out.shape == (50, 5) and out[:, 0].tolist() == [0] * 50
    assert set(out[:, 1:].flatten().tolist()) == {4, 5}
    assert generate(Fixed(), torch.zeros(2, 1, dtype=torch.long), 3)[:, 1:].tolist() == [[5, 5, 5]] * 2


def test_makemore_transformer_is_causal_and_its_parameters_are_pytorchs():
    """The Transformer's parameters have PyTorch's names and counts, its mask is a buffer (in the
    state_dict, not among the parameters), and its logits at a position do not depend on later tokens."""
    torch.manual_seed(0)
    config = ModelConfig(vocab_size=7, block_size=5, n_layer=2, n_embd=8, n_head=2)
    transformer = Transformer(config)
    names = dict(transformer.named_parameters())
    assert "transformer.h.1.mlp.c_fc.weight" in names and "transformer.ln_f.weight" in names
    assert names["transformer.h.0.ln_1.weight"].shape == (8,) and names["transformer.h.0.ln_1.bias"].shape == (8,)
    per_block = 2 * 2 * 8 + (8 * 24 + 24) + (8 * 8 + 8) + (8 * 32 + 32) + (32 * 8 + 8)
    assert sum(p.numel() for p in transformer.transformer.parameters()) == 7 * 8 + 5 * 8 + 2 * per_block + 2 * 8
    assert sum(p.numel() for p in transformer.parameters()) == 7 * 8 + 5 * 8 + 2 * per_block + 2 * 8 + 8 * 7
    assert "transformer.h.0.attn.bias" in transformer.state_dict()
    assert "transformer.h.0.attn.bias" not in names
    assert transformer.transformer.h[0].attn.bias.tolist()[0][0] == np.tril(np.ones((5, 5))).tolist()

    idx = torch.tensor([[1, 2, 3, 4, 5]])
    changed = torch.tensor([[1, 2, 6, 6, 6]])
    with torch.no_grad():
        logits, _ = transformer(idx)
        later, _ = transformer(changed)
    assert logits.shape == (1, 5, 7)
    assert np.allclose(logits.numpy()[:, :2], later.numpy()[:, :2], atol=1e-6)
    assert not np.allclose(logits.numpy()[:, 2:], later.numpy()[:, 2:])


# ---- 2. karpathy/ng-video-lecture: bigram.py and gpt.py --------------------------------------------

def bigram_py(text):
    """bigram.py's module body, with its text given (its `input.txt`) and its sizes small."""
    # hyperparameters
    batch_size = 32 # how many independent sequences will we process in parallel?
    block_size = 8 # what is the maximum context length for predictions?
    max_iters = 1501            # (3000 in bigram.py)
    eval_interval = 500         # (300)
    learning_rate = 1e-2
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    eval_iters = 20             # (200)
    # ------------

    torch.manual_seed(1337)

    # (the text, for `open('input.txt', 'r', encoding='utf-8').read()`)

    # here are all the unique characters that occur in this text
    chars = sorted(list(set(text)))
    vocab_size = len(chars)
    # create a mapping from characters to integers
    stoi = { ch:i for i,ch in enumerate(chars) }
    itos = { i:ch for i,ch in enumerate(chars) }
    encode = lambda s: [stoi[c] for c in s] # encoder: take a string, output a list of integers
    decode = lambda l: ''.join([itos[i] for i in l]) # decoder: take a list of integers, output a string

    # Train and test splits
    data = torch.tensor(encode(text), dtype=torch.long)
    n = int(0.9*len(data)) # first 90% will be train, rest val
    train_data = data[:n]
    val_data = data[n:]

    # data loading
    def get_batch(split):
        # generate a small batch of data of inputs x and targets y
        data = train_data if split == 'train' else val_data
        ix = torch.randint(len(data) - block_size, (batch_size,))
        x = torch.stack([data[i:i+block_size] for i in ix])
        y = torch.stack([data[i+1:i+block_size+1] for i in ix])
        x, y = x.to(device), y.to(device)
        return x, y

    @torch.no_grad()
    def estimate_loss():
        out = {}
        model.eval()
        for split in ['train', 'val']:
            losses = torch.zeros(eval_iters)
            for k in range(eval_iters):
                X, Y = get_batch(split)
                logits, loss = model(X, Y)
                losses[k] = loss.item()
            out[split] = losses.mean()
        model.train()
        return out

    # super simple bigram model
    class BigramLanguageModel(nn.Module):

        def __init__(self, vocab_size):
            super().__init__()
            # each token directly reads off the logits for the next token from a lookup table
            self.token_embedding_table = nn.Embedding(vocab_size, vocab_size)

        def forward(self, idx, targets=None):

            # idx and targets are both (B,T) tensor of integers
            logits = self.token_embedding_table(idx) # (B,T,C)

            if targets is None:
                loss = None
            else:
                B, T, C = logits.shape
                logits = logits.view(B*T, C)
                targets = targets.view(B*T)
                loss = F.cross_entropy(logits, targets)

            return logits, loss

        def generate(self, idx, max_new_tokens):
            # idx is (B, T) array of indices in the current context
            for _ in range(max_new_tokens):
                # get the predictions
                logits, loss = self(idx)
                # focus only on the last time step
                logits = logits[:, -1, :] # becomes (B, C)
                # apply softmax to get probabilities
                probs = F.softmax(logits, dim=-1) # (B, C)
                # sample from the distribution
                idx_next = torch.multinomial(probs, num_samples=1) # (B, 1)
                # append sampled index to the running sequence
                idx = torch.cat((idx, idx_next), dim=1) # (B, T+1)
            return idx

    model = BigramLanguageModel(vocab_size)
    m = model.to(device)

    # create a PyTorch optimizer
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate)

    for iter in range(max_iters):

        # every once in a while evaluate the loss on train and val sets
        if iter % eval_interval == 0:
            losses = estimate_loss()
            print(f"step {iter}: train loss {losses['train']:.4f}, val loss {losses['val']:.4f}")

        # sample a batch of data
        xb, yb = get_batch('train')

        # evaluate the loss
        logits, loss = model(xb, yb)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    # generate from the model
    context = torch.zeros((1, 1), dtype=torch.long, device=device)
    print(decode(m.generate(context, max_new_tokens=500)[0].tolist()))


def gpt_py(text):
    """gpt.py's module body, with its text given (its `input.txt`) and its sizes small."""
    # hyperparameters
    batch_size = 16 # how many independent sequences will we process in parallel?    (64 in gpt.py)
    block_size = 16 # what is the maximum context length for predictions?            (256)
    max_iters = 300             # (5000)
    eval_interval = 100         # (500)
    learning_rate = 3e-3        # (3e-4)
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    eval_iters = 10             # (200)
    n_embd = 32                 # (384)
    n_head = 4                  # (6)
    n_layer = 2                 # (6)
    dropout = 0.1               # (0.2)
    # ------------

    torch.manual_seed(1337)

    # (the text, for `open('input.txt', 'r', encoding='utf-8').read()`)

    # here are all the unique characters that occur in this text
    chars = sorted(list(set(text)))
    vocab_size = len(chars)
    # create a mapping from characters to integers
    stoi = { ch:i for i,ch in enumerate(chars) }
    itos = { i:ch for i,ch in enumerate(chars) }
    encode = lambda s: [stoi[c] for c in s] # encoder: take a string, output a list of integers
    decode = lambda l: ''.join([itos[i] for i in l]) # decoder: take a list of integers, output a string

    # Train and test splits
    data = torch.tensor(encode(text), dtype=torch.long)
    n = int(0.9*len(data)) # first 90% will be train, rest val
    train_data = data[:n]
    val_data = data[n:]

    # data loading
    def get_batch(split):
        # generate a small batch of data of inputs x and targets y
        data = train_data if split == 'train' else val_data
        ix = torch.randint(len(data) - block_size, (batch_size,))
        x = torch.stack([data[i:i+block_size] for i in ix])
        y = torch.stack([data[i+1:i+block_size+1] for i in ix])
        x, y = x.to(device), y.to(device)
        return x, y

    @torch.no_grad()
    def estimate_loss():
        out = {}
        model.eval()
        for split in ['train', 'val']:
            losses = torch.zeros(eval_iters)
            for k in range(eval_iters):
                X, Y = get_batch(split)
                logits, loss = model(X, Y)
                losses[k] = loss.item()
            out[split] = losses.mean()
        model.train()
        return out

    class Head(nn.Module):
        """ one head of self-attention """

        def __init__(self, head_size):
            super().__init__()
            self.key = nn.Linear(n_embd, head_size, bias=False)
            self.query = nn.Linear(n_embd, head_size, bias=False)
            self.value = nn.Linear(n_embd, head_size, bias=False)
            self.register_buffer('tril', torch.tril(torch.ones(block_size, block_size)))

            self.dropout = nn.Dropout(dropout)

        def forward(self, x):
            # input of size (batch, time-step, channels)
            # output of size (batch, time-step, head size)
            B,T,C = x.shape
            k = self.key(x)   # (B,T,hs)
            q = self.query(x) # (B,T,hs)
            # compute attention scores ("affinities")
            wei = q @ k.transpose(-2,-1) * k.shape[-1]**-0.5 # (B, T, hs) @ (B, hs, T) -> (B, T, T)
            wei = wei.masked_fill(self.tril[:T, :T] == 0, float('-inf')) # (B, T, T)
            wei = F.softmax(wei, dim=-1) # (B, T, T)
            wei = self.dropout(wei)
            # perform the weighted aggregation of the values
            v = self.value(x) # (B,T,hs)
            out = wei @ v # (B, T, T) @ (B, T, hs) -> (B, T, hs)
            return out

    class MultiHeadAttention(nn.Module):
        """ multiple heads of self-attention in parallel """

        def __init__(self, num_heads, head_size):
            super().__init__()
            self.heads = nn.ModuleList([Head(head_size) for _ in range(num_heads)])
            self.proj = nn.Linear(head_size * num_heads, n_embd)
            self.dropout = nn.Dropout(dropout)

        def forward(self, x):
            out = torch.cat([h(x) for h in self.heads], dim=-1)
            out = self.dropout(self.proj(out))
            return out

    class FeedFoward(nn.Module):
        """ a simple linear layer followed by a non-linearity """

        def __init__(self, n_embd):
            super().__init__()
            self.net = nn.Sequential(
                nn.Linear(n_embd, 4 * n_embd),
                nn.ReLU(),
                nn.Linear(4 * n_embd, n_embd),
                nn.Dropout(dropout),
            )

        def forward(self, x):
            return self.net(x)

    class Block(nn.Module):
        """ Transformer block: communication followed by computation """

        def __init__(self, n_embd, n_head):
            # n_embd: embedding dimension, n_head: the number of heads we'd like
            super().__init__()
            head_size = n_embd // n_head
            self.sa = MultiHeadAttention(n_head, head_size)
            self.ffwd = FeedFoward(n_embd)
            self.ln1 = nn.LayerNorm(n_embd)
            self.ln2 = nn.LayerNorm(n_embd)

        def forward(self, x):
            x = x + self.sa(self.ln1(x))
            x = x + self.ffwd(self.ln2(x))
            return x

    class GPTLanguageModel(nn.Module):

        def __init__(self):
            super().__init__()
            # each token directly reads off the logits for the next token from a lookup table
            self.token_embedding_table = nn.Embedding(vocab_size, n_embd)
            self.position_embedding_table = nn.Embedding(block_size, n_embd)
            self.blocks = nn.Sequential(*[Block(n_embd, n_head=n_head) for _ in range(n_layer)])
            self.ln_f = nn.LayerNorm(n_embd) # final layer norm
            self.lm_head = nn.Linear(n_embd, vocab_size)

            # better init, not covered in the original GPT video, but important, will cover in followup video
            self.apply(self._init_weights)

        def _init_weights(self, module):
            if isinstance(module, nn.Linear):
                torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
                if module.bias is not None:
                    torch.nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Embedding):
                torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

        def forward(self, idx, targets=None):
            B, T = idx.shape

            # idx and targets are both (B,T) tensor of integers
            tok_emb = self.token_embedding_table(idx) # (B,T,C)
            pos_emb = self.position_embedding_table(torch.arange(T, device=device)) # (T,C)
            x = tok_emb + pos_emb # (B,T,C)
            x = self.blocks(x) # (B,T,C)
            x = self.ln_f(x) # (B,T,C)
            logits = self.lm_head(x) # (B,T,vocab_size)

            if targets is None:
                loss = None
            else:
                B, T, C = logits.shape
                logits = logits.view(B*T, C)
                targets = targets.view(B*T)
                loss = F.cross_entropy(logits, targets)

            return logits, loss

        def generate(self, idx, max_new_tokens):
            # idx is (B, T) array of indices in the current context
            for _ in range(max_new_tokens):
                # crop idx to the last block_size tokens
                idx_cond = idx[:, -block_size:]
                # get the predictions
                logits, loss = self(idx_cond)
                # focus only on the last time step
                logits = logits[:, -1, :] # becomes (B, C)
                # apply softmax to get probabilities
                probs = F.softmax(logits, dim=-1) # (B, C)
                # sample from the distribution
                idx_next = torch.multinomial(probs, num_samples=1) # (B, 1)
                # append sampled index to the running sequence
                idx = torch.cat((idx, idx_next), dim=1) # (B, T+1)
            return idx

    model = GPTLanguageModel()
    m = model.to(device)
    # print the number of parameters in the model
    print(sum(p.numel() for p in m.parameters())/1e6, 'M parameters')

    # create a PyTorch optimizer
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate)

    for iter in range(max_iters):

        # every once in a while evaluate the loss on train and val sets
        if iter % eval_interval == 0 or iter == max_iters - 1:
            losses = estimate_loss()
            print(f"step {iter}: train loss {losses['train']:.4f}, val loss {losses['val']:.4f}")

        # sample a batch of data
        xb, yb = get_batch('train')

        # evaluate the loss
        logits, loss = model(xb, yb)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    # generate from the model
    context = torch.zeros((1, 1), dtype=torch.long, device=device)
    print(decode(m.generate(context, max_new_tokens=500)[0].tolist()))
    #open('more.txt', 'w').write(decode(m.generate(context, max_new_tokens=10000)[0].tolist()))


def printed_losses(text):
    """(step, train loss, val loss) from the lines the scripts print."""
    return [(int(s), float(t), float(v)) for s, t, v in
            re.findall(r"^step (\d+): train loss ([\d.]+), val loss ([\d.]+)$", text, re.MULTILINE)]


def markov_text(length, seed=0):
    """A first-order Markov chain over eight letters, each followed by one of two or three letters;
    its transition matrix and its entropy rate, -sum_i pi_i sum_j P_ij ln P_ij, from the stationary pi."""
    rng = np.random.default_rng(seed)
    letters = "abcdefgh"
    P = np.zeros((8, 8))
    for i in range(8):
        successors = rng.choice(8, size=2 + i % 2, replace=False)
        P[i, successors] = rng.dirichlet(np.full(len(successors), 2.0))
    state, out = 0, []
    for _ in range(length):
        out.append(letters[state])
        state = rng.choice(8, p=P[state])
    values, vectors = np.linalg.eig(P.T)
    pi = np.real(vectors[:, np.argmin(abs(values - 1))])
    pi /= pi.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = -np.nansum(pi[:, None] * P * np.where(P > 0, np.log(P), 0))
    return "".join(out), letters, P, rate


def test_bigram_py_learns_the_markov_chain_and_samples_only_its_transitions(capsys):
    """bigram.py on 6000 letters of a Markov chain: its val loss must come within 0.1 nats of the
    chain's entropy rate (the best any model can do), far below uniform guessing (ln 8), and at least
    95% of the transitions it samples must be ones the chain can make."""
    text, letters, P, rate = markov_text(6000)
    bigram_py(text)
    out = capsys.readouterr().out
    losses = printed_losses(out)
    assert [step for step, _, _ in losses] == [0, 500, 1000, 1500]
    assert losses[-1][2] < rate + 0.1 < math.log(8) - 1
    sample = out.splitlines()[-1]
    assert len(sample) == 501 and set(sample) <= set(letters)
    allowed = [P[letters.index(a), letters.index(b)] > 0 for a, b in zip(sample[1:], sample[2:])]
    assert np.mean(allowed) > 0.95


LEXICON = ["the", "then", "than", "that", "this", "thin", "hat", "hit", "tin", "ten", "net", "nit"]


def test_gpt_py_uses_more_than_the_previous_character(capsys):
    """gpt.py on 3000 words drawn from a twelve-word lexicon: a bigram model can at best reach the
    text's conditional entropy of a character given the previous one (counted on the whole text); the
    small GPT, seeing the word so far, must get its val loss well below that (toward the text's own
    ln 12 per word), and most of the words it writes must be words of the lexicon."""
    rng = np.random.default_rng(0)
    text = " ".join(rng.choice(LEXICON, size=3000))
    pairs = collections.Counter(zip(text, text[1:]))
    firsts = collections.Counter(text[:-1])
    bigram_entropy = -sum(c * math.log(c / firsts[a]) for (a, _), c in pairs.items()) / (len(text) - 1)
    own_entropy = math.log(len(LEXICON)) / (np.mean([len(w) for w in LEXICON]) + 1)
    assert own_entropy < bigram_entropy - 0.4

    gpt_py(text)
    out = capsys.readouterr().out
    assert "M parameters" in out
    losses = printed_losses(out)
    assert [step for step, _, _ in losses] == [0, 100, 200, 299]
    assert abs(losses[0][2] - math.log(len(set(text)))) < 0.05     # (the N(0, 0.02) init: about uniform)
    assert losses[-1][2] < bigram_entropy - 0.25
    sample = out.splitlines()[-1]
    assert len(sample) == 501 and set(sample) <= set(text)
    words = sample.split()[1:-1]
    assert np.mean([w in LEXICON for w in words]) > 0.8


# ---- The gaps these scripts met (closed): PyTorch's behaviour ------------------------------------------

def test_gap_G1_tril_keeps_the_lower_triangle_of_the_last_two_dims():
    """PyTorch: torch.tril(input, diagonal=0) (also Tensor.tril) zeroes the entries above the
    `diagonal`-th diagonal of the last two dimensions (of each matrix in a batch), keeping shape and
    dtype (float, int64, bool); diagonal > 0 keeps more, < 0 fewer. Input of fewer than two dimensions
    is an error (RuntimeError in PyTorch). The gradient is the incoming gradient's lower triangle."""
    ones = torch.tril(torch.ones(4, 4))
    assert ones.dtype == torch.float32 and ones.tolist() == np.tril(np.ones((4, 4))).tolist()
    a = np.arange(24, dtype=np.int64).reshape(2, 3, 4)
    for diagonal in (0, 1, -1, 5, -5):
        got = torch.tril(torch.tensor(a), diagonal=diagonal)
        assert got.dtype == torch.int64 and got.tolist() == np.tril(a, diagonal).tolist()
        assert torch.tensor(a).tril(diagonal).tolist() == np.tril(a, diagonal).tolist()
    assert torch.tril(torch.ones(3, 3, dtype=torch.bool)).tolist() == np.tril(np.ones((3, 3), bool)).tolist()
    assert (torch.tril(torch.ones(3, 3)) == 0).tolist() == np.triu(np.ones((3, 3), bool), 1).tolist()
    with pytest.raises((RuntimeError, ValueError)):
        torch.tril(torch.ones(3))
    x = torch.randn(2, 3, 3, requires_grad=True)
    w = np.random.default_rng(0).normal(size=(2, 3, 3)).astype(np.float32)
    (torch.tril(x) * torch.tensor(w)).sum().backward()
    assert np.allclose(x.grad, np.tril(w))


def test_gap_G2_roll_shifts_along_a_dimension_with_wraparound():
    """PyTorch: torch.roll(input, shifts, dims=None) (also Tensor.roll): elements shifted by `shifts`
    along `dims`, those leaving one end coming back at the other, as numpy's roll; shifts and dims may
    be tuples of one length; without dims the tensor is flattened, rolled and put back in its shape.
    The dtype is kept; the gradient is the incoming gradient rolled back."""
    a = np.arange(12, dtype=np.int64).reshape(3, 4)
    rolled = torch.roll(torch.tensor(a), 1, 1)
    assert rolled.dtype == torch.int64 and rolled.tolist() == [[3, 0, 1, 2], [7, 4, 5, 6], [11, 8, 9, 10]]
    assert torch.roll(torch.tensor(a), -1, 0).tolist() == np.roll(a, -1, 0).tolist()
    assert torch.roll(torch.tensor(a), 5).tolist() == np.roll(a, 5).tolist()
    assert torch.roll(torch.tensor(a), shifts=(1, -2), dims=(0, 1)).tolist() == np.roll(a, (1, -2), (0, 1)).tolist()
    assert torch.tensor(a).roll(2, dims=1).tolist() == np.roll(a, 2, 1).tolist()
    idx = torch.tensor([[5, 6, 7]])                 # makemore's MLP: roll, then write <BLANK> at the front
    shifted = torch.roll(idx, 1, 1)
    shifted[:, 0] = 9
    assert shifted.tolist() == [[9, 5, 6]] and idx.tolist() == [[5, 6, 7]]
    x = torch.randn(3, 4, requires_grad=True)
    w = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
    (torch.roll(x, 1, 1) * torch.tensor(w)).sum().backward()
    assert np.allclose(x.grad, np.roll(w, -1, 1))


def test_gap_G3_layer_norm_normalises_the_last_dims_with_a_learned_scale_and_shift():
    """PyTorch: nn.LayerNorm(normalized_shape, eps=1e-05, elementwise_affine=True, bias=True): over the
    last len(normalized_shape) dims, y = (x - mean) / sqrt(var + eps) * weight + bias, var the biased
    variance; `weight` (ones) and `bias` (zeros) are Parameters of normalized_shape (an int n means
    (n,)); print shows `LayerNorm((8,), eps=1e-05, elementwise_affine=True, bias=True)`; elementwise_affine=False
    has no parameters (weight and bias None). The input gradient is (g - mean(g) - x_hat mean(g x_hat))
    / sqrt(var + eps), g = dy * weight."""
    torch.manual_seed(0)
    ln = nn.LayerNorm(8)
    assert ln.normalized_shape == (8,) and ln.eps == 1e-5 and ln.elementwise_affine
    assert [name for name, _ in ln.named_parameters()] == ["weight", "bias"]
    assert ln.weight.tolist() == [1.0] * 8 and ln.bias.tolist() == [0.0] * 8 and ln.weight.dtype == torch.float32
    assert repr(ln) == "LayerNorm((8,), eps=1e-05, elementwise_affine=True, bias=True)"
    rng = np.random.default_rng(0)
    x = rng.normal(2.0, 3.0, size=(2, 3, 8))
    w, b = rng.normal(size=8), rng.normal(size=8)
    with torch.no_grad():
        ln.weight.copy_(torch.tensor(w, dtype=torch.float32))
        ln.bias.copy_(torch.tensor(b, dtype=torch.float32))
    mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    x_hat = (x - mean) / np.sqrt(var + 1e-5)
    xt = torch.tensor(x, dtype=torch.float32, requires_grad=True)
    y = ln(xt)
    assert y.shape == (2, 3, 8) and y.dtype == torch.float32
    assert np.allclose(y.numpy(), x_hat * w + b, atol=1e-5)
    dy = rng.normal(size=(2, 3, 8))
    (y * torch.tensor(dy, dtype=torch.float32)).sum().backward()
    g = dy * w
    dx = (g - g.mean(-1, keepdims=True) - x_hat * (g * x_hat).mean(-1, keepdims=True)) / np.sqrt(var + 1e-5)
    assert np.allclose(xt.grad, dx, atol=1e-4)
    assert np.allclose(ln.weight.grad, (dy * x_hat).sum((0, 1)), atol=1e-4)
    assert np.allclose(ln.bias.grad, dy.sum((0, 1)), atol=1e-4)

    small = rng.normal(0.0, 0.01, size=(4, 8))        # variance 1e-4: eps counts, inside the square root
    with torch.no_grad():
        got = nn.LayerNorm(8)(torch.tensor(small, dtype=torch.float32)).numpy()
    expected = (small - small.mean(-1, keepdims=True)) / np.sqrt(small.var(-1, keepdims=True) + 1e-5)
    assert np.allclose(got, expected, atol=1e-4)

    two = nn.LayerNorm([3, 8], eps=1e-3, elementwise_affine=False)
    assert two.weight is None and two.bias is None and not list(two.parameters())
    flat = x.reshape(2, 24)
    expected = (flat - flat.mean(1, keepdims=True)) / np.sqrt(flat.var(1, keepdims=True) + 1e-3)
    assert np.allclose(two(torch.tensor(x, dtype=torch.float32)).numpy(), expected.reshape(2, 3, 8), atol=1e-5)
    assert isinstance(nn.LayerNorm(4), nn.Module)


def test_gap_G4_module_zero_grad_takes_set_to_none():
    """PyTorch: Module.zero_grad(set_to_none=True) (the default since 2.0): every parameter's grad is
    None; set_to_none=False gives zeros of each parameter's shape and dtype where there was a gradient."""
    model = nn.Linear(3, 2)
    model(torch.randn(4, 3)).sum().backward()
    model.zero_grad(set_to_none=True)
    assert all(p.grad is None for p in model.parameters())
    model(torch.randn(4, 3)).sum().backward()
    model.zero_grad(set_to_none=False)
    for p in model.parameters():
        assert p.grad is not None and p.grad.shape == p.shape and not p.grad.any()
    model(torch.randn(4, 3)).sum().backward()
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_gap_G5_pin_memory_is_accepted_and_changes_no_batch():
    """PyTorch: DataLoader(..., pin_memory=True) without an accelerator warns that pinned memory won't
    be used and loads the same batches (makemore's InfiniteDataLoader passes pin_memory=True)."""
    dataset = torch.utils.data.TensorDataset(torch.arange(10).view(5, 2))
    with pytest.warns(UserWarning, match="'pin_memory' argument is set as true but no accelerator is found"):
        pinned = [b[0].tolist() for b in DataLoader(dataset, batch_size=2, pin_memory=True)]
    assert pinned == [b[0].tolist() for b in DataLoader(dataset, batch_size=2)]
    assert pinned == [[[0, 1], [2, 3]], [[4, 5], [6, 7]], [[8, 9]]]          # (the rows in order, two a batch)


def test_gap_G6_random_sampler_with_replacement_draws_as_it_is_iterated():
    """PyTorch (torch/utils/data/sampler.py): RandomSampler(data_source, replacement=True,
    num_samples=n) draws its indices 32 at a time while it is iterated, so makemore's
    num_samples=int(1e10) gives its first batch at once; len() is num_samples; each index is uniform on
    range(len(data_source)); num_samples <= 0 is a ValueError ("num_samples should be a positive
    integer value")."""
    torch.manual_seed(0)
    sampler = torch.utils.data.RandomSampler(range(5), replacement=True, num_samples=int(1e10))
    assert len(sampler) == 10 ** 10
    it = iter(sampler)
    drawn = [next(it) for _ in range(5000)]
    assert set(drawn) == set(range(5))
    assert np.allclose(np.bincount(drawn) / 5000, 0.2, atol=0.03)
    loader = DataLoader(torch.utils.data.TensorDataset(torch.arange(5)), sampler=sampler, batch_size=4)
    first = next(iter(loader))
    assert first[0].shape == (4,)
    assert len(list(torch.utils.data.RandomSampler(range(5), replacement=True, num_samples=70))) == 70
    with pytest.raises(ValueError, match="num_samples"):
        torch.utils.data.RandomSampler(range(5), replacement=True, num_samples=0)


def test_gap_G7_num_workers_load_the_same_batches():
    """PyTorch: DataLoader(..., num_workers=4) (makemore's default `--num-workers 4`) loads the batches
    in worker processes, the same batches in the same order as num_workers=0 for an ordered loader."""
    dataset = torch.utils.data.TensorDataset(torch.arange(10).view(5, 2))
    workers = [b[0].tolist() for b in DataLoader(dataset, batch_size=2, num_workers=4)]
    assert workers == [b[0].tolist() for b in DataLoader(dataset, batch_size=2, num_workers=0)]
    assert workers == [[[0, 1], [2, 3]], [[4, 5], [6, 7]], [[8, 9]]]         # (the rows in order, two a batch)


def test_gap_G8_the_dataloader_module_path_is_pytorchs():
    """PyTorch: `from torch.utils.data.dataloader import DataLoader` (makemore's import) is the same
    class as `torch.utils.data.DataLoader`; torch.utils.data is a package with that submodule."""
    import importlib
    module = importlib.import_module("microgradseq.utils.data.dataloader")
    assert module.DataLoader is DataLoader
    assert DataLoader is torch.utils.data.DataLoader              # (the line above holds by this file's own import)
    assert torch.utils.data.dataloader is module and hasattr(torch.utils.data, "__path__")
