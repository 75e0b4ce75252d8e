"""The transformer of "Attention Is All You Need", as PyTorch's (torch/nn/modules/transformer.py):
`TransformerEncoderLayer` (self-attention, then a feed-forward block), `TransformerDecoderLayer` (self-attention,
attention over the encoder's output, then a feed-forward block), `TransformerEncoder` and `TransformerDecoder`
(stacks of copies of a layer, and an optional norm), and `Transformer` (an encoder and a decoder).
Submodule names are PyTorch's, so state dicts move both ways. PyTorch's fast path (nested tensors, fused
kernels in evaluation) is left out: it computes the same values."""

from __future__ import annotations

import copy
from typing import Any, Callable

import numpy as np

from ..checks import flag, is_int, non_negative_number, positive_int
from ..functional import gelu, relu
from ..functional.attention import canonical_mask
from ..spellings import check_device
from ..tensor import Tensor, as_tensor, get_default_dtype, owned
from . import init
from .attention import MultiheadAttention
from .containers import ModuleList
from .dropout import Dropout
from .linear import Linear
from .module import Module
from .normalization import LayerNorm


def _activation(where: str, activation: Any) -> Callable:
    """"relu" or "gelu" as F.relu or F.gelu, a callable as it is, as PyTorch's _get_activation_fn."""
    if isinstance(activation, str):
        if activation not in ("relu", "gelu"):
            raise RuntimeError(f"{where}: activation should be relu/gelu, not {activation}")
        return relu if activation == "relu" else gelu
    if not callable(activation):
        raise TypeError(f"{where}: activation should be 'relu', 'gelu' or a callable, got {activation!r}")
    return activation


class _Layer(Module):
    """What both layers share: the feed-forward block linear2(dropout(activation(linear1(x)))) of width
    dim_feedforward, the norms norm1, norm2, ... and the dropouts dropout1, dropout2, ... after each block."""

    def _feed_forward(self, d_model: int, dim_feedforward: int, dropout: float, activation: Any,
                      layer_norm_eps: float, norm_first: bool, bias: bool, device: Any, dtype: Any,
                      blocks: int) -> None:
        where = type(self).__name__
        check_device(where, device)
        dim_feedforward = positive_int(dim_feedforward, "dim_feedforward", where)
        eps = non_negative_number(layer_norm_eps, "layer_norm_eps", where)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm_first = flag(norm_first, "norm_first", where)
        for n in range(1, blocks + 1):
            setattr(self, f"norm{n}", LayerNorm(d_model, eps=eps, bias=bias, dtype=dtype))
        for n in range(1, blocks + 1):
            setattr(self, f"dropout{n}", Dropout(dropout))
        self.activation = _activation(where, activation)

    def _ff_value(self, x: Tensor) -> Tensor:
        return self.linear2(self.dropout(self.activation(self.linear1(x))))


class TransformerEncoderLayer(_Layer):
    """x + self_attn(x) then x + feed_forward(x), each followed by a LayerNorm (norm1, norm2), or each
    preceded by it with norm_first, as PyTorch's; dropout after the attention (dropout1), inside the
    feed-forward block (dropout) and after it (dropout2). src is (S, N, E) ((N, S, E) with batch_first,
    (S, E) unbatched); src_mask and src_key_padding_mask as MultiheadAttention's attn_mask and
    key_padding_mask (bool: True = masked out)."""

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: str | Callable = relu, layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first,
                                            dtype=dtype)
        self._feed_forward(d_model, dim_feedforward, dropout, activation, layer_norm_eps, norm_first, bias, device,
                           dtype, blocks=2)

    def forward(self, src: Any, src_mask: Any = None, src_key_padding_mask: Any = None,
                is_causal: bool = False) -> Tensor:
        x = as_tensor(src)
        src_key_padding_mask = canonical_mask(type(self).__name__, src_key_padding_mask, "src_key_padding_mask",
                                              x.dtype)
        src_mask = canonical_mask(type(self).__name__, src_mask, "src_mask", x.dtype)
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._ff_block(self.norm2(x))
        x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._ff_block(x))

    def _sa_block(self, x: Tensor, attn_mask: Any, key_padding_mask: Any, is_causal: bool) -> Tensor:
        return self.dropout1(self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                                            need_weights=False, is_causal=is_causal)[0])

    def _ff_block(self, x: Tensor) -> Tensor:
        return self.dropout2(self._ff_value(x))


class TransformerDecoderLayer(_Layer):
    """x + self_attn(x), then x + multihead_attn(x, memory), then x + feed_forward(x), each followed by a
    LayerNorm (norm1, norm2, norm3), or each preceded by it with norm_first, as PyTorch's; dropout1,
    dropout2 and dropout3 after each block. tgt is (T, N, E), memory (S, N, E) ((N, T, E) and (N, S, E)
    with batch_first); the masks as MultiheadAttention's."""

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: str | Callable = relu, layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, batch_first=batch_first, bias=bias,
                                            dtype=dtype)
        self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout, batch_first=batch_first,
                                                 bias=bias, dtype=dtype)
        self._feed_forward(d_model, dim_feedforward, dropout, activation, layer_norm_eps, norm_first, bias, device,
                           dtype, blocks=3)

    def forward(self, tgt: Any, memory: Any, tgt_mask: Any = None, memory_mask: Any = None,
                tgt_key_padding_mask: Any = None, memory_key_padding_mask: Any = None, tgt_is_causal: bool = False,
                memory_is_causal: bool = False) -> Tensor:
        x = as_tensor(tgt)
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(self.norm2(x), memory, memory_mask, memory_key_padding_mask, memory_is_causal)
            return x + self._ff_block(self.norm3(x))
        x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
        x = self.norm2(x + self._mha_block(x, memory, memory_mask, memory_key_padding_mask, memory_is_causal))
        return self.norm3(x + self._ff_block(x))

    def _sa_block(self, x: Tensor, attn_mask: Any, key_padding_mask: Any, is_causal: bool) -> Tensor:
        return self.dropout1(self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                                            is_causal=is_causal, need_weights=False)[0])

    def _mha_block(self, x: Tensor, memory: Any, attn_mask: Any, key_padding_mask: Any, is_causal: bool) -> Tensor:
        return self.dropout2(self.multihead_attn(x, memory, memory, attn_mask=attn_mask,
                                                 key_padding_mask=key_padding_mask, is_causal=is_causal,
                                                 need_weights=False)[0])

    def _ff_block(self, x: Tensor) -> Tensor:
        return self.dropout3(self._ff_value(x))


def _clones(where: str, layer: Any, num_layers: Any) -> ModuleList:
    """num_layers deep copies of `layer` (each with parameters of its own), as PyTorch's _get_clones."""
    if not isinstance(layer, Module):
        raise TypeError(f"{where}: expected a layer Module to copy, got {type(layer).__name__}")
    if not is_int(num_layers) or num_layers < 0:
        raise ValueError(f"{where}: num_layers must be an integer >= 0, got {num_layers!r}")
    return ModuleList([copy.deepcopy(layer) for _ in range(num_layers)])


def _sequence_length(x: Tensor, batch_first: bool) -> int:
    """S of src (S, E), (S, N, E) or, with batch_first, (N, S, E): PyTorch's _get_seq_len."""
    return x.shape[0] if x.ndim == 2 or not batch_first else x.shape[1]


def _is_causal_mask(mask: Tensor | None, is_causal: bool | None, size: int) -> bool:
    """is_causal if given; else whether `mask` is the causal (size, size) float mask, as PyTorch's
    _detect_is_causal_mask (the layers then pass is_causal=True on: the same values)."""
    if is_causal is not None or mask is None:
        return bool(is_causal)
    causal = np.triu(np.full((size, size), -np.inf), 1).astype(mask.dtype)
    return mask.shape == causal.shape and bool(np.array_equal(mask._data, causal))


class TransformerEncoder(Module):
    """`num_layers` copies of `encoder_layer` (layers.0, layers.1, ..., each with its own parameters:
    copy.deepcopy, as PyTorch's), applied in turn, then `norm` if given. enable_nested_tensor and mask_check
    are kept for PyTorch's signature: there is no nested-tensor fast path here."""

    def __init__(self, encoder_layer: Module, num_layers: int, norm: Module | None = None,
                 enable_nested_tensor: bool = True, mask_check: bool = True) -> None:
        super().__init__()
        self.layers = _clones("TransformerEncoder", encoder_layer, num_layers)
        self.num_layers, self.norm = num_layers, norm
        self.enable_nested_tensor = flag(enable_nested_tensor, "enable_nested_tensor", "TransformerEncoder")
        self.use_nested_tensor = False
        self.mask_check = flag(mask_check, "mask_check", "TransformerEncoder")

    def forward(self, src: Any, mask: Any = None, src_key_padding_mask: Any = None,
                is_causal: bool | None = None) -> Tensor:
        output = as_tensor(src)
        src_key_padding_mask = canonical_mask("TransformerEncoder", src_key_padding_mask, "src_key_padding_mask",
                                              output.dtype)
        mask = canonical_mask("TransformerEncoder", mask, "mask", output.dtype)
        batch_first = bool(self.layers) and getattr(getattr(self.layers[0], "self_attn", None), "batch_first",
                                                    False)
        is_causal = _is_causal_mask(mask, is_causal, _sequence_length(output, batch_first))
        for layer in self.layers:
            output = layer(output, src_mask=mask, is_causal=is_causal, src_key_padding_mask=src_key_padding_mask)
        return output if self.norm is None else self.norm(output)


class TransformerDecoder(Module):
    """`num_layers` copies of `decoder_layer` (layers.0, layers.1, ...: copy.deepcopy, as PyTorch's),
    applied in turn to tgt with the encoder's output `memory`, then `norm` if given."""

    def __init__(self, decoder_layer: Module, num_layers: int, norm: Module | None = None) -> None:
        super().__init__()
        self.layers = _clones("TransformerDecoder", decoder_layer, num_layers)
        self.num_layers, self.norm = num_layers, norm

    def forward(self, tgt: Any, memory: Any, tgt_mask: Any = None, memory_mask: Any = None,
                tgt_key_padding_mask: Any = None, memory_key_padding_mask: Any = None,
                tgt_is_causal: bool | None = None, memory_is_causal: bool = False) -> Tensor:
        output = as_tensor(tgt)
        batch_first = bool(self.layers) and getattr(getattr(self.layers[0], "self_attn", None), "batch_first",
                                                    False)
        tgt_mask = None if tgt_mask is None else as_tensor(tgt_mask)
        tgt_is_causal = _is_causal_mask(tgt_mask, tgt_is_causal, _sequence_length(output, batch_first))
        for layer in self.layers:
            output = layer(output, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                           tgt_key_padding_mask=tgt_key_padding_mask,
                           memory_key_padding_mask=memory_key_padding_mask, tgt_is_causal=tgt_is_causal,
                           memory_is_causal=memory_is_causal)
        return output if self.norm is None else self.norm(output)


class Transformer(Module):
    """An encoder of num_encoder_layers TransformerEncoderLayers and a decoder of num_decoder_layers
    TransformerDecoderLayers, each stack ending in a LayerNorm (encoder.norm, decoder.norm), as PyTorch's:
    out = decoder(tgt, encoder(src)). Every parameter of two or more axes is then drawn again with
    xavier_uniform_ (`_reset_parameters`). custom_encoder / custom_decoder replace either stack."""

    def __init__(self, d_model: int = 512, nhead: int = 8, num_encoder_layers: int = 6,
                 num_decoder_layers: int = 6, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: str | Callable = relu, custom_encoder: Any = None, custom_decoder: Any = None,
                 layer_norm_eps: float = 1e-5, batch_first: bool = False, norm_first: bool = False,
                 bias: bool = True, device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        check_device("Transformer", device)
        options = (dim_feedforward, dropout, activation, layer_norm_eps, batch_first, norm_first, bias)
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            layer = TransformerEncoderLayer(d_model, nhead, *options, dtype=dtype)
            self.encoder = TransformerEncoder(layer, num_encoder_layers,
                                              LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype))
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            layer = TransformerDecoderLayer(d_model, nhead, *options, dtype=dtype)
            self.decoder = TransformerDecoder(layer, num_decoder_layers,
                                              LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype))
        self._reset_parameters()
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first

    def _reset_parameters(self) -> None:
        """Every parameter of two or more axes drawn again by xavier_uniform_ (the same Parameter objects;
        the rest keep their values), as PyTorch's Transformer._reset_parameters."""
        for parameter in self.parameters():
            if parameter.ndim > 1:
                init.xavier_uniform_(parameter)

    def forward(self, src: Any, tgt: Any, src_mask: Any = None, tgt_mask: Any = None, memory_mask: Any = None,
                src_key_padding_mask: Any = None, tgt_key_padding_mask: Any = None,
                memory_key_padding_mask: Any = None, src_is_causal: bool | None = None,
                tgt_is_causal: bool | None = None, memory_is_causal: bool = False) -> Tensor:
        src, tgt = as_tensor(src), as_tensor(tgt)
        batch = 0 if self.batch_first else 1
        if src.ndim not in (2, 3) or tgt.ndim not in (2, 3):
            layout = "(N, S, E)" if self.batch_first else "(S, N, E)"
            raise RuntimeError(f"Transformer: expected src and tgt of 3 axes {layout} or 2 (S, E), unbatched, got "
                               f"src {src.shape} and tgt {tgt.shape}")
        if src.ndim == 3 and (tgt.ndim != 3 or src.shape[batch] != tgt.shape[batch]):
            raise RuntimeError(f"Transformer: the batch number of src and tgt must be equal, got src {src.shape} "
                               f"and tgt {tgt.shape}")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise RuntimeError(f"Transformer: the feature number of src and tgt must be equal to d_model = "
                               f"{self.d_model}, got src {src.shape} and tgt {tgt.shape}")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask, is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask, tgt_is_causal=tgt_is_causal,
                            memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz: int, device: Any = None, dtype: Any = None) -> Tensor:
        """The causal mask of a sequence of sz steps, as PyTorch's: a float (sz, sz) tensor, -inf above the
        diagonal (step i may not see step j > i) and 0.0 on and below it."""
        check_device("generate_square_subsequent_mask", device)
        if not is_int(sz) or sz < 0:
            raise ValueError(f"generate_square_subsequent_mask: sz must be an integer >= 0, got {sz!r}")
        dtype = np.dtype(dtype or get_default_dtype())
        return owned(np.triu(np.full((sz, sz), -np.inf, dtype=dtype), 1))
