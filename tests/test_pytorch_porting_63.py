"""Porting, round 63: SEGMENT-LEVEL RECURRENCE IN TRANSFORMERS, trained by backpropagation through segments --
Transformer-XL's memory and the Recurrent Memory Transformer, as public PyTorch code writes them (no earlier round
ported either). Each is written as its author wrote it, with only the imports changed (`# differs:` marks each
other change and why; long lines wrapped):

1. kimiyoung/transformer-xl: pytorch/mem_transformer.py (81b1b1955b5729b311e1548998eb2a89cb528178:
   PositionalEmbedding, PositionwiseFF, RelMultiHeadAttn._rel_shift, RelPartialLearnableMultiHeadAttn,
   RelPartialLearnableDecoderLayer, AdaptiveEmbedding (div_val 1), MemTransformerLM with attn_type 0, `init_mems`,
   `_update_mems` under no_grad with `.detach()`), pytorch/utils/proj_adaptive_softmax.py
   (688c854f268a41ab074ac5960330c19db880a13b, the n_clusters == 0 branch), pytorch/data_utils.py
   (3a0086fafb2790d259b4f1c25cb6c454ecce41a4: LMOrderedIterator) and pytorch/train.py (3a0086fa: `weights_init`,
   the segment loop of `train()`: `ret = para_model(data, target, *mems)`, `loss, mems = ret[0], ret[1:]`,
   `clip_grad_norm_`, `optimizer.step()`).
2. booydar/recurrent-memory-transformer: modeling_rmt/language_modeling.py (c201626d6aac03131e009b6d6072e0c7752c3aec:
   MemoryCell with memory tokens read at the front and written at the back, RecurrentWrapper with `segment`,
   `split_tensor`, `process_outputs` and `manage_gradients`, which detaches the memory by `k2` and
   `max_n_segments`), over a tiny stand-in causal LM (transformers is not installed).
Every source was read in the index at the commit named; none was written from memory.

Segment recurrence against docs/tbptt.md:
  - Transformer-XL's train.py is TBPTT(1, 1) with a segment as the step: one update per segment, the memory
    (the previous segment's hidden states, `.detach()`ed in `_update_mems`) a constant. The test runs train()'s loop
    and mg.bptt.tbptt(step=segment, k1=1, k2=1) side by side: the same losses and the same weights after SGD.
  - RMT's `manage_gradients` is no single TBPTT(k1, k2): one update per sequence (k1 = n segments), but the
    memory is detached after every segment s with 1 <= s <= max_n_segments - k2, never after segment 0; so the
    last segment's loss passes through max(1, k2 - 1) segments and the second segment's loss always reaches
    the first (noticed, the source's). With k2 = None (or -1) nothing is detached: TBPTT(n, n), checked against
    mg.bptt.tbptt(k1=4, k2=4). Each k2 is checked by central differences of a numpy loss whose detached memories
    are held at their values.

What broke (one gap, fixed):
  G1. `torch.cat([torch.empty(0), x], 0)` (Transformer-XL's first segment: `init_mems` gives `torch.empty(0)` per
      layer, then `torch.cat([mems[i], hids[i]], dim=0)` and `torch.cat([mems, w], 0)`) was a ValueError ("shapes
      (0,), (3, 2, 8) do not line up"). torch.cat's documentation: "All tensors must either have the same shape
      (except in the concatenating dimension) or be a 1-D empty tensor with size (0,)": such a piece is skipped.
      Now `concat` takes it as an empty piece of the others' shape (still an operand: its dtype counts and it gets
      its empty gradient; microgradseq/ops/shape.py).

Met and as PyTorch (a `differs:` line each): a uint8 mask (`.byte()`) in `masked_fill` is refused ("expected a
bool mask"), as current PyTorch refuses it: `.bool()`; `torch.Tensor(rows, cols)` is refused (docs/pytorch.md):
`torch.empty`. Met and as PyTorch: `torch.ger`, `einsum` of 'ibnd,jnd->ijbn', `chunk` of three, `view_as`,
`attn_score.mul_` in place on a non-leaf, `.float().masked_fill(...).type_as(...)`, `register_buffer`, tied
weights by assignment (`crit.out_layers[i].weight = word_emb.emb_layers[i].weight`), `embed.mul_`, a ParameterList
holding None, `data.narrow(0, 0, n).view(bsz, -1).t().contiguous()`, `memory.repeat(B, 1, 1)`, `labels[..., 1:]`.

Noticed and left alone (the sources', in PyTorch too): `_forward` calls `self._update_mems(hids, mems, mlen,
qlen)` against the signature `(hids, mems, qlen, mlen)` (harmless while tgt_len == mem_len); RMT's off-by-one
between `k2` and the segments a loss reaches (above).

Changed for reasons outside the library (marked): transformers, the attn_types 1-3, adaptive clusters, the
sampled softmax, fp16, DataParallel, logging and evaluation are not ported; train.py's globals are arguments.

Expected values come from numpy written here in float64 (relative attention from the paper's four terms,
post-norm layers, the memory concatenation; the RMT segments), gradients by central differences of those numpy
losses; never from the library's own outputs.
"""

import copy
import math

import numpy as np
import pytest
from porting_references import arr, check_named_grads, params_of

import microgradseq as torch
import microgradseq.nn as nn
import microgradseq.nn.functional as F
import microgradseq.optim as optim
from microgradseq.nn import CrossEntropyLoss


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)
    np.random.seed(0)


# ---------------------------------------------------------------- 1. transformer-xl pytorch/mem_transformer.py
class PositionalEmbedding(nn.Module):
    def __init__(self, demb):
        super(PositionalEmbedding, self).__init__()

        self.demb = demb

        inv_freq = 1 / (10000 ** (torch.arange(0.0, demb, 2.0) / demb))
        self.register_buffer('inv_freq', inv_freq)

    def forward(self, pos_seq, bsz=None):
        sinusoid_inp = torch.ger(pos_seq, self.inv_freq)
        pos_emb = torch.cat([sinusoid_inp.sin(), sinusoid_inp.cos()], dim=-1)

        if bsz is not None:
            return pos_emb[:, None, :].expand(-1, bsz, -1)
        else:
            return pos_emb[:, None, :]


class PositionwiseFF(nn.Module):
    def __init__(self, d_model, d_inner, dropout, pre_lnorm=False):
        super(PositionwiseFF, self).__init__()

        self.d_model = d_model
        self.d_inner = d_inner
        self.dropout = dropout

        self.CoreNet = nn.Sequential(
            nn.Linear(d_model, d_inner), nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(d_inner, d_model),
            nn.Dropout(dropout),
        )

        self.layer_norm = nn.LayerNorm(d_model)

        self.pre_lnorm = pre_lnorm

    def forward(self, inp):
        if self.pre_lnorm:
            ##### layer normalization + positionwise feed-forward
            core_out = self.CoreNet(self.layer_norm(inp))

            ##### residual connection
            output = core_out + inp
        else:
            ##### positionwise feed-forward
            core_out = self.CoreNet(inp)

            ##### residual connection + layer normalization
            output = self.layer_norm(inp + core_out)

        return output


class RelMultiHeadAttn(nn.Module):
    def __init__(self, n_head, d_model, d_head, dropout, dropatt=0,
                 tgt_len=None, ext_len=None, mem_len=None, pre_lnorm=False):
        super(RelMultiHeadAttn, self).__init__()

        self.n_head = n_head
        self.d_model = d_model
        self.d_head = d_head
        self.dropout = dropout

        self.qkv_net = nn.Linear(d_model, 3 * n_head * d_head, bias=False)

        self.drop = nn.Dropout(dropout)
        self.dropatt = nn.Dropout(dropatt)
        self.o_net = nn.Linear(n_head * d_head, d_model, bias=False)

        self.layer_norm = nn.LayerNorm(d_model)

        self.scale = 1 / (d_head ** 0.5)

        self.pre_lnorm = pre_lnorm

    def _rel_shift(self, x, zero_triu=False):
        zero_pad = torch.zeros((x.size(0), 1, *x.size()[2:]),
                               device=x.device, dtype=x.dtype)
        x_padded = torch.cat([zero_pad, x], dim=1)

        x_padded = x_padded.view(x.size(1) + 1, x.size(0), *x.size()[2:])

        x = x_padded[1:].view_as(x)

        if zero_triu:
            ones = torch.ones((x.size(0), x.size(1)))
            x = x * torch.tril(ones, x.size(1) - x.size(0))[:, :, None, None]

        return x

    def forward(self, w, r, attn_mask=None, mems=None):
        raise NotImplementedError


class RelPartialLearnableMultiHeadAttn(RelMultiHeadAttn):
    def __init__(self, *args, **kwargs):
        super(RelPartialLearnableMultiHeadAttn, self).__init__(*args, **kwargs)

        self.r_net = nn.Linear(self.d_model, self.n_head * self.d_head, bias=False)

    def forward(self, w, r, r_w_bias, r_r_bias, attn_mask=None, mems=None):
        qlen, rlen, bsz = w.size(0), r.size(0), w.size(1)

        if mems is not None:
            cat = torch.cat([mems, w], 0)
            if self.pre_lnorm:
                w_heads = self.qkv_net(self.layer_norm(cat))
            else:
                w_heads = self.qkv_net(cat)
            r_head_k = self.r_net(r)

            w_head_q, w_head_k, w_head_v = torch.chunk(w_heads, 3, dim=-1)
            w_head_q = w_head_q[-qlen:]
        else:
            if self.pre_lnorm:
                w_heads = self.qkv_net(self.layer_norm(w))
            else:
                w_heads = self.qkv_net(w)
            r_head_k = self.r_net(r)

            w_head_q, w_head_k, w_head_v = torch.chunk(w_heads, 3, dim=-1)

        klen = w_head_k.size(0)

        w_head_q = w_head_q.view(qlen, bsz, self.n_head, self.d_head)           # qlen x bsz x n_head x d_head
        w_head_k = w_head_k.view(klen, bsz, self.n_head, self.d_head)           # qlen x bsz x n_head x d_head
        w_head_v = w_head_v.view(klen, bsz, self.n_head, self.d_head)           # qlen x bsz x n_head x d_head

        r_head_k = r_head_k.view(rlen, self.n_head, self.d_head)                # qlen x n_head x d_head

        #### compute attention score
        rw_head_q = w_head_q + r_w_bias                                         # qlen x bsz x n_head x d_head
        AC = torch.einsum('ibnd,jbnd->ijbn', (rw_head_q, w_head_k))             # qlen x klen x bsz x n_head

        rr_head_q = w_head_q + r_r_bias
        BD = torch.einsum('ibnd,jnd->ijbn', (rr_head_q, r_head_k))              # qlen x klen x bsz x n_head
        BD = self._rel_shift(BD)

        # [qlen x klen x bsz x n_head]
        attn_score = AC + BD
        attn_score.mul_(self.scale)

        #### compute attention probability
        if attn_mask is not None and attn_mask.any().item():
            if attn_mask.dim() == 2:
                attn_score = attn_score.float().masked_fill(
                    attn_mask[None, :, :, None], -float('inf')).type_as(attn_score)
            elif attn_mask.dim() == 3:
                attn_score = attn_score.float().masked_fill(
                    attn_mask[:, :, :, None], -float('inf')).type_as(attn_score)

        # [qlen x klen x bsz x n_head]
        attn_prob = F.softmax(attn_score, dim=1)
        attn_prob = self.dropatt(attn_prob)

        #### compute attention vector
        attn_vec = torch.einsum('ijbn,jbnd->ibnd', (attn_prob, w_head_v))

        # [qlen x bsz x n_head x d_head]
        attn_vec = attn_vec.contiguous().view(
            attn_vec.size(0), attn_vec.size(1), self.n_head * self.d_head)

        ##### linear projection
        attn_out = self.o_net(attn_vec)
        attn_out = self.drop(attn_out)

        if self.pre_lnorm:
            ##### residual connection
            output = w + attn_out
        else:
            ##### residual connection + layer normalization
            output = self.layer_norm(w + attn_out)

        return output


class RelPartialLearnableDecoderLayer(nn.Module):
    def __init__(self, n_head, d_model, d_head, d_inner, dropout,
                 **kwargs):
        super(RelPartialLearnableDecoderLayer, self).__init__()

        self.dec_attn = RelPartialLearnableMultiHeadAttn(n_head, d_model,
                                                         d_head, dropout, **kwargs)
        self.pos_ff = PositionwiseFF(d_model, d_inner, dropout,
                                     pre_lnorm=kwargs.get('pre_lnorm'))

    def forward(self, dec_inp, r, r_w_bias, r_r_bias, dec_attn_mask=None, mems=None):

        output = self.dec_attn(dec_inp, r, r_w_bias, r_r_bias,
                               attn_mask=dec_attn_mask,
                               mems=mems)
        output = self.pos_ff(output)

        return output


class AdaptiveEmbedding(nn.Module):
    def __init__(self, n_token, d_embed, d_proj, cutoffs, div_val=1,
                 sample_softmax=False):
        super(AdaptiveEmbedding, self).__init__()

        self.n_token = n_token
        self.d_embed = d_embed

        self.cutoffs = cutoffs + [n_token]
        self.div_val = div_val
        self.d_proj = d_proj

        self.emb_scale = d_proj ** 0.5

        self.cutoff_ends = [0] + self.cutoffs

        self.emb_layers = nn.ModuleList()
        self.emb_projs = nn.ParameterList()
        if div_val == 1:
            self.emb_layers.append(
                nn.Embedding(n_token, d_embed, sparse=sample_softmax > 0)
            )
            if d_proj != d_embed:
                # differs: torch.Tensor(rows, columns) is refused here (docs/pytorch.md); train.py's
                # weights_init fills it with nn.init.normal_
                self.emb_projs.append(nn.Parameter(torch.empty(d_proj, d_embed)))
        # differs: the div_val != 1 branch (several embedding tables by cutoff) is not ported

    def forward(self, inp):
        if self.div_val == 1:
            embed = self.emb_layers[0](inp)
            if self.d_proj != self.d_embed:
                embed = F.linear(embed, self.emb_projs[0])

        embed.mul_(self.emb_scale)

        return embed


# ------------------------------------------------------ transformer-xl pytorch/utils/proj_adaptive_softmax.py
class ProjectedAdaptiveLogSoftmax(nn.Module):
    def __init__(self, n_token, d_embed, d_proj, cutoffs, div_val=1,
                 keep_order=False):
        super(ProjectedAdaptiveLogSoftmax, self).__init__()

        self.n_token = n_token
        self.d_embed = d_embed
        self.d_proj = d_proj

        self.cutoffs = cutoffs + [n_token]
        self.cutoff_ends = [0] + self.cutoffs
        self.div_val = div_val

        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters

        self.out_layers = nn.ModuleList()
        self.out_projs = nn.ParameterList()

        if div_val == 1:
            for i in range(len(self.cutoffs)):
                if d_proj != d_embed:
                    self.out_projs.append(
                        nn.Parameter(torch.empty(d_proj, d_embed))   # differs: torch.Tensor(d_proj, d_embed)
                    )
                else:
                    self.out_projs.append(None)

            self.out_layers.append(nn.Linear(d_embed, n_token))
        # differs: the clusters (cutoffs) and the div_val != 1 branch are not ported

        self.keep_order = keep_order

    def _compute_logit(self, hidden, weight, bias, proj):
        if proj is None:
            logit = F.linear(hidden, weight, bias=bias)
        else:
            # if CUDA_MAJOR <= 9 and CUDA_MINOR <= 1:
            proj_hid = F.linear(hidden, proj.t().contiguous())
            logit = F.linear(proj_hid, weight, bias=bias)

        return logit

    def forward(self, hidden, target, keep_order=False):
        '''
            hidden :: [len*bsz x d_proj]
            target :: [len*bsz]
        '''

        if hidden.size(0) != target.size(0):
            raise RuntimeError('Input and target should have the same size '
                               'in the batch dimension.')

        if self.n_clusters == 0:
            logit = self._compute_logit(hidden, self.out_layers[0].weight,
                                        self.out_layers[0].bias, self.out_projs[0])
            nll = -F.log_softmax(logit, dim=-1) \
                .gather(1, target.unsqueeze(1)).squeeze(1)

        return nll


class MemTransformerLM(nn.Module):
    def __init__(self, n_token, n_layer, n_head, d_model, d_head, d_inner,
                 dropout, dropatt, tie_weight=True, d_embed=None,
                 div_val=1, tie_projs=[False], pre_lnorm=False,
                 tgt_len=None, ext_len=None, mem_len=None,
                 cutoffs=[], adapt_inp=False,
                 same_length=False, attn_type=0, clamp_len=-1,
                 sample_softmax=-1):
        super(MemTransformerLM, self).__init__()
        self.n_token = n_token

        d_embed = d_model if d_embed is None else d_embed
        self.d_embed = d_embed
        self.d_model = d_model
        self.n_head = n_head
        self.d_head = d_head

        self.word_emb = AdaptiveEmbedding(n_token, d_embed, d_model, cutoffs,
                                          div_val=div_val)

        self.drop = nn.Dropout(dropout)

        self.n_layer = n_layer

        self.tgt_len = tgt_len
        self.mem_len = mem_len
        self.ext_len = ext_len
        self.max_klen = tgt_len + ext_len + mem_len

        self.attn_type = attn_type

        self.layers = nn.ModuleList()
        if attn_type == 0:  # the default attention
            for i in range(n_layer):
                self.layers.append(
                    RelPartialLearnableDecoderLayer(
                        n_head, d_model, d_head, d_inner, dropout,
                        tgt_len=tgt_len, ext_len=ext_len, mem_len=mem_len,
                        dropatt=dropatt, pre_lnorm=pre_lnorm)
                )
        # differs: attn_type 1, 2 and 3 and the sampled softmax (LogUniformSampler) are not ported

        self.sample_softmax = sample_softmax
        # use adaptive softmax (including standard softmax)
        self.crit = ProjectedAdaptiveLogSoftmax(n_token, d_embed, d_model,
                                                cutoffs, div_val=div_val)

        if tie_weight:
            for i in range(len(self.crit.out_layers)):
                self.crit.out_layers[i].weight = self.word_emb.emb_layers[i].weight

        if tie_projs:
            for i, tie_proj in enumerate(tie_projs):
                if tie_proj and div_val == 1 and d_model != d_embed:
                    self.crit.out_projs[i] = self.word_emb.emb_projs[0]
                elif tie_proj and div_val != 1:
                    self.crit.out_projs[i] = self.word_emb.emb_projs[i]

        self.same_length = same_length
        self.clamp_len = clamp_len

        self._create_params()

    def backward_compatible(self):
        self.sample_softmax = -1

    def _create_params(self):
        if self.attn_type == 0:  # default attention
            self.pos_emb = PositionalEmbedding(self.d_model)
            # differs: torch.Tensor(n_head, d_head) -> torch.empty (train.py's weights_init fills them)
            self.r_w_bias = nn.Parameter(torch.empty(self.n_head, self.d_head))
            self.r_r_bias = nn.Parameter(torch.empty(self.n_head, self.d_head))

    def reset_length(self, tgt_len, ext_len, mem_len):
        self.tgt_len = tgt_len
        self.mem_len = mem_len
        self.ext_len = ext_len

    def init_mems(self):
        if self.mem_len > 0:
            mems = []
            param = next(self.parameters())
            for i in range(self.n_layer + 1):
                empty = torch.empty(0, dtype=param.dtype, device=param.device)
                mems.append(empty)

            return mems
        else:
            return None

    def _update_mems(self, hids, mems, qlen, mlen):
        # does not deal with None
        if mems is None: return None  # noqa: E701

        # mems is not None
        assert len(hids) == len(mems), 'len(hids) != len(mems)'

        # There are `mlen + qlen` steps that can be cached into mems
        # For the next step, the last `ext_len` of the `qlen` tokens
        # will be used as the extended context. Hence, we only cache
        # the tokens from `mlen + qlen - self.ext_len - self.mem_len`
        # to `mlen + qlen - self.ext_len`.
        with torch.no_grad():
            new_mems = []
            end_idx = mlen + max(0, qlen - 0 - self.ext_len)
            beg_idx = max(0, end_idx - self.mem_len)
            for i in range(len(hids)):

                cat = torch.cat([mems[i], hids[i]], dim=0)
                new_mems.append(cat[beg_idx:end_idx].detach())

        return new_mems

    def _forward(self, dec_inp, mems=None):
        qlen, bsz = dec_inp.size()

        word_emb = self.word_emb(dec_inp)

        mlen = mems[0].size(0) if mems is not None else 0
        klen = mlen + qlen
        if self.same_length:
            all_ones = word_emb.new_ones(qlen, klen)
            mask_len = klen - self.mem_len
            if mask_len > 0:
                mask_shift_len = qlen - mask_len
            else:
                mask_shift_len = qlen
            dec_attn_mask = (torch.triu(all_ones, 1 + mlen)
                             + torch.tril(all_ones, -mask_shift_len)).bool()[:, :, None]  # -1
            # differs: .byte() above (a uint8 mask; masked_fill needs bool, as PyTorch's now)
        else:
            dec_attn_mask = torch.triu(
                word_emb.new_ones(qlen, klen), diagonal=1 + mlen).bool()[:, :, None]  # differs: .byte()

        hids = []
        if self.attn_type == 0:  # default
            pos_seq = torch.arange(klen - 1, -1, -1.0, device=word_emb.device,
                                   dtype=word_emb.dtype)
            if self.clamp_len > 0:
                pos_seq.clamp_(max=self.clamp_len)
            pos_emb = self.pos_emb(pos_seq)

            core_out = self.drop(word_emb)
            pos_emb = self.drop(pos_emb)

            hids.append(core_out)
            for i, layer in enumerate(self.layers):
                mems_i = None if mems is None else mems[i]
                core_out = layer(core_out, pos_emb, self.r_w_bias,
                                 self.r_r_bias, dec_attn_mask=dec_attn_mask, mems=mems_i)
                hids.append(core_out)

        core_out = self.drop(core_out)

        new_mems = self._update_mems(hids, mems, mlen, qlen)

        return core_out, new_mems

    def forward(self, data, target, *mems):
        # nn.DataParallel does not allow size(0) tensors to be broadcasted.
        # So, have to initialize size(0) mems inside the model forward.
        # Moreover, have to return new_mems to allow nn.DataParallel to piece
        # them together.
        if not mems: mems = self.init_mems()  # noqa: E701

        tgt_len = target.size(0)
        hidden, new_mems = self._forward(data, mems=mems)

        pred_hid = hidden[-tgt_len:]
        loss = self.crit(pred_hid.view(-1, pred_hid.size(-1)), target.view(-1))
        loss = loss.view(tgt_len, -1)

        if new_mems is None:
            return [loss]
        else:
            return [loss] + new_mems


# ------------------------------------------------------------------- transformer-xl pytorch/data_utils.py
class LMOrderedIterator(object):
    def __init__(self, data, bsz, bptt, device='cpu', ext_len=None):
        """
            data -- LongTensor -- the LongTensor is strictly ordered
        """
        self.bsz = bsz
        self.bptt = bptt
        self.ext_len = ext_len if ext_len is not None else 0

        self.device = device

        # Work out how cleanly we can divide the dataset into bsz parts.
        self.n_step = data.size(0) // bsz

        # Trim off any extra elements that wouldn't cleanly fit (remainders).
        data = data.narrow(0, 0, self.n_step * bsz)

        # Evenly divide the data across the bsz batches.
        self.data = data.view(bsz, -1).t().contiguous().to(device)

        # Number of mini-batches
        self.n_batch = (self.n_step + self.bptt - 1) // self.bptt

    def get_batch(self, i, bptt=None):
        if bptt is None: bptt = self.bptt  # noqa: E701
        seq_len = min(bptt, self.data.size(0) - 1 - i)

        end_idx = i + seq_len
        beg_idx = max(0, i - self.ext_len)

        data = self.data[beg_idx:end_idx]
        target = self.data[i + 1:i + 1 + seq_len]

        return data, target, seq_len

    def get_fixlen_iter(self, start=0):
        for i in range(start, self.data.size(0) - 1, self.bptt):
            yield self.get_batch(i)

    def __iter__(self):
        return self.get_fixlen_iter()


# --------------------------------------------------------------- transformer-xl pytorch/train.py (train())
def init_weight(weight, args):
    if args.init == 'uniform':
        nn.init.uniform_(weight, -args.init_range, args.init_range)
    elif args.init == 'normal':
        nn.init.normal_(weight, 0.0, args.init_std)


def init_bias(bias):
    nn.init.constant_(bias, 0.0)


def weights_init(m, args):  # differs: args passed (a module-level global in train.py)
    classname = m.__class__.__name__
    if classname.find('Linear') != -1:
        if hasattr(m, 'weight') and m.weight is not None:
            init_weight(m.weight, args)
        if hasattr(m, 'bias') and m.bias is not None:
            init_bias(m.bias)
    elif classname.find('AdaptiveEmbedding') != -1:
        if hasattr(m, 'emb_projs'):
            for i in range(len(m.emb_projs)):
                if m.emb_projs[i] is not None:
                    nn.init.normal_(m.emb_projs[i], 0.0, args.proj_init_std)
    elif classname.find('Embedding') != -1:
        if hasattr(m, 'weight'):
            init_weight(m.weight, args)
    elif classname.find('ProjectedAdaptiveLogSoftmax') != -1:
        if hasattr(m, 'out_projs'):
            for i in range(len(m.out_projs)):
                if m.out_projs[i] is not None:
                    nn.init.normal_(m.out_projs[i], 0.0, args.proj_init_std)
    elif classname.find('LayerNorm') != -1:
        if hasattr(m, 'weight'):
            nn.init.normal_(m.weight, 1.0, args.init_std)
        if hasattr(m, 'bias') and m.bias is not None:
            init_bias(m.bias)
    elif classname.find('TransformerLM') != -1:
        if hasattr(m, 'r_w_bias'):
            init_weight(m.r_w_bias, args)
        if hasattr(m, 'r_r_bias'):
            init_weight(m.r_r_bias, args)


def train(args, model, para_model, optimizer, tr_iter, on_batch=None):
    # differs: train.py's globals are arguments; logging, evaluation, schedulers, fp16 and batch_chunk left out;
    # on_batch(batch, loss, mems) is added so a test can read each segment
    model.train()
    mems = tuple()
    train_loss = 0
    losses = []
    for batch, (data, target, seq_len) in enumerate(tr_iter):
        model.zero_grad()
        ret = para_model(data, target, *mems)
        loss, mems = ret[0], ret[1:]
        loss = loss.float().mean().type_as(loss)
        loss.backward()
        train_loss += loss.float().item()
        losses.append(loss.float().item())

        torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)

        if on_batch is not None:
            on_batch(batch, loss, mems)
        optimizer.step()
    return losses


# -------------------------------------------- 2. booydar/recurrent-memory-transformer modeling_rmt/language_modeling.py
class CausalLMOutputWithCrossAttentions(dict):
    # differs: transformers is not installed; its ModelOutput is an ordered dict whose keys read as attributes
    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name)


class MemoryCell(torch.nn.Module):
    def __init__(self, base_model, num_mem_tokens):
        super().__init__()
        self.model = base_model
        self.create_memory(num_mem_tokens)

    def create_memory(self, num_mem_tokens):
        self.num_mem_tokens = num_mem_tokens
        embeddings = self.model.get_input_embeddings()
        memory_dim = getattr(self.model.config, 'n_embd', self.model.config.hidden_size)
        memory_weights = torch.randn((num_mem_tokens, memory_dim)) * embeddings.weight.data.std()
        self.register_parameter('memory', torch.nn.Parameter(memory_weights, requires_grad=True))

        self.read_memory_position = range(num_mem_tokens)
        self.write_memory_position = range(-num_mem_tokens, 0)

    def set_memory(self, input_shape):
        memory = self.memory.repeat(input_shape[0], 1, 1)
        return memory

    def forward(self, input_ids, memory_state=None, **kwargs):
        if memory_state is None:
            memory_state = self.set_memory(input_ids.shape)

        seg_kwargs = self.process_input(input_ids, memory_state, write_mem=True, **kwargs)
        out = self.model(**seg_kwargs)
        out, new_memory_state = self.process_output(out, **kwargs)

        return out, new_memory_state

    def process_input(self, input_ids, memory_state, write_mem, **kwargs):
        seg_kwargs = dict(**kwargs)

        inputs_embeds = kwargs.get('inputs_embeds')
        if inputs_embeds is None:
            inputs_embeds = self.model.get_input_embeddings()(input_ids)

        if self.num_mem_tokens > 0:
            if write_mem:
                inputs_embeds = torch.cat([memory_state, inputs_embeds, memory_state], dim=1)
            else:
                inputs_embeds = torch.cat([memory_state, inputs_embeds], dim=1)

        seg_kwargs['input_ids'] = None
        seg_kwargs['inputs_embeds'] = inputs_embeds
        if kwargs.get('attention_mask') is not None:
            seg_kwargs['attention_mask'] = self.pad_attention_mask(kwargs['attention_mask'], inputs_embeds.shape)
        seg_kwargs['output_hidden_states'] = True
        return seg_kwargs

    def pad_attention_mask(self, attention_mask, shape):
        if self.num_mem_tokens in {0, None}:
            return attention_mask
        else:
            mask = torch.ones(*shape[:2], dtype=torch.int64).to(attention_mask.device)
            mask[:, self.num_mem_tokens: self.num_mem_tokens + attention_mask.shape[1]] = attention_mask
            return mask

    def process_output(self, model_outputs, **kwargs):
        if self.num_mem_tokens not in {0, None}:
            out = CausalLMOutputWithCrossAttentions()
            memory_state = model_outputs.hidden_states[-1][:, -self.num_mem_tokens:]
            out['logits'] = model_outputs.logits[:, self.num_mem_tokens:-self.num_mem_tokens]

            if kwargs.get('output_hidden_states'):
                out['hidden_states'] = [lh[:, self.num_mem_tokens:-self.num_mem_tokens]
                                        for lh in model_outputs.hidden_states]
            if kwargs.get('output_attentions'):
                out['attentions'] = model_outputs['attentions']
        else:
            memory_state = None
            out = model_outputs

        return out, memory_state


class RecurrentWrapper(torch.nn.Module):
    def __init__(self, memory_cell, **rmt_kwargs):
        super().__init__()
        self.memory_cell = memory_cell
        self.rmt_config = rmt_kwargs

    def forward(self, input_ids, labels=None, labels_mask=None, inputs_embeds=None, attention_mask=None,
                output_attentions=None, output_hidden_states=None):
        memory_state = None
        segmented = self.segment(input_ids=input_ids, inputs_embeds=inputs_embeds, attention_mask=attention_mask)

        cell_outputs = []
        for seg_num, segment in enumerate(segmented):
            cell_out, memory_state = self.memory_cell(**segment, memory_state=memory_state,
                                                      output_hidden_states=True)
            cell_outputs.append(cell_out)
            memory_state = self.manage_gradients(memory_state, seg_num)

        out = self.process_outputs(cell_outputs, labels=labels,
                                   labels_mask=labels_mask,
                                   output_attentions=output_attentions,
                                   output_hidden_states=output_hidden_states)
        return out

    def segment(self, **kwargs):
        segments = []
        for k, tensor in kwargs.items():
            if tensor is not None:
                k_segments = self.split_tensor(tensor)
                for s, k_seg in enumerate(k_segments):
                    if s < len(segments):
                        segments[s][k] = k_seg
                    else:
                        segments.append({k: k_seg})

        return segments

    def split_tensor(self, tensor):
        align = self.rmt_config.get('segment_alignment')
        segment_size = self.rmt_config.get('segment_size')
        if align in {'left', None}:
            split_inds = list(range(0, tensor.shape[1], segment_size)) + [tensor.shape[1]]
            segments = [tensor[:, start:end] for (start, end) in zip(split_inds, split_inds[1:])]
        elif align in {'right', None}:
            split_inds = (list(range(tensor.shape[1], 0, -segment_size)) + [0])[::-1]
            segments = [tensor[:, start:end] for (start, end) in zip(split_inds, split_inds[1:])]
        elif align == 'center':
            n_seg = math.ceil(tensor.shape[1] / segment_size)
            segments = torch.chunk(tensor, n_seg, dim=1)
        else:
            raise NotImplementedError
        return segments

    def process_outputs(self, cell_outputs, **kwargs):
        out = CausalLMOutputWithCrossAttentions()
        full_logits = torch.cat([o.logits for o in cell_outputs], dim=1)
        full_hidden_states = tuple([torch.cat(layer_hs, dim=1)
                                    for layer_hs in zip(*[o.hidden_states for o in cell_outputs])])

        labels = kwargs.get('labels')
        if labels is not None:
            shift_labels = labels[..., 1:].contiguous()
            shift_logits = full_logits[..., :-1, :].contiguous()
            flat_labels = shift_labels.view(-1)
            flat_logits = shift_logits.view(-1, shift_logits.size(-1))

            loss_fct = CrossEntropyLoss()
            labels_mask = kwargs.get('labels_mask')
            if labels_mask is not None:
                shift_mask = labels_mask[..., :-1].contiguous()

                flat_labels = flat_labels[shift_mask.view(-1)]
                flat_logits = flat_logits[shift_mask.view(-1)]

            out['loss'] = loss_fct(flat_logits, flat_labels)
            if out['loss'] is None:
                raise ValueError
        else:
            out['loss'] = 0

        out['logits'] = full_logits
        if kwargs.get('output_hidden_states'):
            out['hidden_states'] = full_hidden_states

        return out

    def manage_gradients(self, memory_state, seg_num):
        k2, max_n_segments = self.rmt_config.get('k2'), self.rmt_config.get('max_n_segments')
        if seg_num == 0 \
                or k2 in {-1, None} \
                or seg_num + k2 > max_n_segments:
            return memory_state

        memory_state = memory_state.detach()
        return memory_state


class TinyConfig:
    # differs: a stand-in for a Hugging Face causal LM (transformers is not installed): one tanh layer that mixes
    # each position with the mean of the sequence, so the memory tokens reach the segment and the segment the
    # memory; it returns .logits and .hidden_states as GPT2LMHeadModel does
    def __init__(self, n_embd):
        self.n_embd = n_embd
        self.hidden_size = n_embd


class TinyCausalLM(nn.Module):
    def __init__(self, vocab, d):
        super().__init__()
        self.config = TinyConfig(d)
        self.wte = nn.Embedding(vocab, d)
        self.mix = nn.Linear(2 * d, d)
        self.lm_head = nn.Linear(d, vocab, bias=False)

    def get_input_embeddings(self):
        return self.wte

    def forward(self, input_ids=None, inputs_embeds=None, output_hidden_states=False, **kwargs):
        mean = inputs_embeds.mean(dim=1, keepdim=True).expand(-1, inputs_embeds.size(1), -1)
        h = torch.tanh(self.mix(torch.cat([inputs_embeds, mean], dim=-1)))
        return CausalLMOutputWithCrossAttentions(logits=self.lm_head(h), hidden_states=(inputs_embeds, h))


# ---------------------------------------------------------------------------------------------- numpy references
def np_layer_norm(x, w, b, eps=1e-5):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def np_txl_forward(P, data, mems, n_layer, n_head, d_head, mem_len):
    """MemTransformerLM._forward (attn_type 0, post-norm, no dropout) from the paper's relative attention:
    score[i, j] = (q_i + u) . k_j + (q_i + v) . W_r R_{i - j + mlen} for j <= i + mlen; returns (hidden, new mems)."""
    d = P['word_emb.emb_layers.0.weight'].shape[1]
    h = P['word_emb.emb_layers.0.weight'][data] * np.sqrt(d)
    qlen, bsz = data.shape
    mlen = 0 if mems is None else mems[0].shape[0]
    klen = mlen + qlen
    inv_freq = 1 / (10000 ** (np.arange(0.0, d, 2.0) / d))
    pos = np.arange(klen - 1, -1, -1.0)
    r = np.concatenate([np.sin(np.outer(pos, inv_freq)), np.cos(np.outer(pos, inv_freq))], -1)
    hids = [h]
    for li in range(n_layer):
        p = f'layers.{li}.'
        c = h if mems is None else np.concatenate([mems[li], h], 0)
        heads = c @ P[p + 'dec_attn.qkv_net.weight'].T
        q, k, v = np.split(heads, 3, -1)
        q = q[-qlen:].reshape(qlen, bsz, n_head, d_head)
        k = k.reshape(klen, bsz, n_head, d_head)
        v = v.reshape(klen, bsz, n_head, d_head)
        rk = (r @ P[p + 'dec_attn.r_net.weight'].T).reshape(klen, n_head, d_head)
        score = np.zeros((qlen, klen, bsz, n_head))
        for i in range(qlen):
            for j in range(klen):
                if j > i + mlen:
                    score[i, j] = -np.inf
                    continue
                dist = i + mlen - j                    # r's row klen - 1 - dist
                score[i, j] = ((q[i] + P['r_w_bias']) * k[j]).sum(-1) \
                    + ((q[i] + P['r_r_bias']) * rk[klen - 1 - dist]).sum(-1)
        score = score / np.sqrt(d_head)
        prob = np.exp(score - score.max(1, keepdims=True))
        prob = prob / prob.sum(1, keepdims=True)
        vec = np.einsum('ijbn,jbnd->ibnd', prob, v).reshape(qlen, bsz, n_head * d_head)
        out = np_layer_norm(h + vec @ P[p + 'dec_attn.o_net.weight'].T,
                            P[p + 'dec_attn.layer_norm.weight'], P[p + 'dec_attn.layer_norm.bias'])
        ff = np.maximum(out @ P[p + 'pos_ff.CoreNet.0.weight'].T + P[p + 'pos_ff.CoreNet.0.bias'], 0)
        ff = ff @ P[p + 'pos_ff.CoreNet.3.weight'].T + P[p + 'pos_ff.CoreNet.3.bias']
        h = np_layer_norm(out + ff, P[p + 'pos_ff.layer_norm.weight'], P[p + 'pos_ff.layer_norm.bias'])
        hids.append(h)
    new_mems = None if mems is None else [np.concatenate([m, x], 0)[max(0, klen - mem_len):klen]
                                          for m, x in zip(mems, hids)]
    return h, new_mems


def np_txl_loss(P, data, target, mems, cfg):
    h, new_mems = np_txl_forward(P, data, mems, cfg['n_layer'], cfg['n_head'], cfg['d_head'], cfg['mem_len'])
    logit = h.reshape(-1, h.shape[-1]) @ P['word_emb.emb_layers.0.weight'].T + P['crit.out_layers.0.bias']
    logp = logit - logit.max(-1, keepdims=True)
    logp = logp - np.log(np.exp(logp).sum(-1, keepdims=True))
    nll = -logp[np.arange(target.size), target.reshape(-1)]
    return nll.reshape(target.shape), new_mems


CFG = dict(n_token=11, n_layer=2, n_head=2, d_model=8, d_head=4, d_inner=16, tgt_len=3, mem_len=3)


class Args:
    init = 'normal'
    init_std = 0.3
    init_range = 0.1
    proj_init_std = 0.1
    clip = 0.25
    lr = 0.05


def make_txl(mem_len=3, tgt_len=3):
    model = MemTransformerLM(CFG['n_token'], CFG['n_layer'], CFG['n_head'], CFG['d_model'], CFG['d_head'],
                             CFG['d_inner'], 0.0, 0.0, tgt_len=tgt_len, ext_len=0, mem_len=mem_len)
    model.apply(lambda m: weights_init(m, Args))
    model.word_emb.apply(lambda m: weights_init(m, Args))
    return model


def corpus_tensor(n=26, seed=0):
    return torch.tensor(np.random.default_rng(seed).integers(0, CFG['n_token'], n), dtype=torch.int64)


# ------------------------------------------------------------------------------------------------------ tests
def test_cat_skips_a_1d_empty_tensor_as_torch_cat(float64_default):
    x = torch.randn(3, 2, 4, requires_grad=True)
    y = torch.cat([torch.empty(0), x], 0)
    np.testing.assert_array_equal(arr(y), arr(x))
    y.sum().backward()
    np.testing.assert_array_equal(arr(x.grad), np.ones((3, 2, 4)))
    with pytest.raises(ValueError, match="concat"):
        torch.cat([torch.empty(0, 4), x], 0)       # only the 1-d (0,) is skipped, as PyTorch
    empty = torch.zeros(0, dtype=torch.float64, requires_grad=True)     # still an operand, as in PyTorch:
    y = torch.cat([empty, torch.ones(2, 3, dtype=torch.float32)], 1)
    assert y.shape == (2, 3) and y.dtype == torch.float64                   # its dtype counts,
    y.sum().backward()
    assert empty.grad is not None and empty.grad.shape == (0,)              # and it gets its (empty) gradient


def test_positional_embedding_is_sin_then_cos_of_the_outer_product(float64_default):
    pe = PositionalEmbedding(6)
    pos = torch.arange(4 - 1, -1, -1.0)
    inv = 1 / (10000 ** (np.arange(0.0, 6, 2.0) / 6))
    ang = np.outer(np.arange(3, -1, -1.0), inv)
    np.testing.assert_allclose(arr(pe(pos, bsz=2))[:, 1], np.concatenate([np.sin(ang), np.cos(ang)], -1))
    assert tuple(pe(pos).shape) == (4, 1, 6)


def test_rel_shift_moves_row_i_left_by_qlen_minus_1_minus_i(float64_default):
    attn = RelPartialLearnableMultiHeadAttn(1, 4, 2, 0.0)
    x = np.arange(12.0).reshape(3, 4, 1, 1)
    got = arr(attn._rel_shift(torch.tensor(x)))[:, :, 0, 0]
    qlen, klen = 3, 4
    for i in range(qlen):
        for j in range(klen):
            if j <= i + klen - qlen:                 # the entries attention keeps
                assert got[i, j] == x[i, j + qlen - 1 - i, 0, 0]


def test_first_segment_forward_matches_numpy(float64_default):
    model = make_txl()
    data, target = torch.randint(0, 11, (3, 2)), torch.randint(0, 11, (3, 2))
    ret = model(data, target)
    P = params_of(model)
    nll, mems = np_txl_loss(P, arr(data).astype(int), arr(target).astype(int), [np.zeros((0, 2, 8))] * 3, CFG)
    # the masked scores pass through float32 (`attn_score.float().masked_fill(...).type_as(...)`), in PyTorch too
    np.testing.assert_allclose(arr(ret[0]), nll, rtol=1e-6, atol=1e-7)
    assert len(ret) == 1 + CFG['n_layer'] + 1
    for got, want in zip(ret[1:], mems):
        np.testing.assert_allclose(arr(got), want, rtol=1e-6, atol=1e-7)


def test_second_segment_attends_to_the_memory_as_numpy(float64_default):
    model = make_txl()
    d1, t1, d2, t2 = (torch.randint(0, 11, (3, 2)) for _ in range(4))
    ret1 = model(d1, t1)
    ret2 = model(d2, t2, *ret1[1:])
    P = params_of(model)
    _, mems = np_txl_loss(P, arr(d1).astype(int), arr(t1).astype(int), [np.zeros((0, 2, 8))] * 3, CFG)
    nll, mems2 = np_txl_loss(P, arr(d2).astype(int), arr(t2).astype(int), mems, CFG)
    np.testing.assert_allclose(arr(ret2[0]), nll, rtol=1e-6, atol=1e-7)
    for got, want in zip(ret2[1:], mems2):
        np.testing.assert_allclose(arr(got), want, rtol=1e-6, atol=1e-7)


def test_update_mems_detaches_and_keeps_the_last_mem_len(float64_default):
    model = make_txl(mem_len=2)
    d1, t1 = torch.randint(0, 11, (3, 2)), torch.randint(0, 11, (3, 2))
    ret = model(d1, t1)
    assert all(tuple(m.shape) == (2, 2, 8) and not m.requires_grad for m in ret[1:])


@pytest.mark.parametrize("name", ["r_w_bias", "r_r_bias", "layers.0.dec_attn.qkv_net.weight",
                                  "layers.1.dec_attn.r_net.weight", "word_emb.emb_layers.0.weight"])
def test_segment_gradients_with_memory_held_constant_match_central_differences(name, float64_default):
    # segments of one token: no entry is masked, so the scores stay float64 (no `.float()` round trip)
    model = make_txl()
    d1, t1, d2, t2 = (torch.randint(0, 11, (1, 2)) for _ in range(4))
    mems = model(d1, t1)[1:]
    P0 = params_of(model)
    _, mems_np = np_txl_loss(P0, arr(d1).astype(int), arr(t1).astype(int), [np.zeros((0, 2, 8))] * 3, CFG)

    def loss_np(P):      # the memory is the values the first segment left: a constant, as `.detach()` makes it
        return np_txl_loss(P, arr(d2).astype(int), arr(t2).astype(int), mems_np, CFG)[0].mean()

    check_named_grads(model, [name], loss_np, lambda: model(d2, t2, *mems)[0].mean(), 4, 1e-5, 1e-8)


def test_train_loop_is_tbptt_1_1_over_segments_as_mg_bptt_tbptt(float64_default):
    """train.py's loop (a step per segment, the memory detached) is TBPTT(1, 1) over segments: mg.bptt.tbptt with a
    segment as the step gives the same losses and the same weights after SGD (no clipping)."""
    corpus = corpus_tensor()
    model_a = make_txl()
    model_b = copy.deepcopy(model_a)
    it = LMOrderedIterator(corpus, 2, 3)
    segs = list(it)

    class NoClip(Args):
        clip = 1e9
    opt_a = optim.SGD(model_a.parameters(), lr=0.1)
    losses_a = train(NoClip, model_a, model_a, opt_a, segs)

    def step(seg, mems):
        data, target, _ = seg
        ret = model_b(data, target, *mems)
        return ret[0].mean(), tuple(ret[1:])

    opt_b = optim.SGD(model_b.parameters(), lr=0.1)
    result = torch.bptt.tbptt(step, tuple(), segs, [0] * len(segs), lambda out, t: out, k1=1, k2=1,
                              optimizer=opt_b)
    # train() logs `loss.float().item()`: float32, as in PyTorch
    np.testing.assert_allclose([float(v) for v in result.losses], losses_a, rtol=1e-6)
    for (n, pa), pb in zip(model_a.named_parameters(), model_b.parameters()):
        # train() backpropagates `loss.float().mean().type_as(loss)`: a float32 round trip, as in PyTorch
        np.testing.assert_allclose(arr(pa), arr(pb), rtol=1e-6, atol=1e-8, err_msg=n)


def test_train_loop_loss_falls(float64_default):
    corpus = torch.tensor(np.tile(np.arange(5), 8), dtype=torch.int64)
    model = make_txl()
    opt = optim.Adam(model.parameters(), lr=0.02)
    first = last = None
    for epoch in range(6):
        losses = train(Args, model, model, opt, LMOrderedIterator(corpus, 2, 4))
        first = losses if first is None else first
        last = losses
    assert np.mean(last) < 0.6 * np.mean(first)


def test_lm_ordered_iterator_batches_as_the_source(float64_default):
    corpus = torch.arange(0, 14)
    it = LMOrderedIterator(corpus, 2, 3)
    batches = list(it)
    cols = np.arange(14).reshape(2, 7).T
    assert [b[2] for b in batches] == [3, 3]
    np.testing.assert_array_equal(arr(batches[0][0]), cols[0:3])
    np.testing.assert_array_equal(arr(batches[1][1]), cols[4:7])


# ----------------------------------------------------------------------------------------------------- RMT
def np_rmt_loss(P, ids, seg, n_mem, detach_after, frozen):
    """RecurrentWrapper over TinyCausalLM from the equations: per segment [m, x, m] -> tanh(W [e, mean] + b);
    the memory written is the last n_mem rows. After the segments in `detach_after` the memory is the value
    `frozen` holds (computed at the base weights): a stop-gradient for central differences."""
    E, W, b, H = P['memory_cell.model.wte.weight'], P['memory_cell.model.mix.weight'], \
        P['memory_cell.model.mix.bias'], P['memory_cell.model.lm_head.weight']
    B, L = ids.shape
    mem = np.repeat(P['memory_cell.memory'][None], B, 0)
    logits, mems = [], []
    for s, start in enumerate(range(0, L, seg)):
        x = np.concatenate([mem, E[ids[:, start:start + seg]], mem], 1)
        mean = np.repeat(x.mean(1, keepdims=True), x.shape[1], 1)
        h = np.tanh(np.concatenate([x, mean], -1) @ W.T + b)
        logits.append((h @ H.T)[:, n_mem:-n_mem])
        mem = h[:, -n_mem:]
        mems.append(mem)
        if s in detach_after and frozen is not None:
            mem = frozen[s]
    z = np.concatenate(logits, 1)[:, :-1].reshape(-1, H.shape[0])
    y = ids[:, 1:].reshape(-1)
    z = z - z.max(-1, keepdims=True)
    lp = z - np.log(np.exp(z).sum(-1, keepdims=True))
    return -lp[np.arange(y.size), y].mean(), mems


def make_rmt(k2, n_seg=4, seg=2):
    lm = TinyCausalLM(7, 4)
    return RecurrentWrapper(MemoryCell(lm, 2), segment_size=seg, max_n_segments=n_seg, k2=k2)


def rmt_detached(k2, n_seg):
    return {s for s in range(n_seg) if not (s == 0 or k2 in {-1, None} or s + k2 > n_seg)}


def test_rmt_detach_pattern_of_manage_gradients():
    assert rmt_detached(None, 4) == set()
    assert rmt_detached(1, 4) == {1, 2, 3}
    assert rmt_detached(2, 4) == {1, 2}
    assert rmt_detached(3, 4) == {1}
    assert rmt_detached(4, 4) == set()


def test_rmt_forward_loss_matches_numpy(float64_default):
    model = make_rmt(None)
    ids = torch.tensor(np.random.default_rng(1).integers(0, 7, (2, 8)), dtype=torch.int64)
    out = model(ids, labels=ids)
    want, _ = np_rmt_loss(params_of(model), arr(ids).astype(int), 2, 2, set(), None)
    np.testing.assert_allclose(float(out['loss']), want, rtol=1e-10)
    assert tuple(out['logits'].shape) == (2, 8, 7)


@pytest.mark.parametrize("k2", [None, 1, 2, 3])
def test_rmt_gradients_with_k2_match_central_differences_of_the_stopped_numpy(k2, float64_default):
    model = make_rmt(k2)
    ids = torch.tensor(np.random.default_rng(2).integers(0, 7, (2, 8)), dtype=torch.int64)
    cut = rmt_detached(k2, 4)
    P0 = params_of(model)
    _, frozen = np_rmt_loss(P0, arr(ids).astype(int), 2, 2, cut, None)

    def loss_np(P):
        return np_rmt_loss(P, arr(ids).astype(int), 2, 2, cut, frozen)[0]

    check_named_grads(model, ['memory_cell.memory', 'memory_cell.model.mix.weight'], loss_np,
                      lambda: model(ids, labels=ids)['loss'], 5, 1e-5, 1e-9)


def test_rmt_k2_none_is_full_bptt_as_tbptt_n_n(float64_default):
    """k2=None keeps every memory: the gradient is TBPTT(n, n) over segments (mg.bptt.tbptt, reduction mean over
    equal segments, the shifted labels taken per segment here)."""
    model = make_rmt(None)
    ids = torch.tensor(np.random.default_rng(3).integers(0, 7, (1, 8)), dtype=torch.int64)
    model.zero_grad()
    model(ids, labels=ids)['loss'].backward()
    g_full = arr(model.memory_cell.memory.grad)
    model.zero_grad()
    cell = model.memory_cell
    labels = ids[:, 1:]
    segs = [ids[:, s:s + 2] for s in range(0, 8, 2)]

    def step(x, mem):
        out, mem = cell(x, memory_state=mem, output_hidden_states=True)
        return out['logits'], mem

    def loss_fn(logits, s):
        pred = logits[0, :2] if s < 3 else logits[0, :1]
        tgt = labels[0, 2 * s: 2 * s + pred.shape[0]]
        return F.cross_entropy(pred, tgt, reduction='sum') / 7.0

    torch.bptt.tbptt(step, None, segs, [0, 1, 2, 3], loss_fn, k1=4, k2=4)
    np.testing.assert_allclose(arr(cell.memory.grad), g_full, rtol=1e-9, atol=1e-12)


def test_rmt_training_loss_falls(float64_default):
    model = make_rmt(2)
    ids = torch.tensor(np.tile([1, 2, 3, 4], (2, 2)), dtype=torch.int64)
    opt = optim.Adam(model.parameters(), lr=0.05)
    losses = []
    for _ in range(30):
        opt.zero_grad()
        loss = model(ids, labels=ids)['loss']
        loss.backward()
        opt.step()
        losses.append(float(loss))
    assert losses[-1] < 0.5 * losses[0]
