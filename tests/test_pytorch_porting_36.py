"""Porting, round 36: training scripts that use what the library added today (scaled_dot_product_attention,
torch.compile, parametrizations, torch.utils.checkpoint, distributions, EmbeddingBag). Each script is written as
its author wrote it, with only the imports changed (`# differs:` marks each other change and why); sizes and step
counts are small and the data is made up:

1. karpathy/nanoGPT model.py (index version 04a1d697ddc57aadb2edbe95816bf86c6b8918b0; the index files forks'
   revisions under karpathy/nanoGPT, and this one adds an SVD option on the values, off by default, which is left
   out here: everything else is Karpathy's text): `LayerNorm` with an optional bias (`F.layer_norm`),
   `CausalSelfAttention` with its flash path (`F.scaled_dot_product_attention(q, k, v, attn_mask=None,
   dropout_p=..., is_causal=True)`) and its manual path (the `tril` buffer, `masked_fill`, `softmax`), `MLP` with
   `nn.GELU`, `Block`, `GPTConfig`, `GPT` (the tied `lm_head`, `_init_weights` by `apply`, the scaled init of
   `c_proj.weight`, `get_num_params`, `crop_block_size`, `configure_optimizers`' two AdamW groups, `estimate_mfu`,
   `generate` with `top_k`); `from_pretrained` (Hugging Face weights) is left out. The training loop is
   karpathy/nanoGPT train.py as the index stores it (005475c4cfb801a872e72603140e0cc638435e64, a fork's `Trainer`
   class around Karpathy's loop): `parse_args`, `np.memmap` of train.bin/val.bin, meta.pkl, `torch.compile`,
   `get_batch`, `estimate_loss`, the warm-up and cosine `get_lr`, gradient clipping, checkpoints and resuming.
2. pytorch/tutorials intermediate_source/parametrizations.py (3d37bd7d070abfd7fa7b850be4cce22cb7c0315c, the
   `torch.linalg.solve` revision): `symmetric`, `LinearSymmetric`, `Symmetric`, `Skew` on a `Conv2d`, the
   inspection cells, `parametrize.cached()` with `NoisyParametrization`, `CayleyMap`, `MatrixExponential`,
   `right_inverse`, `PruningParametrization` and `remove_parametrizations` (both `leave_parametrized`).
   And lezcano/geotorch examples/copying_problem.py (90a08f185eb65e2de0e5a49a84c8134f4fc4fa4b), Lezcano's expRNN
   on the copy task, whose `geotorch.orthogonal` is PyTorch's `nn.utils.parametrizations.orthogonal` here (the
   same author's parametrization of the same constraint; geotorch is not a dependency).
3. pytorch/examples vae/main.py (0a8329cff339f4195f4c893780c18caaa51ee732): the VAE with the continuous Bernoulli
   normalising constant, its KL term written by hand, compared here with `torch.distributions`'
   `kl_divergence(Normal(mu, std), Normal(0, 1))`; MNIST is made-up 28x28 images.
4. feifeibear/ckp_training tests/test_ckp.py (7ad94d1095586c6afc0fdff159d6381dec78a603) and tests/simple_net.py
   (7905f72162f540e4371f01f057473e254aea9ab2): a four-layer net whose first two layers run under `checkpoint`,
   trained beside the same net without it, the losses compared (the script's `--res_check`).
5. pytorch/tutorials beginner_source/text_sentiment_ngrams_tutorial.py (5130967035247c8343376ee69f49d6e10d61eaca):
   `nn.EmbeddingBag` with offsets, `collate_batch` (`cumsum` of the lengths), `train`/`evaluate`,
   `clip_grad_norm_`, SGD at lr 5 with `StepLR`, `random_split`, `predict`; AG_NEWS is made-up news in four
   classes, torchtext's tokenizer, vocabulary and `to_map_style_dataset` small stand-ins.

Every source was found in the index and read there: none was written from memory.

What broke (a gap, fixed with this round; its test checks PyTorch's behaviour):

  G1. `torch.optim.lr_scheduler.StepLR(optimizer, 1.0, gamma=0.1)` (the text classification tutorial) raises
      "ValueError: StepLR: step_size must be a positive integer, got 1.0". PyTorch's StepLR stores step_size as
      given and uses it in `last_epoch % step_size` and `last_epoch // step_size`, so 1.0 is a step every epoch.
      StepLR now takes a whole-number float (fixed with this round), and the port passes 1.0 as written.

Met and left as documented in docs/pytorch.md (the lines say `differs:`):

  - `param.data.uniform_(...)`, `param.data.zero_()`, `nn.init.kaiming_normal_(w.data, ...)`: `.data` is the
    read-only array here; written on the parameter (`nn.init.uniform_(param, ...)`, `nn.init.zeros_`).
  - `torch.Tensor(features)` with one int is data here (a 0-d tensor), a size in PyTorch: `torch.zeros(features)`.
  - `torch.compile(model)` gives the model itself (no `_orig_mod.` prefix), as documented.

Noticed and left alone (PyTorch behaves the same; the tests check PyTorch's behaviour, not the comments):
  - the tutorial's second `CayleyMap.right_inverse`, `solve(A + I, I - A)`, makes `layer_orthogonal.weight` equal to
    X^T, not X as its comment says (forward(right_inverse(X)) = X^-1 for an orthogonal X);
  - `remove_parametrizations(..., leave_parametrized=False)` after registering the `Skew` that has a
    `right_inverse` leaves triu(W, 1), not the weight from "Before": registering stores right_inverse(W);
  - in float32 the checkpointed net's gradients equal the plain net's to rounding (1 part in 10^6), not bit for
    bit; the script's own check, equal losses over six Adam steps, holds exactly.

Names the library lacks (not gaps; each line that uses one says `differs:`): `Tensor.neg_`, `torch.bfloat16`,
`torch.backends.cuda`, `torch.cuda.amp.GradScaler` (and `torch.amp`); the third-party `geotorch`, `torchvision`
and `torchtext` are stand-ins or PyTorch's own equivalents.

Expected values in the tests come from numpy written here (layer norm, causal attention, GELU, the GPT's loss, the
expRNN cell with modReLU, the VAE's loss with its continuous-Bernoulli term, the four linear layers, the bag
means), closed forms (the Gaussian KL, the cosine schedule, orthogonality, symmetry), central finite differences
of that numpy in float64 and the made-up data; never from the library itself.
"""

import argparse
import contextlib
import inspect
import io
import math
import os
import pickle
import re
import time
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
import pytest
from porting_references import central, np_log_softmax, np_softmax, some_indices

import microgradseq as torch
import microgradseq.nn as nn
import microgradseq.nn.utils.parametrize as parametrize
import microgradseq.utils.data
from microgradseq.nn import functional as F
from microgradseq.utils.checkpoint import checkpoint

math_erf = np.vectorize(math.erf)


# ==== 1. nanoGPT model.py, as written (the SVD option of the stored fork left out) ===========================

class LayerNorm(nn.Module):
    """ LayerNorm but with an optional bias. PyTorch doesn't support simply bias=False """

    def __init__(self, ndim, bias):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(ndim))
        self.bias = nn.Parameter(torch.zeros(ndim)) if bias else None

    def forward(self, input):
        return F.layer_norm(input, self.weight.shape, self.weight, self.bias, 1e-5)


class CausalSelfAttention(nn.Module):

    def __init__(self, config):
        super().__init__()
        assert config.n_embd % config.n_head == 0
        # key, query, value projections for all heads, but in a batch
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        # output projection
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        # regularization
        self.attn_dropout = nn.Dropout(config.dropout)
        self.resid_dropout = nn.Dropout(config.dropout)
        self.n_head = config.n_head
        self.n_embd = config.n_embd
        self.dropout = config.dropout
        # flash attention make GPU go brrrrr but support is only in PyTorch >= 2.0
        self.flash = hasattr(torch.nn.functional, 'scaled_dot_product_attention')
        if not self.flash:
            print("WARNING: using slow attention. Flash Attention requires PyTorch >= 2.0")
            # causal mask to ensure that attention is only applied to the left in the input sequence
            self.register_buffer("bias", torch.tril(torch.ones(config.block_size, config.block_size))
                                        .view(1, 1, config.block_size, config.block_size))

    def forward(self, x):
        B, T, C = x.size() # batch size, sequence length, embedding dimensionality (n_embd)

        # calculate query, key, values for all heads in batch and move head forward to be the batch dim
        q, k, v  = self.c_attn(x).split(self.n_embd, dim=2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) # (B, nh, T, hs)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) # (B, nh, T, hs)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) # (B, nh, T, hs)

        # causal self-attention; Self-attend: (B, nh, T, hs) x (B, nh, hs, T) -> (B, nh, T, T)
        if self.flash:
            # efficient attention using Flash Attention CUDA kernels
            y = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=None,
                dropout_p=self.dropout if self.training else 0, is_causal=True)   # (wrapped at 120 columns)
        else:
            # manual implementation of attention
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
            att = att.masked_fill(self.bias[:,:,:T,:T] == 0, float('-inf'))
            att = F.softmax(att, dim=-1)
            att = self.attn_dropout(att)
            y = att @ v # (B, nh, T, T) x (B, nh, T, hs) -> (B, nh, T, hs)
        y = y.transpose(1, 2).contiguous().view(B, T, C) # re-assemble all head outputs side by side

        # output projection
        y = self.resid_dropout(self.c_proj(y))
        return y


class MLP(nn.Module):

    def __init__(self, config):
        super().__init__()
        self.c_fc    = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu    = nn.GELU()
        self.c_proj  = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x):
        x = self.c_fc(x)
        x = self.gelu(x)
        x = self.c_proj(x)
        x = self.dropout(x)
        return x


class Block(nn.Module):

    def __init__(self, config):
        super().__init__()
        self.ln_1 = LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        x = x + self.mlp(self.ln_2(x))
        return x


@dataclass
class GPTConfig:
    block_size: int = 1024
    vocab_size: int = 50304 # GPT-2 vocab_size of 50257, padded up to nearest multiple of 64 for efficiency
    n_layer: int = 12
    n_head: int = 12
    n_embd: int = 768
    dropout: float = 0.0
    bias: bool = True # True: bias in Linears and LayerNorms, like GPT-2. False: a bit better and faster


class GPT(nn.Module):

    def __init__(self, config):
        super().__init__()
        assert config.vocab_size is not None
        assert config.block_size is not None
        self.config = config

        self.transformer = nn.ModuleDict(dict(
            wte = nn.Embedding(config.vocab_size, config.n_embd),
            wpe = nn.Embedding(config.block_size, config.n_embd),
            drop = nn.Dropout(config.dropout),
            h = nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
            ln_f = LayerNorm(config.n_embd, bias=config.bias),
        ))
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        # with weight tying when using torch.compile() some warnings get generated:
        # "UserWarning: functional_call was passed multiple values for tied weights.
        # This behavior is deprecated and will be an error in future versions"
        # not 100% sure what this is, so far seems to be harmless. TODO investigate
        self.transformer.wte.weight = self.lm_head.weight # https://paperswithcode.com/method/weight-tying

        # init all weights
        self.apply(self._init_weights)
        # apply special scaled init to the residual projections, per GPT-2 paper
        for pn, p in self.named_parameters():
            if pn.endswith('c_proj.weight'):
                torch.nn.init.normal_(p, mean=0.0, std=0.02/math.sqrt(2 * config.n_layer))

        # report number of parameters
        print("number of parameters: %.2fM" % (self.get_num_params()/1e6,))

    def get_num_params(self, non_embedding=True):
        """
        Return the number of parameters in the model.
        For non-embedding count (default), the position embeddings get subtracted.
        The token embeddings would too, except due to the parameter sharing these
        params are actually used as weights in the final layer, so we include them.
        """
        n_params = sum(p.numel() for p in self.parameters())
        if non_embedding:
            n_params -= self.transformer.wpe.weight.numel()
        return n_params

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, idx, targets=None):
        device = idx.device
        b, t = idx.size()
        assert t <= self.config.block_size, \
            f"Cannot forward sequence of length {t}, block size is only {self.config.block_size}"   # (wrapped)
        pos = torch.arange(0, t, dtype=torch.long, device=device) # shape (t)

        # forward the GPT model itself
        tok_emb = self.transformer.wte(idx) # token embeddings of shape (b, t, n_embd)
        pos_emb = self.transformer.wpe(pos) # position embeddings of shape (t, n_embd)
        x = self.transformer.drop(tok_emb + pos_emb)
        for block in self.transformer.h:
            x = block(x)
        x = self.transformer.ln_f(x)

        if targets is not None:
            # if we are given some desired targets also calculate the loss
            logits = self.lm_head(x)
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)
        else:
            # inference-time mini-optimization: only forward the lm_head on the very last position
            logits = self.lm_head(x[:, [-1], :]) # note: using list [-1] to preserve the time dim
            loss = None

        return logits, loss

    def crop_block_size(self, block_size):
        # model surgery to decrease the block size if necessary
        # e.g. we may load the GPT2 pretrained model checkpoint (block size 1024)
        # but want to use a smaller block size for some smaller, simpler model
        assert block_size <= self.config.block_size
        self.config.block_size = block_size
        self.transformer.wpe.weight = nn.Parameter(self.transformer.wpe.weight[:block_size])
        for block in self.transformer.h:
            if hasattr(block.attn, 'bias'):
                block.attn.bias = block.attn.bias[:,:,:block_size,:block_size]

    def configure_optimizers(self, weight_decay, learning_rate, betas, device_type):
        # start with all of the candidate parameters
        param_dict = {pn: p for pn, p in self.named_parameters()}
        # filter out those that do not require grad
        param_dict = {pn: p for pn, p in param_dict.items() if p.requires_grad}
        # create optim groups. Any parameters that is 2D will be weight decayed, otherwise no.
        # i.e. all weight tensors in matmuls + embeddings decay, all biases and layernorms don't.
        decay_params = [p for n, p in param_dict.items() if p.dim() >= 2]
        nodecay_params = [p for n, p in param_dict.items() if p.dim() < 2]
        optim_groups = [
            {'params': decay_params, 'weight_decay': weight_decay},
            {'params': nodecay_params, 'weight_decay': 0.0}
        ]
        num_decay_params = sum(p.numel() for p in decay_params)
        num_nodecay_params = sum(p.numel() for p in nodecay_params)
        print(f"num decayed parameter tensors: {len(decay_params)}, with {num_decay_params:,} parameters")
        print(f"num non-decayed parameter tensors: {len(nodecay_params)}, with {num_nodecay_params:,} parameters")
        # Create AdamW optimizer and use the fused version if it is available
        fused_available = 'fused' in inspect.signature(torch.optim.AdamW).parameters
        use_fused = fused_available and device_type == 'cuda'
        extra_args = dict(fused=True) if use_fused else dict()
        optimizer = torch.optim.AdamW(optim_groups, lr=learning_rate, betas=betas, **extra_args)
        print(f"using fused AdamW: {use_fused}")

        return optimizer

    def estimate_mfu(self, fwdbwd_per_iter, dt):
        """ estimate model flops utilization (MFU) in units of A100 bfloat16 peak FLOPS """
        # first estimate the number of flops we do per iteration.
        # see PaLM paper Appendix B as ref: https://arxiv.org/abs/2204.02311
        N = self.get_num_params()
        cfg = self.config
        L, H, Q, T = cfg.n_layer, cfg.n_head, cfg.n_embd//cfg.n_head, cfg.block_size
        flops_per_token = 6*N + 12*L*H*Q*T
        flops_per_fwdbwd = flops_per_token * T
        flops_per_iter = flops_per_fwdbwd * fwdbwd_per_iter
        # express our flops throughput as ratio of A100 bfloat16 peak flops
        flops_achieved = flops_per_iter * (1.0/dt) # per second
        flops_promised = 312e12 # A100 GPU bfloat16 peak flops is 312 TFLOPS
        mfu = flops_achieved / flops_promised
        return mfu

    @torch.no_grad()
    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None):
        """
        Take a conditioning sequence of indices idx (LongTensor of shape (b,t)) and complete
        the sequence max_new_tokens times, feeding the predictions back into the model each time.
        Most likely you'll want to make sure to be in model.eval() mode of operation for this.
        """
        for _ in range(max_new_tokens):
            # if the sequence context is growing too long we must crop it at block_size
            idx_cond = idx if idx.size(1) <= self.config.block_size else idx[:, -self.config.block_size:]
            # forward the model to get the logits for the index in the sequence
            logits, _ = self(idx_cond)
            # pluck the logits at the final step and scale by desired temperature
            logits = logits[:, -1, :] / temperature
            # optionally crop the logits to only the top k options
            if top_k is not None:
                v, _ = torch.topk(logits, min(top_k, logits.size(-1)))
                logits[logits < v[:, [-1]]] = -float('Inf')
            # apply softmax to convert logits to (normalized) probabilities
            probs = F.softmax(logits, dim=-1)
            # sample from the distribution
            idx_next = torch.multinomial(probs, num_samples=1)
            # append sampled index to the running sequence and continue
            idx = torch.cat((idx, idx_next), dim=1)

        return idx


# ---- nanoGPT train.py (the stored Trainer version), as written ------------------------------------------------

class GradScaler:
    """differs: torch.cuda.amp.GradScaler is not here; PyTorch's with enabled=False (float32 on the CPU, as here)
    is this pass-through: scale returns the loss, unscale_ and update do nothing, step calls optimizer.step()."""

    def __init__(self, enabled=True):
        assert not enabled

    def scale(self, loss):
        return loss

    def unscale_(self, optimizer):
        pass

    def step(self, optimizer):
        optimizer.step()

    def update(self):
        pass


def parse_args(argv):
    parser = argparse.ArgumentParser()

    # I/O args
    parser.add_argument('--out_dir', default='out', type=str)
    parser.add_argument('--eval_interval', default=250, type=int)
    parser.add_argument('--log_interval', default=10, type=int)
    parser.add_argument('--eval_iters', default=200, type=int)
    parser.add_argument('--eval_only', action='store_true')

    # Checkpoint args
    parser.add_argument('--only_save_checkpoint_at_end', action='store_true')
    parser.add_argument('--always_save_checkpoint', action='store_true',
                        default=False)
    parser.add_argument('--init_from', default='scratch', choices=['scratch', 'resume', 'gpt2*'], type=str)

    # Data args
    parser.add_argument('--dataset', default='shakespeare_char', type=str)
    parser.add_argument('--gradient_accumulation_steps', default=1, type=int)
    parser.add_argument('--batch_size', default=64, type=int)
    parser.add_argument('--block_size', default=256, type=int)

    # Model args
    parser.add_argument('--n_layer', default=6, type=int)
    parser.add_argument('--n_head', default=6, type=int)
    parser.add_argument('--n_embd', default=384, type=int)
    parser.add_argument('--dropout', default=0.2, type=float)
    parser.add_argument('--bias', action='store_true', default=False)

    # Model variations
    parser.add_argument('--use_rmsnorm', action='store_true', default=True)

    # Optimizer args
    parser.add_argument('--learning_rate', default=1e-3, type=float)
    parser.add_argument('--max_iters', default=5000, type=int)
    parser.add_argument('--weight_decay', default=1e-1, type=float)
    parser.add_argument('--beta1', default=0.9, type=float)
    parser.add_argument('--beta2', default=0.99, type=float)
    parser.add_argument('--grad_clip', default=1.0, type=float)

    # LR schedule args
    parser.add_argument('--decay_lr', action='store_true')
    parser.add_argument('--warmup_iters', default=100, type=int)
    parser.add_argument('--lr_decay_iters', default=5000, type=int)
    parser.add_argument('--min_lr', default=1e-4, type=float)

    # DDP args
    parser.add_argument('--backend', default='nccl', type=str)

    # System args
    parser.add_argument('--device', default='cuda', type=str)
    parser.add_argument('--dtype', default='float16' if torch.cuda.is_available() and torch.cuda.is_bf16_supported()
                        else 'float16', type=str)   # (wrapped at 120 columns)
    parser.add_argument('--compile', action='store_true', default=True)

    # Logging args
    parser.add_argument('--log_project', default='out-test', type=str)
    parser.add_argument('--log_run_name', default='logs-test', type=str)

    # Tensorboard args
    parser.add_argument('--tensorboard_log', action='store_true', default=True)
    parser.add_argument('--tensorboard_log_dir', type=str, default='logs')
    parser.add_argument('--tensorboard_project', type=str, default='out-test')
    parser.add_argument('--tensorboard_run_name', type=str, default='logs-test')

    # Tensorboard args
    parser.add_argument('--wandb_log', action='store_true', default=False)
    parser.add_argument('--wandb_project', type=str, default='out-test')
    parser.add_argument('--wandb_run_name', type=str, default='logs-test')

    args = parser.parse_args(argv)  # differs: the test's arguments, not sys.argv
    args.tensorboard_log = False    # differs: tensorboard is not here (store_true with default True: no flag)
    return args


class Trainer:
    def __init__(self, args):
        self.args = args
        self.setup()

    def setup(self):
        # Setup DDP
        self.ddp = int(os.environ.get('RANK', -1)) != -1
        if self.ddp:
            raise AssertionError("differs: no torch.distributed here (RANK is unset in the tests)")
        else:
            self.device = self.args.device
            self.master_process = True
            self.seed_offset = 0
            self.ddp_world_size = 1

        self.tokens_per_iter = (self.args.gradient_accumulation_steps * self.ddp_world_size * self.args.batch_size
                                * self.args.block_size)   # (wrapped at 120 columns)

        if self.master_process:
            os.makedirs(self.args.out_dir, exist_ok=True)

        torch.manual_seed(1337 + self.seed_offset)
        # differs: torch.backends.cuda (matmul.allow_tf32) is not here
        torch.backends.cudnn.allow_tf32 = True

        self.device_type = 'cuda' if 'cuda' in self.args.device else 'cpu'
        self.ptdtype = {'float32': torch.float32, 'float16': torch.float16}[self.args.dtype]  # differs: no bfloat16
        self.ctx = nullcontext() if self.device_type == 'cpu' else \
            torch.amp.autocast(device_type=self.device_type, dtype=self.ptdtype)   # (wrapped; no torch.amp here)

        # Data loader
        self.train_data = np.memmap(os.path.join('data', self.args.dataset, 'train.bin'), dtype=np.uint16, mode='r')
        self.val_data = np.memmap(os.path.join('data', self.args.dataset, 'val.bin'), dtype=np.uint16, mode='r')
        meta_path = os.path.join('data', self.args.dataset, 'meta.pkl')
        self.meta_vocab_size = None
        if os.path.exists(meta_path):
            with open(meta_path, 'rb') as f:
                meta = pickle.load(f)
            self.meta_vocab_size = meta['vocab_size']

        # Model
        self.model_args = dict(n_layer=self.args.n_layer, n_head=self.args.n_head, n_embd=self.args.n_embd,
                          block_size=self.args.block_size, bias=self.args.bias, vocab_size=None,
                          dropout=self.args.dropout)  # differs: the fork's use_rmsnorm (Karpathy's GPTConfig: none)

        if self.args.init_from == 'scratch':
            self.model_args['vocab_size'] = self.meta_vocab_size if self.meta_vocab_size is not None else 50304
            gptconf = GPTConfig(**self.model_args)
            self.model = GPT(gptconf)
            self.iter_num = 0 # for starting from scratch
            self.best_val_loss = 1e9 # really big number
        elif self.args.init_from == 'resume':
            ckpt_path = os.path.join(self.args.out_dir, 'ckpt.pt')
            checkpoint = torch.load(ckpt_path, map_location=self.device)
            checkpoint_model_args = checkpoint['model_args']
            for k in ['n_layer', 'n_head', 'n_embd', 'block_size', 'bias', 'vocab_size']:
                self.model_args[k] = checkpoint_model_args[k]
            gptconf = GPTConfig(**self.model_args)
            self.model = GPT(gptconf)
            state_dict = checkpoint['model']
            for k,v in list(state_dict.items()):
                if k.startswith('_orig_mod.'):
                    state_dict[k[len('_orig_mod.'):]] = state_dict.pop(k)
            self.model.load_state_dict(state_dict)
            self.iter_num = checkpoint['iter_num']
            self.best_val_loss = checkpoint['best_val_loss']

        if self.args.block_size < self.model.config.block_size:
            self.model.crop_block_size(self.args.block_size)
            self.model_args['block_size'] = self.args.block_size

        self.model.to(self.device)

        # Optimizer
        self.scaler = GradScaler(enabled=(self.args.dtype == 'float16'))  # differs: torch.cuda.amp's, see above
        self.optimizer = self.model.configure_optimizers(self.args.weight_decay, self.args.learning_rate,
                                                         (self.args.beta1, self.args.beta2), self.device_type)

        if self.args.compile:
            print("compiling the model... (takes a ~minute)")
            self.unoptimized_model = self.model
            self.model = torch.compile(self.model)

        self.raw_model = self.model.module if self.ddp else self.model

    def get_batch(self, split):
        data = self.train_data if split == 'train' else self.val_data
        ix = torch.randint(len(data) - self.args.block_size, (self.args.batch_size,))
        x = torch.stack([torch.from_numpy((data[i:i+self.args.block_size]).astype(np.int64)) for i in ix])
        y = torch.stack([torch.from_numpy((data[i+1:i+1+self.args.block_size]).astype(np.int64)) for i in ix])
        if self.device_type == 'cuda':
            x, y = x.pin_memory().to(self.device, non_blocking=True), y.pin_memory().to(self.device, non_blocking=True)
        else:
            x, y = x.to(self.device), y.to(self.device)
        return x, y

    @torch.no_grad()
    def estimate_loss(self):
        out = {}
        self.model.eval()
        for split in ['train', 'val']:
            losses = torch.zeros(self.args.eval_iters)
            for k in range(self.args.eval_iters):
                X, Y = self.get_batch(split)
                with self.ctx:
                    logits, loss = self.model(X, Y)
                losses[k] = loss.item()
            out[split] = losses.mean()
        self.model.train()
        return out

    def get_lr(self, it):
        if it < self.args.warmup_iters:
            return self.args.learning_rate * it / self.args.warmup_iters
        if it > self.args.lr_decay_iters:
            return self.args.min_lr
        decay_ratio = (it - self.args.warmup_iters) / (self.args.lr_decay_iters - self.args.warmup_iters)
        assert 0 <= decay_ratio <= 1
        coeff = 0.5 * (1.0 + math.cos(math.pi * decay_ratio))
        return self.args.min_lr + coeff * (self.args.learning_rate - self.args.min_lr)

    def train(self):
        self.X, self.Y = self.get_batch('train')
        t0 = time.time()
        local_iter_num = 0
        running_mfu = -1.0

        while True:
            lr = self.get_lr(self.iter_num) if self.args.decay_lr else self.args.learning_rate
            for param_group in self.optimizer.param_groups:
                param_group['lr'] = lr

            if self.iter_num % self.args.eval_interval == 0 and self.master_process:
                losses = self.estimate_loss()
                print(f"step {self.iter_num}: train loss {losses['train']:.4f}, val loss {losses['val']:.4f}")

                if losses['val'] < self.best_val_loss or self.args.always_save_checkpoint:
                    self.best_val_loss = losses['val']
                    if self.iter_num > 0:
                        checkpoint = {
                            'model': self.raw_model.state_dict(),
                            'optimizer': self.optimizer.state_dict(),
                            'model_args': self.model_args,
                            'iter_num': self.iter_num,
                            'best_val_loss': self.best_val_loss,
                            'config': vars(self.args),
                        }
                        print(f"saving checkpoint to {self.args.out_dir}")
                        torch.save(checkpoint, os.path.join(self.args.out_dir, 'ckpt.pt'))

            if self.iter_num == 0 and self.args.eval_only:
                break

            for micro_step in range(self.args.gradient_accumulation_steps):
                with self.ctx:
                    logits, loss = self.model(self.X, self.Y)
                    loss = loss / self.args.gradient_accumulation_steps

                self.X, self.Y = self.get_batch('train')

                self.scaler.scale(loss).backward()

            if self.args.grad_clip != 0.0:
                self.scaler.unscale_(self.optimizer)
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.args.grad_clip)

            self.scaler.step(self.optimizer)
            self.scaler.update()

            self.optimizer.zero_grad(set_to_none=True)

            t1 = time.time()
            dt = t1 - t0
            t0 = t1
            if self.iter_num % self.args.log_interval == 0 and self.master_process:
                lossf = loss.item() * self.args.gradient_accumulation_steps
                if local_iter_num >= 5:
                    mfu = self.raw_model.estimate_mfu(self.args.batch_size * self.args.gradient_accumulation_steps, dt)
                    running_mfu = mfu if running_mfu == -1.0 else 0.9*running_mfu + 0.1*mfu
                print(f"iter {self.iter_num}: loss {lossf:.4f}, time {dt*1000:.2f}ms, mfu {running_mfu*100:.2f}%")

            self.iter_num += 1
            local_iter_num += 1

            if self.iter_num > self.args.max_iters:
                break


# ---- nanoGPT in numpy -------------------------------------------------------------------------------------------

def np_layer_norm(x, w, b):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + 1e-5) * w + b


def np_gelu(x):
    return 0.5 * x * (1 + math_erf(x / math.sqrt(2)))


def np_attention(p, x, n_head):
    B, T, C = x.shape
    qkv = x @ p["c_attn.weight"].T + p["c_attn.bias"]
    q, k, v = (qkv[..., i * C:(i + 1) * C].reshape(B, T, n_head, C // n_head).transpose(0, 2, 1, 3)
               for i in range(3))
    att = q @ k.transpose(0, 1, 3, 2) / math.sqrt(C // n_head)
    att = np.where(np.tril(np.ones((T, T))) == 1, att, -np.inf)
    y = (np_softmax(att) @ v).transpose(0, 2, 1, 3).reshape(B, T, C)
    return y @ p["c_proj.weight"].T + p["c_proj.bias"]


def np_block(p, x, n_head):
    sub = lambda prefix: {k[len(prefix):]: v for k, v in p.items() if k.startswith(prefix)}  # noqa: E731
    x = x + np_attention(sub("attn."), np_layer_norm(x, p["ln_1.weight"], p["ln_1.bias"]), n_head)
    h = np_layer_norm(x, p["ln_2.weight"], p["ln_2.bias"])
    h = np_gelu(h @ p["mlp.c_fc.weight"].T + p["mlp.c_fc.bias"]) @ p["mlp.c_proj.weight"].T + p["mlp.c_proj.bias"]
    return x + h


def np_gpt_loss(p, idx, targets, n_layer, n_head):
    x = p["transformer.wte.weight"][idx] + p["transformer.wpe.weight"][np.arange(idx.shape[1])]
    for i in range(n_layer):
        prefix = f"transformer.h.{i}."
        x = np_block({k[len(prefix):]: v for k, v in p.items() if k.startswith(prefix)}, x, n_head)
    x = np_layer_norm(x, p["transformer.ln_f.weight"], p["transformer.ln_f.bias"])
    logits = (x @ p["lm_head.weight"].T).reshape(-1, p["lm_head.weight"].shape[0])
    t = targets.reshape(-1)
    keep = t != -1
    return -np_log_softmax(logits)[np.arange(len(t))[keep], t[keep]].mean()


def state_arrays(module):
    return {k: np.array(v, dtype=np.float64) for k, v in module.state_dict().items()}


def small_config(**changes):
    settings = dict(block_size=8, vocab_size=11, n_layer=2, n_head=2, n_embd=8, dropout=0.0, bias=True)
    settings.update(changes)
    return GPTConfig(**settings)


def manual_attention(config, monkeypatch):
    """The manual path, as PyTorch < 2.0 builds it: F without scaled_dot_product_attention while it is made."""
    with monkeypatch.context() as m:
        m.delattr(torch.nn.functional, "scaled_dot_product_attention")
        with contextlib.redirect_stdout(io.StringIO()) as said:
            attention = CausalSelfAttention(config)
    assert "using slow attention" in said.getvalue() and not attention.flash
    return attention


def test_nanogpt_flash_and_manual_attention_agree_with_numpy_in_values_and_gradients(float64_default,
                                                                                      monkeypatch):
    config = small_config()
    torch.manual_seed(0)
    flash = CausalSelfAttention(config)
    manual = manual_attention(config, monkeypatch)
    assert flash.flash and "bias" in dict(manual.named_buffers()) and "bias" not in dict(flash.named_buffers())
    with torch.no_grad():
        for name, p in manual.named_parameters():
            p.copy_(dict(flash.named_parameters())[name] * 10)     # larger weights: attention far from uniform
            dict(flash.named_parameters())[name].copy_(p)
    x_np = np.random.default_rng(1).normal(size=(3, 6, 8))
    outputs, grads = [], []
    for module in (flash, manual):
        x = torch.tensor(x_np, requires_grad=True)
        y = module(x)
        (y * torch.tensor(np.cos(np.arange(y.numel())).reshape(y.shape))).sum().backward()
        outputs.append(y.numpy())
        grads.append({"x": x.grad.copy(), **{n: p.grad.copy() for n, p in module.named_parameters()}})
    np.testing.assert_allclose(outputs[0], outputs[1], rtol=0, atol=1e-13)
    for name in grads[0]:
        np.testing.assert_allclose(grads[0][name], grads[1][name], rtol=0, atol=1e-12)
    p = state_arrays(flash)
    np.testing.assert_allclose(outputs[0], np_attention(p, x_np, 2), rtol=0, atol=1e-12)
    weights = np.cos(np.arange(outputs[0].size)).reshape(outputs[0].shape)

    def loss_of(name):
        def f(value):
            return (np_attention({**p, name: value}, x_np, 2) * weights).sum()
        return f
    for name in ("c_attn.weight", "c_proj.bias"):
        where = some_indices(p[name].shape, 5, 3)
        expected = central(loss_of(name), p[name], where)
        for g in grads:
            np.testing.assert_allclose([g[name][i] for i in where], expected, rtol=1e-6, atol=1e-8)


def test_nanogpt_block_and_gpt_loss_are_numpys_and_its_gradient_central_differences(float64_default):
    torch.manual_seed(1)
    with contextlib.redirect_stdout(io.StringIO()):
        model = GPT(small_config())
    p = state_arrays(model)
    assert "lm_head.weight" in p and np.array_equal(p["lm_head.weight"], p["transformer.wte.weight"])
    c_proj = [v.std() for k, v in p.items() if k.endswith("c_proj.weight")]
    assert len(c_proj) == 4 and max(c_proj) < 0.02          # the scaled init, 0.02 / sqrt(2 n_layer) = 0.01
    rng = np.random.default_rng(2)
    x_np = rng.normal(size=(2, 5, 8))
    block = model.transformer.h[0]
    prefix = "transformer.h.0."
    block_p = {k[len(prefix):]: v for k, v in p.items() if k.startswith(prefix)}
    np.testing.assert_allclose(block(torch.tensor(x_np)).numpy(), np_block(block_p, x_np, 2), rtol=0, atol=1e-12)

    idx = rng.integers(0, 11, size=(2, 8))
    targets = rng.integers(0, 11, size=(2, 8))
    targets[0, :3] = -1                                        # ignore_index=-1
    logits, loss = model(torch.tensor(idx), torch.tensor(targets))
    assert logits.shape == (2, 8, 11)
    np.testing.assert_allclose(loss.item(), np_gpt_loss(p, idx, targets, 2, 2), rtol=1e-12)
    loss.backward()
    params = dict(model.named_parameters())
    for name in ("transformer.h.1.attn.c_attn.weight", "transformer.h.0.mlp.c_fc.bias", "transformer.wpe.weight",
                 "lm_head.weight"):
        where = some_indices(p[name].shape, 4, 5)

        def f(value, name=name):
            changed = {**p, name: value}
            if name == "lm_head.weight":
                changed["transformer.wte.weight"] = value           # tied: one parameter
            return np_gpt_loss(changed, idx, targets, 2, 2)
        grad = params.get(name, params.get("transformer.wte.weight")).grad
        np.testing.assert_allclose([grad[i] for i in where], central(f, p[name], where), rtol=1e-6, atol=1e-9)
    logits, loss = model(torch.tensor(idx))
    assert logits.shape == (2, 1, 11) and loss is None


def write_corpus(root, dataset="made_up_char"):
    """prepare.py's output for a made-up character corpus: train.bin and val.bin (uint16 ids) and meta.pkl."""
    text = "the cat sat on the mat. " * 60
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    ids = np.array([stoi[c] for c in text], dtype=np.uint16)
    folder = os.path.join(root, "data", dataset)
    os.makedirs(folder)
    n = int(0.9 * len(ids))
    ids[:n].tofile(os.path.join(folder, "train.bin"))
    ids[n:].tofile(os.path.join(folder, "val.bin"))
    with open(os.path.join(folder, "meta.pkl"), "wb") as f:
        pickle.dump({"vocab_size": len(chars), "itos": dict(enumerate(chars)), "stoi": stoi}, f)
    return chars


NANO_ARGS = ["--dataset", "made_up_char", "--device", "cpu", "--dtype", "float32", "--batch_size", "8",
             "--block_size", "16", "--n_layer", "2", "--n_head", "2", "--n_embd", "16", "--dropout", "0.0",
             "--eval_interval", "50", "--eval_iters", "4", "--log_interval", "10", "--learning_rate", "1e-2",
             "--decay_lr", "--warmup_iters", "5", "--lr_decay_iters", "150", "--min_lr", "1e-3"]


@pytest.fixture(scope="module")
def nanogpt_run(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("nanogpt"))
    here = os.getcwd()
    os.chdir(root)
    try:
        chars = write_corpus(root)
        said = io.StringIO()
        with contextlib.redirect_stdout(said):
            trainer = Trainer(parse_args(NANO_ARGS + ["--max_iters", "200"]))
            before = {k: float(v) for k, v in trainer.estimate_loss().items()}
            trainer.train()
            after = {k: float(v) for k, v in trainer.estimate_loss().items()}
            resumed = Trainer(parse_args(NANO_ARGS + ["--init_from", "resume", "--max_iters", "200"]))
    finally:
        os.chdir(here)
    return dict(trainer=trainer, before=before, after=after, chars=chars, said=said.getvalue(), resumed=resumed,
                root=root)


def test_nanogpt_train_py_runs_lowers_the_loss_and_resumes_from_its_checkpoint(nanogpt_run):
    trainer, before, after = nanogpt_run["trainer"], nanogpt_run["before"], nanogpt_run["after"]
    vocab = len(nanogpt_run["chars"])
    assert trainer.model is trainer.unoptimized_model                    # torch.compile: the model itself
    assert before["train"] > 0.9 * math.log(vocab) and after["train"] < 0.5 * before["train"]
    assert after["val"] < 0.5 * before["val"]
    assert "step 200: train loss" in nanogpt_run["said"] and "saving checkpoint to out" in nanogpt_run["said"]
    resumed = nanogpt_run["resumed"]
    saved = torch.load(os.path.join(nanogpt_run["root"], "out", "ckpt.pt"))
    assert saved["iter_num"] == resumed.iter_num and resumed.iter_num % 50 == 0 and resumed.iter_num > 0
    assert saved["model_args"]["vocab_size"] == vocab and saved["config"]["n_embd"] == 16
    assert float(resumed.best_val_loss) == float(saved["best_val_loss"]) < before["val"]
    assert set(saved["model"]) == set(trainer.raw_model.state_dict())
    for name, value in saved["model"].items():
        np.testing.assert_array_equal(resumed.raw_model.state_dict()[name], value)


def test_nanogpt_configure_optimizers_groups_and_the_cosine_schedule(nanogpt_run):
    trainer = nanogpt_run["trainer"]
    decay, no_decay = trainer.optimizer.param_groups
    named = {id(p): n for n, p in trainer.raw_model.named_parameters()}
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    assert all(p.dim() >= 2 for p in decay["params"]) and all(p.dim() < 2 for p in no_decay["params"])
    assert len(decay["params"]) + len(no_decay["params"]) == len(named)
    assert "lm_head.weight" not in named.values() or "transformer.wte.weight" not in named.values()
    # warm-up 5 iterations to 1e-2, cosine down to 1e-3 at 150, then 1e-3
    for it, lr in ((0, 0.0), (2, 4e-3), (5, 1e-2), (150, 1e-3), (151, 1e-3),
                   (77.5, 1e-3 + 0.5 * (1 + math.cos(math.pi / 2)) * 9e-3),
                   (40, 1e-3 + 0.5 * (1 + math.cos(math.pi * 35 / 145)) * 9e-3)):
        assert trainer.get_lr(it) == pytest.approx(lr, abs=1e-15)


def test_nanogpt_generate_with_top_k_and_crop_block_size(nanogpt_run):
    model = nanogpt_run["trainer"].raw_model
    chars = nanogpt_run["chars"]
    model.eval()
    start = torch.tensor([[chars.index(c) for c in "the cat "]])
    torch.manual_seed(3)
    out = model.generate(start, 24, temperature=1.0, top_k=1)           # top_k=1: greedy, whatever the draw
    text = "".join(chars[i] for i in out[0].tolist())
    assert text.startswith("the cat ") and out.shape == (1, 32)
    greedy = start
    for _ in range(24):                                                  # greedy by hand over the cropped context
        logits, _ = model(greedy[:, -16:])
        greedy = torch.cat((greedy, logits[:, -1, :].argmax(-1, keepdim=True)), dim=1)
    assert out.tolist() == greedy.tolist()
    assert "sat on the mat" in text                                      # it learnt the corpus
    model.crop_block_size(8)
    assert model.transformer.wpe.weight.shape == (8, 16) and model.config.block_size == 8
    assert model.generate(start, 3, top_k=2).shape == (1, 11)
    with pytest.raises(AssertionError, match="block size is only 8"):
        model(torch.zeros(1, 9, dtype=torch.long))


# ==== 2. parametrizations tutorial, as written ==================================================================

def parametrizations_tutorial():
    """The tutorial's cells in order; `seen[...] = ...` lines are the test's, keeping what the cells made."""
    seen = {}

    def symmetric(X):
        return X.triu() + X.triu(1).transpose(-1, -2)

    X = torch.rand(3, 3)
    A = symmetric(X)
    assert torch.allclose(A, A.T)  # A is symmetric
    print(A)                       # Quick visual check

    class LinearSymmetric(nn.Module):
        def __init__(self, n_features):
            super().__init__()
            self.weight = nn.Parameter(torch.rand(n_features, n_features))

        def forward(self, x):
            A = symmetric(self.weight)
            return x @ A

    layer = LinearSymmetric(3)
    out = layer(torch.rand(8, 3))
    seen["LinearSymmetric"] = (layer, out)

    class Symmetric(nn.Module):
        def forward(self, X):
            return X.triu() + X.triu(1).transpose(-1, -2)

    layer = nn.Linear(3, 3)
    parametrize.register_parametrization(layer, "weight", Symmetric())
    A = layer.weight
    assert torch.allclose(A, A.T)  # A is symmetric
    print(A)                       # Quick visual check

    class Skew(nn.Module):
        def forward(self, X):
            A = X.triu(1)
            return A - A.transpose(-1, -2)

    cnn = nn.Conv2d(in_channels=5, out_channels=8, kernel_size=3)
    parametrize.register_parametrization(cnn, "weight", Skew())
    # Print a few kernels
    print(cnn.weight[0, 1])
    print(cnn.weight[2, 2])
    seen["cnn"] = cnn

    layer = nn.Linear(3, 3)
    print(f"Unparametrized:\n{layer}")
    parametrize.register_parametrization(layer, "weight", Symmetric())
    print(f"\nParametrized:\n{layer}")
    print(layer.parametrizations)
    print(layer.parametrizations.weight)
    print(layer.parametrizations.weight[0])
    print(dict(layer.named_parameters()))
    print(layer.parametrizations.weight.original)
    symmetric = Symmetric()
    weight_orig = layer.parametrizations.weight.original
    print(torch.dist(layer.weight, symmetric(weight_orig)))
    seen["inspected"] = (layer, torch.dist(layer.weight, symmetric(weight_orig)))

    class NoisyParametrization(nn.Module):
        def forward(self, X):
            print("Computing the Parametrization")
            return X

    layer = nn.Linear(4, 4)
    parametrize.register_parametrization(layer, "weight", NoisyParametrization())
    print("Here, layer.weight is recomputed every time we call it")
    foo = layer.weight + layer.weight.T
    bar = layer.weight.sum()
    with parametrize.cached():
        print("Here, it is computed just the first time layer.weight is called")
        foo = layer.weight + layer.weight.T
        bar = layer.weight.sum()
    seen["cached"] = (foo, bar)

    class CayleyMap(nn.Module):
        def __init__(self, n):
            super().__init__()
            self.register_buffer("Id", torch.eye(n))

        def forward(self, X):
            # (I + X)(I - X)^{-1}
            return torch.linalg.solve(self.Id - X, self.Id + X)

    layer = nn.Linear(3, 3)
    parametrize.register_parametrization(layer, "weight", Skew())
    parametrize.register_parametrization(layer, "weight", CayleyMap(3))
    X = layer.weight
    print(torch.dist(X.T @ X, torch.eye(3)))  # X is orthogonal
    seen["cayley"] = layer

    class MatrixExponential(nn.Module):
        def forward(self, X):
            return torch.matrix_exp(X)

    layer_orthogonal = nn.Linear(3, 3)
    parametrize.register_parametrization(layer_orthogonal, "weight", Skew())
    parametrize.register_parametrization(layer_orthogonal, "weight", MatrixExponential())
    X = layer_orthogonal.weight
    print(torch.dist(X.T @ X, torch.eye(3)))         # X is orthogonal
    seen["exp_orthogonal"] = layer_orthogonal

    layer_spd = nn.Linear(3, 3)
    parametrize.register_parametrization(layer_spd, "weight", Symmetric())
    parametrize.register_parametrization(layer_spd, "weight", MatrixExponential())
    X = layer_spd.weight
    print(torch.dist(X, X.T))                        # X is symmetric
    print((torch.linalg.eigvalsh(X) > 0.).all())     # X is positive definite
    seen["spd"] = layer_spd

    class Skew(nn.Module):  # noqa: F811 (the tutorial upgrades the class)
        def forward(self, X):
            A = X.triu(1)
            return A - A.transpose(-1, -2)

        def right_inverse(self, A):
            # We assume that A is skew-symmetric
            # We take the upper-triangular elements, as these are those used in the forward
            return A.triu(1)

    layer = nn.Linear(3, 3)
    parametrize.register_parametrization(layer, "weight", Skew())
    X = torch.rand(3, 3)
    X = X - X.T                             # X is now skew-symmetric
    layer.weight = X                        # Initialize layer.weight to be X
    print(torch.dist(layer.weight, X))      # layer.weight == X
    seen["skew_init"] = (layer, X)

    class CayleyMap(nn.Module):  # noqa: F811
        def __init__(self, n):
            super().__init__()
            self.register_buffer("Id", torch.eye(n))

        def forward(self, X):
            # Assume X skew-symmetric
            # (I + X)(I - X)^{-1}
            return torch.linalg.solve(self.Id - X, self.Id + X)

        def right_inverse(self, A):
            # Assume A orthogonal
            # See https://en.wikipedia.org/wiki/Cayley_transform#Matrix_map
            # (A - I)(A + I)^{-1}
            return torch.linalg.solve(A + self.Id, self.Id - A)

    layer_orthogonal = nn.Linear(3, 3)
    parametrize.register_parametrization(layer_orthogonal, "weight", Skew())
    parametrize.register_parametrization(layer_orthogonal, "weight", CayleyMap(3))
    # Sample an orthogonal matrix with positive determinant
    X = torch.empty(3, 3)
    nn.init.orthogonal_(X)
    if X.det() < 0.:
        X[0].mul_(-1)                  # differs: no Tensor.neg_
    layer_orthogonal.weight = X
    print(torch.dist(layer_orthogonal.weight, X))  # layer_orthogonal.weight == X
    seen["cayley_init"] = (layer_orthogonal.weight.detach().numpy().copy(), X.numpy().copy())

    layer_orthogonal.weight = nn.init.orthogonal_(layer_orthogonal.weight)
    seen["cayley_reinit"] = layer_orthogonal

    class PruningParametrization(nn.Module):
        def __init__(self, X, p_drop=0.2):
            super().__init__()
            # sample zeros with probability p_drop
            mask = torch.full_like(X, 1.0 - p_drop)
            self.mask = torch.bernoulli(mask)

        def forward(self, X):
            return X * self.mask

        def right_inverse(self, A):
            return A

    layer = nn.Linear(3, 4)
    X = torch.rand_like(layer.weight)
    print(f"Initialization matrix:\n{X}")
    parametrize.register_parametrization(layer, "weight", PruningParametrization(layer.weight))
    layer.weight = X
    print(f"\nInitialized weight:\n{layer.weight}")
    seen["pruning"] = (layer, X)

    layer = nn.Linear(3, 3)
    print("Before:")
    print(layer)
    print(layer.weight)
    parametrize.register_parametrization(layer, "weight", Skew())
    print("\nParametrized:")
    print(layer)
    print(layer.weight)
    parametrize.remove_parametrizations(layer, "weight")
    print("\nAfter. Weight has skew-symmetric values but it is unconstrained:")
    print(layer)
    print(layer.weight)
    seen["removed"] = layer

    layer = nn.Linear(3, 3)
    print("Before:")
    print(layer)
    print(layer.weight)
    before = layer.weight.numpy().copy()
    parametrize.register_parametrization(layer, "weight", Skew())
    print("\nParametrized:")
    print(layer)
    print(layer.weight)
    parametrize.remove_parametrizations(layer, "weight", leave_parametrized=False)
    print("\nAfter. Same as Before:")
    print(layer)
    print(layer.weight)
    seen["removed_original"] = (layer, before)
    return seen


@pytest.fixture(scope="module")
def tutorial():
    torch.manual_seed(0)
    said = io.StringIO()
    with contextlib.redirect_stdout(said):
        seen = parametrizations_tutorial()
    return seen, said.getvalue()


def test_parametrizations_tutorial_runs_and_its_constraints_hold(tutorial):
    seen, said = tutorial
    layer, out = seen["LinearSymmetric"]
    assert out.shape == (8, 3)
    w = seen["cnn"].weight.detach().numpy()
    assert w.shape == (8, 5, 3, 3) and np.allclose(w, -w.transpose(0, 1, 3, 2)) and np.all(np.diagonal(w, 0, 2, 3) == 0)
    layer, distance = seen["inspected"]
    assert distance.item() == 0 and type(layer).__name__ == "ParametrizedLinear"
    assert set(dict(layer.named_parameters())) == {"bias", "parametrizations.weight.original"}
    assert "(parametrizations): ModuleDict(" in said and "(0): Symmetric()" in said
    # the recomputation: three reads outside cached(), one inside
    noisy = said.split("Here, layer.weight is recomputed every time we call it")[1]
    outside, inside = noisy.split("Here, it is computed just the first time layer.weight is called")
    assert outside.count("Computing the Parametrization") == 3
    assert inside.split("tensor(")[0].count("Computing the Parametrization") == 1
    for key in ("cayley", "exp_orthogonal"):
        Q = seen[key].weight.detach().numpy().astype(np.float64)
        np.testing.assert_allclose(Q.T @ Q, np.eye(3), atol=1e-6)
        assert np.linalg.det(Q) == pytest.approx(1, abs=1e-6)
    S = seen["spd"].weight.detach().numpy().astype(np.float64)
    np.testing.assert_allclose(S, S.T, atol=1e-6)
    assert np.all(np.linalg.eigvalsh(S) > 0)
    # the exponential of a symmetric matrix is V exp(D) V^T, of a skew one orthogonal
    original = seen["spd"].parametrizations.weight.original.numpy().astype(np.float64)
    sym = np.triu(original) + np.triu(original, 1).T
    d, V = np.linalg.eigh(sym)
    np.testing.assert_allclose(S, V @ np.diag(np.exp(d)) @ V.T, rtol=1e-5, atol=1e-6)
    layer, X = seen["skew_init"]
    np.testing.assert_allclose(layer.weight.detach().numpy(), X.numpy(), atol=1e-7)
    weight, X = seen["cayley_init"]
    X = X.astype(np.float64)
    assert np.linalg.det(X) > 0
    np.testing.assert_allclose(X @ X.T, np.eye(3), atol=1e-6)
    # forward(right_inverse(X)) by the tutorial's own formulas in numpy: (X + I)^-1 (I - X), its skew part,
    # (I - S)^-1 (I + S); that is X^-1 = X^T, not X (the tutorial's comment says X; PyTorch computes the same)
    Y = np.linalg.solve(X + np.eye(3), np.eye(3) - X)
    Sk = np.triu(Y, 1) - np.triu(Y, 1).T
    expected = np.linalg.solve(np.eye(3) - Sk, np.eye(3) + Sk)
    np.testing.assert_allclose(expected, X.T, atol=1e-6)
    np.testing.assert_allclose(weight, expected, atol=1e-5)
    Q = seen["cayley_reinit"].weight.detach().numpy().astype(np.float64)
    np.testing.assert_allclose(Q @ Q.T, np.eye(3), atol=1e-5)
    layer, X = seen["pruning"]
    mask = layer.parametrizations.weight[0].mask.numpy()
    assert set(np.unique(mask)) <= {0.0, 1.0}
    np.testing.assert_allclose(layer.weight.detach().numpy(), X.numpy() * mask)
    removed = seen["removed"]
    assert type(removed) is nn.Linear and isinstance(removed.weight, nn.Parameter)
    w = removed.weight.detach().numpy()
    assert np.allclose(w, -w.T)
    layer, before = seen["removed_original"]
    # registering Skew (the upgraded one, with right_inverse) stores right_inverse(W) = triu(W, 1) as the original,
    # as PyTorch's ParametrizationList does, so "Same as Before" holds above the diagonal only, in PyTorch too
    assert type(layer) is nn.Linear and np.array_equal(layer.weight.detach().numpy(), np.triu(before, 1))


def test_parametrized_weight_gradient_reaches_the_original_by_the_chain_rule(float64_default):
    class Symmetric(nn.Module):
        def forward(self, X):
            return X.triu() + X.triu(1).transpose(-1, -2)
    torch.manual_seed(4)
    layer = nn.Linear(3, 3)
    parametrize.register_parametrization(layer, "weight", Symmetric())
    x_np = np.random.default_rng(4).normal(size=(5, 3))
    (layer(torch.tensor(x_np)) ** 2).sum().backward()
    original = layer.parametrizations.weight.original
    W0, b = original.numpy().copy(), layer.bias.numpy().copy()

    def f(W):
        A = np.triu(W) + np.triu(W, 1).T
        return ((x_np @ A.T + b) ** 2).sum()
    where = [(i, j) for i in range(3) for j in range(3)]
    np.testing.assert_allclose([original.grad[i] for i in where], central(f, W0, where), rtol=1e-7, atol=1e-8)
    assert np.all(np.tril(original.grad, -1) == 0)                      # the lower triangle is never read


# ---- geotorch's copying problem (expRNN), with PyTorch's orthogonal parametrization ------------------------------

batch_size = 16
hidden_size = 16
iterations = 40  # Training iterations
L = 4  # Length of sequence before asking to remember
S = 3  # Length of sequence to remember
alphabet_size = 4
lr = 1e-2
lr_orth = 2e-3
device = torch.device("cpu")  # differs: no GPU
RGD = False


class modrelu(nn.Module):
    def __init__(self, features):
        super(modrelu, self).__init__()
        self.features = features
        self.b = nn.Parameter(torch.zeros(self.features))  # differs: torch.Tensor(n) is data here (documented)
        self.reset_parameters()

    def reset_parameters(self):
        nn.init.uniform_(self.b, -0.01, 0.01)  # differs: self.b.data.uniform_ (.data is read-only here)

    def forward(self, inputs):
        norm = torch.abs(inputs)
        biased_norm = norm + self.b
        magnitude = nn.functional.relu(biased_norm)
        phase = torch.sign(inputs)

        return phase * magnitude


class ExpRNNCell(nn.Module):
    def __init__(self, input_size, hidden_size):
        super(ExpRNNCell, self).__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.recurrent_kernel = nn.Linear(hidden_size, hidden_size, bias=False)
        self.input_kernel = nn.Linear(input_size, hidden_size)
        self.nonlinearity = modrelu(hidden_size)

        # Make recurrent_kernel orthogonal
        nn.utils.parametrizations.orthogonal(self.recurrent_kernel, "weight")  # differs: geotorch.orthogonal

        self.reset_parameters()

    def reset_parameters(self):
        nn.init.kaiming_normal_(self.input_kernel.weight, nonlinearity="relu")  # differs: .weight.data (read-only)
        # differs: geotorch's M.sample("torus") is not PyTorch's; an orthogonal matrix assigned instead
        self.recurrent_kernel.weight = nn.init.orthogonal_(torch.empty(self.hidden_size, self.hidden_size))

    def default_hidden(self, input_):
        return input_.new_zeros(input_.size(0), self.hidden_size, requires_grad=False)

    def forward(self, input_, hidden):
        input_ = self.input_kernel(input_)
        hidden = self.recurrent_kernel(hidden)
        out = input_ + hidden
        return self.nonlinearity(out)


class Model(nn.Module):
    def __init__(self, alphabet_size, hidden_size):
        super(Model, self).__init__()
        self.hidden_size = hidden_size
        self.rnn = ExpRNNCell(alphabet_size + 2, hidden_size)
        self.lin = nn.Linear(hidden_size, alphabet_size + 1)
        self.loss_func = nn.CrossEntropyLoss()
        self.reset_parameters()

    def reset_parameters(self):
        nn.init.kaiming_normal_(self.lin.weight, nonlinearity="relu")  # differs: .weight.data (read-only)
        nn.init.constant_(self.lin.bias, 0)                              # differs: .bias.data (read-only)

    def forward(self, inputs):
        out_rnn = self.rnn.default_hidden(inputs[:, 0, ...])
        outputs = []
        with parametrize.cached():  # differs: geotorch.parametrize.cached is PyTorch's, re-exported
            for input in torch.unbind(inputs, dim=1):
                out_rnn = self.rnn(input, out_rnn)
                outputs.append(self.lin(out_rnn))
        return torch.stack(outputs, dim=1)

    def loss(self, logits, y):
        return self.loss_func(logits.view(-1, alphabet_size + 1), y.view(-1))  # differs: 9 is alphabet_size + 1

    def accuracy(self, logits, y):
        return torch.eq(torch.argmax(logits, dim=2), y).float().mean()


def copy_data(batch_size):
    seq = torch.randint(
        1, alphabet_size + 1, (batch_size, S), dtype=torch.long, device=device
    )
    zeros1 = torch.zeros((batch_size, L), dtype=torch.long, device=device)
    zeros2 = torch.zeros((batch_size, S - 1), dtype=torch.long, device=device)
    zeros3 = torch.zeros((batch_size, S + L), dtype=torch.long, device=device)
    marker = torch.full(
        (batch_size, 1), alphabet_size + 1, dtype=torch.long, device=device
    )

    x = torch.cat([seq, zeros1, marker, zeros2], dim=1)
    y = torch.cat([zeros3, seq], dim=1)

    return x, y


def main():
    model = Model(alphabet_size, hidden_size).to(device)

    p_orth = model.rnn.recurrent_kernel
    orth_params = p_orth.parameters()
    non_orth_params = (
        p for p in model.parameters() if p not in set(p_orth.parameters())
    )

    optim = torch.optim.Adam(
        [
            {"params": non_orth_params},
            {"params": orth_params, "lr": lr_orth, "betas": (0.9, 0.95)},
        ],
        lr=lr,
    )

    losses = []  # differs: kept for the test
    model.train()
    for step in range(iterations):
        batch_x, batch_y = copy_data(batch_size)
        x_onehot = F.one_hot(batch_x, num_classes=alphabet_size + 2).float()
        logits = model(x_onehot)
        loss = model.loss(logits, batch_y)

        optim.zero_grad()
        loss.backward()
        optim.step()

        with torch.no_grad():
            accuracy = model.accuracy(logits, batch_y)

        print("Iter {} Loss: {:.6f}, Accuracy: {:.5f}".format(step, loss, accuracy))
        losses.append(loss.item())
    return model, optim, losses


def np_exprnn(p, x_onehot):
    """The cell in numpy: h = modrelu(W_in x + b_in + W h), logits = W_out h + b_out, h_0 = 0."""
    h = np.zeros((x_onehot.shape[0], p["W"].shape[0]))
    outputs = []
    for t in range(x_onehot.shape[1]):
        pre = x_onehot[:, t] @ p["W_in"].T + p["b_in"] + h @ p["W"].T
        h = np.sign(pre) * np.maximum(np.abs(pre) + p["b"], 0)
        outputs.append(h @ p["W_out"].T + p["b_out"])
    return np.stack(outputs, 1)


def test_exprnn_copy_task_trains_with_an_orthogonal_recurrent_kernel():
    torch.manual_seed(5)
    with contextlib.redirect_stdout(io.StringIO()):
        model, optim, losses = main()
    assert len(optim.param_groups[1]["params"]) == 1 and optim.param_groups[1]["lr"] == lr_orth
    W = model.rnn.recurrent_kernel.weight.detach().numpy().astype(np.float64)
    np.testing.assert_allclose(W.T @ W, np.eye(hidden_size), atol=1e-5)      # still orthogonal after training
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5])


def test_exprnn_forward_and_gradient_are_numpys():
    torch.manual_seed(6)
    model = Model(alphabet_size, hidden_size).double()
    batch_x, batch_y = copy_data(4)
    x_onehot = F.one_hot(batch_x, num_classes=alphabet_size + 2).double()
    logits = model(x_onehot)
    loss = model.loss(logits, batch_y)
    loss.backward()
    p = {"W": model.rnn.recurrent_kernel.weight.detach().numpy(), "W_in": model.rnn.input_kernel.weight.numpy(),
         "b_in": model.rnn.input_kernel.bias.numpy(), "b": model.rnn.nonlinearity.b.numpy(),
         "W_out": model.lin.weight.numpy(), "b_out": model.lin.bias.numpy()}
    x_np, y_np = x_onehot.numpy(), batch_y.numpy()
    np.testing.assert_allclose(logits.detach().numpy(), np_exprnn(p, x_np), rtol=0, atol=1e-12)

    def loss_of(name):
        def f(value):
            z = np_exprnn({**p, name: value}, x_np).reshape(-1, alphabet_size + 1)
            return -np_log_softmax(z)[np.arange(len(z)), y_np.reshape(-1)].mean()
        return f
    for name, param in (("W_in", model.rnn.input_kernel.weight), ("b", model.rnn.nonlinearity.b)):
        where = some_indices(p[name].shape, 5, 7)
        np.testing.assert_allclose([param.grad[i] for i in where], central(loss_of(name), p[name], where),
                                   rtol=1e-6, atol=1e-9)


# ==== 3. pytorch/examples vae/main.py, as written ===============================================================

def made_up_mnist(count, seed):
    """Images in [0, 1], 1x28x28: a bright bar, horizontal or vertical, at a random place, and a little noise."""
    rng = np.random.default_rng(seed)
    images = np.zeros((count, 1, 28, 28))
    for n in range(count):
        at = rng.integers(4, 24)
        if n % 2:
            images[n, 0, at - 2:at + 2, 4:24] = 1.0
        else:
            images[n, 0, 4:24, at - 2:at + 2] = 1.0
    images = np.clip(images + rng.uniform(0, 0.1, images.shape), 0, 1)
    return torch.tensor(images, dtype=torch.float32), torch.tensor(np.arange(count) % 2)


def vae_script(argv):
    """main.py's text; returns its model, loss_function, its printed lines and the saved images' shapes."""
    saved = []

    def save_image(tensor, filename, nrow=8):  # differs: torchvision's save_image; the shape kept for the test
        saved.append((filename, tuple(tensor.shape)))

    parser = argparse.ArgumentParser(description='VAE MNIST Example')
    parser.add_argument('--batch-size', type=int, default=128, metavar='N',
                        help='input batch size for training (default: 128)')
    parser.add_argument('--epochs', type=int, default=10, metavar='N',
                        help='number of epochs to train (default: 10)')
    parser.add_argument('--no-cuda', action='store_true', default=False,
                        help='enables CUDA training')
    parser.add_argument('--seed', type=int, default=1, metavar='S',
                        help='random seed (default: 1)')
    parser.add_argument('--log-interval', type=int, default=10, metavar='N',
                        help='how many batches to wait before logging training status')
    args = parser.parse_args(argv)  # differs: the test's arguments
    args.cuda = not args.no_cuda and torch.cuda.is_available()

    torch.manual_seed(args.seed)

    device = torch.device("cuda" if args.cuda else "cpu")

    kwargs = {'num_workers': 1, 'pin_memory': True} if args.cuda else {}
    train_loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(*made_up_mnist(256, 0)),  # differs: made-up MNIST, ToTensor's layout
        batch_size=args.batch_size, shuffle=True, **kwargs)
    test_loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(*made_up_mnist(64, 1)),   # differs: made-up MNIST
        batch_size=args.batch_size, shuffle=True, **kwargs)

    class VAE(nn.Module):
        def __init__(self):
            super(VAE, self).__init__()

            self.fc1 = nn.Linear(784, 400)
            self.fc21 = nn.Linear(400, 20)
            self.fc22 = nn.Linear(400, 20)
            self.fc3 = nn.Linear(20, 400)
            self.fc4 = nn.Linear(400, 784)

        def encode(self, x):
            h1 = F.relu(self.fc1(x))
            return self.fc21(h1), self.fc22(h1)

        def reparameterize(self, mu, logvar):
            std = torch.exp(0.5*logvar)
            eps = torch.randn_like(std)
            return mu + eps*std

        def decode(self, z):
            h3 = F.relu(self.fc3(z))
            # clamp to avoid numerical issues with the continuous Bernoulli log normalizing constant
            return torch.clamp(torch.sigmoid(self.fc4(h3)), min=1e-4, max=1.0 - 1e-4)

        def forward(self, x):
            mu, logvar = self.encode(x.view(-1, 784))
            z = self.reparameterize(mu, logvar)
            return self.decode(z), mu, logvar

    model = VAE().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def atanh(x):
        # inverse hyperbolic tangent, used to compute the log normalizing constant of the continuous Bernoulli
        return 0.5 * (torch.log(1.0 + x) - torch.log(1.0 - x))

    def cont_bern_log_norm(lam, l_lim=0.49, u_lim=0.51):
        # computes the log normalizing constant of a continuous Bernoulli distribution in a numerically stable way.
        # returns the log normalizing constant for lam in (0, l_lim) U (u_lim, 1) and a Taylor approximation in
        # [l_lim, u_lim].
        cut_lam = torch.where(torch.max(torch.le(lam, l_lim), torch.gt(lam, u_lim)), lam,
                              l_lim * torch.ones_like(lam))   # (wrapped at 120 columns)
        log_norm = torch.log(torch.abs(2.0 * atanh(1 - 2.0 * cut_lam))) - torch.log(torch.abs(1 - 2.0 * cut_lam))
        taylor = torch.log(torch.tensor(2.0)) + 4.0 / 3.0 * torch.pow(lam - 0.5, 2) + \
            104.0 / 45.0 * torch.pow(lam - 0.5, 4)   # (wrapped at 120 columns)
        return torch.where(torch.max(torch.le(lam, l_lim), torch.gt(lam, u_lim)), log_norm, taylor)

    # Reconstruction + KL divergence losses summed over all elements and batch
    def loss_function(recon_x, x, mu, logvar):
        BCE = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction='sum')

        NLNC = -torch.sum(cont_bern_log_norm(recon_x)) # negative log normalizing constant

        # 0.5 * sum(1 + log(sigma^2) - mu^2 - sigma^2)
        KLD = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())

        return BCE + NLNC + KLD

    def train(epoch):
        model.train()
        train_loss = 0
        for batch_idx, (data, _) in enumerate(train_loader):
            data = data.to(device)
            optimizer.zero_grad()
            recon_batch, mu, logvar = model(data)
            loss = loss_function(recon_batch, data, mu, logvar)
            loss.backward()
            train_loss += loss.item()
            optimizer.step()
            if batch_idx % args.log_interval == 0:
                print('Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}'.format(
                    epoch, batch_idx * len(data), len(train_loader.dataset),
                           100. * batch_idx / len(train_loader),
                           loss.item() / len(data)))

        print('====> Epoch: {} Average loss: {:.4f}'.format(
            epoch, train_loss / len(train_loader.dataset)))

    def test(epoch):
        model.eval()
        test_loss = 0
        with torch.no_grad():
            for i, (data, _) in enumerate(test_loader):
                data = data.to(device)
                recon_batch, mu, logvar = model(data)
                test_loss += loss_function(recon_batch, data, mu, logvar).item()
                if i == 0:
                    n = min(data.size(0), 8)
                    comparison = torch.cat([data[:n],
                                            recon_batch.view(args.batch_size, 1, 28, 28)[:n]])
                    save_image(comparison.cpu(),
                               'results/reconstruction_' + str(epoch) + '.png', nrow=n)

        test_loss /= len(test_loader.dataset)
        print('====> Test set loss: {:.4f}'.format(test_loss))

    said = io.StringIO()
    with contextlib.redirect_stdout(said):
        for epoch in range(1, args.epochs + 1):
            train(epoch)
            test(epoch)
            with torch.no_grad():
                sample = torch.randn(64, 20).to(device)
                sample = model.decode(sample).cpu()
                save_image(sample.view(64, 1, 28, 28),
                           'results/sample_' + str(epoch) + '.png')
    return dict(model=model, loss_function=loss_function, said=said.getvalue(), saved=saved)


def np_vae_loss(p, x, eps):
    relu = lambda a: np.maximum(a, 0)  # noqa: E731
    h1 = relu(x @ p["fc1.weight"].T + p["fc1.bias"])
    mu, logvar = h1 @ p["fc21.weight"].T + p["fc21.bias"], h1 @ p["fc22.weight"].T + p["fc22.bias"]
    z = mu + eps * np.exp(0.5 * logvar)
    lam = 1 / (1 + np.exp(-(relu(z @ p["fc3.weight"].T + p["fc3.bias"]) @ p["fc4.weight"].T + p["fc4.bias"])))
    lam = np.clip(lam, 1e-4, 1 - 1e-4)
    bce = -(x * np.log(lam) + (1 - x) * np.log(1 - lam)).sum()
    outside = (lam <= 0.49) | (lam > 0.51)
    cut = np.where(outside, lam, 0.49)
    log_norm = np.log(np.abs(2 * np.arctanh(1 - 2 * cut))) - np.log(np.abs(1 - 2 * cut))
    taylor = np.log(2) + 4 / 3 * (lam - 0.5) ** 2 + 104 / 45 * (lam - 0.5) ** 4
    nlnc = -np.where(outside, log_norm, taylor).sum()
    kld = 0.5 * (mu ** 2 + np.exp(logvar) - 1 - logvar).sum()       # the closed form of KL(N(mu, s^2) || N(0, 1))
    return bce + nlnc + kld, kld


@pytest.fixture(scope="module")
def vae_run():
    return vae_script(["--batch-size", "32", "--epochs", "3", "--log-interval", "4"])


def test_vae_main_runs_and_its_loss_falls(vae_run):
    said = vae_run["said"]
    # the continuous Bernoulli's density exceeds 1, so its negative log-likelihood goes below 0
    averages = [float(m) for m in re.findall(r"====> Epoch: \d+ Average loss: (-?[\d.]+)", said)]
    tests = [float(m) for m in re.findall(r"====> Test set loss: (-?[\d.]+)", said)]
    assert len(averages) == 3 and averages[0] > averages[1] + 100 > averages[2] + 200
    assert len(tests) == 3 and tests[0] > tests[1] > tests[2]
    assert ("results/reconstruction_1.png", (16, 1, 28, 28)) in vae_run["saved"]
    assert ("results/sample_3.png", (64, 1, 28, 28)) in vae_run["saved"]


def test_vae_kl_term_is_kl_divergence_of_normals_and_the_closed_form(vae_run, float64_default):
    model = vae_run["model"]
    x = made_up_mnist(6, 2)[0].double().view(-1, 784)
    model.double()
    model.zero_grad()
    try:
        mu, logvar = model.encode(x)
        by_hand = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
        prior = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
        kl = torch.distributions.kl_divergence(q, prior).sum()
        m, lv = mu.detach().numpy(), logvar.detach().numpy()
        closed = 0.5 * (m ** 2 + np.exp(lv) - 1 - lv).sum()
        np.testing.assert_allclose([by_hand.item(), kl.item()], [closed, closed], rtol=1e-12)
        torch.manual_seed(9)
        z = q.rsample()
        torch.manual_seed(9)
        eps = torch.randn_like(mu).numpy()
        np.testing.assert_allclose(z.detach().numpy(), m + eps * np.exp(0.5 * lv), rtol=1e-12)
        (kl + z.sum()).backward()
        g = model.fc21.bias.grad                         # d/dmu (KL + sum z) = mu + 1, summed over the batch
        np.testing.assert_allclose(g, (m + 1).sum(0), rtol=1e-10)
    finally:
        model.float()


def test_vae_loss_and_gradient_are_numpys(vae_run, float64_default):
    model = vae_run["model"]
    model.double()
    try:
        x = made_up_mnist(4, 3)[0].double()
        model.zero_grad()
        torch.manual_seed(11)
        recon, mu, logvar = model(x)
        loss = vae_run["loss_function"](recon, x, mu, logvar)
        loss.backward()
        torch.manual_seed(11)
        eps = torch.randn_like(mu).numpy()
        p = state_arrays(model)
        x_np = x.view(-1, 784).numpy()
        expected, _ = np_vae_loss(p, x_np, eps)
        np.testing.assert_allclose(loss.item(), expected, rtol=1e-10)
        params = dict(model.named_parameters())
        for name in ("fc22.weight", "fc3.bias", "fc1.weight"):
            where = some_indices(p[name].shape, 4, 12)
            f = lambda v, name=name: np_vae_loss({**p, name: v}, x_np, eps)[0]  # noqa: E731
            np.testing.assert_allclose([params[name].grad[i] for i in where], central(f, p[name], where, 1e-5),
                                       rtol=1e-5, atol=1e-6)
    finally:
        model.float()


# ==== 4. feifeibear/ckp_training: a checkpointed four-layer net beside the plain one ==============================

class SimpleCKPModel(torch.nn.Module):
    def __init__(self, hidden_dim, empty_grad=False):
        super(SimpleCKPModel, self).__init__()
        self.linear1 = torch.nn.Linear(hidden_dim, hidden_dim)
        self.linear2 = torch.nn.Linear(hidden_dim, hidden_dim)
        self.linear3 = torch.nn.Linear(hidden_dim, hidden_dim)
        self.linear4 = torch.nn.Linear(hidden_dim, hidden_dim)
        self.cross_entropy_loss = torch.nn.CrossEntropyLoss()
        # differs: init_checkpointed_activations_memory_buffer() is the repository's Megatron buffer, not PyTorch's

    def _checkpointed_forward(self, x):
        """Forward method with activation checkpointing."""
        def custom():
            def custom_forward(x):
                x = self.linear1(x)
                x = self.linear2(x)
                return x
            return custom_forward

        # differs: reset_checkpointed_activations_memory_buffer() (the repository's Megatron buffer) left out
        x = checkpoint(custom(), x)
        return x

    def forward(self, x, y):
        x = self._checkpointed_forward(x)
        x = self.linear3(x)
        x = self.linear4(x)
        return self.cross_entropy_loss(x, y)


class SimpleModel(torch.nn.Module):
    def __init__(self, hidden_dim, empty_grad=False):
        super(SimpleModel, self).__init__()
        self.linear1 = torch.nn.Linear(hidden_dim, hidden_dim)
        self.linear2 = torch.nn.Linear(hidden_dim, hidden_dim)
        self.linear3 = torch.nn.Linear(hidden_dim, hidden_dim)
        self.linear4 = torch.nn.Linear(hidden_dim, hidden_dim)
        if empty_grad:
            self.layers2 = torch.nn.ModuleList(
                [torch.nn.Linear(hidden_dim, hidden_dim)])
        self.cross_entropy_loss = torch.nn.CrossEntropyLoss()

    def forward(self, x, y):
        hidden_dim = x
        hidden_dim = self.linear1(hidden_dim)
        hidden_dim = self.linear2(hidden_dim)
        hidden_dim = self.linear3(hidden_dim)
        hidden_dim = self.linear4(hidden_dim)
        return self.cross_entropy_loss(hidden_dim, y)


def get_data_loader(model,
                    total_samples,
                    hidden_dim,
                    device,
                    data_type=torch.float):
    batch_size = 4  #model.train_micro_batch_size_per_gpu()
    train_data = torch.randn(total_samples,
                             hidden_dim,
                             device=device,
                             dtype=data_type)
    train_label = torch.empty(total_samples, dtype=torch.long,
                              device=device).random_(hidden_dim)
    train_dataset = torch.utils.data.TensorDataset(train_data, train_label)
    sampler = torch.utils.data.SequentialSampler(train_dataset)  # differs: imported by name in the source
    train_loader = torch.utils.data.DataLoader(train_dataset,
                                               batch_size=batch_size,
                                               sampler=sampler)
    return train_loader


def test_simple_model(is_ckp: bool = False, is_fp16: bool = False, grads=None):
    hidden_dim = 40
    device = torch.device('cpu')  # differs: 'cuda:0'; no GPU, and no FP16_Module/FP16_Optimizer (is_fp16 False)

    if is_ckp:
        model = SimpleCKPModel(hidden_dim, empty_grad=False)
    else:
        model = SimpleModel(hidden_dim, empty_grad=False)

    data_loader = get_data_loader(
        model=model,
        total_samples=1000,
        hidden_dim=hidden_dim,
        device=device,
        data_type=torch.half if is_fp16 else torch.float)

    loss_res = []
    optimizer = torch.optim.Adam(model.parameters(), lr=0.001)

    for n, batch in enumerate(data_loader):

        loss = model(batch[0], batch[1])

        print("LOSS:", loss.item())
        loss_res.append(loss.item())

        optimizer.zero_grad()
        loss.backward()
        if grads is not None:  # differs: the gradients kept for the test
            grads.append({k: p.grad.copy() for k, p in model.named_parameters()})

        optimizer.step()

        if n == 5: break

    return loss_res


test_simple_model.__test__ = False   # the script's name, not a test of this file


def test_checkpointed_model_trains_exactly_as_the_plain_one():
    # the script's --res_check: the same seed, the same losses
    ckp_grads, ref_grads = [], []
    with contextlib.redirect_stdout(io.StringIO()):
        torch.manual_seed(0)
        loss_ref_list = test_simple_model(is_ckp=True, grads=ckp_grads)
        torch.manual_seed(0)
        loss_list = test_simple_model(is_ckp=False, grads=ref_grads)
    assert len(loss_list) == 6
    for loss, loss_ref in zip(loss_list, loss_ref_list):
        assert loss == loss_ref
    for a, b in zip(ckp_grads, ref_grads):
        assert a.keys() == b.keys()
        for k in a:                    # float32: equal to rounding (the re-run's products sum in another order)
            np.testing.assert_allclose(a[k], b[k], rtol=1e-5, atol=1e-8)


def test_checkpointed_gradients_are_central_differences_of_numpy(float64_default):
    torch.manual_seed(2)
    model = SimpleCKPModel(6)
    x_np = np.random.default_rng(3).normal(size=(4, 6))
    y_np = np.array([0, 5, 2, 2])
    x = torch.tensor(x_np, requires_grad=True)
    loss = model(x, torch.tensor(y_np))
    loss.backward()
    p = state_arrays(model)

    def np_loss(q, inputs=x_np):
        h = inputs
        for i in range(1, 5):
            h = h @ q[f"linear{i}.weight"].T + q[f"linear{i}.bias"]
        return -np_log_softmax(h)[np.arange(4), y_np].mean()
    assert loss.item() == pytest.approx(np_loss(p), rel=1e-13)
    params = dict(model.named_parameters())
    for name in ("linear1.weight", "linear2.bias", "linear4.weight"):
        where = some_indices(p[name].shape, 5, 1)
        f = lambda v, name=name: np_loss({**p, name: v})  # noqa: E731
        np.testing.assert_allclose([params[name].grad[i] for i in where], central(f, p[name], where),
                                   rtol=1e-7, atol=1e-10)
    where = some_indices(x_np.shape, 4, 2)
    np.testing.assert_allclose([x.grad[i] for i in where], central(lambda v: np_loss(p, v), x_np, where),
                               rtol=1e-7, atol=1e-10)


# ==== 5. the text classification tutorial (nn.EmbeddingBag), as written =========================================

TOPICS = {1: ["election", "minister", "war", "treaty", "talks"], 2: ["match", "goal", "season", "coach", "team"],
          3: ["shares", "profit", "market", "bank", "deal"], 4: ["software", "space", "chip", "internet", "robot"]}
FILLER = ["the", "a", "on", "after", "new", "says", "report", "week", "in", "of"]


def made_up_news(count, seed):
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(count):
        label = int(rng.integers(1, 5))
        words = [str(w) for w in rng.choice(FILLER, size=int(rng.integers(4, 10)))]
        for _ in range(2):
            words.insert(int(rng.integers(0, len(words) + 1)), str(rng.choice(TOPICS[label])).capitalize())
        rows.append((label, " ".join(words) + "."))
    return rows


def AG_NEWS(split=None):
    """torchtext's AG_NEWS: (label 1-4, text) rows; both splits as a pair when no split is named."""
    if split is None:
        return iter(made_up_news(320, 0)), iter(made_up_news(80, 1))
    return iter(made_up_news(320, 0) if split == "train" else made_up_news(80, 1))


def get_tokenizer(name):
    assert name == "basic_english"
    return lambda line: re.sub(r"([.,!?])", r" \1 ", line.lower()).split()


class Vocab:
    def __init__(self, itos):
        self.itos, self.stoi, self.default = itos, {t: i for i, t in enumerate(itos)}, None

    def __len__(self):
        return len(self.itos)

    def __getitem__(self, token):
        return self.stoi.get(token, self.default)

    def __call__(self, tokens):
        return [self[t] for t in tokens]

    def set_default_index(self, index):
        self.default = index


def build_vocab_from_iterator(iterator, specials=()):
    """torchtext's: the specials, then the tokens by decreasing frequency (ties by the token)."""
    counts = {}
    for tokens in iterator:
        for t in tokens:
            counts[t] = counts.get(t, 0) + 1
    return Vocab(list(specials) + sorted(counts, key=lambda t: (-counts[t], t)))


def to_map_style_dataset(iterator):
    return list(iterator)


def text_classification_tutorial(EPOCHS=10):
    tokenizer = get_tokenizer("basic_english")
    train_iter = AG_NEWS(split="train")

    def yield_tokens(data_iter):
        for _, text in data_iter:
            yield tokenizer(text)

    vocab = build_vocab_from_iterator(yield_tokens(train_iter), specials=["<unk>"])
    vocab.set_default_index(vocab["<unk>"])

    text_pipeline = lambda x: vocab(tokenizer(x))  # noqa: E731
    label_pipeline = lambda x: int(x) - 1  # noqa: E731

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

    def collate_batch(batch):
        label_list, text_list, offsets = [], [], [0]
        for _label, _text in batch:
            label_list.append(label_pipeline(_label))
            processed_text = torch.tensor(text_pipeline(_text), dtype=torch.int64)
            text_list.append(processed_text)
            offsets.append(processed_text.size(0))
        label_list = torch.tensor(label_list, dtype=torch.int64)
        offsets = torch.tensor(offsets[:-1]).cumsum(dim=0)
        text_list = torch.cat(text_list)
        return label_list.to(device), text_list.to(device), offsets.to(device)

    class TextClassificationModel(nn.Module):
        def __init__(self, vocab_size, embed_dim, num_class):
            super(TextClassificationModel, self).__init__()
            self.embedding = nn.EmbeddingBag(vocab_size, embed_dim, sparse=False)
            self.fc = nn.Linear(embed_dim, num_class)
            self.init_weights()

        def init_weights(self):
            initrange = 0.5
            nn.init.uniform_(self.embedding.weight, -initrange, initrange)  # differs: .weight.data (read-only)
            nn.init.uniform_(self.fc.weight, -initrange, initrange)         # differs: .weight.data (read-only)
            nn.init.zeros_(self.fc.bias)                                     # differs: .bias.data.zero_()

        def forward(self, text, offsets):
            embedded = self.embedding(text, offsets)
            return self.fc(embedded)

    train_iter = AG_NEWS(split="train")
    num_class = len(set([label for (label, text) in train_iter]))
    vocab_size = len(vocab)
    emsize = 64
    model = TextClassificationModel(vocab_size, emsize, num_class).to(device)

    def train(dataloader):
        model.train()
        total_acc, total_count = 0, 0
        log_interval = 500
        start_time = time.time()

        for idx, (label, text, offsets) in enumerate(dataloader):
            optimizer.zero_grad()
            predicted_label = model(text, offsets)
            loss = criterion(predicted_label, label)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.1)
            optimizer.step()
            total_acc += (predicted_label.argmax(1) == label).sum().item()
            total_count += label.size(0)
            if idx % log_interval == 0 and idx > 0:
                elapsed = time.time() - start_time
                print(
                    "| epoch {:3d} | {:5d}/{:5d} batches "
                    "| accuracy {:8.3f}".format(
                        epoch, idx, len(dataloader), total_acc / total_count
                    )
                )
                total_acc, total_count = 0, 0
                start_time = time.time()
                assert elapsed >= 0  # differs: the source never reads it (kept pyflakes-clean)

    def evaluate(dataloader):
        model.eval()
        total_acc, total_count = 0, 0

        with torch.no_grad():
            for idx, (label, text, offsets) in enumerate(dataloader):
                predicted_label = model(text, offsets)
                loss = criterion(predicted_label, label)
                del loss  # differs: the source computes it and never reads it (kept pyflakes-clean)
                total_acc += (predicted_label.argmax(1) == label).sum().item()
                total_count += label.size(0)
        return total_acc / total_count

    from microgradseq.utils.data import DataLoader
    from microgradseq.utils.data.dataset import random_split

    # Hyperparameters
    LR = 5  # learning rate
    BATCH_SIZE = 64  # batch size for training

    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1.0, gamma=0.1)
    total_accu = None
    train_iter, test_iter = AG_NEWS()
    train_dataset = to_map_style_dataset(train_iter)
    test_dataset = to_map_style_dataset(test_iter)
    num_train = int(len(train_dataset) * 0.95)
    split_train_, split_valid_ = random_split(
        train_dataset, [num_train, len(train_dataset) - num_train]
    )

    train_dataloader = DataLoader(
        split_train_, batch_size=BATCH_SIZE, shuffle=True, collate_fn=collate_batch
    )
    valid_dataloader = DataLoader(
        split_valid_, batch_size=BATCH_SIZE, shuffle=True, collate_fn=collate_batch
    )
    test_dataloader = DataLoader(
        test_dataset, batch_size=BATCH_SIZE, shuffle=True, collate_fn=collate_batch
    )

    accuracies = [evaluate(test_dataloader)]  # differs: the untrained accuracy, kept for the test
    for epoch in range(1, EPOCHS + 1):
        epoch_start_time = time.time()
        train(train_dataloader)
        accu_val = evaluate(valid_dataloader)
        if total_accu is not None and total_accu > accu_val:
            scheduler.step()
        else:
            total_accu = accu_val
        print("-" * 59)
        print(
            "| end of epoch {:3d} | time: {:5.2f}s | "
            "valid accuracy {:8.3f} ".format(
                epoch, time.time() - epoch_start_time, accu_val
            )
        )
        print("-" * 59)

    print("Checking the results of test dataset.")
    accu_test = evaluate(test_dataloader)
    print("test accuracy {:8.3f}".format(accu_test))
    accuracies.append(accu_test)

    ag_news_label = {1: "World", 2: "Sports", 3: "Business", 4: "Sci/Tec"}

    def predict(text, text_pipeline):
        with torch.no_grad():
            text = torch.tensor(text_pipeline(text))
            output = model(text, torch.tensor([0]))
            return output.argmax(1).item() + 1

    ex_text_str = "After the match the Coach says the Team had a new season of Goal after goal."

    model = model.to("cpu")

    print("This is a %s news" % ag_news_label[predict(ex_text_str, text_pipeline)])
    return dict(model=model, collate_batch=collate_batch, accuracies=accuracies, vocab=vocab,
                text_pipeline=text_pipeline, optimizer=optimizer)


@pytest.fixture(scope="module")
def news_run():
    torch.manual_seed(0)
    said = io.StringIO()
    with contextlib.redirect_stdout(said):
        run = text_classification_tutorial()
    run["said"] = said.getvalue()
    return run


def test_text_classification_tutorial_runs_and_learns_the_topics(news_run):
    before, after = news_run["accuracies"]
    assert before < 0.5 and after > 0.9
    assert "This is a Sports news" in news_run["said"]
    assert news_run["said"].count("| end of epoch") == 10


def test_collate_batch_offsets_and_the_bag_means_are_numpys(news_run, float64_default):
    batch = made_up_news(5, 7)
    label, text, offsets = news_run["collate_batch"](batch)
    lengths = [len(news_run["text_pipeline"](t)) for _, t in batch]
    assert label.tolist() == [lab - 1 for lab, _ in batch] and text.dtype == np.int64
    assert offsets.tolist() == list(np.cumsum([0] + lengths[:-1])) and len(text) == sum(lengths)
    torch.manual_seed(1)
    model = type(news_run["model"])(len(news_run["vocab"]), 6, 4)
    out = model(text, offsets)
    E, W, b = model.embedding.weight.numpy(), model.fc.weight.numpy(), model.fc.bias.numpy()
    ids = text.numpy()
    starts = list(offsets.numpy()) + [len(ids)]

    def np_model(E, W=W):
        bags = np.stack([E[ids[starts[i]:starts[i + 1]]].mean(0) for i in range(5)])
        return bags @ W.T + b
    np.testing.assert_allclose(out.detach().numpy(), np_model(E), rtol=0, atol=1e-13)
    y = label.numpy()
    F.cross_entropy(out, label).backward()

    def loss(E):
        return -np_log_softmax(np_model(E))[np.arange(5), y].mean()
    where = [(int(ids[0]), 0), (int(ids[1]), 3), (int(ids[-1]), 5), (0, 0)]
    np.testing.assert_allclose([model.embedding.weight.grad[i] for i in where], central(loss, E, where),
                               rtol=1e-7, atol=1e-10)
    assert not np.any(model.embedding.weight.grad[list(set(range(len(E))) - set(ids.tolist()))])


def test_clip_grad_norm_and_sgd_step_as_the_tutorial_applies_them(float64_default):
    torch.manual_seed(2)
    bag = nn.EmbeddingBag(10, 3)
    fc = nn.Linear(3, 4)
    text, offsets, label = torch.tensor([1, 2, 4, 4, 9]), torch.tensor([0, 2]), torch.tensor([3, 0])
    loss = F.cross_entropy(fc(bag(text, offsets)), label)
    loss.backward()
    params = list(bag.parameters()) + list(fc.parameters())
    grads = [p.grad.copy() for p in params]
    before = [p.numpy().copy() for p in params]
    total = math.sqrt(sum((g ** 2).sum() for g in grads))
    returned = torch.nn.utils.clip_grad_norm_(params, 0.1)
    assert returned.item() == pytest.approx(total, rel=1e-12)
    torch.optim.SGD(params, lr=5).step()
    scale = 0.1 / (total + 1e-6)
    for p, g, b in zip(params, grads, before):
        np.testing.assert_allclose(p.numpy(), b - 5 * scale * g, rtol=1e-12, atol=1e-15)


def test_steplr_takes_the_tutorials_float_step_size():
    optimizer = torch.optim.SGD(nn.Linear(2, 2).parameters(), lr=5)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1.0, gamma=0.1)
    rates = []
    for _ in range(3):
        optimizer.step()
        scheduler.step()
        rates.append(optimizer.param_groups[0]["lr"])
    assert rates == pytest.approx([0.5, 0.05, 0.005])
