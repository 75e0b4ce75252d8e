"""F.scaled_dot_product_attention, F.multi_head_attention_forward with nn.MultiheadAttention, and the transformer
layers (nn.TransformerEncoderLayer, TransformerEncoder, TransformerDecoderLayer, TransformerDecoder, Transformer),
as PyTorch's (torch/nn/functional.py, torch/nn/modules/activation.py, torch/nn/modules/transformer.py).

The references are written here in numpy: softmax(Q K^T * scale + mask) V from the reference implementation in
PyTorch's scaled_dot_product_attention docstring, a head-by-head transcription of multi_head_attention_forward,
and the layers' residual blocks; gradients and tangents against central differences (float64). State dict names
and shapes are written out from PyTorch's source. A small word-language-model transformer, ported from PyTorch's
examples/word_language_model by its imports, trains as a smoke test of the whole."""

import copy
import math

import numpy as np
import pytest
from test_forward_mode import directional_difference
from test_op_gradients import assert_gradients_match, central_differences

import microgradseq as mg
import microgradseq.nn as nn
import microgradseq.nn.functional as F

RNG = np.random.default_rng(26)


def np_softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def np_sdpa(q, k, v, mask=None, is_causal=False, scale=None):
    """PyTorch's docstring reference: softmax(q k^T * scale + bias) v, bias -inf where a bool mask is False (or
    above the top-left-aligned diagonal with is_causal), a float mask added."""
    L, S = q.shape[-2], k.shape[-2]
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    bias = np.zeros((L, S))
    if is_causal:
        bias = np.where(np.tril(np.ones((L, S), bool)), 0.0, -np.inf)
    if mask is not None:
        bias = np.where(mask, bias, -np.inf) if mask.dtype == bool else bias + mask
    return np_softmax(q @ np.swapaxes(k, -1, -2) * scale + bias) @ v


def randn(*shape):
    return RNG.standard_normal(shape)


# ---- F.scaled_dot_product_attention ----------------------------------------------------------------------

SDPA_CASES = {
    "no mask": ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7), None, {}),
    "bool (L, S) broadcast over batch and heads": ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7), (4, 6), {}),
    "bool (N, 1, L, S)": ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7), (2, 1, 4, 6), {}),
    "float (1, H, L, S)": ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7), "float", {}),
    "causal, L < S": ((2, 4, 5), (2, 6, 5), (2, 6, 3), None, {"is_causal": True}),
    "causal, L > S": ((6, 5), (4, 5), (4, 3), None, {"is_causal": True}),
    "scale given, batch axes broadcast": ((2, 1, 4, 5), (1, 3, 6, 5), (1, 3, 6, 2), None, {"scale": 0.3}),
}


def sdpa_case(name):
    q_shape, k_shape, v_shape, mask, options = SDPA_CASES[name]
    if mask == "float":
        mask = randn(1, q_shape[1], q_shape[-2], k_shape[-2])
    elif mask is not None:
        mask = RNG.random(mask) < 0.7
        mask[..., 0] = True                                 # (every query sees a key: no row of NaN)
    return randn(*q_shape), randn(*k_shape), randn(*v_shape), mask, options


@pytest.mark.parametrize("name", list(SDPA_CASES))
def test_sdpa_is_the_softmax_of_the_scaled_scores_plus_the_mask_times_the_values(name):
    q, k, v, mask, options = sdpa_case(name)
    out = F.scaled_dot_product_attention(mg.tensor(q), mg.tensor(k), mg.tensor(v), attn_mask=mask, **options)
    np.testing.assert_allclose(out.numpy(), np_sdpa(q, k, v, mask, **options), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", list(SDPA_CASES))
def test_sdpa_gradients_and_tangents_match_central_differences(name):
    """A composite: the chain rule through matmul, masked_fill, softmax and matmul gives both modes."""
    q, k, v, mask, options = sdpa_case(name)
    operands = [q, k, v] + ([mask] if mask is not None and mask.dtype != bool else [])

    def np_fn(q, k, v, *float_mask):
        return np_sdpa(q, k, v, float_mask[0] if float_mask else mask, **options)

    def mg_fn(q, k, v, *float_mask):
        return F.scaled_dot_product_attention(q, k, v, float_mask[0] if float_mask else mask, **options)
    assert_gradients_match(mg_fn, np_fn, *operands)
    directions = [randn(*a.shape) for a in operands]
    output, tangent = mg.jvp(mg_fn, [mg.tensor(a) for a in operands], directions)
    np.testing.assert_allclose(output.numpy(), np_fn(*operands), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(tangent, directional_difference(np_fn, operands, directions), rtol=1e-5, atol=1e-7)


def test_sdpa_with_grouped_query_attention_repeats_each_key_and_value_head():
    """enable_gqa: 6 query heads over 2 key/value heads, each used by 3 query heads in a row
    (repeat_interleave, as PyTorch's reference)."""
    q, k, v = randn(2, 6, 4, 5), randn(2, 2, 3, 5), randn(2, 2, 3, 4)
    out = F.scaled_dot_product_attention(mg.tensor(q), mg.tensor(k), mg.tensor(v), enable_gqa=True)
    expected = np_sdpa(q, np.repeat(k, 3, axis=1), np.repeat(v, 3, axis=1))
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-12)


def test_sdpa_dropout_of_every_weight_gives_zeros_and_a_fully_masked_row_gives_nan():
    q, k, v = randn(3, 4), randn(5, 4), randn(5, 2)
    assert np.all(F.scaled_dot_product_attention(mg.tensor(q), mg.tensor(k), mg.tensor(v), dropout_p=1.0).numpy()
                  == 0)
    mask = np.ones((3, 5), bool)
    mask[1] = False
    with np.errstate(invalid="ignore"):         # (numpy's -inf - -inf; PyTorch's NaN comes silently)
        out = F.scaled_dot_product_attention(mg.tensor(q), mg.tensor(k), mg.tensor(v), attn_mask=mask).numpy()
    assert np.isnan(out[1]).all() and np.isfinite(out[[0, 2]]).all()


@pytest.mark.parametrize("arguments, error, message", [
    ({"attn_mask": np.ones((3, 5), bool), "is_causal": True}, ValueError, "pass attn_mask or is_causal=True"),
    ({"attn_mask": np.ones((4, 5), bool)}, ValueError, r"attn_mask of shape \(4, 5\) does not broadcast"),
    ({"attn_mask": np.ones((3, 5), np.int64)}, TypeError, "bool or floating point, got int64"),
    ({"dropout_p": 1.5}, ValueError, "dropout_p"),
    ({"enable_gqa": True}, ValueError, "enable_gqa needs"),
])
def test_sdpa_refuses_bad_arguments_naming_itself_and_what_came(arguments, error, message):
    q, k, v = mg.tensor(randn(3, 4)), mg.tensor(randn(5, 4)), mg.tensor(randn(5, 2))
    with pytest.raises(error, match=f"scaled_dot_product_attention: .*{message}"):
        F.scaled_dot_product_attention(q, k, v, **arguments)


def test_sdpa_refuses_shapes_and_dtypes_that_do_not_fit():
    with pytest.raises(ValueError, match=r"scaled_dot_product_attention: .*got query \(3, 4\), key \(5, 3\)"):
        F.scaled_dot_product_attention(mg.tensor(randn(3, 4)), mg.tensor(randn(5, 3)), mg.tensor(randn(5, 2)))
    with pytest.raises(TypeError, match="scaled_dot_product_attention: .*got int64, float64 and float64"):
        F.scaled_dot_product_attention(mg.ones(3, 4, dtype=mg.int64), mg.tensor(randn(5, 4)), mg.tensor(randn(5, 2)))
    with pytest.raises(ValueError, match=r"scaled_dot_product_attention: the leading \(batch\) axes"):
        F.scaled_dot_product_attention(mg.tensor(randn(2, 3, 4)), mg.tensor(randn(3, 5, 4)), mg.tensor(randn(3, 5, 2)))


# ---- multi-head attention: a numpy transcription of multi_head_attention_forward, head by head ---------------

def float_mask(mask):
    """PyTorch's _canonical_mask: bool True (masked out) as -inf, False as 0; a float mask as it is."""
    return None if mask is None else np.where(mask, -np.inf, 0.0) if mask.dtype == bool else mask


def np_mha(query, key, value, p, num_heads, key_padding_mask=None, attn_mask=None, add_zero_attn=False,
           average=True, batch_first=False):
    """multi_head_attention_forward with the heads taken one at a time: project, append bias_k / bias_v and the
    zero key, then for each sample n and head h softmax(q_h k_h^T / sqrt(d) + masks) v_h; join, project."""
    unbatched = query.ndim == 2
    if unbatched:
        query, key, value = query[:, None], key[:, None], value[:, None]
        key_padding_mask = None if key_padding_mask is None else key_padding_mask[None]
    elif batch_first:
        query, key, value = (np.swapaxes(x, 0, 1) for x in (query, key, value))
    L, N, E = query.shape
    d = E // num_heads
    if "in_proj_weight" in p:
        w_q, w_k, w_v = np.split(p["in_proj_weight"], 3)
    else:
        w_q, w_k, w_v = p["q_proj_weight"], p["k_proj_weight"], p["v_proj_weight"]
    b_q, b_k, b_v = np.split(p.get("in_proj_bias", np.zeros(3 * E)), 3)
    q, k, v = query @ w_q.T + b_q, key @ w_k.T + b_k, value @ w_v.T + b_v
    attn_mask, key_padding_mask = float_mask(attn_mask), float_mask(key_padding_mask)
    extra = [np.tile(p["bias_k"], (1, N, 1))] if "bias_k" in p else []
    extra_v = [np.tile(p["bias_v"], (1, N, 1))] if "bias_v" in p else []
    if add_zero_attn:
        extra, extra_v = extra + [np.zeros((1, N, E))], extra_v + [np.zeros((1, N, E))]
    k, v = np.concatenate([k] + extra), np.concatenate([v] + extra_v)
    S = k.shape[0]
    out, weights = np.zeros((L, N, E)), np.zeros((N, num_heads, L, S))
    for n in range(N):
        for h in range(num_heads):
            heads = slice(h * d, (h + 1) * d)
            scores = q[:, n, heads] @ k[:, n, heads].T / math.sqrt(d)
            if attn_mask is not None:
                given = attn_mask if attn_mask.ndim == 2 else attn_mask[n * num_heads + h]
                scores[:, :given.shape[-1]] += given            # (0 for bias_k's and the zero key's columns)
            if key_padding_mask is not None:
                scores[:, :key_padding_mask.shape[-1]] += key_padding_mask[n]
            weights[n, h] = np_softmax(scores)
            out[:, n, heads] = weights[n, h] @ v[:, n, heads]
    out = out @ p["out_proj.weight"].T + p.get("out_proj.bias", 0.0)
    weights = weights.mean(axis=1) if average else weights
    if unbatched:
        return out[:, 0], weights[0]
    return (np.swapaxes(out, 0, 1) if batch_first else out), weights


def arrays_of(module):
    return {name: np.array(value) for name, value in module.state_dict().items()}


def randomised(module):
    """The module with every parameter drawn again from N(0, 0.5) (PyTorch's init leaves biases 0)."""
    for parameter in module.parameters():
        parameter.data = (RNG.standard_normal(parameter.shape) * 0.5).astype(parameter.dtype)
    return module


MHA_CASES = {
    "plain": ({}, {}),
    "bool key_padding_mask": ({}, {"key_padding_mask": "bool"}),
    "float key_padding_mask and 2-d bool attn_mask": ({}, {"key_padding_mask": "float", "attn_mask": "bool"}),
    "3-d float attn_mask, weights per head": ({}, {"attn_mask": "float3", "average_attn_weights": False}),
    "add_bias_kv with masks": ({"add_bias_kv": True}, {"key_padding_mask": "bool", "attn_mask": "bool"}),
    "add_zero_attn with masks": ({"add_zero_attn": True}, {"key_padding_mask": "bool", "attn_mask": "float"}),
    "kdim and vdim": ({"kdim": 3, "vdim": 5}, {}),
    "no bias, batch_first": ({"bias": False, "batch_first": True}, {"key_padding_mask": "bool"}),
    "unbatched": ({}, {"unbatched": True, "key_padding_mask": "bool", "attn_mask": "float3"}),
}
E, H, L, S, N = 4, 2, 3, 5, 2


def mha_case(name):
    options, inputs = MHA_CASES[name]
    module = randomised(nn.MultiheadAttention(E, H, dtype=np.float64, **options))
    unbatched, batch_first = inputs.get("unbatched"), options.get("batch_first")
    batch = () if unbatched else (N,)

    def shaped(length, width):
        return randn(*((length,) if unbatched else (N, length) if batch_first else (length, N)), width)
    query, key, value = shaped(L, E), shaped(S, options.get("kdim", E)), shaped(S, options.get("vdim", E))
    kwargs = {}
    if inputs.get("key_padding_mask"):
        padding = np.zeros(batch + (S,), bool)
        padding[..., -2:] = True
        kwargs["key_padding_mask"] = padding if inputs["key_padding_mask"] == "bool" else float_mask(padding)
    if inputs.get("attn_mask") == "bool":
        kwargs["attn_mask"] = np.triu(np.ones((L, S), bool), 1)
    elif inputs.get("attn_mask") == "float":
        kwargs["attn_mask"] = randn(L, S)
    elif inputs.get("attn_mask") == "float3":
        kwargs["attn_mask"] = randn(H * (1 if unbatched else N), L, S)
    average = inputs.get("average_attn_weights", True)
    if not average:
        kwargs["average_attn_weights"] = False
    return module, (query, key, value), kwargs, options


@pytest.mark.parametrize("name", list(MHA_CASES))
def test_multihead_attention_matches_a_numpy_transcription_of_pytorchs_forward(name):
    module, inputs, kwargs, options = mha_case(name)
    out, weights = module(*map(mg.tensor, inputs), **kwargs)
    expected_out, expected_weights = np_mha(
        *inputs, arrays_of(module), H, kwargs.get("key_padding_mask"), kwargs.get("attn_mask"),
        options.get("add_zero_attn", False), kwargs.get("average_attn_weights", True), options.get("batch_first"))
    np.testing.assert_allclose(out.numpy(), expected_out, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(weights.numpy(), expected_weights, rtol=1e-12, atol=1e-12)
    out, none = module(*map(mg.tensor, inputs), need_weights=False, **kwargs)
    assert none is None
    np.testing.assert_allclose(out.numpy(), expected_out, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["add_bias_kv with masks", "kdim and vdim", "no bias, batch_first"])
def test_multihead_attention_gradients_match_central_differences(name):
    """The gradient of sum(R * output) with respect to the query and every parameter."""
    module, (query, key, value), kwargs, options = mha_case(name)
    arrays = arrays_of(module)
    weights = randn(*query.shape[:-1], E)

    def loss(q, **replaced):
        out = np_mha(q, key, value, {**arrays, **replaced}, H, kwargs.get("key_padding_mask"),
                     kwargs.get("attn_mask"), batch_first=options.get("batch_first"))[0]
        return float(np.sum(out * weights))
    q = mg.tensor(query, requires_grad=True)
    (module(q, mg.tensor(key), mg.tensor(value), **kwargs)[0] * mg.tensor(weights)).sum().backward()
    np.testing.assert_allclose(q.grad, central_differences(loss, query), rtol=1e-6, atol=1e-8)
    for parameter_name, parameter in module.named_parameters():
        numeric = central_differences(lambda a, n=parameter_name: loss(query, **{n: a}), arrays[parameter_name])
        np.testing.assert_allclose(parameter.grad, numeric, rtol=1e-6, atol=1e-8, err_msg=parameter_name)


def test_multihead_attention_is_causal_hint_uses_the_causal_mask():
    """is_causal=True (with the causal attn_mask it stands for, as PyTorch asks) gives the causal values,
    with and without need_weights; without attn_mask it is refused, as PyTorch's."""
    module = randomised(nn.MultiheadAttention(E, H, dtype=np.float64))
    x = randn(L, N, E)
    causal = nn.Transformer.generate_square_subsequent_mask(L, dtype=np.float64)
    expected = np_mha(x, x, x, arrays_of(module), H, attn_mask=causal.numpy())[0]
    for need_weights in (True, False):
        out = module(mg.tensor(x), mg.tensor(x), mg.tensor(x), attn_mask=causal, is_causal=True,
                     need_weights=need_weights)[0]
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-12)
    with pytest.raises(RuntimeError, match="multi_head_attention_forward: is_causal=True needs attn_mask"):
        module(mg.tensor(x), mg.tensor(x), mg.tensor(x), is_causal=True)


def test_multihead_attention_parameters_are_named_shaped_and_initialised_as_pytorchs():
    """Names and shapes from torch/nn/modules/activation.py, in PyTorch's state dict order: the packed
    in_proj_weight, or q/k/v_proj_weight when kdim or vdim differ; in_proj_bias and out_proj.bias start at 0;
    in_proj_weight within xavier_uniform_'s bound sqrt(6 / (E + 3E))."""
    plain = nn.MultiheadAttention(8, 2)
    assert [(k, tuple(v.shape)) for k, v in plain.state_dict().items()] == [
        ("in_proj_weight", (24, 8)), ("in_proj_bias", (24,)), ("out_proj.weight", (8, 8)), ("out_proj.bias", (8,))]
    separate = nn.MultiheadAttention(8, 2, add_bias_kv=True, kdim=3, vdim=5)
    assert [(k, tuple(v.shape)) for k, v in separate.state_dict().items()] == [
        ("q_proj_weight", (8, 8)), ("k_proj_weight", (8, 3)), ("v_proj_weight", (8, 5)), ("in_proj_bias", (24,)),
        ("bias_k", (1, 1, 8)), ("bias_v", (1, 1, 8)), ("out_proj.weight", (8, 8)), ("out_proj.bias", (8,))]
    assert list(nn.MultiheadAttention(8, 2, bias=False).state_dict()) == ["in_proj_weight", "out_proj.weight"]
    assert separate.in_proj_weight is None and plain.q_proj_weight is None and plain.bias_k is None
    assert np.all(plain.in_proj_bias.numpy() == 0) and np.all(plain.out_proj.bias.numpy() == 0)
    assert np.abs(plain.in_proj_weight.numpy()).max() <= math.sqrt(6 / 32)
    assert plain.in_proj_weight.dtype == np.float32 and plain.head_dim == 4 and plain._qkv_same_embed_dim
    assert nn.MultiheadAttention(4, 2, dtype=np.float64).in_proj_weight.dtype == np.float64


def test_multihead_attention_refuses_bad_arguments_naming_itself_and_what_came():
    with pytest.raises(ValueError, match="MultiheadAttention: embed_dim must be divisible by num_heads, got "
                                         "embed_dim=6 and num_heads=4"):
        nn.MultiheadAttention(6, 4)
    with pytest.raises(ValueError, match="MultiheadAttention: num_heads must be an integer > 0, got 0"):
        nn.MultiheadAttention(6, 0)
    module = nn.MultiheadAttention(E, H, dtype=np.float64)
    x = mg.tensor(randn(L, N, E))
    state = arrays_of(module)
    with pytest.raises(RuntimeError, match=r"multi_head_attention_forward: the shape of the 2D attn_mask is "
                                           r"\(3, 4\), but should be \(3, 3\)"):
        module(x, x, x, attn_mask=np.zeros((3, 4)))
    with pytest.raises(RuntimeError, match=r"the shape of the 3D attn_mask is \(2, 3, 3\), but should be "
                                           r"\(4, 3, 3\)"):
        module(x, x, x, attn_mask=np.zeros((2, 3, 3)))
    with pytest.raises(ValueError, match=r"multi_head_attention_forward: expected key_padding_mask of shape "
                                         r"\(2, 3\), got \(2, 4\)"):
        module(x, x, x, key_padding_mask=np.zeros((2, 4), bool))
    with pytest.raises(TypeError, match="MultiheadAttention: only bool and floating types of attn_mask are "
                                        "supported, got int64"):
        module(x, x, x, attn_mask=np.zeros((3, 3), np.int64))
    with pytest.raises(ValueError, match="multi_head_attention_forward: query should be unbatched 2D or batched "
                                         "3D tensor but received 4-D"):
        module(x[None], x[None], x[None])
    assert all(np.array_equal(value, state[name]) for name, value in module.state_dict().items())


# ---- the transformer layers ------------------------------------------------------------------------------------

def np_layer_norm(x, weight, bias, eps=1e-5):
    centred = x - x.mean(axis=-1, keepdims=True)
    return centred / np.sqrt((centred ** 2).mean(axis=-1, keepdims=True) + eps) * weight + bias


def sub(arrays, prefix):
    return {name[len(prefix):]: value for name, value in arrays.items() if name.startswith(prefix)}


def np_feed_forward(x, p, activation):
    return activation(x @ p["linear1.weight"].T + p["linear1.bias"]) @ p["linear2.weight"].T + p["linear2.bias"]


def np_encoder_layer(x, p, heads, norm_first, activation, mask=None, padding=None):
    """PyTorch's TransformerEncoderLayer.forward: x + sa(x), x + ff(x), each normed after (or before the
    block with norm_first)."""
    def norm(y, n):
        return np_layer_norm(y, p[f"norm{n}.weight"], p[f"norm{n}.bias"])

    def sa(y):
        return np_mha(y, y, y, sub(p, "self_attn."), heads, padding, mask)[0]
    if norm_first:
        x = x + sa(norm(x, 1))
        return x + np_feed_forward(norm(x, 2), p, activation)
    x = norm(x + sa(x), 1)
    return norm(x + np_feed_forward(x, p, activation), 2)


def np_relu(x):
    return np.maximum(x, 0)


def np_gelu(x):
    from math import erf
    return x * 0.5 * (1 + np.vectorize(erf)(x / math.sqrt(2)))


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation, np_activation", [("relu", np_relu), ("gelu", np_gelu),
                                                       (mg.tanh, np.tanh)])
def test_encoder_layer_matches_numpy_with_and_without_norm_first(norm_first, activation, np_activation):
    layer = randomised(nn.TransformerEncoderLayer(E, H, 6, dropout=0.0, activation=activation, norm_first=norm_first,
                                                  dtype=np.float64))
    x = randn(L, N, E)
    mask = nn.Transformer.generate_square_subsequent_mask(L, dtype=np.float64).numpy()
    padding = np.array([[False, False, True], [False, False, False]])
    out = layer(mg.tensor(x), src_mask=mask, src_key_padding_mask=padding)
    expected = np_encoder_layer(x, arrays_of(layer), H, norm_first, np_activation, mask, padding)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_matches_numpy(norm_first):
    """PyTorch's TransformerDecoderLayer.forward: x + self_attn(x), x + multihead_attn(x, memory), x + ff(x),
    each normed after (norm1, norm2, norm3), or its input normed first with norm_first."""
    layer = randomised(nn.TransformerDecoderLayer(E, H, 6, dropout=0.0, norm_first=norm_first, dtype=np.float64))
    p, tgt, memory = arrays_of(layer), randn(L, N, E), randn(S, N, E)
    tgt_mask = nn.Transformer.generate_square_subsequent_mask(L, dtype=np.float64).numpy()
    memory_padding = np.zeros((N, S), bool)
    memory_padding[1, -1] = True
    out = layer(mg.tensor(tgt), mg.tensor(memory), tgt_mask=tgt_mask, memory_key_padding_mask=memory_padding)

    def norm(y, n):
        return np_layer_norm(y, p[f"norm{n}.weight"], p[f"norm{n}.bias"])
    def self_attention(y):
        return np_mha(y, y, y, sub(p, "self_attn."), H, attn_mask=tgt_mask)[0]

    def cross_attention(y):
        return np_mha(y, memory, memory, sub(p, "multihead_attn."), H, memory_padding)[0]
    if norm_first:
        x = tgt + self_attention(norm(tgt, 1))
        x = x + cross_attention(norm(x, 2))
        expected = x + np_feed_forward(norm(x, 3), p, np_relu)
    else:
        x = norm(tgt + self_attention(tgt), 1)
        x = norm(x + cross_attention(x), 2)
        expected = norm(x + np_feed_forward(x, p, np_relu), 3)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-11, atol=1e-12)


def test_layers_take_unbatched_input_as_a_batch_of_one():
    encoder_layer = randomised(nn.TransformerEncoderLayer(E, H, 6, dropout=0.0, dtype=np.float64))
    decoder_layer = randomised(nn.TransformerDecoderLayer(E, H, 6, dropout=0.0, dtype=np.float64))
    x, memory, padding = randn(L, E), randn(S, E), np.array([False, False, True])
    alone = encoder_layer(mg.tensor(x), src_key_padding_mask=padding).numpy()
    batched = encoder_layer(mg.tensor(x[:, None]), src_key_padding_mask=padding[None]).numpy()
    np.testing.assert_allclose(alone, batched[:, 0], rtol=1e-12, atol=1e-12)
    alone = decoder_layer(mg.tensor(x), mg.tensor(memory)).numpy()
    batched = decoder_layer(mg.tensor(x[:, None]), mg.tensor(memory[:, None])).numpy()
    np.testing.assert_allclose(alone, batched[:, 0], rtol=1e-12, atol=1e-12)


def test_multihead_attention_dropout_zeroes_weights_and_scales_the_rest_in_training_only():
    """dropout=0.5 while training: each returned weight is 0 or twice the weight in eval mode (PyTorch returns
    the weights after dropout); in eval mode the numpy values."""
    module = randomised(nn.MultiheadAttention(E, H, dropout=0.5, dtype=np.float64))
    x = randn(L, N, E)
    module.eval()
    out, weights = module(mg.tensor(x), mg.tensor(x), mg.tensor(x), average_attn_weights=False)
    expected_out, expected_weights = np_mha(x, x, x, arrays_of(module), H, average=False)
    np.testing.assert_allclose(out.numpy(), expected_out, rtol=1e-12, atol=1e-12)
    module.train()
    dropped = module(mg.tensor(x), mg.tensor(x), mg.tensor(x), average_attn_weights=False)[1].numpy()
    kept = dropped != 0
    assert kept.any() and not kept.all()
    np.testing.assert_allclose(dropped[kept], 2 * expected_weights[kept], rtol=1e-12)


def test_encoder_is_deep_copies_of_the_layer_then_the_norm():
    """TransformerEncoder(layer, 2, norm): layers.0 and layers.1 start as copies of layer (equal values, their
    own parameters), run in turn, then the norm; the causal mask found (is_causal=None) gives the same values
    as the mask itself."""
    layer = randomised(nn.TransformerEncoderLayer(E, H, 6, dropout=0.0, batch_first=True, dtype=np.float64))
    encoder = nn.TransformerEncoder(layer, 2, nn.LayerNorm(E, dtype=np.float64))
    first, second = encoder.layers
    assert first is not layer and first.linear1.weight is not second.linear1.weight
    assert np.array_equal(first.linear1.weight.numpy(), layer.linear1.weight.numpy())
    randomised(encoder)
    p, x = arrays_of(encoder), randn(N, L, E)
    mask = nn.Transformer.generate_square_subsequent_mask(L, dtype=np.float64)
    expected = np.swapaxes(x, 0, 1)                 # (batch_first: the layers' (N, L, E) is numpy's (L, N, E))
    for n in range(2):
        expected = np_encoder_layer(expected, sub(p, f"layers.{n}."), H, False, np_relu, mask.numpy())
    expected = np.swapaxes(np_layer_norm(expected, p["norm.weight"], p["norm.bias"]), 0, 1)
    for is_causal in (None, False, True):
        out = encoder(mg.tensor(x), mask=mask, is_causal=is_causal)
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-11, atol=1e-12)
    assert encoder.num_layers == 2 and encoder.enable_nested_tensor and encoder.mask_check


def test_generate_square_subsequent_mask_is_minus_infinity_above_the_diagonal():
    mask = nn.Transformer.generate_square_subsequent_mask(4)
    expected = [[0.0 if j <= i else -math.inf for j in range(4)] for i in range(4)]
    assert mask.dtype == np.float32 and mask.tolist() == expected
    assert nn.Transformer(8, 2, 1, 1, 16).generate_square_subsequent_mask(2, dtype=np.float64).dtype == np.float64
    assert nn.Transformer.generate_square_subsequent_mask(0).shape == (0, 0)


TRANSFORMER_KEYS = [     # PyTorch's nn.Transformer(8, 2, 1, 1, 16).state_dict(), from torch/nn/modules/transformer.py
    ("encoder.layers.0.self_attn.in_proj_weight", (24, 8)), ("encoder.layers.0.self_attn.in_proj_bias", (24,)),
    ("encoder.layers.0.self_attn.out_proj.weight", (8, 8)), ("encoder.layers.0.self_attn.out_proj.bias", (8,)),
    ("encoder.layers.0.linear1.weight", (16, 8)), ("encoder.layers.0.linear1.bias", (16,)),
    ("encoder.layers.0.linear2.weight", (8, 16)), ("encoder.layers.0.linear2.bias", (8,)),
    ("encoder.layers.0.norm1.weight", (8,)), ("encoder.layers.0.norm1.bias", (8,)),
    ("encoder.layers.0.norm2.weight", (8,)), ("encoder.layers.0.norm2.bias", (8,)),
    ("encoder.norm.weight", (8,)), ("encoder.norm.bias", (8,)),
    ("decoder.layers.0.self_attn.in_proj_weight", (24, 8)), ("decoder.layers.0.self_attn.in_proj_bias", (24,)),
    ("decoder.layers.0.self_attn.out_proj.weight", (8, 8)), ("decoder.layers.0.self_attn.out_proj.bias", (8,)),
    ("decoder.layers.0.multihead_attn.in_proj_weight", (24, 8)),
    ("decoder.layers.0.multihead_attn.in_proj_bias", (24,)),
    ("decoder.layers.0.multihead_attn.out_proj.weight", (8, 8)),
    ("decoder.layers.0.multihead_attn.out_proj.bias", (8,)),
    ("decoder.layers.0.linear1.weight", (16, 8)), ("decoder.layers.0.linear1.bias", (16,)),
    ("decoder.layers.0.linear2.weight", (8, 16)), ("decoder.layers.0.linear2.bias", (8,)),
    ("decoder.layers.0.norm1.weight", (8,)), ("decoder.layers.0.norm1.bias", (8,)),
    ("decoder.layers.0.norm2.weight", (8,)), ("decoder.layers.0.norm2.bias", (8,)),
    ("decoder.layers.0.norm3.weight", (8,)), ("decoder.layers.0.norm3.bias", (8,)),
    ("decoder.norm.weight", (8,)), ("decoder.norm.bias", (8,)),
]


def test_transformer_state_dict_has_pytorchs_names_and_loads_both_ways():
    model = nn.Transformer(8, 2, 1, 1, 16)
    assert [(name, tuple(value.shape)) for name, value in model.state_dict().items()] == TRANSFORMER_KEYS
    saved = {name: RNG.standard_normal(shape).astype(np.float32) for name, shape in TRANSFORMER_KEYS}
    model.load_state_dict(saved)
    other = nn.Transformer(8, 2, 1, 1, 16)
    other.load_state_dict(model.state_dict())
    assert all(np.array_equal(value, saved[name]) for name, value in other.state_dict().items())
    assert [name for name, _ in nn.Transformer(8, 2, 1, 1, 16, bias=False).named_parameters()] == [
        name for name, _ in TRANSFORMER_KEYS if not name.endswith("bias")]


def test_transformer_is_the_decoder_over_the_encoders_output_and_checks_its_inputs():
    model = nn.Transformer(E, H, 2, 2, 6, dropout=0.0, batch_first=True, dtype=np.float64)
    src, tgt = mg.tensor(randn(N, S, E)), mg.tensor(randn(N, L, E))
    mask = model.generate_square_subsequent_mask(L, dtype=np.float64)
    out = model(src, tgt, tgt_mask=mask)
    expected = model.decoder(tgt, model.encoder(src), tgt_mask=mask)
    assert out.shape == (N, L, E) and np.array_equal(out.numpy(), expected.numpy())
    for parameter in model.parameters():        # (xavier_uniform_ on every matrix, as PyTorch's _reset_parameters)
        if parameter.ndim > 1:
            assert np.abs(parameter.numpy()).max() <= math.sqrt(6 / sum(parameter.shape))
    with pytest.raises(RuntimeError, match=r"Transformer: the batch number of src and tgt must be equal, got src "
                                           r"\(2, 5, 4\) and tgt \(3, 3, 4\)"):
        model(src, mg.tensor(randn(3, L, E)))
    with pytest.raises(RuntimeError, match="Transformer: the feature number of src and tgt must be equal to "
                                           "d_model = 4"):
        model(src, mg.tensor(randn(N, L, 3)))
    with pytest.raises(RuntimeError, match="TransformerEncoderLayer: activation should be relu/gelu, not tanh"):
        nn.TransformerEncoderLayer(E, H, activation="tanh")
    with pytest.raises(TypeError, match="TransformerEncoder: expected a layer Module to copy, got str"):
        nn.TransformerEncoder("layer", 2)
    with pytest.raises(ValueError, match="TransformerDecoder: num_layers must be an integer >= 0, got -1"):
        nn.TransformerDecoder(nn.TransformerDecoderLayer(E, H), -1)


def test_dropout_acts_only_in_training_mode():
    layer = nn.TransformerEncoderLayer(E, H, 6, dropout=0.5, dtype=np.float64)
    x = mg.tensor(randn(L, N, E))
    layer.eval()
    assert np.array_equal(layer(x).numpy(), layer(x).numpy())
    layer.train()
    assert not np.array_equal(layer(x).numpy(), layer(x).numpy())


# ---- PyTorch's examples/word_language_model TransformerModel, ported by its imports -----------------------------
# pytorch/examples, word_language_model/model.py (read at commit 001d493285083b54cacbc1334cb26338bdff2455): the two
# classes as they are there, `torch` read as `mg`.

class PositionalEncoding(nn.Module):
    """As the example writes it by hand: sines and cosines of the position, added to the embedding."""

    def __init__(self, d_model, dropout=0.1, max_len=5000):
        super().__init__()
        self.dropout = nn.Dropout(p=dropout)
        pe = mg.zeros(max_len, d_model)
        position = mg.arange(0, max_len, dtype=mg.float32).unsqueeze(1)
        div_term = mg.exp(mg.arange(0, d_model, 2).float() * (-math.log(10000.0) / d_model))
        pe[:, 0::2] = mg.sin(position * div_term)
        pe[:, 1::2] = mg.cos(position * div_term)
        pe = pe.unsqueeze(0).transpose(0, 1)
        self.register_buffer("pe", pe)

    def forward(self, x):
        x = x + self.pe[:x.size(0), :]
        return self.dropout(x)


class TransformerModel(nn.Transformer):
    """Container module with an encoder, a recurrent or transformer module, and a decoder."""

    def __init__(self, ntoken, ninp, nhead, nhid, nlayers, dropout=0.5):
        super(TransformerModel, self).__init__(d_model=ninp, nhead=nhead, dim_feedforward=nhid,
                                               num_encoder_layers=nlayers)
        self.model_type = "Transformer"
        self.src_mask = None
        self.pos_encoder = PositionalEncoding(ninp, dropout)

        self.input_emb = nn.Embedding(ntoken, ninp)
        self.ninp = ninp
        self.decoder = nn.Linear(ninp, ntoken)

        self.init_weights()

    def _generate_square_subsequent_mask(self, sz):
        mask = (mg.triu(mg.ones(sz, sz)) == 1).transpose(0, 1)
        mask = mask.float().masked_fill(mask == 0, float("-inf")).masked_fill(mask == 1, float(0.0))
        return mask

    def init_weights(self):
        initrange = 0.1
        nn.init.uniform_(self.input_emb.weight, -initrange, initrange)
        nn.init.zeros_(self.decoder.bias)
        nn.init.uniform_(self.decoder.weight, -initrange, initrange)

    def forward(self, src, has_mask=True):
        if has_mask:
            device = src.device
            if self.src_mask is None or self.src_mask.size(0) != len(src):
                mask = self._generate_square_subsequent_mask(len(src)).to(device)
                self.src_mask = mask
        else:
            self.src_mask = None

        src = self.input_emb(src) * math.sqrt(self.ninp)
        src = self.pos_encoder(src)
        output = self.encoder(src, mask=self.src_mask)
        output = self.decoder(output)
        return F.log_softmax(output, dim=-1)


def test_word_language_model_transformer_learns_a_repeating_sequence():
    """The example's model, small: its loss on next-token prediction of 0 1 2 3 4 0 1 2 ... falls by half; its
    hand-made mask is the causal one (generate_square_subsequent_mask's values)."""
    mg.manual_seed(0)
    model = TransformerModel(ntoken=5, ninp=16, nhead=2, nhid=32, nlayers=2, dropout=0.0)
    assert "encoder.layers.1.self_attn.in_proj_weight" in model.state_dict() and "decoder.weight" in model.state_dict()
    assert model._generate_square_subsequent_mask(4).tolist() == nn.Transformer.generate_square_subsequent_mask(
        4).tolist()
    tokens = mg.tensor(np.arange(12) % 5)
    data, targets = tokens[:-1].unsqueeze(1), tokens[1:]
    optimizer = mg.optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for _ in range(30):
        optimizer.zero_grad()
        loss = F.nll_loss(model(data).view(-1, 5), targets)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    copy.deepcopy(model)          # (a trained model copies, as PyTorch's does, e.g. to keep the best one)
