"""Porting, round 65: TRANSFORMERS RUN AS RNNS -- causal linear attention ("Transformers are RNNs") and retention
(RetNet), each in its parallel form and in its recurrent form, as public PyTorch code writes them (round 31 ported
RWKV-4's RNN mode from ChatRWKV and round 33 the xLSTM mLSTM's two forms; no round ported either of these). Each
is written as its author wrote it, with only the imports changed (`# differs:` marks each other change and why;
the fast-transformers classes' long docstrings left out):

1. idiap/fast-transformers (Katharopoulos et al. 2020): fast_transformers/masking.py
   (03b1461ab298c842ed9735542e3ab93427acc6db: BaseMask's `float_matrix`, `lengths`, `shape`, `lower_triangular`;
   FullMask, LengthMask, TriangularCausalMask), attention/causal_linear_attention.py
   (2aa1368a85d689fd606268f7e48906342fc084c7: `elu_feature_map`, `causal_linear`, CausalLinearAttention, the
   normaliser by `K.cumsum(1)`), attention/attention_layer.py (00b5e8fdcf8fbeff46d1c70375aae36de2ed9cf5),
   recurrent/_utils.py (4d4a0dd5c910b893324d6e62403c7ab3f9c1545b: `check_state`),
   recurrent/attention/self_attention/linear_attention.py (7ee816c22ca337480b641efad6b740f8de421323:
   RecurrentLinearAttention, the state (S_i, Z_i) added to out of place when K or V has a grad_fn and in place
   otherwise, three-operand einsum) and recurrent/attention/self_attention/attention_layer.py
   (5c842dc254d7d89ae19b6ab5c44076e9017f2677: RecurrentAttentionLayer). feature_maps/base.py (47187323) was read:
   the versions ported take the plain elu + 1 function, not its feature-map factory. The `causal_dot_product`
   extension (C++/CUDA) is not built: a stand-in computes what its CPU kernel does (marked).
2. Jamie-Stirling/RetNet (Sun et al. 2023): src/xpos_relative_position.py (9e9efa994c01ddfbc7c38ee3a5d34ab3e526017f:
   `fixed_pos_embedding`, `rotate_every_two`, `duplicate_interleave`, XPOS.forward; `forward_reverse` and the
   `__main__` block not ported), src/retention.py (9c92f489cb868b4ff5c5102bae11033c0a5857bd: SimpleRetention's
   parallel, recurrent and chunkwise forms, `_get_D` with `D[D != D] = 0`, the chunkwise `e` written item by item;
   MultiScaleRetention with its GroupNorm and swish gate), src/retnet.py (70443fba9b5f7814b0bc07d105ca67b645ad112a:
   RetNet, its three forms) and src/tests.py (4a9a7154f5fc8a4f2aa6c95a90a74bfc97a65246: its three unittest cases,
   run as written). Read and not ported: retention.py at 07d8a9174fde67544bab2407487641bd7930bb21 (einops'
   `rearrange` and `einsum`, not a dependency here) and retnet.py at 11656135abaf3555c6294868a70fdb767bee893d (a
   complex-valued FFN from a `util` module the index does not hold, and `np` used without its import).
Every source was read in the index at the commit named; none was written from memory.

What broke: nothing that is a gap. Both ran with their imports changed.

Met and left as documented (docs/pytorch.md; the lines say so):
  - `t.grad` is a numpy array: the tests read it with `arr(t.grad)` where PyTorch code writes `t.grad.numpy()`.
  - RetNet's `_get_D(n)` with a small gamma: `gamma ** (n - m)` overflows far above the diagonal and `* 0` makes
    NaN, which the author fills with `D[D != D] = 0`. The values are PyTorch's; numpy also warns twice
    (RuntimeWarning: overflow in power, invalid value in multiply) where PyTorch is silent.
Met and as PyTorch: `torch.all` of a bool row sliced by a 0-d length (`m[i, :l]`), `not` of a 0-d bool tensor,
`torch.arange` of a 0-d tensor (LengthMask's `max_len or lengths.max()`), `mask.clone()` under `no_grad`,
`lengths.clone().to("cpu")`; `Tensor.new_zeros((N, H, D, M))`; `K.grad_fn is not None` choosing the path and
`Zi += K` writing the caller's state in place under `no_grad` (the returned state is the same tensor); einsum with
three operands (`"nhd,nhdm,nh->nhm"`) and with spaces (`"i , j -> i j"`); `elu(x) + 1`; `x[:, :, ::2]` and `1::2`;
`torch.stack((-x2, x1), dim=-1).flatten(-2)`; `m.view(-1, 1).repeat(1, 2).view(dim0, -1)`; `scale **
torch.arange(...).to(scale).div(512)[:, None]` and `.to(tensor)`; `0.9 ** int_tensor` in the default float dtype,
`(n >= m).float()`, boolean-mask assignment `D[D != D] = 0`; `e[:, i, :] = gamma ** (i + 1)` into zeros;
`register_buffer`; GroupNorm over (B*L, C) rows; `torch.concat`; `load_state_dict` from one layer class into the
other (the same parameter names); `unittest.TestCase` methods with `assertTrue(torch.allclose(...))`.

Noticed and left alone (the sources', in PyTorch too):
  - RetNet's recurrent form puts token n at xPos position n + 1 where the parallel form puts it at n; xPos is
    relative (rotation by the distance, scale to the power of the distance), so the outputs agree (tested).
  - MultiScaleRetention sets `head_v_dim = hidden_size * 2 if double_v_dim else hidden_size` (per head it would
    be head_size); nothing reads it. `forward_chunkwise`'s `e = torch.zeros(batch, chunk_size, 1)` takes the
    default dtype, not X's. SimpleRetention's docstrings call the state (batch, hidden_size, v_dim); under
    MultiScaleRetention it is (batch, head_size, head_v_dim).
  - fast-transformers' elu + 1 linear attention carries no position: the tests' task (the token one step back) is
    learnt on one fixed batch, and the training tests ask only that the loss falls (full BPTT and truncated).

The small models trained (an embedding, one recurrent attention layer or a one-layer RetNet, a read-out) and the
made-up task are the tests' own. Expected values come from numpy written here in float64 (elu + 1 causal linear
attention as explicit sums and its state as cumulative sums, xPos, the decay matrix, retention, GroupNorm,
LayerNorm, exact GELU, the RetNet block), gradients by central differences of those numpy losses; never from the
library's own outputs.
"""
import io
import math
import unittest
import warnings

import numpy as np
import pytest
from porting_references import arr, central, check_named_grads, params_of, quietly, some_indices

import microgradseq as torch
import microgradseq.nn as nn
import microgradseq.nn.functional as F
from microgradseq.nn import Linear, Module


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)
    np.random.seed(0)


# =========================================================================================================
# 1. idiap/fast-transformers: masking.py (03b1461a), attention/causal_linear_attention.py (2aa1368a),
#    attention/attention_layer.py (00b5e8fd), recurrent/_utils.py (4d4a0dd5),
#    recurrent/attention/self_attention/linear_attention.py (7ee816c2) and attention_layer.py (5c842dc2)
# =========================================================================================================

# ---- fast_transformers/masking.py (BaseMask's properties the attention reads, LengthMask, the causal mask) ----
# differs: BaseMask's additive_matrix, additive_matrix_finite and all_ones (read by the softmax attentions) left out

class BaseMask(object):
    @property
    def bool_matrix(self):
        """Return a bool (uint8) matrix with 1s to all places that should be
        kept."""
        raise NotImplementedError()

    @property
    def float_matrix(self):
        """Return the bool matrix as a float to be used as a multiplicative
        mask for non softmax attentions."""
        if not hasattr(self, "_float_matrix"):
            with torch.no_grad():
                self._float_matrix = self.bool_matrix.float()
        return self._float_matrix

    @property
    def lengths(self):
        """If the matrix is of the following form

            1 1 1 0 0 0 0
            1 0 0 0 0 0 0
            1 1 0 0 0 0 0

        then return it as a vector of integers

            3 1 2.
        """
        if not hasattr(self, "_lengths"):
            with torch.no_grad():
                lengths = self.bool_matrix.long().sum(dim=-1)
                # make sure that the mask starts with 1s and continues with 0s
                # this should be changed to something more efficient, however,
                # I chose simplicity over efficiency since the LengthMask class
                # will be used anyway (and the result is cached)
                m = self.bool_matrix.view(-1, self.shape[-1])
                for i, l in enumerate(lengths.view(-1)):
                    if not torch.all(m[i, :l]):
                        raise ValueError("The mask is not a length mask")
                self._lengths = lengths
        return self._lengths

    @property
    def shape(self):
        """Return the shape of the boolean mask."""
        return self.bool_matrix.shape

    @property
    def lower_triangular(self):
        """Return true if the attention is a triangular causal mask."""
        if not hasattr(self, "_lower_triangular"):
            self._lower_triangular = False
            with torch.no_grad():
                try:
                    lengths = self.lengths
                    if len(lengths.shape) == 1:
                        target = torch.arange(
                            1,
                            len(lengths)+1,
                            device=lengths.device
                        )
                        self._lower_triangular = torch.all(lengths == target)
                except ValueError:
                    pass
        return self._lower_triangular


class FullMask(BaseMask):
    def __init__(self, mask=None, N=None, M=None, device="cpu"):
        # mask is a tensor so we ignore N and M
        if mask is not None and isinstance(mask, torch.Tensor):
            if mask.dtype != torch.bool:
                raise ValueError("FullMask expects the mask to be bool")
            with torch.no_grad():
                self._mask = mask.clone()
            return

        # mask is an integer, N is an integer and M is None so assume they were
        # passed as N, M
        if mask is not None and M is None and isinstance(mask, int):
            M = N
            N = mask

        if N is not None:
            M = M or N
            with torch.no_grad():
                self._mask = torch.ones(N, M, dtype=torch.bool, device=device)
            self._all_ones = True
            return

        raise ValueError("Either mask or N should be provided")

    @property
    def bool_matrix(self):
        return self._mask


class LengthMask(BaseMask):
    def __init__(self, lengths, max_len=None, device=None):
        self._device = device or lengths.device
        with torch.no_grad():
            self._lengths = lengths.clone().to(self._device)
        self._max_len = max_len or self._lengths.max()

        self._bool_matrix = None

    @property
    def bool_matrix(self):
        if self._bool_matrix is None:
            with torch.no_grad():
                indices = torch.arange(self._max_len, device=self._device)
                self._bool_matrix = (
                    indices.view(1, -1) < self._lengths.view(-1, 1)
                )
        return self._bool_matrix


class TriangularCausalMask(LengthMask):
    def __init__(self, N, device="cpu"):
        lengths = torch.arange(1, N+1, device=device)
        super(TriangularCausalMask, self).__init__(lengths, N, device)
        self._lower_triangular = True


# ---- fast_transformers/attention/causal_linear_attention.py -------------------------------------------

def causal_dot_product(Q, K, V):
    # differs: `from fast_transformers.causal_product import causal_dot_product`, a C++/CUDA extension not built
    # here. What its CPU kernel computes: out[n, h, i] = sum_{j <= i} (Q[n, h, i] . K[n, h, j]) V[n, h, j].
    L = Q.shape[2]
    mask = torch.tril(torch.ones(L, L, dtype=Q.dtype))
    return torch.einsum("nhli,nhsi,ls,nhsm->nhlm", Q, K, mask, V)


def elu_feature_map(x):
    return torch.nn.functional.elu(x) + 1


def causal_linear(Q, K, V):
    Q = Q.permute(0,2,1,3).contiguous()
    K = K.permute(0,2,1,3).contiguous()
    V = V.permute(0,2,1,3).contiguous()
    V_new = causal_dot_product(Q, K, V)
    return V_new.permute(0,2,1,3).contiguous()


class CausalLinearAttention(Module):
    def __init__(self, feature_map=None, eps=1e-6):
        super(CausalLinearAttention, self).__init__()
        self.feature_map = feature_map or elu_feature_map
        self.eps = eps

    def forward(self, queries, keys, values, attn_mask, query_lengths,
                key_lengths):
        # Apply the feature map to the queries and keys
        Q = self.feature_map(queries)
        K = self.feature_map(keys)

        # Apply the key padding mask and make sure the attn_mask is a
        # lower triangular causal mask
        if not attn_mask.lower_triangular:
            raise RuntimeError(("CausalLinearAttention only supports full "
                                "lower triangular masks"))
        K = K * key_lengths.float_matrix[:, :, None, None]

        # TODO: Shall we divide the Q and K with a relatively large number to
        #       avoid numerical instabilities in computing the denominator?
        #       We used to divide each with the max norm of all q and k but
        #       that seems relatively costly for a simple normalization.

        # Compute the normalizers
        Z = 1/(torch.einsum("nlhi,nlhi->nlh", Q, K.cumsum(1)) + self.eps)

        # Compute the unnormalized result
        V = causal_linear(
            Q,
            K,
            values
        )

        return V * Z[:, :, :, None]


# ---- fast_transformers/attention/attention_layer.py ---------------------------------------------------

class AttentionLayer(Module):
    def __init__(self, attention, d_model, n_heads, d_keys=None,
                 d_values=None):
        super(AttentionLayer, self).__init__()

        # Fill d_keys and d_values
        d_keys = d_keys or (d_model//n_heads)
        d_values = d_values or (d_model//n_heads)

        self.inner_attention = attention
        self.query_projection = Linear(d_model, d_keys * n_heads)
        self.key_projection = Linear(d_model, d_keys * n_heads)
        self.value_projection = Linear(d_model, d_values * n_heads)
        self.out_projection = Linear(d_values * n_heads, d_model)
        self.n_heads = n_heads

    def forward(self, queries, keys, values, attn_mask, query_lengths,
                key_lengths):
        # Project the queries/keys/values
        queries = self.query_projection(queries)
        keys = self.key_projection(keys)
        values = self.value_projection(values)

        # Reshape them into many heads and compute the attention
        N, L, D = queries.shape
        _, S, _ = keys.shape
        H = self.n_heads
        new_values = self.inner_attention(
            queries.view(N, L, H, -1),
            keys.view(N, S, H, -1),
            values.view(N, S, H, -1),
            attn_mask,
            query_lengths,
            key_lengths
        ).view(N, L, -1)

        # Project the output and return
        return self.out_projection(new_values)


# ---- fast_transformers/recurrent/_utils.py -------------------------------------------------------------

def check_state(state=None, memory=None):
    if memory is not None:
        warnings.warn(("'memory' is deprecated for recurrent transformers "
                       " and will be removed in the future, use 'state' "
                       "instead"), DeprecationWarning)
    if state is None:
        state = memory
    return state


# ---- fast_transformers/recurrent/attention/self_attention/linear_attention.py ------------------------------
# differs: the two `RecurrentAttentionRegistry.register(...)` calls at the end (the builders are not ported)

class RecurrentLinearAttention(Module):
    def __init__(self, feature_map=None, eps=1e-6):
        super(RecurrentLinearAttention, self).__init__()
        self.feature_map = feature_map or elu_feature_map
        self.eps = eps

    def forward(self, query, key, value, state=None, memory=None):
        # Normalize state/memory
        state = check_state(state, memory)

        # Apply the feature map to the query and key
        Q = self.feature_map(query)
        K = self.feature_map(key)

        # Extract some shapes
        N, H, D = Q.shape
        _, _, M = value.shape

        # Extract the memory or initialize it
        if state is None:
            Si = query.new_zeros((N, H, D, M))
            Zi = query.new_zeros((N, H, D))
        else:
            Si, Zi = state

        # Ensure the batch size did not change
        if len(Si) != N:
            raise ValueError("The batch size changed during iteration")

        # Update the internal state
        #
        # NOTE: The if clause is added due to GitHub PR #10. Simply using the
        # following two lines does not perform the operation in place which
        # means it is slower for inference.
        if K.grad_fn is not None or value.grad_fn is not None:
            Zi = Zi + K
            Si = Si + torch.einsum("nhd,nhm->nhdm", K, value)
        else:
            Zi += K
            Si += torch.einsum("nhd,nhm->nhdm", K, value)

        # Compute the output
        Z = 1. / (torch.einsum("nhd,nhd->nh", Q, Zi) + self.eps)
        V = torch.einsum("nhd,nhdm,nh->nhm", Q, Si, Z)

        return V, [Si, Zi]


# ---- fast_transformers/recurrent/attention/self_attention/attention_layer.py ------------------------------

class RecurrentAttentionLayer(Module):
    def __init__(self, attention, d_model, n_heads, d_keys=None,
                 d_values=None, event_dispatcher=""):
        super(RecurrentAttentionLayer, self).__init__()

        # Fill d_keys and d_values
        d_keys = d_keys or (d_model//n_heads)
        d_values = d_values or (d_model//n_heads)

        self.inner_attention = attention
        self.query_projection = Linear(d_model, d_keys * n_heads)
        self.key_projection = Linear(d_model, d_keys * n_heads)
        self.value_projection = Linear(d_model, d_values * n_heads)
        self.out_projection = Linear(d_values * n_heads, d_model)
        self.n_heads = n_heads
        # differs: `self.event_dispatcher = EventDispatcher.get(event_dispatcher)`: the events package is not ported
        # (this layer dispatches no event)

    def forward(self, query, key, value, state=None, memory=None):
        # Normalize the state/memory
        state = check_state(state, memory)

        # Project the queries/keys/values
        query = self.query_projection(query)
        key = self.key_projection(key)
        value = self.value_projection(value)

        # Reshape them into many heads and compute the attention
        N, D = query.shape
        H = self.n_heads
        new_value, state = self.inner_attention(
            query.view(N, H, -1),
            key.view(N, H, -1),
            value.view(N, H, -1),
            state
        )
        new_value = new_value.view(N, -1)

        # Project the output and return
        return self.out_projection(new_value), state


# =========================================================================================================
# 2. Jamie-Stirling/RetNet: src/xpos_relative_position.py (9e9efa99), src/retention.py (9c92f489),
#    src/retnet.py (70443fba), src/tests.py (4a9a7154)
# =========================================================================================================

# ---- src/xpos_relative_position.py ---------------------------------------------------------------------
# Copyright (c) 2022 Microsoft
# Licensed under The MIT License (https://github.com/microsoft/torchscale/blob/main/LICENSE)

def fixed_pos_embedding(x):
    seq_len, dim = x.shape
    inv_freq = 1.0 / (10000 ** (torch.arange(0, dim) / dim))
    sinusoid_inp = (
        torch.einsum("i , j -> i j", torch.arange(0, seq_len, dtype=torch.float), inv_freq).to(x)
    )
    return torch.sin(sinusoid_inp), torch.cos(sinusoid_inp)

def rotate_every_two(x):
    x1 = x[:, :, ::2]
    x2 = x[:, :, 1::2]
    x = torch.stack((-x2, x1), dim=-1)
    return x.flatten(-2)  # in einsum notation: rearrange(x, '... d j -> ... (d j)')\

def duplicate_interleave(m):
    """
    A simple version of `torch.repeat_interleave` for duplicating a matrix while interleaving the copy.
    """
    dim0 = m.shape[0]
    m = m.view(-1, 1)  # flatten the matrix
    m = m.repeat(1, 2)  # repeat all elements into the 2nd dimension
    m = m.view(dim0, -1)  # reshape into a matrix, interleaving the copy
    return m

def apply_rotary_pos_emb(x, sin, cos, scale=1):
    sin, cos = map(lambda t: duplicate_interleave(t * scale), (sin, cos))
    # einsum notation for lambda t: repeat(t[offset:x.shape[1]+offset,:], "n d -> () n () (d j)", j=2)
    return (x * cos) + (rotate_every_two(x) * sin)


class XPOS(nn.Module):
    def __init__(
        self, head_dim, scale_base=512
    ):
        super().__init__()
        self.head_dim = head_dim
        self.scale_base = scale_base
        self.register_buffer(
            "scale", (torch.arange(0, head_dim, 2) + 0.4 * head_dim) / (1.4 * head_dim)
        )

    def forward(self, x, offset=0, downscale=False):
        length = x.shape[1]
        min_pos = 0
        max_pos = length + offset + min_pos
        scale = self.scale ** torch.arange(min_pos, max_pos, 1).to(self.scale).div(self.scale_base)[:, None]
        sin, cos = fixed_pos_embedding(scale)

        if scale.shape[0] > length:
            scale = scale[-length:]
            sin = sin[-length:]
            cos = cos[-length:]

        if downscale:
            scale = 1 / scale

        x = apply_rotary_pos_emb(x, sin, cos, scale)
        return x


# ---- src/retention.py ----------------------------------------------------------------------------------

class SimpleRetention(nn.Module):
    def __init__(self, hidden_size, gamma, head_size=None, double_v_dim=False):
        """
        Simple retention mechanism based on the paper
        "Retentive Network: A Successor to Transformer for Large Language Models"[https://arxiv.org/pdf/2307.08621.pdf]
        """
        super(SimpleRetention, self).__init__()

        self.hidden_size = hidden_size
        if head_size is None:
            head_size = hidden_size
        self.head_size = head_size

        self.v_dim = head_size * 2 if double_v_dim else head_size
        self.gamma = gamma

        self.W_Q = nn.Parameter(torch.randn(hidden_size, head_size) / hidden_size)
        self.W_K = nn.Parameter(torch.randn(hidden_size, head_size) / hidden_size)
        self.W_V = nn.Parameter(torch.randn(hidden_size, self.v_dim) / hidden_size)

        self.xpos = XPOS(head_size)

    def forward(self, X):
        """
        Parallel (default) representation of the retention mechanism.
        X: (batch_size, sequence_length, hidden_size)
        """
        sequence_length = X.shape[1]
        D = self._get_D(sequence_length).to(self.W_Q.device)

        Q = (X @ self.W_Q)
        K = (X @ self.W_K)

        Q = self.xpos(Q)
        K = self.xpos(K, downscale=True)

        V = X @ self.W_V
        ret = (Q @ K.permute(0, 2, 1)) * D.unsqueeze(0)

        return ret @ V

    def forward_recurrent(self, x_n, s_n_1, n):
        """
        Recurrent representation of the retention mechanism.
        x_n: (batch_size, 1, hidden_size)
        s_n_1: (batch_size, hidden_size, v_dim)
        """

        Q = (x_n @ self.W_Q)
        K = (x_n @ self.W_K)

        Q = self.xpos(Q, n+1)
        K = self.xpos(K, n+1, downscale=True)

        V = x_n @ self.W_V

        # K: (batch_size, 1, hidden_size)
        # V: (batch_size, 1, v_dim)
        # s_n = gamma * s_n_1 + K^T @ V

        s_n = self.gamma * s_n_1 + (K.transpose(-1, -2) @ V)

        return (Q @ s_n), s_n

    def forward_chunkwise(self, x_i, r_i_1, i):
        """
        Chunkwise representation of the retention mechanism.
        x_i: (batch_size, chunk_size, hidden_size)
        r_i_1: (batch_size, hidden_size, v_dim)
        """
        batch, chunk_size, _ = x_i.shape
        D = self._get_D(chunk_size)

        Q = (x_i @ self.W_Q)
        K = (x_i @ self.W_K)

        Q = self.xpos(Q, i * chunk_size)
        K = self.xpos(K, i * chunk_size, downscale=True)

        V = x_i @ self.W_V

        r_i =(K.transpose(-1, -2) @ (V * D[-1].view(1, chunk_size, 1))) + (self.gamma ** chunk_size) * r_i_1

        inner_chunk = ((Q @ K.transpose(-1, -2)) * D.unsqueeze(0)) @ V

        #e[i,j] = gamma ** (i+1)
        e = torch.zeros(batch, chunk_size, 1)

        for _i in range(chunk_size):
            e[:, _i, :] = self.gamma ** (_i + 1)

        cross_chunk = (Q @ r_i_1) * e

        return inner_chunk + cross_chunk, r_i

    def _get_D(self, sequence_length):
        n = torch.arange(sequence_length).unsqueeze(1)
        m = torch.arange(sequence_length).unsqueeze(0)

        # Broadcast self.gamma ** (n - m) with appropriate masking to set values where n < m to 0
        D = (self.gamma ** (n - m)) * (n >= m).float()  #this results in some NaN when n is much larger than m
        # fill the NaN with 0
        D[D != D] = 0

        return D


class MultiScaleRetention(nn.Module):
    def __init__(self, hidden_size, heads, double_v_dim=False):
        """
        Multi-scale retention mechanism based on the paper
        "Retentive Network: A Successor to Transformer for Large Language Models"[https://arxiv.org/pdf/2307.08621.pdf]
        """
        super(MultiScaleRetention, self).__init__()
        self.hidden_size = hidden_size
        self.v_dim = hidden_size * 2 if double_v_dim else hidden_size
        self.heads = heads
        assert hidden_size % heads == 0, "hidden_size must be divisible by heads"
        self.head_size = hidden_size // heads
        self.head_v_dim = hidden_size * 2 if double_v_dim else hidden_size

        self.gammas = (1 - torch.exp(torch.linspace(math.log(1/32), math.log(1/512), heads))).detach().cpu().tolist()

        self.swish = lambda x: x * torch.sigmoid(x)
        self.W_G = nn.Parameter(torch.randn(hidden_size, self.v_dim) / hidden_size)
        self.W_O = nn.Parameter(torch.randn(self.v_dim, hidden_size) / hidden_size)
        self.group_norm = nn.GroupNorm(heads, self.v_dim)

        self.retentions = nn.ModuleList([
            SimpleRetention(self.hidden_size, gamma, self.head_size, double_v_dim) for gamma in self.gammas
        ])

    def forward(self, X):
        """
        parallel representation of the multi-scale retention mechanism
        """

        # apply each individual retention mechanism to X
        Y = []
        for i in range(self.heads):
            Y.append(self.retentions[i](X))

        Y = torch.cat(Y, dim=2)
        Y_shape = Y.shape
        Y = self.group_norm(Y.reshape(-1, self.v_dim)).reshape(Y_shape)

        return (self.swish(X @ self.W_G) * Y) @ self.W_O

    def forward_recurrent(self, x_n, s_n_1s, n):
        """
        recurrent representation of the multi-scale retention mechanism
        x_n: (batch_size, 1, hidden_size)
        s_n_1s: (batch_size, heads, head_size, head_size)

        """

        # apply each individual retention mechanism to a slice of X
        Y = []
        s_ns = []
        for i in range(self.heads):
            y, s_n = self.retentions[i].forward_recurrent(
                x_n[:, :, :], s_n_1s[i], n
                )
            Y.append(y)
            s_ns.append(s_n)

        Y = torch.cat(Y, dim=2)
        Y_shape = Y.shape
        Y = self.group_norm(Y.reshape(-1, self.v_dim)).reshape(Y_shape)

        return (self.swish(x_n @ self.W_G) * Y) @ self.W_O, s_ns

    def forward_chunkwise(self, x_i, r_i_1s, i):
        """
        chunkwise representation of the multi-scale retention mechanism
        x_i: (batch_size, chunk_size, hidden_size)
        r_i_1s: (batch_size, heads, head_size, head_size)
        """
        batch, chunk_size, _ = x_i.shape

        # apply each individual retention mechanism to a slice of X
        Y = []
        r_is = []
        for j in range(self.heads):
            y, r_i = self.retentions[j].forward_chunkwise(
                x_i[:, :, :], r_i_1s[j], i
                )
            Y.append(y)
            r_is.append(r_i)


        Y = torch.cat(Y, dim=2)
        Y_shape = Y.shape
        Y = self.group_norm(Y.reshape(-1, self.v_dim)).reshape(Y_shape)

        return (self.swish(x_i @ self.W_G) * Y) @ self.W_O, r_is


# ---- src/retnet.py -------------------------------------------------------------------------------------

class RetNet(nn.Module):
    def __init__(self, layers, hidden_dim, ffn_size, heads, double_v_dim=False):
        super(RetNet, self).__init__()
        self.layers = layers
        self.hidden_dim = hidden_dim
        self.ffn_size = ffn_size
        self.heads = heads
        self.v_dim = hidden_dim * 2 if double_v_dim else hidden_dim

        self.retentions = nn.ModuleList([
            MultiScaleRetention(hidden_dim, heads, double_v_dim)
            for _ in range(layers)
        ])
        self.ffns = nn.ModuleList([
            nn.Sequential(
                nn.Linear(hidden_dim, ffn_size),
                nn.GELU(),
                nn.Linear(ffn_size, hidden_dim)
            )
            for _ in range(layers)
        ])
        self.layer_norms_1 = nn.ModuleList([
            nn.LayerNorm(hidden_dim)
            for _ in range(layers)
        ])
        self.layer_norms_2 = nn.ModuleList([
            nn.LayerNorm(hidden_dim)
            for _ in range(layers)
        ])

    def forward(self, X):
        """
        X: (batch_size, sequence_length, hidden_size)
        """
        for i in range(self.layers):
            Y = self.retentions[i](self.layer_norms_1[i](X)) + X

            X = self.ffns[i](self.layer_norms_2[i](Y)) + Y

        return X

    def forward_recurrent(self, x_n, s_n_1s, n):
        """
        X: (batch_size, sequence_length, hidden_size)
        s_n_1s: list of lists of tensors of shape (batch_size, hidden_size // heads, hidden_size // heads)

        """
        s_ns = []
        for i in range(self.layers):
            # list index out of range
            o_n, s_n = self.retentions[i].forward_recurrent(self.layer_norms_1[i](x_n), s_n_1s[i], n)
            y_n = o_n + x_n
            s_ns.append(s_n)
            x_n = self.ffns[i](self.layer_norms_2[i](y_n)) + y_n

        return x_n, s_ns

    def forward_chunkwise(self, x_i, r_i_1s, i):
        """
        X: (batch_size, sequence_length, hidden_size)
        r_i_1s: list of lists of tensors of shape (batch_size, hidden_size // heads, hidden_size // heads)

        """
        r_is = []
        for j in range(self.layers):
            o_i, r_i = self.retentions[j].forward_chunkwise(self.layer_norms_1[j](x_i), r_i_1s[j], i)
            y_i = o_i + x_i
            r_is.append(r_i)
            x_i = self.ffns[j](self.layer_norms_2[j](y_i)) + y_i

        return x_i, r_is


# ---- src/tests.py (its unittest classes, as written) ----------------------------------------------------

class TestRetention(unittest.TestCase):

    def test_simple(self):
        """
        verify that the three implementations of SimpleRetention are identical
        """
        batch_size = 4
        sequence_length = 12
        hidden_size = 32
        chunk_size = 4

        gamma = 0.9

        X = torch.rand(batch_size, sequence_length, hidden_size)
        sr = SimpleRetention(hidden_size, gamma)

        Y_parallel = sr(X)

        s_n_1 = torch.zeros(hidden_size, hidden_size).unsqueeze(0).repeat(batch_size, 1, 1)
        Y_recurrent = []
        for i in range(sequence_length):
            y_n, s_n = sr.forward_recurrent(X[:, i:i+1, :], s_n_1, i)
            Y_recurrent.append(y_n)
            s_n_1 = s_n

        Y_recurrent = torch.concat(Y_recurrent, dim=1)

        r_n_1 = torch.zeros(hidden_size, hidden_size).unsqueeze(0).repeat(batch_size, 1, 1)
        Y_chunkwise = []
        for i in range(sequence_length // chunk_size):
            y_i, r_i = sr.forward_chunkwise(X[:, i*chunk_size:(i+1)*chunk_size, :], r_n_1, i)
            Y_chunkwise.append(y_i)
            r_n_1 = r_i

        Y_chunkwise = torch.concat(Y_chunkwise, dim=1)

        print((Y_parallel - Y_chunkwise).abs().max())


        assert torch.allclose(Y_parallel, Y_recurrent, atol=1e-5)
        assert torch.allclose(Y_parallel, Y_chunkwise, atol=1e-5)

    def test_multiscale(self):
        """
        verify that the parallel and recurrent implementations of MultiScaleRetention are identical
        """
        batch_size = 2
        hidden_size = 36
        sequence_length = 5
        heads = 3

        X = torch.rand(batch_size, sequence_length, hidden_size)
        retention = MultiScaleRetention(hidden_size, heads)

        Y_parallel = retention(X)

        s_n_1s = [
            torch.zeros(hidden_size // heads, hidden_size // heads).unsqueeze(0).repeat(batch_size, 1, 1)
            for _ in range(heads)
        ]
        Y_recurrent = []
        for i in range(sequence_length):
            y_n, s_ns = retention.forward_recurrent(X[:, i:i+1, :], s_n_1s, i)
            Y_recurrent.append(y_n)
            s_n_1s = s_ns

        Y_recurrent = torch.concat(Y_recurrent, dim=1)

        self.assertTrue(torch.allclose(Y_parallel, Y_recurrent, atol=1e-5))

class TestRetNet(unittest.TestCase):

    def test_retnet(self):
        """
        verify that the parallel and recurrent implementations of RetNet are identical
        """
        batch_size = 2
        hidden_size = 36
        sequence_length = 5
        heads = 3
        layers = 4
        ffn_size = 128

        X = torch.rand(batch_size, sequence_length, hidden_size)
        retnet = RetNet(layers, hidden_size, ffn_size, heads)

        Y_parallel = retnet(X)

        s_n_1s = [
            [
                torch.zeros(hidden_size // heads, hidden_size // heads).unsqueeze(0).repeat(batch_size, 1, 1)
                for _ in range(heads)
            ]
            for _ in range(layers)
        ]
        Y_recurrent = []
        for i in range(sequence_length):
            y_n, s_ns = retnet.forward_recurrent(X[:, i:i+1, :], s_n_1s, i)
            Y_recurrent.append(y_n)
            s_n_1s = s_ns

        Y_recurrent = torch.concat(Y_recurrent, dim=1)

        self.assertTrue(torch.allclose(Y_parallel, Y_recurrent, atol=1e-5))


# =========================================================================================================
# Numpy references (float64), written here from the papers' equations
# =========================================================================================================

def np_elu1(x):
    """elu(x) + 1: x + 1 above 0, e^x at and below."""
    return np.where(x > 0, x + 1.0, np.exp(np.minimum(x, 0.0)))


def np_causal_linear_attention(q, k, v, key_keep=None, eps=1e-6):
    """(N, L, H, D) queries and keys, (N, L, H, M) values: out_l = sum_{s<=l} (phi(q_l).phi(k_s)) v_s /
    (phi(q_l) . sum_{s<=l} phi(k_s) + eps), phi = elu + 1; a key kept or not by key_keep (N, L)."""
    Q, K = np_elu1(q), np_elu1(k)
    if key_keep is not None:
        K = K * key_keep[:, :, None, None]
    L = q.shape[1]
    out = np.zeros(q.shape[:3] + (v.shape[-1],))
    for t in range(L):
        w = np.einsum("nhd,nshd->nhs", Q[:, t], K[:, :t + 1])
        out[:, t] = np.einsum("nhs,nshm->nhm", w, v[:, :t + 1]) / (w.sum(-1)[..., None] + eps)
    return out


def np_linear(x, w, b):
    return x @ w.T + b


def np_attention_layer(P, x, n_heads, prefix=""):
    """fast-transformers' AttentionLayer around the causal linear attention, self-attention over x (N, L, d)."""
    N, L, _ = x.shape
    q, k, v = (np_linear(x, P[prefix + f"{n}_projection.weight"], P[prefix + f"{n}_projection.bias"]).reshape(
        N, L, n_heads, -1) for n in ("query", "key", "value"))
    out = np_causal_linear_attention(q, k, v).reshape(N, L, -1)
    return np_linear(out, P[prefix + "out_projection.weight"], P[prefix + "out_projection.bias"])


def np_xpos(x, offset=0, downscale=False, scale_base=512):
    """xPos on (B, L, d): positions offset .. offset + L - 1; pairs (x_2i, x_2i+1) rotated by the angle
    p / 10000^(i / (d/2)) and scaled by zeta_i^(p / scale_base), zeta_i = (2i + 0.4 d) / (1.4 d) (1/ that with
    downscale)."""
    d = x.shape[-1]
    pos = np.arange(offset, offset + x.shape[1], dtype=np.float64)[:, None]
    zeta = (np.arange(0, d, 2) + 0.4 * d) / (1.4 * d)
    scale = zeta[None, :] ** (pos / scale_base)
    angle = pos * (1.0 / 10000 ** (np.arange(d // 2) / (d // 2)))[None, :]
    if downscale:
        scale = 1.0 / scale
    cos, sin = np.cos(angle) * scale, np.sin(angle) * scale
    out = np.empty_like(x)
    out[..., 0::2] = x[..., 0::2] * cos - x[..., 1::2] * sin
    out[..., 1::2] = x[..., 1::2] * cos + x[..., 0::2] * sin
    return out


def np_decay(L, gamma):
    n, m = np.arange(L)[:, None], np.arange(L)[None, :]
    return np.where(n >= m, float(gamma) ** np.maximum(n - m, 0), 0.0)


def np_simple_retention(X, WQ, WK, WV, gamma):
    """Parallel retention: (xpos(X WQ) xpos(X WK, down)^T * D) X WV."""
    Q, K, V = np_xpos(X @ WQ), np_xpos(X @ WK, downscale=True), X @ WV
    return (Q @ K.transpose(0, 2, 1) * np_decay(X.shape[1], gamma)[None]) @ V


def np_group_norm(x, groups, w, b, eps=1e-5):
    n, c = x.shape
    g = x.reshape(n, groups, c // groups)
    g = (g - g.mean(-1, keepdims=True)) / np.sqrt(g.var(-1, keepdims=True) + eps)
    return g.reshape(n, c) * w + b


def np_layer_norm(x, w, b, eps=1e-5):
    return (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + eps) * w + b


_erf = np.vectorize(math.erf)


def np_gelu(x):
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def np_msr(P, X, heads, prefix=""):
    """MultiScaleRetention.forward from its parameters: the heads' retentions side by side, a GroupNorm over
    (B*L, v_dim) rows, then (swish(X W_G) * Y) W_O. Head i's gamma is 1 - exp(linspace(log 1/32, log 1/512))_i."""
    gammas = 1 - np.exp(np.linspace(math.log(1 / 32), math.log(1 / 512), heads))
    Y = np.concatenate([np_simple_retention(X, P[prefix + f"retentions.{i}.W_Q"], P[prefix + f"retentions.{i}.W_K"],
                                            P[prefix + f"retentions.{i}.W_V"], gammas[i]) for i in range(heads)], 2)
    Y = np_group_norm(Y.reshape(-1, Y.shape[-1]), heads, P[prefix + "group_norm.weight"],
                      P[prefix + "group_norm.bias"]).reshape(Y.shape)
    G = X @ P[prefix + "W_G"]
    return (G * (1 / (1 + np.exp(-G))) * Y) @ P[prefix + "W_O"]


def np_retnet(P, X, layers, heads):
    for i in range(layers):
        Y = np_msr(P, np_layer_norm(X, P[f"layer_norms_1.{i}.weight"], P[f"layer_norms_1.{i}.bias"]), heads,
                   f"retentions.{i}.") + X
        h = np_layer_norm(Y, P[f"layer_norms_2.{i}.weight"], P[f"layer_norms_2.{i}.bias"])
        h = np_gelu(np_linear(h, P[f"ffns.{i}.0.weight"], P[f"ffns.{i}.0.bias"]))
        X = np_linear(h, P[f"ffns.{i}.2.weight"], P[f"ffns.{i}.2.bias"]) + Y
    return X


def randomise_(module, rng, scale=0.5):
    """Every parameter drawn again (normal * scale), so that norms' weights and biases are not 1 and 0."""
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.tensor(rng.normal(size=tuple(p.shape)) * scale))
    return module


# =========================================================================================================
# Tests: 1. fast-transformers
# =========================================================================================================

def test_masks_length_float_and_lower_triangular_as_masking_py_says():
    assert TriangularCausalMask(4).lower_triangular is True
    assert bool(FullMask(torch.tril(torch.ones(4, 4, dtype=torch.bool))).lower_triangular)
    assert not bool(FullMask(4).lower_triangular)
    lm = LengthMask(torch.tensor([3, 1, 2]))
    want = np.array([[1, 1, 1], [1, 0, 0], [1, 1, 0]], dtype=bool)
    np.testing.assert_array_equal(lm.bool_matrix.numpy(), want)
    assert lm.float_matrix.dtype == torch.float32 and np.array_equal(lm.float_matrix.numpy(), want.astype(float))
    np.testing.assert_array_equal(lm.lengths.numpy(), [3, 1, 2])
    with pytest.raises(ValueError, match="not a length mask"):
        FullMask(torch.tensor([[True, False, True]])).lengths
    with pytest.raises(ValueError, match="bool"):
        FullMask(torch.ones(2, 2))


def test_causal_linear_attention_matches_the_numpy_sums_with_a_key_padding_mask(float64_default):
    rng = np.random.default_rng(0)
    N, L, H, D, M = 2, 5, 2, 3, 4
    q, k, v = rng.normal(size=(N, L, H, D)), rng.normal(size=(N, L, H, D)), rng.normal(size=(N, L, H, M))
    lengths = LengthMask(torch.tensor([5, 3]), max_len=L)
    out = CausalLinearAttention()(torch.tensor(q), torch.tensor(k), torch.tensor(v), TriangularCausalMask(L),
                                  LengthMask(torch.tensor([L, L])), lengths)
    keep = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=float)
    np.testing.assert_allclose(arr(out), np_causal_linear_attention(q, k, v, keep), rtol=1e-10, atol=1e-12)


def test_causal_linear_attention_refuses_a_mask_that_is_not_lower_triangular():
    x = torch.randn(1, 3, 1, 2)
    with pytest.raises(RuntimeError, match="only supports full lower triangular"):
        CausalLinearAttention()(x, x, x, FullMask(3), LengthMask(torch.tensor([3])), LengthMask(torch.tensor([3])))


def run_recurrent(att, q, k, v, **kw):
    """RecurrentLinearAttention stepped along (N, L, H, D) inputs: the outputs (N, L, H, M) and each state."""
    state, outs, states = None, [], []
    for i in range(q.shape[1]):
        out, state = att(q[:, i], k[:, i], v[:, i], state, **kw)
        outs.append(out)
        states.append(state)
    return torch.stack(outs, dim=1), states


@pytest.mark.parametrize("grad", [False, True])
def test_recurrent_linear_attention_is_the_causal_form_step_by_step_and_its_state_the_cumulative_sums(
        grad, float64_default):
    rng = np.random.default_rng(1 + grad)
    N, L, H, D, M = 2, 6, 2, 3, 2
    q, k, v = rng.normal(size=(N, L, H, D)), rng.normal(size=(N, L, H, D)), rng.normal(size=(N, L, H, M))
    tq, tk, tv = (torch.tensor(a, requires_grad=grad) for a in (q, k, v))
    with torch.set_grad_enabled(grad):
        rec, states = run_recurrent(RecurrentLinearAttention(), tq, tk, tv)
    par = CausalLinearAttention()(tq, tk, tv, TriangularCausalMask(L), None, LengthMask(torch.tensor([L, L])))
    want = np_causal_linear_attention(q, k, v)
    np.testing.assert_allclose(arr(rec), want, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(arr(par), want, rtol=1e-10, atol=1e-12)
    K = np_elu1(k)
    S, Z = np.cumsum(np.einsum("nlhd,nlhm->nlhdm", K, v), 1), np.cumsum(K, 1)
    # without a graph, `Zi += K` writes the state in place: the first step's tensors are the last step's
    assert (states[0][0] is states[-1][0]) == (not grad)
    for t in ([L - 1] if not grad else range(L)):
        np.testing.assert_allclose(arr(states[t][0]), S[:, t], rtol=1e-12)
        np.testing.assert_allclose(arr(states[t][1]), Z[:, t], rtol=1e-12)


def test_recurrent_linear_attention_takes_the_deprecated_memory_keyword_and_checks_the_batch():
    att = RecurrentLinearAttention()
    x = torch.randn(2, 1, 3)
    _, state = att(x, x, x)
    with pytest.warns(DeprecationWarning, match="'memory' is deprecated"):
        out, _ = att(x, x, x, memory=[s.clone() for s in state])
    np.testing.assert_allclose(out.numpy(), att(x, x, x, [s.clone() for s in state])[0].numpy())
    with pytest.raises(ValueError, match="batch size changed"):
        att(x[:1], x[:1], x[:1], state)


def test_recurrent_linear_attention_gradients_match_central_differences(float64_default):
    rng = np.random.default_rng(3)
    N, L, H, D = 1, 4, 2, 2
    q, k, v = rng.normal(size=(N, L, H, D)), rng.normal(size=(N, L, H, D)), rng.normal(size=(N, L, H, D))
    w = rng.normal(size=(N, L, H, D))
    tensors = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
    out, _ = run_recurrent(RecurrentLinearAttention(), *tensors)
    (out * torch.tensor(w)).sum().backward()
    for j, t in enumerate(tensors):
        base = [q, k, v]

        def f(a, j=j, base=base):
            args = list(base)
            args[j] = a
            return float((np_causal_linear_attention(*args) * w).sum())
        idx = some_indices(base[j].shape, 6, j)
        np.testing.assert_allclose([arr(t.grad)[i] for i in idx], central(f, base[j], idx), rtol=1e-6, atol=1e-9)


def paired_layers(d_model=6, n_heads=2, seed=0):
    """AttentionLayer(CausalLinearAttention) and RecurrentAttentionLayer(RecurrentLinearAttention) with the
    same projections (the names are the same: one state dict loads into the other)."""
    torch.manual_seed(seed)
    par = AttentionLayer(CausalLinearAttention(), d_model, n_heads)
    rec = RecurrentAttentionLayer(RecurrentLinearAttention(), d_model, n_heads)
    rec.load_state_dict(par.state_dict())
    return par, rec


def test_attention_layers_parallel_and_recurrent_agree_in_values_and_parameter_gradients(float64_default):
    rng = np.random.default_rng(4)
    par, rec = paired_layers()
    N, L = 2, 5
    x_np = rng.normal(size=(N, L, 6))
    x = torch.tensor(x_np)
    y_par = par(x, x, x, TriangularCausalMask(L), None, LengthMask(torch.tensor([L] * N)))
    state, y_rec = None, []
    for i in range(L):
        y, state = rec(x[:, i], x[:, i], x[:, i], state)
        y_rec.append(y)
    y_rec = torch.stack(y_rec, 1)
    want = np_attention_layer(params_of(par), x_np, 2)
    np.testing.assert_allclose(arr(y_par), want, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(arr(y_rec), want, rtol=1e-10, atol=1e-12)
    w = torch.tensor(rng.normal(size=(N, L, 6)))
    (y_par * w).sum().backward()
    (y_rec * w).sum().backward()
    grads = {n: arr(p.grad) for n, p in rec.named_parameters()}
    for name, p in par.named_parameters():
        np.testing.assert_allclose(arr(p.grad), grads[name], rtol=1e-9, atol=1e-12, err_msg=name)


def test_attention_layer_parameter_gradients_match_central_differences(float64_default):
    rng = np.random.default_rng(5)
    par, _ = paired_layers(seed=1)
    x_np, w = rng.normal(size=(1, 4, 6)), rng.normal(size=(1, 4, 6))
    x = torch.tensor(x_np)
    names = ["query_projection.weight", "key_projection.bias", "value_projection.weight", "out_projection.weight"]
    check_named_grads(par, names, lambda P: float((np_attention_layer(P, x_np, 2) * w).sum()),
                      lambda: (par(x, x, x, TriangularCausalMask(4), None, LengthMask(torch.tensor([4])))
                               * torch.tensor(w)).sum(), 4, rtol=1e-6, atol=1e-9)


class RecurrentLinearLM(nn.Module):
    # differs: the tests' own model (fast-transformers' RecurrentEncoder is not ported): an embedding, one
    # RecurrentAttentionLayer stepped token by token, a linear read-out.
    def __init__(self, vocab, d_model=8, n_heads=2):
        super().__init__()
        self.embed = nn.Embedding(vocab, d_model)
        self.att = RecurrentAttentionLayer(RecurrentLinearAttention(), d_model, n_heads)
        self.out = nn.Linear(d_model, vocab)

    def forward(self, tokens, state=None):
        logits = []
        for i in range(tokens.shape[1]):
            x = self.embed(tokens[:, i])
            y, state = self.att(x, x, x, state)
            logits.append(self.out(y + x))
        return torch.stack(logits, 1), state


def copy_previous_batch(rng, n, L, vocab):
    tokens = rng.integers(0, vocab, size=(n, L + 1))
    return torch.tensor(tokens[:, 1:]), torch.tensor(tokens[:, :-1])   # predict the token seen one step back


@pytest.mark.parametrize("tbptt", [None, 4])
def test_recurrent_linear_attention_trains_by_bptt_through_its_steps(tbptt):
    rng = np.random.default_rng(6)
    torch.manual_seed(6)
    vocab = 5
    model = RecurrentLinearLM(vocab)
    opt = torch.optim.Adam(model.parameters(), lr=0.03)
    x_all, y_all = copy_previous_batch(rng, 16, 8, vocab)
    losses = []
    for _ in range(80):
        state, total = None, 0.0
        for start in range(0, 8, tbptt or 8):
            x, y = x_all[:, start:start + (tbptt or 8)], y_all[:, start:start + (tbptt or 8)]
            logits, state = model(x, state)
            loss = F.cross_entropy(logits.reshape(-1, vocab), y.reshape(-1))
            opt.zero_grad()
            loss.backward()
            opt.step()
            state = [s.detach() for s in state]
            total += float(loss)
        losses.append(total)
    assert losses[-1] < 0.7 * losses[0]


# =========================================================================================================
# Tests: 2. RetNet
# =========================================================================================================

@pytest.mark.parametrize("offset,downscale", [(0, False), (3, True)])
def test_xpos_rotates_pairs_and_scales_them_as_the_numpy_equations(offset, downscale, float64_default):
    x = np.random.default_rng(7).normal(size=(2, 4, 6))
    got = XPOS(6)(torch.tensor(x), offset, downscale=downscale)
    np.testing.assert_allclose(arr(got), np_xpos(x, offset, downscale), rtol=1e-6, atol=1e-9)


def test_xpos_scores_depend_on_the_distance_only(float64_default):
    rng = np.random.default_rng(8)
    q, k = torch.tensor(rng.normal(size=(1, 1, 4))), torch.tensor(rng.normal(size=(1, 1, 4)))
    xpos = XPOS(4)
    scores = [float((xpos(q, a + 2) * xpos(k, a, downscale=True)).sum()) for a in (0, 5, 11)]
    np.testing.assert_allclose(scores, scores[0], rtol=1e-6)
    assert not np.isclose(float((xpos(q, 3) * xpos(k, 0, downscale=True)).sum()), scores[0])


def test_decay_matrix_is_gamma_to_the_distance_below_the_diagonal(float64_default):
    sr = SimpleRetention(4, 0.9)
    np.testing.assert_allclose(arr(sr._get_D(6)), np_decay(6, 0.9), rtol=1e-12)


def test_decay_matrix_fills_the_overflowed_nans_with_zeros_and_numpy_warns(float64_default):
    # documented: where a value overflows or is undefined numpy warns (RuntimeWarning), PyTorch is silent; the
    # values agree: gamma ** (n - m) is inf far above the diagonal, inf * 0 is NaN, and `D[D != D] = 0` fills it
    sr = SimpleRetention(4, 1e-3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        D = sr._get_D(120)
    assert {str(w.message) for w in caught} == {"overflow encountered in power",
                                                "invalid value encountered in multiply"}
    assert np.isfinite(arr(D)).all() and np.all(np.triu(arr(D), 1) == 0)
    np.testing.assert_allclose(np.tril(arr(D))[5:8, 5:8], np_decay(3, 1e-3), rtol=1e-12)


def test_simple_retention_parallel_matches_numpy(float64_default):
    rng = np.random.default_rng(9)
    sr = SimpleRetention(6, 0.8, head_size=4)
    X = rng.normal(size=(2, 5, 6))
    P = params_of(sr)
    np.testing.assert_allclose(arr(sr(torch.tensor(X))), np_simple_retention(X, P["W_Q"], P["W_K"], P["W_V"], 0.8),
                               rtol=1e-9, atol=1e-12)


def test_the_repositorys_unittests_run_as_written():
    # src/tests.py: parallel, recurrent and chunkwise SimpleRetention; MultiScaleRetention and RetNet (4 layers)
    # parallel against recurrent; each asserts allclose at atol 1e-5, in float32
    torch.manual_seed(0)
    suite = unittest.TestSuite([TestRetention("test_simple"), TestRetention("test_multiscale"),
                                TestRetNet("test_retnet")])
    result, printed = quietly(unittest.TextTestRunner(stream=io.StringIO()).run, suite)
    assert result.wasSuccessful() and result.testsRun == 3, result.failures + result.errors
    assert float(printed.split("(")[1].split(",")[0]) < 1e-5      # the chunkwise error the test prints


def test_simple_retention_state_is_the_decayed_sum_of_key_value_products(float64_default):
    rng = np.random.default_rng(10)
    sr = SimpleRetention(4, 0.7)
    X = rng.normal(size=(1, 5, 4))
    P = params_of(sr)
    s = torch.zeros(1, 4, 4)
    for i in range(5):
        y, s = sr.forward_recurrent(torch.tensor(X[:, i:i + 1]), s, i)
    K, V = np_xpos(X @ P["W_K"], offset=1, downscale=True), X @ P["W_V"]
    want = sum(0.7 ** (4 - m) * K[0, m][:, None] * V[0, m][None, :] for m in range(5))
    np.testing.assert_allclose(arr(s)[0], want, rtol=1e-9)
    np.testing.assert_allclose(arr(y)[0, 0], np_simple_retention(X, P["W_Q"], P["W_K"], P["W_V"], 0.7)[0, -1],
                               rtol=1e-9)


def test_simple_retention_chunkwise_writes_e_by_item_and_carries_the_state_across_chunks(float64_default):
    rng = np.random.default_rng(11)
    sr = SimpleRetention(4, 0.85)
    X = rng.normal(size=(2, 6, 4))
    P = params_of(sr)
    r, ys = torch.zeros(2, 4, 4), []
    for i in range(3):
        y, r = sr.forward_chunkwise(torch.tensor(X[:, 2 * i:2 * i + 2]), r, i)
        ys.append(y)
    want = np_simple_retention(X, P["W_Q"], P["W_K"], P["W_V"], 0.85)
    np.testing.assert_allclose(arr(torch.cat(ys, 1)), want, rtol=1e-9, atol=1e-12)


def test_multiscale_retention_parallel_and_recurrent_match_numpy(float64_default):
    rng = np.random.default_rng(12)
    msr = randomise_(MultiScaleRetention(6, 3), rng)
    X = rng.normal(size=(2, 4, 6))
    want = np_msr(params_of(msr), X, 3)
    np.testing.assert_allclose(arr(msr(torch.tensor(X))), want, rtol=1e-9, atol=1e-12)
    s, ys = [torch.zeros(2, 2, 2) for _ in range(3)], []
    for i in range(4):
        y, s = msr.forward_recurrent(torch.tensor(X[:, i:i + 1]), s, i)
        ys.append(y)
    np.testing.assert_allclose(arr(torch.cat(ys, 1)), want, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(msr.gammas, 1 - np.exp(np.linspace(math.log(1 / 32), math.log(1 / 512), 3)),
                               rtol=1e-6)


def msr_recurrent_loss(msr, X, w):
    s, loss = [torch.zeros(X.shape[0], 2, 2) for _ in range(msr.heads)], 0
    for i in range(X.shape[1]):
        y, s = msr.forward_recurrent(X[:, i:i + 1], s, i)
        loss = loss + (y * w[:, i:i + 1]).sum()
    return loss


def test_multiscale_retention_recurrent_gradients_match_central_differences_of_the_parallel_form(
        float64_default):
    rng = np.random.default_rng(13)
    msr = randomise_(MultiScaleRetention(4, 2), rng)
    X, w = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 3, 4))
    names = ["W_G", "W_O", "group_norm.weight", "retentions.0.W_Q", "retentions.1.W_K", "retentions.1.W_V"]
    check_named_grads(msr, names, lambda P: float((np_msr(P, X, 2) * w).sum()),
                      lambda: msr_recurrent_loss(msr, torch.tensor(X), torch.tensor(w)), 3, rtol=1e-6, atol=1e-9)


def test_retnet_parallel_recurrent_and_chunkwise_match_numpy(float64_default):
    rng = np.random.default_rng(14)
    net = randomise_(RetNet(2, 4, 8, 2), rng)
    X = rng.normal(size=(2, 4, 4))
    want = np_retnet(params_of(net), X, 2, 2)
    np.testing.assert_allclose(arr(net(torch.tensor(X))), want, rtol=1e-9, atol=1e-12)
    s, ys = [[torch.zeros(2, 2, 2) for _ in range(2)] for _ in range(2)], []
    for i in range(4):
        y, s = net.forward_recurrent(torch.tensor(X[:, i:i + 1]), s, i)
        ys.append(y)
    np.testing.assert_allclose(arr(torch.cat(ys, 1)), want, rtol=1e-9, atol=1e-12)
    r, ys = [[torch.zeros(2, 2, 2) for _ in range(2)] for _ in range(2)], []
    for i in range(2):
        y, r = net.forward_chunkwise(torch.tensor(X[:, 2 * i:2 * i + 2]), r, i)
        ys.append(y)
    np.testing.assert_allclose(arr(torch.cat(ys, 1)), want, rtol=1e-9, atol=1e-12)


def test_retnet_recurrent_parameter_gradients_match_central_differences(float64_default):
    rng = np.random.default_rng(15)
    net = randomise_(RetNet(1, 4, 6, 2), rng)
    X, w = rng.normal(size=(1, 3, 4)), rng.normal(size=(1, 3, 4))

    def loss_lib():
        s, loss = [[torch.zeros(1, 2, 2) for _ in range(2)]], 0
        for i in range(3):
            y, s = net.forward_recurrent(torch.tensor(X[:, i:i + 1]), s, i)
            loss = loss + (y * torch.tensor(w[:, i:i + 1])).sum()
        return loss
    names = ["retentions.0.W_G", "retentions.0.retentions.1.W_Q", "ffns.0.0.weight", "layer_norms_1.0.weight",
             "layer_norms_2.0.bias"]
    check_named_grads(net, names, lambda P: float((np_retnet(P, X, 1, 2) * w).sum()), loss_lib, 3,
                      rtol=1e-6, atol=1e-9)


class RetNetLM(nn.Module):
    # differs: the tests' own small language model (RetNetCLM at 70443fba is not in retnet.py; its earlier
    # version is complex-valued): an embedding, RetNet, a linear read-out
    def __init__(self, vocab, hidden=8, heads=2, layers=1):
        super().__init__()
        self.embed = nn.Embedding(vocab, hidden)
        self.retnet = RetNet(layers, hidden, 16, heads)
        self.proj = nn.Linear(hidden, vocab)


@pytest.mark.parametrize("chunk", [3, 6])
def test_retnet_trains_through_its_recurrent_form_with_truncated_bptt(chunk):
    rng = np.random.default_rng(16)
    torch.manual_seed(16)
    vocab, L = 4, 6
    model = RetNetLM(vocab)
    opt = torch.optim.Adam(model.parameters(), lr=0.03)
    x_all, y_all = copy_previous_batch(rng, 8, L, vocab)
    heads, hs = 2, 4
    losses = []
    for _ in range(25):
        s, total = [[torch.zeros(8, hs, hs) for _ in range(heads)]], 0.0
        for start in range(0, L, chunk):
            logits = []
            for n in range(start, start + chunk):
                y, s = model.retnet.forward_recurrent(model.embed(x_all[:, n:n + 1]), s, n)
                logits.append(model.proj(y))
            loss = F.cross_entropy(torch.cat(logits, 1).reshape(-1, vocab), y_all[:, start:start + chunk].reshape(-1))
            opt.zero_grad()
            loss.backward()
            opt.step()
            s = [[t.detach() for t in layer] for layer in s]
            total += float(loss)
        losses.append(total)
    assert losses[-1] < 0.7 * losses[0]
    with torch.no_grad():      # the parallel form of the trained model gives the recurrent form's logits
        X = model.embed(x_all)
        s, rec = [[torch.zeros(8, hs, hs) for _ in range(heads)]], []
        for n in range(L):
            y, s = model.retnet.forward_recurrent(X[:, n:n + 1], s, n)
            rec.append(y)
        np.testing.assert_allclose(model.retnet(X).numpy(), torch.cat(rec, 1).numpy(), rtol=1e-4, atol=1e-4)
