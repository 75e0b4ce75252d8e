"""Porting, round 20: sequence models past the LSTM. Each script is written as its author wrote it, with only its
imports changed and its data made up and small (`# differs:` marks each other change and why):

1. johnma2006/mamba-minimal model.py (at 02d3b53e1d44de79824dff9036bf10eab07cb2cb): ModelArgs, Mamba (tied
   embedding and readout), ResidualBlock, RMSNorm and MambaBlock with its depthwise causal Conv1d, softplus and
   the einsum-based selective_scan loop (its long docstrings shortened, `from_pretrained` left out). einops is not
   a dependency here: three stand-ins below do what its rearrange, repeat and einsum do for model.py's patterns.
   Checked against a numpy Mamba and central differences of it, for causality, and trained with AdamW on
   Fibonacci sequences mod 11 (the next token needs the two before it).
2. lucidrains/minGRU-pytorch (Feng et al. 2024, "Were RNNs All We Needed?"): minGRU_pytorch/minGRU.py (at
   270743367e9d9d1ea7e2fc0fba4145e3cc8c2c8c) and minLSTM.py (at 63e86bb706fe0582405b60463136eb66a4d60e19):
   Heinsen's log-space parallel scan (cumsum and logcumsumexp), g and log_g, the sequential mode with
   torch.lerp. The parallel mode is checked against the paper's recurrence in numpy and against the layers' own
   sequential mode, as the README's sanity check does; its gradients against central differences.
3. karpathy/makemore makemore.py (at f61811b994280cb12ddae15ef5800baa2e3a1ca4, the revision round 9 ran against
   entropy bounds): RNNCell and GRUCell written as Modules with torch.cat, the RNN, MLP and Bigram models,
   generate (top-k, torch.multinomial), print_samples, evaluate under torch.inference_mode, CharDataset,
   create_datasets, InfiniteDataLoader (RandomSampler with replacement and num_samples) and the __main__ block
   (AdamW with betas and weight_decay, cross_entropy with ignore_index=-1). Here pinned by their numbers: numpy
   forward passes, the masked loss, central differences, AdamW written in numpy.

What broke, and what was fixed (each pinned by a test at the end of this file):

  G1  No torch.logcumsumexp (minGRU's and minLSTM's scan). Now `mg.logcumsumexp(x, dim)` and
      `t.logcumsumexp(dim)` (microgradseq/ops/softmax.py): a composite, Hillis and Steele's scan of pairwise
      logsumexps, so values far apart stay finite (a shift by the axis' max would send a decaying sequence's
      early entries to -inf); its gradients are the chain rule's. Integers are a TypeError (PyTorch does not
      implement them), a -inf prefix has a NaN gradient, as PyTorch's.
  G2  `torch.lerp` (minGRU's sequential step) was only `mg.ops.lerp`; now `mg.lerp` and `t.lerp` too.

Nothing else was missing: Conv1d with groups, softplus, silu, rsqrt, einsum, split(split_size=[...]), F.pad,
torch.where, AdamW, inference_mode and the samplers ran as written.

Compared with PyTorch 2.13 (a scratch script, not a test: the ports run on both with the same weights): 110,647
float32 values (logits, losses, every gradient, parameters after three AdamW steps, logcumsumexp and its
gradient, lerp) agree to 3.7e-4 at worst, on a minGRU gradient of size 13 (3e-5 of its largest entry: float32
rounding); 3,552 float64 values to 6.5e-13.

Expected values come from numpy written here (Mamba, minGRU, minLSTM and makemore's RNN and GRU forward passes,
cross-entropy with an ignored index, AdamW), central differences of it, numpy's logaddexp.accumulate, closed
forms, and PyTorch 2.13's printed values written down as literals (each says so); never from the library itself
or from PyTorch at test time.
"""

from __future__ import annotations   # (mamba-minimal's first line: its `Union[int, str]` is never evaluated)

import math
import re
import string
from dataclasses import dataclass
from typing import Union  # differs: model.py names Union without importing it (never evaluated there)

import numpy as np
import pytest
from test_op_gradients import central_differences
from test_pytorch_porting_19 import arrays, gradient_by_central_differences
import test_pytorch_porting_9 as makemore
from test_pytorch_porting_9 import RNN, CharDataset, InfiniteDataLoader, ModelConfig, generate

import microgradseq as torch
import microgradseq.nn as nn
import microgradseq.nn.functional as F
from microgradseq.nn import Identity, Linear, Module


def softplus(a):
    return np.logaddexp(0.0, a)


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def silu(a):
    return a * sigmoid(a)


def np_cross_entropy(logits, targets, ignore_index=-1):
    """The mean of -log softmax(logits)[target] over the rows whose target is not ignore_index."""
    kept = targets != ignore_index
    shifted = logits[kept] - logits[kept].max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -log_probs[np.arange(kept.sum()), targets[kept]].mean()


# ---- 1. johnma2006/mamba-minimal: model.py ---------------------------------------------------------------

# differs: `from einops import rearrange, repeat, einsum`: einops is not a dependency here. These stand-ins do
# what einops does for the patterns model.py writes (a permutation, a new axis of size 1 or of a given size, and
# einsum with axis names of several letters); they use only torch's own names, so they run on PyTorch too.

def rearrange(tensor, pattern):
    """einops.rearrange for a pattern that permutes named axes and may add axes of size 1 ('1')."""
    left, right = (side.split() for side in pattern.split('->'))
    tensor = tensor.permute(*[left.index(name) for name in right if name != '1'])
    sizes = iter(tensor.shape)
    return tensor.reshape(*[1 if name == '1' else next(sizes) for name in right])


def repeat(tensor, pattern, **sizes):
    """einops.repeat for a pattern that keeps the named axes in order and adds new ones of the given sizes."""
    left, right = (side.split() for side in pattern.split('->'))
    for position, name in enumerate(right):
        if name not in left:
            tensor = tensor.unsqueeze(position)
    return tensor.expand(*[sizes.get(name, -1) for name in right]).contiguous()


def einsum(*tensors_and_pattern):
    """einops.einsum(*tensors, pattern): torch.einsum with each axis name of the pattern as one letter."""
    *tensors, pattern = tensors_and_pattern
    inputs, output = pattern.split('->')
    letters = dict(zip(sorted(set(pattern.replace(',', ' ').replace('->', ' ').split())), string.ascii_letters))
    spell = lambda names: ''.join(letters[name] for name in names.split())   # noqa: E731
    return torch.einsum(','.join(map(spell, inputs.split(','))) + '->' + spell(output), *tensors)


# model.py (at 02d3b53e1d44de79824dff9036bf10eab07cb2cb), from `@dataclass class ModelArgs` on.

@dataclass
class ModelArgs:
    d_model: int
    n_layer: int
    vocab_size: int
    d_state: int = 16
    expand: int = 2
    dt_rank: Union[int, str] = 'auto'
    d_conv: int = 4
    pad_vocab_size_multiple: int = 8
    conv_bias: bool = True
    bias: bool = False

    def __post_init__(self):
        self.d_inner = int(self.expand * self.d_model)

        if self.dt_rank == 'auto':
            self.dt_rank = math.ceil(self.d_model / 16)

        if self.vocab_size % self.pad_vocab_size_multiple != 0:
            self.vocab_size += (self.pad_vocab_size_multiple
                                - self.vocab_size % self.pad_vocab_size_multiple)


class Mamba(nn.Module):
    def __init__(self, args: ModelArgs):
        """Full Mamba model."""
        super().__init__()
        self.args = args

        self.embedding = nn.Embedding(args.vocab_size, args.d_model)
        self.layers = nn.ModuleList([ResidualBlock(args) for _ in range(args.n_layer)])
        self.norm_f = RMSNorm(args.d_model)

        self.lm_head = nn.Linear(args.d_model, args.vocab_size, bias=False)
        self.lm_head.weight = self.embedding.weight  # Tie output projection to embedding weights.
                                                     # See "Weight Tying" paper

    def forward(self, input_ids):
        """
        Args:
            input_ids (long tensor): shape (b, l)    (See Glossary at top for definitions of b, l, d_in, n...)

        Returns:
            logits: shape (b, l, vocab_size)
        """
        x = self.embedding(input_ids)

        for layer in self.layers:
            x = layer(x)

        x = self.norm_f(x)
        logits = self.lm_head(x)

        return logits

    # differs: `from_pretrained` (HuggingFace's transformers and a download) is left out.


class ResidualBlock(nn.Module):
    def __init__(self, args: ModelArgs):
        """Simple block wrapping Mamba block with normalization and residual connection."""
        super().__init__()
        self.args = args
        self.mixer = MambaBlock(args)
        self.norm = RMSNorm(args.d_model)

    def forward(self, x):
        output = self.mixer(self.norm(x)) + x

        return output


class MambaBlock(nn.Module):
    def __init__(self, args: ModelArgs):
        """A single Mamba block, as described in Figure 3 in Section 3.4 in the Mamba paper [1]."""
        super().__init__()
        self.args = args

        self.in_proj = nn.Linear(args.d_model, args.d_inner * 2, bias=args.bias)

        self.conv1d = nn.Conv1d(
            in_channels=args.d_inner,
            out_channels=args.d_inner,
            bias=args.conv_bias,
            kernel_size=args.d_conv,
            groups=args.d_inner,
            padding=args.d_conv - 1,
        )

        # x_proj takes in `x` and outputs the input-specific Δ, B, C
        self.x_proj = nn.Linear(args.d_inner, args.dt_rank + args.d_state * 2, bias=False)

        # dt_proj projects Δ from dt_rank to d_in
        self.dt_proj = nn.Linear(args.dt_rank, args.d_inner, bias=True)

        A = repeat(torch.arange(1, args.d_state + 1), 'n -> d n', d=args.d_inner)
        self.A_log = nn.Parameter(torch.log(A))
        self.D = nn.Parameter(torch.ones(args.d_inner))
        self.out_proj = nn.Linear(args.d_inner, args.d_model, bias=args.bias)

    def forward(self, x):
        (b, l, d) = x.shape

        x_and_res = self.in_proj(x)  # shape (b, l, 2 * d_in)
        x_and_res = rearrange(x_and_res, 'b l x -> b x l')
        (x, res) = x_and_res.split(split_size=[self.args.d_inner, self.args.d_inner], dim=1)

        x = self.conv1d(x)[:, :, :l]
        x = F.silu(x)

        y = self.ssm(x)

        y = y * F.silu(res)

        output = self.out_proj(rearrange(y, 'b d_model l -> b l d_model'))

        return output

    def ssm(self, x):
        (d_in, n) = self.A_log.shape

        # Compute ∆ A B C D, the state space parameters.
        #     A, D are input independent (see Mamba paper [1] Section 3.5.2 "Interpretation of A" for why A isn't selective)
        #     ∆, B, C are input-dependent (this is a key difference between Mamba and the linear time invariant S4,
        #                                  and is why Mamba is called **selective** state spaces)

        A = -torch.exp(self.A_log.float())  # shape (d_in, n)
        D = self.D.float()

        x_dbl = rearrange(x, 'b d l -> b l d')
        x_dbl = self.x_proj(x_dbl)  # (b, l, dt_rank + 2*n)

        (delta, B, C) = x_dbl.split(split_size=[self.args.dt_rank, n, n], dim=-1)  # delta: (b, l, dt_rank). B, C: (b, l, n)
        delta = F.softplus(self.dt_proj(delta))  # (b, l, d_in)

        y = self.selective_scan(x, delta, A, B, C, D)  # This is similar to run_SSM(A, B, C, u) in The Annotated S4 [2]

        return y

    def selective_scan(self, u, delta, A, B, C, D):
        (b, d_in, l) = u.shape
        n = A.shape[1]

        # Discretize continuous parameters (Δ, A, B) using zero-order hold (ZOH) discretization
        # See Section 2 Equation 4 in the Mamba paper [1]
        deltaA = torch.exp(einsum(delta, A, 'b l d_in, d_in n -> b d_in l n'))
        deltaB_u = einsum(delta, B, u, 'b l d_in, b l n, b d_in l -> b d_in l n')

        # Perform selective scan (see scan_SSM() in The Annotated S4 [2])
        x = torch.zeros((b, d_in, n))
        ys = []
        for i in range(l):
            x = deltaA[:, :, i] * x + deltaB_u[:, :, i]
            y = einsum(x, C[:, i, :], 'b d_in n, b n -> b d_in')
            ys.append(y)
        y = torch.stack(ys, dim=2) # (b d_in l)

        if D is not None:
            y = y + u * rearrange(D, 'd_in -> d_in 1')

        return y


class RMSNorm(nn.Module):
    def __init__(self,
                 d_model: int,
                 eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d_model))

    def forward(self, x):
        output = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight

        return output

# (end of model.py)


def np_mamba(params, input_ids, args):
    """Mamba's logits in float64 numpy, written from the paper's equations: per layer
    x <- x + W_out [ssm(silu(causal depthwise conv(W_x rms(x)))) * silu(W_res rms(x))], with the selective scan
    h_t = exp(delta_t A) h_(t-1) + delta_t B_t u_t, y_t = C_t h_t + D u_t, and the embedding as the readout."""
    def rms(x, weight):
        return x / np.sqrt((x ** 2).mean(-1, keepdims=True) + 1e-5) * weight

    x = params['embedding.weight'][input_ids]
    b, l, _ = x.shape
    for k in range(args.n_layer):
        p = {name[len(f'layers.{k}.'):]: value for name, value in params.items() if name.startswith(f'layers.{k}.')}
        projected = rms(x, p['norm.weight']) @ p['mixer.in_proj.weight'].T
        u_in, res = projected[..., :args.d_inner], projected[..., args.d_inner:]     # (b, l, d_in)
        w, bias = p['mixer.conv1d.weight'][:, 0, :], p['mixer.conv1d.bias']        # (d_in, k), causal taps
        padded = np.concatenate([np.zeros((b, args.d_conv - 1, args.d_inner)), u_in], axis=1)
        u = silu(sum(padded[:, j:j + l] * w[:, j] for j in range(args.d_conv)) + bias)
        x_dbl = u @ p['mixer.x_proj.weight'].T
        delta_in, B, C = np.split(x_dbl, [args.dt_rank, args.dt_rank + args.d_state], axis=-1)
        delta = softplus(delta_in @ p['mixer.dt_proj.weight'].T + p['mixer.dt_proj.bias'])    # (b, l, d_in)
        A = -np.exp(p['mixer.A_log'])                                                      # (d_in, n)
        h, ys = np.zeros((b, args.d_inner, args.d_state)), []
        for t in range(l):
            h = np.exp(delta[:, t, :, None] * A) * h + (delta[:, t] * u[:, t])[:, :, None] * B[:, t, None, :]
            ys.append((h * C[:, t, None, :]).sum(-1) + p['mixer.D'] * u[:, t])
        y = np.stack(ys, axis=1) * silu(res)
        x = x + y @ p['mixer.out_proj.weight'].T
    return rms(x, params['norm_f.weight']) @ params['embedding.weight'].T


# ---- 2. lucidrains/minGRU-pytorch: minGRU.py and minLSTM.py ---------------------------------------------

# minGRU_pytorch/minGRU.py (at 270743367e9d9d1ea7e2fc0fba4145e3cc8c2c8c), whole. Its imports were
# `import torch`, `import torch.nn.functional as F`, `from torch.nn import Linear, Identity, Module`.

# https://arxiv.org/abs/2410.01201v1

def exists(v):
    return v is not None

# appendix B
# https://github.com/glassroom/heinsen_sequence

def heinsen_associative_scan_log(log_coeffs, log_values):
    a_star = log_coeffs.cumsum(dim = 1)
    log_h0_plus_b_star = (log_values - a_star).logcumsumexp(dim = 1)
    log_h = a_star + log_h0_plus_b_star
    return log_h.exp()

# appendix B.3

def g(x):
    return torch.where(x >= 0, x + 0.5, x.sigmoid())

def log_g(x):
    return torch.where(x >= 0, (F.relu(x) + 0.5).log(), -F.softplus(-x))

# log-space version of minGRU - B.3.1
# they enforce the hidden states to be positive

class minGRU(Module):
    def __init__(self, dim, expansion_factor = 1.):
        super().__init__()

        dim_inner = int(dim * expansion_factor)
        self.to_hidden_and_gate = Linear(dim, dim_inner * 2, bias = False)
        self.to_out = Linear(dim_inner, dim, bias = False) if expansion_factor != 1. else Identity()

    def forward(self, x, prev_hidden = None):
        seq_len = x.shape[1]
        hidden, gate = self.to_hidden_and_gate(x).chunk(2, dim = -1)

        if seq_len == 1:
            # handle sequential

            hidden = g(hidden)
            gate = gate.sigmoid()
            out = torch.lerp(prev_hidden, hidden, gate) if exists(prev_hidden) else (hidden * gate)
        else:
            # parallel

            log_coeffs = -F.softplus(gate)

            log_z = -F.softplus(-gate)
            log_tilde_h = log_g(hidden)
            log_values = log_z + log_tilde_h

            if exists(prev_hidden):
                log_values = torch.cat((log_g(prev_hidden), log_values), dim = 1)
                log_coeffs = F.pad(log_coeffs, (0, 0, 1, 0))

            out = heinsen_associative_scan_log(log_coeffs, log_values)
            out = out[:, -seq_len:]

        return self.to_out(out)


# minGRU_pytorch/minLSTM.py (at 63e86bb706fe0582405b60463136eb66a4d60e19), whole; it imports
# `default, exists, g, log_g, heinsen_associative_scan_log` from the minGRU.py above.

def default(v, d):  # differs: minLSTM.py imports `default` from a later minGRU.py, which has it; this one has not
    return v if exists(v) else d


class minLSTM(Module):
    def __init__(self, dim, expansion_factor = 1., proj_out = None):
        super().__init__()

        dim_inner = int(dim * expansion_factor)
        proj_out = default(proj_out, expansion_factor != 1.)

        self.to_hidden_and_f_i_gate = Linear(dim, dim_inner * 3, bias = False)
        self.to_out = Linear(dim_inner, dim, bias = False) if proj_out else Identity()

    def forward(self, x, prev_hidden = None, return_next_prev_hidden = False):
        seq_len = x.shape[1]
        hidden, f_gate, i_gate = self.to_hidden_and_f_i_gate(x).chunk(3, dim = -1)

        if seq_len == 1:
            # handle sequential

            hidden = g(hidden)
            f_gate = f_gate.sigmoid()
            i_gate = i_gate.sigmoid()
            f_gate_prime = f_gate/(f_gate + i_gate)
            i_gate_prime = i_gate/(f_gate + i_gate)
            out = (
                (prev_hidden * f_gate_prime) + (hidden * i_gate_prime) if exists(prev_hidden)
                else (hidden * i_gate_prime)
            )
        else:
            # parallel

            diff = F.softplus(-f_gate) - F.softplus(-i_gate)

            log_f = -F.softplus(diff)
            log_i = -F.softplus(-diff)

            log_h_0 = -F.softplus(log_f)

            log_tilde_h = log_g(hidden)
            log_values = log_i + log_tilde_h

            if exists(prev_hidden):
                log_h_0 = log_g(prev_hidden)
                log_values = torch.cat((log_h_0, log_values), dim = 1)
                log_f = F.pad(log_f, (0, 0, 1, 0))

            out = heinsen_associative_scan_log(log_f, log_values)
            out = out[:, -seq_len:]

        next_prev_hidden = out[:, -1:]

        out = self.to_out(out)

        if not return_next_prev_hidden:
            return out

        return out, next_prev_hidden

# (end of minLSTM.py)


def np_g(a):
    return np.where(a >= 0, a + 0.5, sigmoid(a))


def np_min_gru(W, x, h0=None):
    """The paper's minGRU step by step (Feng et al. 2024, section 3.2 and appendix B.3), in float64:
    z_t = sigmoid(W_z x_t), h~_t = g(W_h x_t), h_t = (1 - z_t) h_(t-1) + z_t h~_t, from h_0 = 0 (or h0)."""
    hidden, gate = np.split(x @ W.T, 2, axis=-1)
    h, hs = (np.zeros_like(hidden[:, 0]) if h0 is None else h0), []
    for t in range(x.shape[1]):
        z = sigmoid(gate[:, t])
        h = (1 - z) * h + z * np_g(hidden[:, t])
        hs.append(h)
    return np.stack(hs, axis=1)


def np_min_lstm(W, x, h0=None):
    """The paper's minLSTM step by step (section 3.3, with the normalised gates of appendix B):
    f'_t = f_t / (f_t + i_t), i'_t = i_t / (f_t + i_t), h_t = f'_t h_(t-1) + i'_t g(h~_t)."""
    hidden, f_gate, i_gate = np.split(x @ W.T, 3, axis=-1)
    h, hs = (np.zeros_like(hidden[:, 0]) if h0 is None else h0), []
    for t in range(x.shape[1]):
        f, i = sigmoid(f_gate[:, t]), sigmoid(i_gate[:, t])
        h = f / (f + i) * h + i / (f + i) * np_g(hidden[:, t])
        hs.append(h)
    return np.stack(hs, axis=1)


# ---- 3. karpathy/makemore: makemore.py, its recurrent models ---------------------------------------------

# makemore.py (at f61811b994280cb12ddae15ef5800baa2e3a1ca4) is ported whole, with only its imports changed, in
# tests/test_pytorch_porting_9.py, which runs it against entropy bounds; the tests below pin the same port by its
# numbers: `makemore` is that module (its `main` leaves `model` and `test_dataset` among its globals).


# ---- tests: 1. Mamba -----------------------------------------------------------------------------------

def small_mamba(**sizes):
    args = ModelArgs(**{**dict(d_model=8, n_layer=2, vocab_size=11, d_state=4, d_conv=3), **sizes})
    return Mamba(args), args


def test_mamba_args_pad_the_vocabulary_to_a_multiple_of_8_and_take_dt_rank_from_d_model():
    args = ModelArgs(d_model=40, n_layer=1, vocab_size=50277)
    assert (args.vocab_size, args.d_inner, args.dt_rank) == (50280, 80, math.ceil(40 / 16))
    model, args = small_mamba()
    assert args.vocab_size == 16 and model.lm_head.weight is model.embedding.weight
    block = model.layers[0].mixer
    assert block.conv1d.weight.shape == (16, 1, 3) and block.x_proj.weight.shape == (1 + 2 * 4, 16)
    np.testing.assert_allclose(block.A_log.data, np.log(np.tile(np.arange(1.0, 5.0), (16, 1))), rtol=1e-6)


def test_mamba_logits_are_a_numpy_selective_scan_and_the_model_is_causal(float64_default):
    torch.manual_seed(0)
    model, args = small_mamba()
    ids = np.random.default_rng(0).integers(0, 11, size=(2, 6))
    logits = model(torch.tensor(ids))
    np.testing.assert_allclose(logits.numpy(), np_mamba(arrays(model), ids, args), rtol=1e-10, atol=1e-10)
    changed = ids.copy()
    changed[:, 4] = (changed[:, 4] + 1) % 11              # a later token cannot change an earlier logit
    later = model(torch.tensor(changed)).numpy()
    np.testing.assert_array_equal(later[:, :4], logits.numpy()[:, :4])
    assert np.abs(later[:, 4:] - logits.numpy()[:, 4:]).min() > 0


def test_mamba_gradients_match_central_differences_of_the_numpy_model(float64_default):
    torch.manual_seed(1)
    model, args = small_mamba(n_layer=1, d_model=4, d_state=3)
    ids = np.random.default_rng(1).integers(0, 11, size=(2, 5))
    weights = np.random.default_rng(2).normal(size=(2, 5, args.vocab_size))
    (model(torch.tensor(ids)) * torch.tensor(weights)).sum().backward()
    expected = gradient_by_central_differences(lambda p: (np_mamba(p, ids, args) * weights).sum(), arrays(model))
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad, expected[name], rtol=1e-5, atol=1e-7, err_msg=name)


def fibonacci_mod(count, length, modulus=11, seed=0):
    """Sequences x_(t+1) = (x_t + x_(t-1)) mod 11 from two random tokens: the next token needs the two before it."""
    sequences = np.zeros((count, length), dtype=np.int64)
    sequences[:, :2] = np.random.default_rng(seed).integers(0, modulus, size=(count, 2))
    for t in range(2, length):
        sequences[:, t] = (sequences[:, t - 1] + sequences[:, t - 2]) % modulus
    return sequences


def test_mamba_learns_a_fibonacci_sequence_mod_11_with_adamw():
    """Given one token, the next is uniform over 11 (log 11 = 2.40 nats); the model must use two."""
    torch.manual_seed(0)
    model, args = small_mamba(d_model=16)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    losses = []
    for step in range(200):
        ids = torch.tensor(fibonacci_mod(8, 13, seed=step))
        logits = model(ids[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert np.mean(losses[-10:]) < math.log(11) / 2, losses[-10:]


# ---- tests: 2. minGRU and minLSTM -----------------------------------------------------------------------

def test_min_gru_parallel_scan_is_the_papers_recurrence_and_its_own_sequential_mode(float64_default):
    torch.manual_seed(0)
    min_gru = minGRU(dim=6)
    x = torch.randn(3, 40, 6) * 3
    parallel = min_gru(x)
    np.testing.assert_allclose(parallel.numpy(), np_min_gru(min_gru.to_hidden_and_gate.weight.numpy(), x.numpy()),
                               rtol=1e-10, atol=1e-12)
    prev_hidden, outputs = None, []
    for token in x.unbind(dim = 1):          # (expansion 1: the output is the hidden state, to feed back)
        prev_hidden = min_gru(token[:, None, :], prev_hidden)
        outputs.append(prev_hidden)
    np.testing.assert_allclose(torch.cat(outputs, dim=1).numpy(), parallel.numpy(), rtol=1e-10, atol=1e-12)


def test_min_gru_readme_sanity_check_last_parallel_output_equals_the_sequential_one_in_float32():
    """The README's check (`assert torch.allclose(parallel_out, sequential_out, atol = 1e-4)`), smaller.
    differs: dim 512, 2048 steps and expansion 1.5 there; its loop needs `return_next_prev_hidden`, which this
    minGRU.py has not, so here expansion 1 (the output is the hidden state)."""
    torch.manual_seed(0)
    min_gru = minGRU(dim = 16)
    x = torch.randn(1, 512, 16)
    parallel_out = min_gru(x)[:, -1:]
    prev_hidden = None
    for token in x.unbind(dim = 1):
        sequential_out = prev_hidden = min_gru(token[:, None, :], prev_hidden)
    assert parallel_out.dtype == torch.float32
    assert torch.allclose(parallel_out, sequential_out, atol = 1e-4)


def test_min_gru_parallel_mode_starts_from_g_of_prev_hidden_where_the_sequential_mode_starts_from_it(
        float64_default):
    """At this commit the parallel branch puts log_g(prev_hidden) in front of the scan: it continues from
    g(prev_hidden), while the sequential branch's lerp continues from prev_hidden itself. (Later versions
    write prev_hidden.log(), and the two agree.) The port keeps the source's behaviour, as PyTorch runs it."""
    torch.manual_seed(0)
    min_gru = minGRU(dim=4)
    x, h0 = torch.randn(2, 5, 4), torch.rand(2, 1, 4) + 0.1
    W = min_gru.to_hidden_and_gate.weight.numpy()
    np.testing.assert_allclose(min_gru(x, h0).numpy(), np_min_gru(W, x.numpy(), np_g(h0.numpy()[:, 0])),
                               rtol=1e-10, atol=1e-12)
    assert np.abs(min_gru(x, h0).numpy() - np_min_gru(W, x.numpy(), h0.numpy()[:, 0])).max() > 1e-3


def test_min_lstm_parallel_scan_is_the_papers_recurrence_and_its_sequential_mode(float64_default):
    torch.manual_seed(0)
    min_lstm = minLSTM(dim=5)
    x = torch.randn(2, 30, 5) * 2
    W = min_lstm.to_hidden_and_f_i_gate.weight.numpy()
    parallel, last = min_lstm(x, return_next_prev_hidden=True)
    np.testing.assert_allclose(parallel.numpy(), np_min_lstm(W, x.numpy()), rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(last.numpy(), parallel.numpy()[:, -1:])
    prev_hidden, outputs = None, []
    for token in x.unbind(dim = 1):
        out, prev_hidden = min_lstm(token[:, None, :], prev_hidden, return_next_prev_hidden = True)
        outputs.append(out)
    np.testing.assert_allclose(torch.cat(outputs, dim=1).numpy(), parallel.numpy(), rtol=1e-10, atol=1e-12)
    h0 = torch.rand(2, 1, 5) + 0.1                   # as minGRU: the parallel mode continues from g(prev_hidden)
    np.testing.assert_allclose(min_lstm(x, h0).numpy(), np_min_lstm(W, x.numpy(), np_g(h0.numpy()[:, 0])),
                               rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("layer", ["minGRU", "minLSTM"])
def test_min_rnn_gradients_through_the_log_space_scan_match_central_differences(layer, float64_default):
    torch.manual_seed(0)
    module = minGRU(dim=3, expansion_factor=1.5) if layer == "minGRU" else minLSTM(dim=3, expansion_factor=1.5)
    x = np.random.default_rng(0).normal(size=(2, 7, 3)) * 2
    weights = np.random.default_rng(1).normal(size=(2, 7, 3))
    recurrence = np_min_gru if layer == "minGRU" else np_min_lstm
    gates = next(name for name in arrays(module) if name.startswith("to_hidden"))

    def loss_of(p):
        return ((recurrence(p[gates], x) @ p["to_out.weight"].T) * weights).sum()

    (module(torch.tensor(x)) * torch.tensor(weights)).sum().backward()
    expected = gradient_by_central_differences(loss_of, arrays(module))
    for name, p in module.named_parameters():
        np.testing.assert_allclose(p.grad, expected[name], rtol=1e-6, atol=1e-8, err_msg=name)


def test_min_gru_language_model_learns_the_fibonacci_sequence_in_parallel_mode():
    """A minGRU (expansion 2, so with its output projection) between an embedding and a readout, trained in
    parallel mode with AdamW: the gradients reach every weight through logcumsumexp."""
    torch.manual_seed(0)
    embed, min_gru, readout = nn.Embedding(11, 32), minGRU(32, expansion_factor=2.), nn.Linear(32, 11)
    parameters = [*embed.parameters(), *min_gru.parameters(), *readout.parameters()]
    optimizer = torch.optim.AdamW(parameters, lr=1e-2)
    losses = []
    for step in range(150):
        ids = torch.tensor(fibonacci_mod(16, 13, seed=step))
        logits = readout(min_gru(embed(ids[:, :-1])))
        loss = F.cross_entropy(logits.reshape(-1, 11), ids[:, 1:].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert np.mean(losses[-10:]) < math.log(11) / 2, losses[-10:]


# ---- tests: 3. makemore ----------------------------------------------------------------------------------

def made_up_names(count, seed=0):
    """Names of 2 to 4 syllables, a consonant of 'bdklmnrst' then a vowel of 'aeiou', the vowel after 'k' always
    'a': a language with rules a character model can learn."""
    rng = np.random.default_rng(seed)
    names = set()
    while len(names) < count:
        syllables = []
        for _ in range(rng.integers(2, 5)):
            consonant = 'bdklmnrst'[rng.integers(9)]
            syllables.append(consonant + ('a' if consonant == 'k' else 'aeiou'[rng.integers(5)]))
        names.add(''.join(syllables))
    return sorted(names)


def np_rnn_logits(p, idx, cell_type):
    """makemore's RNN in float64 numpy: h_0 = start; RNN h_t = tanh(W [x_t, h_(t-1)] + b); GRU
    r, z = sigmoid(W_r [x_t, h] + b_r), sigmoid(W_z [x_t, h] + b_z), hbar = tanh(W_h [x_t, r h] + b_h),
    h_t = (1 - z) h + z hbar; logits = W_out h_t + b_out."""
    def linear(name, a):
        return a @ p[f'cell.{name}.weight'].T + p[f'cell.{name}.bias']

    emb = p['wte.weight'][idx]
    h, hiddens = np.repeat(p['start'], idx.shape[0], axis=0), []
    for t in range(idx.shape[1]):
        xh = np.concatenate([emb[:, t], h], axis=1)
        if cell_type == 'rnn':
            h = np.tanh(linear('xh_to_h', xh))
        else:
            r, z = sigmoid(linear('xh_to_r', xh)), sigmoid(linear('xh_to_z', xh))
            hbar = np.tanh(linear('xh_to_hbar', np.concatenate([emb[:, t], r * h], axis=1)))
            h = (1 - z) * h + z * hbar
        hiddens.append(h)
    return np.stack(hiddens, axis=1) @ p['lm_head.weight'].T + p['lm_head.bias']


def word_batch(words, max_word_length=8):
    dataset = CharDataset(words, sorted(set(''.join(words))), max_word_length)
    X, Y = zip(*(dataset[i] for i in range(len(words))))
    return dataset, torch.stack(X), torch.stack(Y)


@pytest.mark.parametrize("cell_type", ["rnn", "gru"])
def test_makemore_rnn_and_gru_give_numpys_logits_and_masked_loss_and_its_gradients(cell_type, float64_default):
    torch.manual_seed(0)
    dataset, X, Y = word_batch(['kabe', 'sonu', 'ka', 'mitedu'])
    model = RNN(ModelConfig(vocab_size=dataset.get_vocab_size(), block_size=9, n_embd=3, n_embd2=4), cell_type)
    with torch.no_grad():
        model.start += torch.randn(1, 4)          # (a start state other than zeros, so its gradient is tested)
    logits, loss = model(X, Y)
    p = arrays(model)
    np.testing.assert_allclose(logits.numpy(), np_rnn_logits(p, X.numpy(), cell_type), rtol=1e-10, atol=1e-12)
    targets = Y.numpy().reshape(-1)
    assert (targets == -1).sum() == 4 * 9 - (4 + 4 + 2 + 6 + 4)         # the -1's after each word's <STOP>
    loss_of = lambda p: np_cross_entropy(np_rnn_logits(p, X.numpy(), cell_type).reshape(-1, 13), targets)  # noqa: E731
    assert loss.item() == pytest.approx(loss_of(p), rel=1e-12)
    loss.backward()
    expected = gradient_by_central_differences(loss_of, p)
    for name, param in model.named_parameters():
        np.testing.assert_allclose(param.grad, expected[name], rtol=1e-6, atol=1e-9, err_msg=name)


def np_adamw(p, grads, lr, betas, eps, weight_decay):
    """PyTorch's AdamW (decoupled weight decay, bias-corrected moments) from zero moments, one step per gradient."""
    m, v = np.zeros_like(p), np.zeros_like(p)
    for t, grad in enumerate(grads, start=1):
        p = p * (1 - lr * weight_decay)
        m, v = betas[0] * m + (1 - betas[0]) * grad, betas[1] * v + (1 - betas[1]) * grad ** 2
        p = p - lr * (m / (1 - betas[0] ** t)) / (np.sqrt(v / (1 - betas[1] ** t)) + eps)
    return p


def test_makemore_adamw_with_its_betas_and_weight_decay_is_pytorchs_adamw(float64_default):
    torch.manual_seed(0)
    dataset, X, Y = word_batch(['kabe', 'sonu', 'ka', 'mitedu'])
    model = RNN(ModelConfig(vocab_size=dataset.get_vocab_size(), block_size=9, n_embd=3, n_embd2=4), 'gru')
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-2, weight_decay=0.01, betas=(0.9, 0.99), eps=1e-8)
    start, grads = arrays(model), {name: [] for name, _ in model.named_parameters()}
    for _ in range(3):
        logits, loss = model(X, Y)
        model.zero_grad(set_to_none=True)
        loss.backward()
        for name, p in model.named_parameters():
            grads[name].append(np.array(p.grad))
        optimizer.step()
    for name, p in model.named_parameters():
        expected = np_adamw(start[name], grads[name], 5e-2, (0.9, 0.99), 1e-8, 0.01)
        np.testing.assert_allclose(p.data, expected, rtol=1e-10, atol=1e-12, err_msg=name)


class Lookup(nn.Module):
    """A model whose logits for the next token are a fixed row, whatever came before (to test generate)."""
    def __init__(self, row):
        super().__init__()
        self.row = torch.tensor(row)

    def get_block_size(self):
        return 3

    def forward(self, idx, targets=None):
        return self.row.expand(idx.shape[0], idx.shape[1], -1), None


def test_makemore_generate_with_top_k_samples_only_the_k_likeliest_and_greedy_takes_the_likeliest():
    torch.manual_seed(0)
    row = [0.0, 2.0, -1.0, 1.5, 3.0, 0.5]
    sampled = generate(Lookup(row), torch.zeros(200, 1, dtype=torch.long), 4, do_sample=True, top_k=3)
    assert sampled.shape == (200, 5) and sampled.dtype == torch.long
    assert set(sampled[:, 1:].numpy().ravel()) == {1, 3, 4}
    counts = np.bincount(sampled[:, 1:].numpy().ravel(), minlength=6)[[1, 3, 4]] / 800
    top = np.exp(np.array([2.0, 1.5, 3.0]))
    np.testing.assert_allclose(counts, top / top.sum(), atol=0.05)     # softmax over the three kept logits
    greedy = generate(Lookup(row), torch.zeros(2, 1, dtype=torch.long), 3)
    assert greedy[:, 1:].tolist() == [[4, 4, 4], [4, 4, 4]]


@pytest.mark.filterwarnings("ignore:'pin_memory'")       # (PyTorch's warning without an accelerator)
def test_makemore_infinite_loader_draws_batches_with_replacement_for_ever():
    torch.manual_seed(0)
    dataset, _, _ = word_batch(['kabe', 'sonu', 'ka'])
    loader = InfiniteDataLoader(dataset, batch_size=4, pin_memory=True, num_workers=4)
    drawn = [loader.next() for _ in range(30)]          # 120 words from 3: with replacement
    assert all(len(batch) == 2 and batch[0].shape == (4, 9) and batch[0].dtype == torch.long for batch in drawn)
    firsts = {tuple(row) for X, _ in drawn for row in X.numpy()[:, 1:3].tolist()}
    assert firsts == {(dataset.stoi['k'], dataset.stoi['a']), (dataset.stoi['s'], dataset.stoi['o'])}


@pytest.mark.filterwarnings("ignore:'pin_memory'")
@pytest.mark.parametrize("model_type, steps, bound", [("bigram", 300, 2.0), ("mlp", 200, 1.9),
                                                      ("rnn", 200, 1.9), ("gru", 200, 1.9)])
def test_makemore_trains_each_model_type_and_samples_names_of_the_made_up_language(
        tmp_path, capsys, model_type, steps, bound):
    """Uniform guessing costs log 21 = 3.04 nats a character; the language's rules (a consonant then a vowel,
    'a' after 'k', 2 to 4 syllables) allow far less. Evaluated every 500 steps in the source: here at the end."""
    names = tmp_path / "names.txt"
    names.write_text("\n".join(made_up_names(400)) + "\n")
    makemore.main(['-i', str(names), '-o', str(tmp_path / 'out'), '--type', model_type, '--max-steps', str(steps),
                   '--n-embd', '16', '--n-embd2', '32', '--batch-size', '32', '--learning-rate', '1e-2', '--seed', '0'])
    model, test_dataset = makemore.model, makemore.test_dataset
    assert model.training
    test_loss = makemore.evaluate(model, test_dataset, batch_size=100, max_batches=10)
    assert model.training and test_loss < bound, test_loss
    logits, loss = model(*[torch.stack(part) for part in zip(*(test_dataset[i] for i in range(5)))])
    assert loss.requires_grad
    with torch.inference_mode():                         # what evaluate runs under: nothing recorded
        assert not model(*[torch.stack(part) for part in zip(*(test_dataset[i] for i in range(5)))])[1].requires_grad
    capsys.readouterr()
    makemore.print_samples(num=40)
    samples = [line for line in capsys.readouterr().out.splitlines()[1:-1] if 'samples that are' not in line]
    assert len(samples) == 40
    well_formed = [word for word in samples if re.fullmatch(r'(?:ka|[bdlmnrst][aeiou]){2,4}', word)]
    assert len(well_formed) >= 20, samples


# ---- The gaps these scripts met (closed): PyTorch's behaviour ------------------------------------------------

def test_gap_G1_logcumsumexp_is_the_running_logsumexp_however_far_apart_the_values_are():
    """minGRU's scan: torch.logcumsumexp(x, dim) and x.logcumsumexp(dim), y_i = log sum_{j <= i} e^(x_j).
    numpy's logaddexp.accumulate is the reference; values 1000 apart keep every entry finite."""
    x = np.array([[-1000.0, 0.0, 3.0, -5.0, 2.0, 700.0, -700.0]])
    for y in (torch.logcumsumexp(torch.tensor(x), 1), torch.tensor(x).logcumsumexp(dim=-1)):
        np.testing.assert_allclose(y.numpy(), np.logaddexp.accumulate(x, axis=1), rtol=1e-15, atol=0)
    rng = np.random.default_rng(0)
    for shape, dim in [((5,), 0), ((3, 17, 2), 1), ((4, 33), 0), ((2, 3, 64), -1)]:
        a = (rng.normal(size=shape) * 20).astype(np.float32)
        y = torch.tensor(a).logcumsumexp(dim)
        assert y.dtype == torch.float32 and y.shape == shape
        np.testing.assert_allclose(y.numpy(), np.logaddexp.accumulate(a.astype(np.float64), axis=dim), rtol=1e-6)
    assert torch.logcumsumexp(torch.tensor(2.5), 0).item() == 2.5             # a 0-d tensor is its own
    assert torch.logcumsumexp(torch.zeros(0, 3), 0).shape == (0, 3)


def test_gap_G1_logcumsumexp_gradients_match_central_differences_and_nan_behind_minus_infinity():
    rng = np.random.default_rng(1)
    for shape, dim in [((6,), 0), ((3, 9, 2), 1), ((2, 5), -1)]:
        a, weights = rng.normal(size=shape) * 4, rng.normal(size=shape)
        x = torch.tensor(a, requires_grad=True)
        (x.logcumsumexp(dim) * torch.tensor(weights)).sum().backward()
        expected = central_differences(lambda v: (np.logaddexp.accumulate(v, axis=dim) * weights).sum(), a)
        np.testing.assert_allclose(x.grad, expected, rtol=1e-6, atol=1e-7)
    # PyTorch 2.13: logcumsumexp([-inf, -inf, 1, 2]) = [-inf, -inf, 1, 2.3133], and the gradient of its sum is
    # [nan, nan, 1.2689, 0.7311] (e^(x_j - y_i) is 0/0 where the prefix is all -inf)
    x = torch.tensor([-math.inf, -math.inf, 1.0, 2.0], dtype=torch.float64, requires_grad=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        y = x.logcumsumexp(0)
        y.sum().backward()
    np.testing.assert_allclose(y.numpy(), [-math.inf, -math.inf, 1.0, np.logaddexp(1.0, 2.0)])
    assert np.isnan(x.grad[:2]).all()
    np.testing.assert_allclose(x.grad[2:], [1 + 1 / (1 + math.e), 1 / (1 + math.exp(-1))], rtol=1e-12)


def test_gap_G1_logcumsumexp_refuses_integers_a_missing_dim_and_an_axis_it_has_not():
    with pytest.raises(TypeError, match="logcumsumexp: expected a floating-point tensor"):
        torch.logcumsumexp(torch.tensor([1, 2]), 0)           # PyTorch: NotImplementedError for 'Long'
    with pytest.raises(TypeError, match="logcumsumexp: dim is required"):
        torch.tensor([1.0, 2.0]).logcumsumexp()
    with pytest.raises(ValueError, match="logcumsumexp: dim 1 is not an axis of shape"):
        torch.logcumsumexp(torch.zeros(2), 1)                  # PyTorch: IndexError


def test_gap_G2_lerp_is_a_function_and_a_method_as_in_pytorch(float64_default):
    """minGRU's sequential step, `torch.lerp(prev_hidden, hidden, gate)`: start + weight (end - start), the
    weight a tensor or a number; the op's own gradients (1 - w, w, end - start)."""
    start, end = torch.tensor([1.0, 2.0], requires_grad=True), torch.tensor([3.0, 6.0], requires_grad=True)
    weight = torch.tensor([0.25, 1.0], requires_grad=True)
    assert torch.lerp(start, end, weight).tolist() == [1.5, 6.0]
    assert start.lerp(end, 0.5).tolist() == [2.0, 4.0] and torch.lerp(start, end, 0.5).tolist() == [2.0, 4.0]
    start.lerp(end, weight).sum().backward()
    assert start.grad.tolist() == [0.75, 0.0] and end.grad.tolist() == [0.25, 1.0]
    assert weight.grad.tolist() == [2.0, 4.0]
