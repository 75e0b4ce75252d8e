"""`MultiheadAttention`: num_heads heads of scaled dot-product attention side by side, as PyTorch's
(torch/nn/modules/activation.py): its parameters, their names and initialisation, and its forward, which is
`F.multi_head_attention_forward`."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..checks import flag, is_int, probability
from ..functional.attention import canonical_mask, multi_head_attention_forward
from ..spellings import check_device
from ..tensor import Tensor, as_tensor, get_default_dtype
from . import init
from .linear import Linear
from .module import Module, Parameter, same_dtype


class MultiheadAttention(Module):
    """Attention of query (L, N, E) over key (S, N, kdim) and value (S, N, vdim) ((N, L, E) ... with
    batch_first, (L, E) ... unbatched) in num_heads heads of E / num_heads features each, as PyTorch's:
    `F.multi_head_attention_forward` says how. Parameters as PyTorch's: in_proj_weight (3E, E) (or
    q_proj_weight (E, E), k_proj_weight (E, kdim) and v_proj_weight (E, vdim) when kdim or vdim differ
    from E), in_proj_bias (3E,), out_proj a Linear(E, E), and bias_k, bias_v (1, 1, E) with add_bias_kv.
    Initialised as PyTorch's: the projections xavier_uniform_, the biases 0 (out_proj's too), bias_k and
    bias_v xavier_normal_; out_proj.weight as a Linear's. `dropout` acts on the weights while training."""

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: int | None = None,
                 vdim: int | None = None, batch_first: bool = False, device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        where = "MultiheadAttention"
        check_device(where, device)
        for name, value in (("embed_dim", embed_dim), ("num_heads", num_heads), ("kdim", kdim), ("vdim", vdim)):
            if (value is not None or name in ("embed_dim", "num_heads")) and not (is_int(value) and value > 0):
                raise ValueError(f"{where}: {name} must be an integer > 0, got {value!r}")
        if embed_dim % num_heads:
            raise ValueError(f"{where}: embed_dim must be divisible by num_heads, got embed_dim={embed_dim} and "
                             f"num_heads={num_heads}")
        self.embed_dim, self.num_heads, self.head_dim = embed_dim, num_heads, embed_dim // num_heads
        self.kdim = embed_dim if kdim is None else kdim
        self.vdim = embed_dim if vdim is None else vdim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.dropout = probability(dropout, "dropout", where)
        self.batch_first = flag(batch_first, "batch_first", where)
        self.add_zero_attn = flag(add_zero_attn, "add_zero_attn", where)
        bias, add_bias_kv = flag(bias, "bias", where), flag(add_bias_kv, "add_bias_kv", where)
        dtype = np.dtype(dtype or get_default_dtype())

        def empty(*shape: int) -> Parameter:
            return Parameter(np.zeros(shape, dtype))
        if self._qkv_same_embed_dim:
            self.in_proj_weight = empty(3 * embed_dim, embed_dim)
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = empty(embed_dim, embed_dim)
            self.k_proj_weight = empty(embed_dim, self.kdim)
            self.v_proj_weight = empty(embed_dim, self.vdim)
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = empty(3 * embed_dim)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dtype)
        if add_bias_kv:
            self.bias_k, self.bias_v = empty(1, 1, embed_dim), empty(1, 1, embed_dim)
        else:
            self.bias_k = self.bias_v = None
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        """PyTorch's initialisation (MultiheadAttention._reset_parameters)."""
        for weight in (self.in_proj_weight, self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
            if weight is not None:
                init.xavier_uniform_(weight)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)
        for bias in (self.bias_k, self.bias_v):
            if bias is not None:
                init.xavier_normal_(bias)

    def forward(self, query: Any, key: Any, value: Any, key_padding_mask: Any = None, need_weights: bool = True,
                attn_mask: Any = None, average_attn_weights: bool = True,
                is_causal: bool = False) -> tuple[Tensor, Tensor | None]:
        """(attn_output, attn_weights or None), as PyTorch's: bool masks are True where masked out, float
        masks are added; key_padding_mask is (N, S) (or (S,) unbatched), attn_mask (L, S) or
        (N num_heads, L, S). With batch_first the batched inputs and output are (N, L, E)."""
        dtype = (self.in_proj_weight if self._qkv_same_embed_dim else self.q_proj_weight).dtype
        query, key, value = (same_dtype(self, as_tensor(x), dtype, name)
                             for x, name in ((query, "query"), (key, "key"), (value, "value")))
        key_padding_mask = canonical_mask("MultiheadAttention", key_padding_mask, "key_padding_mask", dtype)
        attn_mask = canonical_mask("MultiheadAttention", attn_mask, "attn_mask", dtype)
        batched = query.ndim == 3
        if self.batch_first and batched:
            query, key, value = (x.transpose(0, 1) for x in (query, key, value))
        separate = not self._qkv_same_embed_dim
        output, weights = multi_head_attention_forward(
            query, key, value, self.embed_dim, self.num_heads, self.in_proj_weight, self.in_proj_bias,
            self.bias_k, self.bias_v, self.add_zero_attn, self.dropout, self.out_proj.weight, self.out_proj.bias,
            training=self.training, key_padding_mask=key_padding_mask, need_weights=need_weights,
            attn_mask=attn_mask, use_separate_proj_weight=separate, q_proj_weight=self.q_proj_weight,
            k_proj_weight=self.k_proj_weight, v_proj_weight=self.v_proj_weight,
            average_attn_weights=average_attn_weights, is_causal=is_causal)
        return (output.transpose(0, 1) if self.batch_first and batched else output), weights
