"""Attention, as PyTorch's functions: `scaled_dot_product_attention`, softmax(Q K^T * scale + mask) V, and
`multi_head_attention_forward`, what `nn.MultiheadAttention` computes (project, split into heads, attend,
join, project). Both are written with matmul, masked_fill, softmax, dropout, cat and reshapes: the chain
rule gives their gradients and tangents.

Masks, as PyTorch's: `scaled_dot_product_attention` takes a bool mask where True means *take part*, or a
float mask that is added to the scores; `multi_head_attention_forward` (and the transformer layers) takes a
bool mask where True means *masked out* (PyTorch's older convention there), or a float mask that is added.
A row of scores masked out everywhere gives NaN, as PyTorch's softmax of -inf everywhere does.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import ops
from ..checks import broadcasts_to, broadcasts_with, flag, is_finite_number, is_int, probability
from ..tensor import Tensor, as_tensor, owned
from .activations import softmax
from .layer_functions import dropout, linear, pad


class _CausalMaskError(ValueError, RuntimeError):
    """attn_mask given with is_causal=True: a RuntimeError in PyTorch's scaled_dot_product_attention, a
    ValueError as the library's other argument errors."""


def scaled_dot_product_attention(query: Any, key: Any, value: Any, attn_mask: Any = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """softmax(Q K^T * scale + B) V, as PyTorch's F.scaled_dot_product_attention (the reference
    implementation in its docstring): Q (..., L, E), K (..., S, E), V (..., S, Ev) -> (..., L, Ev), the
    leading axes broadcast. scale is 1 / sqrt(E) by default. B is 0 where a bool `attn_mask` is True and
    -inf where it is False, or a float `attn_mask` itself; either broadcasts to (..., L, S). `is_causal`
    masks as a lower-triangular (L, S) bool mask aligned at the top left (query i sees keys 0..i), and
    takes no attn_mask. Dropout with probability `dropout_p` acts on the weights whenever dropout_p > 0
    (pass `dropout_p if self.training else 0.0`). `enable_gqa` repeats each of K's and V's heads (axis -3)
    to Q's number of heads (grouped-query attention)."""
    where = "scaled_dot_product_attention"
    q, k, v = _checked_qkv(where, query, key, value, flag(enable_gqa, "enable_gqa", where))
    dropout_p = probability(dropout_p, "dropout_p", where)
    if scale is not None and not is_finite_number(scale):
        raise TypeError(f"{where}: scale must be a number or None, got {scale!r}")
    if flag(is_causal, "is_causal", where):
        if attn_mask is not None:
            raise _CausalMaskError(f"{where}: Explicit attn_mask should not be set when is_causal=True (pass "
                                   f"attn_mask or is_causal=True, not both, as PyTorch's)")
        attn_mask = owned(np.tril(np.ones((q.shape[-2], k.shape[-2]), dtype=bool)))
    return _attended(where, q, k, v, attn_mask, dropout_p, scale)[0]


def _checked_qkv(where: str, query: Any, key: Any, value: Any, enable_gqa: bool) -> tuple[Tensor, Tensor, Tensor]:
    """query, key and value as tensors of one floating dtype whose shapes fit (E and S agree, the leading
    axes broadcast), K's and V's heads repeated to Q's with `enable_gqa`; else an error naming `where`."""
    q, k, v = as_tensor(query), as_tensor(key), as_tensor(value)
    if q.dtype.kind != "f" or not q.dtype == k.dtype == v.dtype:
        raise TypeError(f"{where}: expected query, key and value of one floating-point dtype, got {q.dtype}, "
                        f"{k.dtype} and {v.dtype}")
    shapes = f"query {q.shape}, key {k.shape} and value {v.shape}"
    if min(q.ndim, k.ndim, v.ndim) < 2 or q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ValueError(f"{where}: expected query (..., L, E), key (..., S, E) and value (..., S, Ev), got "
                         f"{shapes}")
    if enable_gqa:
        if min(q.ndim, k.ndim, v.ndim) < 3 or q.shape[-3] % k.shape[-3] or q.shape[-3] % v.shape[-3]:
            raise ValueError(f"{where}: enable_gqa needs the query's heads (axis -3) to be a multiple of the "
                             f"key's and the value's, got {shapes}")
        k = k.repeat_interleave(q.shape[-3] // k.shape[-3], -3)
        v = v.repeat_interleave(q.shape[-3] // v.shape[-3], -3)
    if not broadcasts_with(q.shape[:-2], k.shape[:-2], v.shape[:-2]):
        raise ValueError(f"{where}: the leading (batch) axes of {shapes} do not broadcast")
    return q, k, v


def _attended(where: str, q: Tensor, k: Tensor, v: Tensor, mask: Any, dropout_p: float,
             scale: float | None) -> tuple[Tensor, Tensor]:
    """(softmax(Q K^T * scale + B) V, the softmax weights after dropout): a bool mask is True where a key
    takes part, a float mask is added (B); both broadcast to the scores' shape (..., L, S)."""
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = ops.matmul(q, k.transpose(-2, -1)) * scale
    if mask is not None:
        mask = as_tensor(mask)
        if not broadcasts_to(mask.shape, scores.shape):
            raise ValueError(f"{where}: attn_mask of shape {mask.shape} does not broadcast to the scores' shape "
                             f"(..., L, S) = {scores.shape}")
        if mask.dtype == np.bool_:
            scores = scores.masked_fill(mask.logical_not(), -math.inf)
        elif mask.dtype.kind == "f":
            scores = scores + (mask if mask.dtype == scores.dtype else ops.astype(mask, scores.dtype))
        else:
            raise TypeError(f"{where}: expected attn_mask of dtype bool or floating point, got {mask.dtype}")
    weights = softmax(scores, dim=-1)
    if dropout_p > 0:
        weights = dropout(weights, dropout_p)
    return ops.matmul(weights, v), weights


def canonical_mask(where: str, mask: Any, name: str, dtype: np.dtype) -> Tensor | None:
    """PyTorch's F._canonical_mask: a bool mask (True = masked out) as a float one of `dtype`, -inf where
    True and 0 elsewhere; a float mask as it is; None as None. Other dtypes: an error naming `where`."""
    if mask is None:
        return None
    mask = as_tensor(mask)
    if mask.dtype == np.bool_:
        return owned(np.where(mask._data, -np.inf, 0.0).astype(dtype))
    if mask.dtype.kind != "f":
        raise TypeError(f"{where}: only bool and floating types of {name} are supported, got {mask.dtype}")
    return mask


def multi_head_attention_forward(query: Any, key: Any, value: Any, embed_dim_to_check: int, num_heads: int,
                                 in_proj_weight: Tensor | None, in_proj_bias: Tensor | None, bias_k: Tensor | None,
                                 bias_v: Tensor | None, add_zero_attn: bool, dropout_p: float,
                                 out_proj_weight: Tensor, out_proj_bias: Tensor | None, training: bool = True,
                                 key_padding_mask: Any = None, need_weights: bool = True, attn_mask: Any = None,
                                 use_separate_proj_weight: bool = False, q_proj_weight: Tensor | None = None,
                                 k_proj_weight: Tensor | None = None, v_proj_weight: Tensor | None = None,
                                 static_k: Tensor | None = None, static_v: Tensor | None = None,
                                 average_attn_weights: bool = True,
                                 is_causal: bool = False) -> tuple[Tensor, Tensor | None]:
    """Multi-head attention of query (L, N, E), key (S, N, Ek) and value (S, N, Ev) (or unbatched (L, E),
    (S, Ek), (S, Ev)), as PyTorch's F.multi_head_attention_forward (torch/nn/functional.py): q = query W_q^T
    + b_q, k and v alike (W_q, W_k, W_v the thirds of in_proj_weight, or the separate weights); bias_k and
    bias_v (1, 1, E) appended to k and v as one more key; each of the num_heads heads of E / num_heads
    features attends (`scaled_dot_product_attention`), with a zero key and value appended if
    `add_zero_attn`; the heads joined and projected by out_proj. attn_mask is (L, S) or (N num_heads, L, S),
    key_padding_mask (N, S) or (S,); bool masks are True where masked out, float ones are added. Returns
    (output (L, N, E), weights (N, L, S) averaged over heads, (N, num_heads, L, S) if not
    average_attn_weights, or None if not need_weights). `is_causal` is a hint that attn_mask is causal: it
    needs attn_mask, and (without need_weights and key_padding_mask) the lower-triangular mask is used."""
    where = "multi_head_attention_forward"
    query, key, value = as_tensor(query), as_tensor(key), as_tensor(value)
    key_padding_mask = None if key_padding_mask is None else as_tensor(key_padding_mask)
    attn_mask = None if attn_mask is None else as_tensor(attn_mask)
    batched = _checked_shapes(where, query, key, value, key_padding_mask, attn_mask, num_heads)
    if not batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        key_padding_mask = None if key_padding_mask is None else key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    key_padding_mask = canonical_mask(where, key_padding_mask, "key_padding_mask", query.dtype)
    if is_causal and attn_mask is None:
        raise RuntimeError(f"{where}: is_causal=True needs attn_mask, the causal mask "
                           "(Transformer.generate_square_subsequent_mask makes one), as PyTorch's")
    causal = bool(is_causal and key_padding_mask is None and not need_weights)
    attn_mask = None if causal else canonical_mask(where, attn_mask, "attn_mask", query.dtype)
    if embed_dim != embed_dim_to_check:
        raise ValueError(f"{where}: expected an embedding dimension of {embed_dim_to_check}, got {embed_dim}")
    if not is_int(num_heads) or num_heads <= 0 or embed_dim % num_heads:
        raise ValueError(f"{where}: embed_dim {embed_dim} is not divisible by num_heads {num_heads!r}")
    head_dim = embed_dim // num_heads
    if use_separate_proj_weight and key.shape[:2] != value.shape[:2]:
        raise ValueError(f"{where}: key's sequence and batch dims {key.shape[:2]} do not match value's "
                         f"{value.shape[:2]}")
    if not use_separate_proj_weight and key.shape != value.shape:
        raise ValueError(f"{where}: key shape {key.shape} does not match value shape {value.shape}")

    if use_separate_proj_weight:
        projections = (q_proj_weight, k_proj_weight, v_proj_weight)
    else:
        projections = (None,) * 3 if in_proj_weight is None else in_proj_weight.chunk(3)
    if any(w is None for w in projections):
        raise ValueError(f"{where}: use_separate_proj_weight={use_separate_proj_weight} needs "
                         f"{'q_, k_ and v_proj_weight' if use_separate_proj_weight else 'in_proj_weight'}")
    biases = (None,) * 3 if in_proj_bias is None else in_proj_bias.chunk(3)
    q, k, v = (linear(x, w, b) for x, w, b in zip((query, key, value), projections, biases))

    src_len = key.shape[0]
    if attn_mask is not None:
        if attn_mask.ndim == 2 and attn_mask.shape != (tgt_len, src_len):
            raise RuntimeError(f"{where}: the shape of the 2D attn_mask is {attn_mask.shape}, but should be "
                               f"{(tgt_len, src_len)}")
        if attn_mask.ndim == 3 and attn_mask.shape != (bsz * num_heads, tgt_len, src_len):
            raise RuntimeError(f"{where}: the shape of the 3D attn_mask is {attn_mask.shape}, but should be "
                               f"{(bsz * num_heads, tgt_len, src_len)}")
        attn_mask = attn_mask.reshape(1, 1, tgt_len, src_len) if attn_mask.ndim == 2 else attn_mask.reshape(
            bsz, num_heads, tgt_len, src_len)
    if (bias_k is None) != (bias_v is None):
        raise ValueError(f"{where}: expected bias_k and bias_v both or neither")
    if bias_k is not None:
        if static_k is not None or static_v is not None:
            raise _ShapeCheckError(f"{where}: bias cannot be added to static key. (bias_k and bias_v cannot be added "
                                  f"to static_k and static_v)")
        k = ops.concat([k, bias_k.repeat(1, bsz, 1)])
        v = ops.concat([v, bias_v.repeat(1, bsz, 1)])
        attn_mask, key_padding_mask = _one_more_key(attn_mask, key_padding_mask)

    q = q.reshape(tgt_len, bsz, num_heads, head_dim).permute(1, 2, 0, 3)
    k, v = (_heads(where, name, x, static, bsz, num_heads, head_dim)
            for name, x, static in (("static_k", k, static_k), ("static_v", v, static_v)))
    if add_zero_attn:
        zeros = owned(np.zeros((bsz, num_heads, 1, head_dim), dtype=k.dtype))
        k, v = ops.concat([k, zeros], 2), ops.concat([v, zeros], 2)
        attn_mask, key_padding_mask = _one_more_key(attn_mask, key_padding_mask)
    src_len = k.shape[2]
    if key_padding_mask is not None:
        if key_padding_mask.shape != (bsz, src_len):
            raise ValueError(f"{where}: expected key_padding_mask of shape {(bsz, src_len)}, got "
                             f"{key_padding_mask.shape}")
        padding = key_padding_mask.reshape(bsz, 1, 1, src_len)
        attn_mask = padding if attn_mask is None else attn_mask + padding
    if causal:
        attn_mask = owned(np.tril(np.ones((tgt_len, src_len), dtype=bool)))
    output, weights = _attended(where, q, k, v, attn_mask, dropout_p if training else 0.0, None)
    output = linear(output.permute(2, 0, 1, 3).reshape(tgt_len, bsz, embed_dim), out_proj_weight, out_proj_bias)
    if not need_weights:
        return (output if batched else output.squeeze(1)), None
    if average_attn_weights:
        weights = weights.mean(1)
    return (output, weights) if batched else (output.squeeze(1), weights.squeeze(0))


class _ShapeCheckError(ValueError, AssertionError):
    """The error of PyTorch's `assert`s in multi_head_attention_forward (_mha_shape_check, and bias_k with
    static_k): an AssertionError there, so `except AssertionError` and `assertRaises(AssertionError)` catch it;
    a ValueError too, as the library's other shape errors."""


def _checked_shapes(where: str, query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Tensor | None,
                    attn_mask: Tensor | None, num_heads: int) -> bool:
    """PyTorch's _mha_shape_check: whether the input is batched (query 3-d) or not (2-d), once key, value
    and the masks have the number of axes that goes with it; else an error naming `where`."""
    if query.ndim not in (2, 3):
        raise _ShapeCheckError(f"{where}: query should be unbatched 2D or batched 3D tensor but received "
                               f"{query.ndim}-D query tensor")
    batched = query.ndim == 3
    kind = "batched (3-D)" if batched else "unbatched (2-D)"
    if key.ndim != query.ndim or value.ndim != query.ndim:
        raise _ShapeCheckError(f"{where}: for {kind} query, expected `key` and `value` to be {query.ndim}-D but "
                               f"found {key.ndim}-D and {value.ndim}-D tensors respectively")
    if key_padding_mask is not None and key_padding_mask.ndim != query.ndim - 1:
        raise _ShapeCheckError(f"{where}: for {kind} query, expected `key_padding_mask` to be `None` or "
                               f"{query.ndim - 1}-D but found {key_padding_mask.ndim}-D tensor instead")
    if attn_mask is not None and attn_mask.ndim not in (2, 3):
        raise _ShapeCheckError(f"{where}: for {kind} query, expected `attn_mask` to be `None`, 2-D or 3-D but "
                               f"found {attn_mask.ndim}-D tensor instead")
    if not batched and attn_mask is not None and attn_mask.ndim == 3:
        expected = (num_heads, query.shape[0], key.shape[0])
        if attn_mask.shape != expected:
            raise _ShapeCheckError(f"{where}: Expected `attn_mask` shape to be {expected} but got "
                                   f"{attn_mask.shape}")
    return batched


def _one_more_key(attn_mask: Tensor | None, key_padding_mask: Tensor | None) -> tuple:
    """Both masks with a 0 (nothing masked) for one more key, appended last: bias_k's or the zero key."""
    return tuple(None if mask is None else pad(mask, (0, 1)) for mask in (attn_mask, key_padding_mask))


def _heads(where: str, name: str, x: Tensor, static: Tensor | None, bsz: int, num_heads: int,
           head_dim: int) -> Tensor:
    """x (S, N, E) as (N, num_heads, S, head_dim); or `static` (N num_heads, S, head_dim) in its place."""
    if static is None:
        return x.reshape(x.shape[0], bsz, num_heads, head_dim).permute(1, 2, 0, 3)
    static = as_tensor(static)
    if static.ndim != 3 or static.shape[0] != bsz * num_heads or static.shape[2] != head_dim:
        raise ValueError(f"{where}: expected {name} of shape ({bsz * num_heads}, S, {head_dim}), got {static.shape}")
    return static.reshape(bsz, num_heads, static.shape[1], head_dim)
