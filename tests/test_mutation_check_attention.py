"""Tests written from a mutation check of the attention and transformer code (functional/attention.py:
scaled_dot_product_attention, multi_head_attention_forward, canonical_mask; nn/attention.py: MultiheadAttention;
nn/transformer.py: the encoder and decoder layers and stacks, Transformer, generate_square_subsequent_mask and the
causal-mask detection): each pins a behaviour that a hand-made wrong implementation changed without any other
test noticing. Expected values are written in numpy from PyTorch's documented definitions (the reference
implementation in scaled_dot_product_attention's docstring, multi_head_attention_forward, _canonical_mask,
_detect_is_causal_mask and the layers' forward in torch/nn/modules/transformer.py), never taken from the
library's own output."""

import math

import numpy as np
import pytest
from test_attention_and_transformers import arrays_of, np_layer_norm, np_mha, np_sdpa, randomised, sub

import microgradseq as mg
import microgradseq.nn as nn
import microgradseq.nn.functional as F

E, H, L, S, N = 4, 2, 3, 5, 2


def rng(seed):
    return np.random.default_rng(seed)


def causal_float(size):
    """PyTorch's generate_square_subsequent_mask, in numpy: -inf above the diagonal, 0 on and below."""
    return np.triu(np.full((size, size), -np.inf), 1)


# ---- F.scaled_dot_product_attention ----------------------------------------------------------------------

def test_sdpa_scale_zero_is_used_as_given_giving_the_mean_of_the_values():
    """scale=0.0 is a scale (the docstring's `1 / sqrt(E) if scale is None else scale`), not "no scale": every
    score is 0, the weights uniform, the output the mean of the values over the keys."""
    r = rng(1)
    q, k, v = r.standard_normal((2, 3, 4)), r.standard_normal((2, 5, 4)), r.standard_normal((2, 5, 3))
    out = F.scaled_dot_product_attention(mg.tensor(q), mg.tensor(k), mg.tensor(v), scale=0.0).numpy()
    np.testing.assert_allclose(out, np.broadcast_to(v.mean(axis=1, keepdims=True), (2, 3, 3)), rtol=1e-12, atol=1e-12)


def test_sdpa_refuses_a_scale_that_is_not_a_number():
    q = mg.tensor(rng(2).standard_normal((3, 4)))
    with pytest.raises(TypeError, match="scaled_dot_product_attention: scale must be a number or None, got '0.5'"):
        F.scaled_dot_product_attention(q, q, q, scale="0.5")


def test_sdpa_output_keeps_the_querys_dtype_with_a_float_mask_of_another_dtype():
    """A float64 additive mask over float32 query/key/value: the result stays float32 (PyTorch's
    scaled_dot_product_attention returns the query's dtype), with the values of the float64 reference."""
    r = rng(3)
    q, k, v = r.standard_normal((3, 4)), r.standard_normal((5, 4)), r.standard_normal((5, 2))
    mask = r.standard_normal((3, 5))
    out = F.scaled_dot_product_attention(*(mg.tensor(a.astype(np.float32)) for a in (q, k, v)), attn_mask=mask)
    assert out.dtype == np.float32
    expected = np_sdpa(*(a.astype(np.float32).astype(np.float64) for a in (q, k, v)), mask)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-6)


def test_sdpa_refuses_query_key_and_value_of_different_float_dtypes():
    """PyTorch: "Expected query, key, and value to have the same dtype"."""
    r = rng(4)
    q32 = mg.tensor(r.standard_normal((3, 4)).astype(np.float32))
    k, v = mg.tensor(r.standard_normal((5, 4))), mg.tensor(r.standard_normal((5, 2)))
    with pytest.raises(TypeError, match="scaled_dot_product_attention: .*got float32, float64 and float64"):
        F.scaled_dot_product_attention(q32, k, v)


def test_sdpa_refuses_keys_and_values_of_different_lengths():
    r = rng(5)
    q, k, v = (mg.tensor(r.standard_normal(s)) for s in ((3, 4), (5, 4), (6, 2)))
    with pytest.raises(ValueError, match=r"scaled_dot_product_attention: expected query \(\.\.\., L, E\).*"
                                         r"key \(5, 4\) and value \(6, 2\)"):
        F.scaled_dot_product_attention(q, k, v)


def test_sdpa_refuses_one_dimensional_inputs():
    r = rng(6)
    q, k, v = mg.tensor(r.standard_normal(4)), mg.tensor(r.standard_normal((5, 4))), mg.tensor(r.standard_normal((5, 2)))
    with pytest.raises(ValueError, match=r"scaled_dot_product_attention: expected query .*got query \(4,\)"):
        F.scaled_dot_product_attention(q, k, v)


def test_sdpa_grouped_query_attention_refuses_heads_that_do_not_divide():
    """enable_gqa needs the query's heads to be a multiple of the key's: 6 over 4 is refused (not 1 each)."""
    r = rng(7)
    q, k, v = (mg.tensor(r.standard_normal(s)) for s in ((6, 3, 4), (4, 5, 4), (4, 5, 2)))
    with pytest.raises(ValueError, match="scaled_dot_product_attention: enable_gqa needs the query's heads"):
        F.scaled_dot_product_attention(q, k, v, enable_gqa=True)


@pytest.mark.parametrize("name", ["is_causal", "enable_gqa"])
def test_sdpa_flags_must_be_booleans(name):
    q = mg.tensor(rng(8).standard_normal((2, 3, 4)))
    with pytest.raises(ValueError, match=f"scaled_dot_product_attention: {name} must be True or False"):
        F.scaled_dot_product_attention(q, q, q, **{name: "yes"})


# ---- masks: PyTorch's _canonical_mask (bool True = masked out, as -inf) -------------------------------------

def test_a_key_padding_mask_hiding_every_key_of_a_sample_gives_nan_as_pytorchs():
    """A bool mask becomes -inf (not a large negative number): a sample whose keys are all padded has a row of
    -inf scores, and PyTorch's softmax of it is NaN; the other sample is finite."""
    module = randomised(nn.MultiheadAttention(E, H, dtype=np.float64))
    x = rng(9).standard_normal((L, N, E))
    padding = np.zeros((N, L), bool)
    padding[1] = True
    with np.errstate(invalid="ignore"):
        out, weights = module(mg.tensor(x), mg.tensor(x), mg.tensor(x), key_padding_mask=padding)
    assert np.isnan(out.numpy()[:, 1]).all() and np.isfinite(out.numpy()[:, 0]).all()
    assert np.isnan(weights.numpy()[1]).all()


def test_canonical_mask_gives_a_float_mask_of_the_dtype_asked_for():
    """PyTorch's _canonical_mask: a bool mask as zeros of target_type with -inf where True; a float mask as
    it is."""
    from microgradseq.functional.attention import canonical_mask
    mask = np.array([[True, False], [False, False]])
    out = canonical_mask("here", mask, "attn_mask", np.dtype(np.float32))
    assert out.dtype == np.float32 and out.tolist() == [[-math.inf, 0.0], [0.0, 0.0]]
    with pytest.raises(TypeError, match="here: only bool and floating types of attn_mask are supported, got int64"):
        canonical_mask("here", np.zeros((2, 2), np.int64), "attn_mask", np.dtype(np.float32))


# ---- F.multi_head_attention_forward --------------------------------------------------------------------------

def mha_arguments(seed, embed=E, heads=H):
    """Random packed in-projection (3E, E), its bias, and the out-projection of F.multi_head_attention_forward."""
    r = rng(seed)
    return (r.standard_normal((3 * embed, embed)) * 0.5, r.standard_normal(3 * embed) * 0.5,
            r.standard_normal((embed, embed)) * 0.5, r.standard_normal(embed) * 0.5)


def call_mha(query, key, value, w_in, b_in, w_out, b_out, embed=E, heads=H, **kwargs):
    return F.multi_head_attention_forward(
        mg.tensor(query), mg.tensor(key), mg.tensor(value), embed, heads, mg.tensor(w_in), mg.tensor(b_in),
        kwargs.pop("bias_k", None), kwargs.pop("bias_v", None), kwargs.pop("add_zero_attn", False), 0.0,
        mg.tensor(w_out), mg.tensor(b_out), **kwargs)


def test_mha_causal_hint_with_a_key_padding_mask_uses_both_masks():
    """PyTorch: with a key_padding_mask the is_causal hint is turned off and attn_mask is merged with the
    padding ("the merged mask is no longer causal"): both masks act, also with need_weights=False."""
    module = randomised(nn.MultiheadAttention(E, H, dtype=np.float64))
    x = rng(10).standard_normal((L, N, E))
    padding = np.array([[False, False, True], [False, True, False]])
    expected = np_mha(x, x, x, arrays_of(module), H, padding, causal_float(L))[0]
    for need_weights in (False, True):
        out = module(mg.tensor(x), mg.tensor(x), mg.tensor(x), attn_mask=causal_float(L), key_padding_mask=padding,
                     is_causal=True, need_weights=need_weights)[0]
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-12)


def test_mha_refuses_an_embedding_size_other_than_embed_dim_to_check():
    w_in, b_in, w_out, b_out = mha_arguments(11)
    x = rng(11).standard_normal((L, N, E))
    with pytest.raises(ValueError, match="multi_head_attention_forward: expected an embedding dimension of 5, got 4"):
        F.multi_head_attention_forward(mg.tensor(x), mg.tensor(x), mg.tensor(x), 5, H, mg.tensor(w_in),
                                       mg.tensor(b_in), None, None, False, 0.0, mg.tensor(w_out), mg.tensor(b_out))


def test_mha_refuses_heads_that_do_not_divide_the_embedding():
    x = rng(12).standard_normal((L, N, E))
    with pytest.raises(ValueError, match="multi_head_attention_forward: embed_dim 4 is not divisible by num_heads 3"):
        call_mha(x, x, x, *mha_arguments(12), heads=3)


def test_mha_refuses_keys_and_values_of_different_shapes():
    """PyTorch's asserts: key.shape == value.shape with the packed weight; key.shape[:2] == value.shape[:2]
    with separate weights."""
    r = rng(13)
    x, key, value = r.standard_normal((L, N, E)), r.standard_normal((S, N, E)), r.standard_normal((S + 1, N, E))
    with pytest.raises(ValueError, match=r"multi_head_attention_forward: key shape \(5, 2, 4\) does not match "
                                         r"value shape \(6, 2, 4\)"):
        call_mha(x, key, value, *mha_arguments(13))
    w = [mg.tensor(r.standard_normal((E, E))) for _ in range(3)]
    w_in, b_in, w_out, b_out = mha_arguments(13)
    with pytest.raises(ValueError, match=r"multi_head_attention_forward: key's sequence and batch dims \(5, 2\) do "
                                         r"not match value's \(6, 2\)"):
        F.multi_head_attention_forward(
            mg.tensor(x), mg.tensor(key), mg.tensor(value), E, H, None, mg.tensor(b_in), None, None, False, 0.0,
            mg.tensor(w_out), mg.tensor(b_out), use_separate_proj_weight=True, q_proj_weight=w[0],
            k_proj_weight=w[1], v_proj_weight=w[2])


def test_mha_refuses_missing_projection_weights():
    x = rng(14).standard_normal((L, N, E))
    w_in, b_in, w_out, b_out = mha_arguments(14)
    with pytest.raises(ValueError, match="multi_head_attention_forward: use_separate_proj_weight=True needs q_, k_ "
                                         "and v_proj_weight"):
        F.multi_head_attention_forward(
            mg.tensor(x), mg.tensor(x), mg.tensor(x), E, H, None, mg.tensor(b_in), None, None, False, 0.0,
            mg.tensor(w_out), mg.tensor(b_out), use_separate_proj_weight=True, q_proj_weight=mg.tensor(w_in[:E]))


def test_mha_refuses_bias_k_without_bias_v_and_bias_kv_with_static_keys():
    r = rng(15)
    x, bias = r.standard_normal((L, N, E)), mg.tensor(r.standard_normal((1, 1, E)))
    with pytest.raises(ValueError, match="multi_head_attention_forward: expected bias_k and bias_v both or neither"):
        call_mha(x, x, x, *mha_arguments(15), bias_k=bias)
    static = mg.tensor(r.standard_normal((N * H, S, E // H)))
    with pytest.raises(ValueError, match="multi_head_attention_forward: bias cannot be added to static key. \\(bias_k and "
                                         "bias_v cannot be added to static_k and static_v\\)"):
        call_mha(x, x, x, *mha_arguments(15), bias_k=bias, bias_v=bias, static_k=static, static_v=static)


def test_mha_static_keys_and_values_replace_the_projected_ones_sample_major():
    """PyTorch's static_k / static_v are (N num_heads, S, head_dim), row n * num_heads + h for sample n and
    head h (the layout of k.view(S, N * num_heads, head_dim).transpose(0, 1)); they replace the projected
    key and value: softmax(q_nh static_k[nH+h]^T / sqrt(d)) static_v[nH+h], heads joined, out-projected."""
    r = rng(16)
    d, S2 = E // H, 6
    x = r.standard_normal((L, N, E))
    static_k, static_v = r.standard_normal((N * H, S2, d)), r.standard_normal((N * H, S2, d))
    w_in, b_in, w_out, b_out = mha_arguments(16)
    out, weights = call_mha(x, x, x, w_in, b_in, w_out, b_out, static_k=mg.tensor(static_k),
                            static_v=mg.tensor(static_v), average_attn_weights=False)
    q = x @ w_in[:E].T + b_in[:E]
    joined, expected_weights = np.zeros((L, N, E)), np.zeros((N, H, L, S2))
    for n in range(N):
        for h in range(H):
            w = np.exp(q[:, n, h * d:(h + 1) * d] @ static_k[n * H + h].T / math.sqrt(d))
            expected_weights[n, h] = w / w.sum(axis=-1, keepdims=True)
            joined[:, n, h * d:(h + 1) * d] = expected_weights[n, h] @ static_v[n * H + h]
    np.testing.assert_allclose(weights.numpy(), expected_weights, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out.numpy(), joined @ w_out.T + b_out, rtol=1e-12, atol=1e-12)


def test_mha_refuses_static_keys_of_the_wrong_shape():
    r = rng(17)
    x = r.standard_normal((L, N, E))
    with pytest.raises(ValueError, match=r"multi_head_attention_forward: expected static_k of shape \(4, S, 2\), "
                                         r"got \(4, 6, 3\)"):
        call_mha(x, x, x, *mha_arguments(17), static_k=mg.tensor(r.standard_normal((N * H, 6, 3))))


def test_mha_with_bias_kv_and_a_zero_key_appends_both_in_that_order():
    """add_bias_kv and add_zero_attn together: the keys are the projected ones, then bias_k, then a zero key
    (PyTorch appends bias_k first, the zero attention after); the masks take 0 for both extra keys."""
    module = randomised(nn.MultiheadAttention(E, H, add_bias_kv=True, add_zero_attn=True, dtype=np.float64))
    r = rng(18)
    query, key = r.standard_normal((L, N, E)), r.standard_normal((S, N, E))
    padding = np.zeros((N, S), bool)
    padding[0, -1] = True
    out, weights = module(mg.tensor(query), mg.tensor(key), mg.tensor(key), key_padding_mask=padding)
    expected_out, expected_weights = np_mha(query, key, key, arrays_of(module), H, padding, add_zero_attn=True)
    assert weights.shape == (N, L, S + 2)
    np.testing.assert_allclose(out.numpy(), expected_out, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(weights.numpy(), expected_weights, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shapes, message", [
    (((L, N, E), (S, N, E), (S, E)), "for batched \\(3-D\\) query, expected `key` and `value` to be 3-D but found "
                                     "3-D and 2-D tensors respectively"),
    (((L, N, E), (S, E), (S, N, E)), "expected `key` and `value` to be 3-D but found 2-D and 3-D"),
])
def test_mha_refuses_keys_or_values_of_another_number_of_axes(shapes, message):
    """PyTorch's _mha_shape_check: key and value have as many axes as the query."""
    r = rng(19)
    query, key, value = (r.standard_normal(s) for s in shapes)
    with pytest.raises(ValueError, match="multi_head_attention_forward: .*" + message):
        call_mha(query, key, value, *mha_arguments(19))


def test_mha_refuses_masks_with_the_wrong_number_of_axes():
    """PyTorch's _mha_shape_check: key_padding_mask (N, S) for batched input, (S,) unbatched; attn_mask 2-D
    or 3-D; an unbatched 3-D attn_mask must be (num_heads, L, S)."""
    r = rng(20)
    x, x1 = r.standard_normal((L, N, E)), r.standard_normal((L, E))
    with pytest.raises(ValueError, match="for batched \\(3-D\\) query, expected `key_padding_mask` to be `None` or 2-D "
                                         "but found 1-D tensor instead"):
        call_mha(x, x, x, *mha_arguments(20), key_padding_mask=np.zeros(L, bool))
    with pytest.raises(ValueError, match="expected `attn_mask` to be `None`, 2-D or 3-D but found 4-D tensor instead"):
        call_mha(x, x, x, *mha_arguments(20), attn_mask=np.zeros((1, N * H, L, L)))
    with pytest.raises(ValueError, match=r"multi_head_attention_forward: Expected `attn_mask` shape to be "
                                         r"\(2, 3, 3\) but got \(1, 3, 3\)"):
        call_mha(x1, x1, x1, *mha_arguments(20), attn_mask=np.zeros((1, L, L)))


def test_mha_unbatched_three_dimensional_mask_is_heads_by_queries_by_keys():
    """Unbatched query (L, E) over key (S, E), L != S: attn_mask (num_heads, L, S) is taken, one (L, S)
    mask per head, and the weights come back (L, S) averaged over the heads."""
    module = randomised(nn.MultiheadAttention(E, H, dtype=np.float64))
    r = rng(21)
    query, key = r.standard_normal((L, E)), r.standard_normal((S, E))
    mask = r.standard_normal((H, L, S))
    out, weights = module(mg.tensor(query), mg.tensor(key), mg.tensor(key), attn_mask=mask)
    expected_out, expected_weights = np_mha(query, key, key, arrays_of(module), H, attn_mask=mask)
    assert weights.shape == (L, S)
    np.testing.assert_allclose(out.numpy(), expected_out, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(weights.numpy(), expected_weights, rtol=1e-12, atol=1e-12)


# ---- nn.MultiheadAttention ----------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, message", [
    ({"kdim": 0}, "MultiheadAttention: kdim must be an integer > 0, got 0"),
    ({"vdim": 2.5}, "MultiheadAttention: vdim must be an integer > 0, got 2.5"),
    ({"dropout": 1.5}, "MultiheadAttention: dropout must be a probability in \\[0, 1\\], got 1.5"),
])
def test_multihead_attention_refuses_bad_sizes_and_dropout(kwargs, message):
    with pytest.raises(ValueError, match=message):
        nn.MultiheadAttention(E, H, **kwargs)


def test_multihead_attention_with_only_vdim_other_than_embed_dim_has_separate_weights():
    """PyTorch: _qkv_same_embed_dim = kdim == embed_dim and vdim == embed_dim; vdim alone differing gives
    q_proj_weight (E, E), k_proj_weight (E, E), v_proj_weight (E, vdim), and values (S, N, vdim) are taken."""
    module = randomised(nn.MultiheadAttention(E, H, vdim=5, dtype=np.float64))
    assert [(k, tuple(v.shape)) for k, v in module.state_dict().items()] == [
        ("q_proj_weight", (E, E)), ("k_proj_weight", (E, E)), ("v_proj_weight", (E, 5)), ("in_proj_bias", (3 * E,)),
        ("out_proj.weight", (E, E)), ("out_proj.bias", (E,))]
    r = rng(31)
    query, key, value = r.standard_normal((L, N, E)), r.standard_normal((S, N, E)), r.standard_normal((S, N, 5))
    out, weights = module(mg.tensor(query), mg.tensor(key), mg.tensor(value))
    expected_out, expected_weights = np_mha(query, key, value, arrays_of(module), H)
    np.testing.assert_allclose(out.numpy(), expected_out, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(weights.numpy(), expected_weights, rtol=1e-12, atol=1e-12)


def test_multihead_attention_separate_projection_weights_start_xavier_uniform():
    """PyTorch's _reset_parameters draws q_proj_weight, k_proj_weight and v_proj_weight with xavier_uniform_:
    bound sqrt(6 / (fan_in + fan_out)); with 64 x 64 (and 64 x 32) entries the largest is near the bound."""
    mg.manual_seed(0)
    module = nn.MultiheadAttention(64, 2, kdim=32, vdim=48)
    for name, fan_in in (("q_proj_weight", 64), ("k_proj_weight", 32), ("v_proj_weight", 48)):
        weight = np.asarray(getattr(module, name).numpy(), dtype=np.float64)
        bound = math.sqrt(6 / (64 + fan_in))
        assert 0.9 * bound < np.abs(weight).max() <= bound, name


def test_multihead_attention_bias_k_and_bias_v_start_xavier_normal():
    """PyTorch's _reset_parameters: xavier_normal_ on bias_k and bias_v (1, 1, E), fan_in = fan_out = E, so
    std = sqrt(2 / 2E) = 1 / sqrt(E); normal, not uniform: some entries pass sqrt(3) std, the uniform bound;
    bias_k and bias_v drawn apart."""
    mg.manual_seed(0)
    embed = 1024
    module = nn.MultiheadAttention(embed, 2, add_bias_kv=True)
    bias_k, bias_v = (np.asarray(b.numpy(), dtype=np.float64).ravel() for b in (module.bias_k, module.bias_v))
    for values in (bias_k, bias_v):
        assert abs(values.std() - 1 / math.sqrt(embed)) < 0.1 / math.sqrt(embed)
        assert np.sum(np.abs(values) > math.sqrt(3 / embed)) > 20
    assert not np.array_equal(bias_k, bias_v)


@pytest.mark.parametrize("need_weights", [True, False])
def test_multihead_attention_batch_first_leaves_unbatched_input_as_it_is(need_weights):
    """batch_first only concerns batched (3-D) input: unbatched (L, E) input gives what it gives without
    batch_first, (L, E) out and (L, S) weights."""
    module = randomised(nn.MultiheadAttention(E, H, batch_first=True, dtype=np.float64))
    r = rng(22)
    query, key = r.standard_normal((L, E)), r.standard_normal((S, E))
    out, weights = module(mg.tensor(query), mg.tensor(key), mg.tensor(key), need_weights=need_weights)
    expected_out, expected_weights = np_mha(query, key, key, arrays_of(module), H)
    np.testing.assert_allclose(out.numpy(), expected_out, rtol=1e-12, atol=1e-12)
    if need_weights:
        np.testing.assert_allclose(weights.numpy(), expected_weights, rtol=1e-12, atol=1e-12)


def test_multihead_attention_refuses_input_of_another_dtype_than_its_parameters():
    module = nn.MultiheadAttention(E, H)                      # float32
    x = mg.tensor(rng(23).standard_normal((L, N, E)))      # float64
    with pytest.raises(TypeError, match="MultiheadAttention: expected query of dtype float32"):
        module(x, x, x)


# ---- transformer layers: dropout placement, eps, masks ---------------------------------------------------------

def set_dropouts(layer, **probabilities):
    """Every dropout of the layer (its attentions' too) at 0, but those named, in training mode."""
    layer.train()
    for module in layer.modules():
        if isinstance(module, nn.MultiheadAttention):
            module.dropout = 0.0
        elif isinstance(module, nn.Dropout):
            module.p = 0.0
    for name, p in probabilities.items():
        getattr(layer, name).p = p
    return layer


def np_feed_forward_relu(x, p):
    return np.maximum(x @ p["linear1.weight"].T + p["linear1.bias"], 0) @ p["linear2.weight"].T + p["linear2.bias"]


def test_encoder_layer_dropouts_sit_where_pytorchs_do():
    """PyTorch's TransformerEncoderLayer: _sa_block ends in dropout1, _ff_block is
    dropout2(linear2(dropout(activation(linear1(x))))). A dropout of p=1 zeroes what it acts on: dropout1 the
    attention (x -> norm1(x)), `dropout` the hidden layer (the block gives linear2.bias), dropout2 the block."""
    layer = randomised(nn.TransformerEncoderLayer(E, H, 6, dtype=np.float64))
    p, x = arrays_of(layer), rng(24).standard_normal((L, N, E))

    def norm(y, n):
        return np_layer_norm(y, p[f"norm{n}.weight"], p[f"norm{n}.bias"])

    def sa(y):
        return np_mha(y, y, y, sub(p, "self_attn."), H)[0]
    cases = {
        "dropout1": norm(norm(x, 1) + np_feed_forward_relu(norm(x, 1), p), 2),
        "dropout": norm(norm(x + sa(x), 1) + p["linear2.bias"], 2),
        "dropout2": norm(norm(x + sa(x), 1), 2),
    }
    for name, expected in cases.items():
        out = set_dropouts(layer, **{name: 1.0})(mg.tensor(x))
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-11, atol=1e-12, err_msg=name)


def test_decoder_layer_dropouts_sit_where_pytorchs_do():
    """PyTorch's TransformerDecoderLayer: dropout1 after self-attention, dropout2 after the attention over
    memory, dropout3 after the feed-forward block, `dropout` inside it."""
    layer = randomised(nn.TransformerDecoderLayer(E, H, 6, dtype=np.float64))
    r = rng(25)
    p, x, memory = arrays_of(layer), r.standard_normal((L, N, E)), r.standard_normal((S, N, E))

    def norm(y, n):
        return np_layer_norm(y, p[f"norm{n}.weight"], p[f"norm{n}.bias"])

    def sa(y):
        return np_mha(y, y, y, sub(p, "self_attn."), H)[0]

    def ca(y):
        return np_mha(y, memory, memory, sub(p, "multihead_attn."), H)[0]
    after_sa = norm(x + sa(x), 1)
    after_ca = norm(after_sa + ca(after_sa), 2)
    cases = {
        "dropout1": norm(norm(x, 1) + ca(norm(x, 1)), 2),
        "dropout2": norm(after_sa, 2),
        "dropout3": norm(after_ca, 3),
        "dropout": norm(after_ca + p["linear2.bias"], 3),
    }
    for name, expected in cases.items():
        out = set_dropouts(layer, **{name: 1.0})(mg.tensor(x), mg.tensor(memory))
        expected = {"dropout1": norm(cases["dropout1"] + np_feed_forward_relu(cases["dropout1"], p), 3),
                    "dropout2": norm(cases["dropout2"] + np_feed_forward_relu(cases["dropout2"], p), 3)}.get(
            name, expected)
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-11, atol=1e-12, err_msg=name)


def test_layer_refuses_an_activation_that_is_neither_a_name_nor_callable():
    with pytest.raises(TypeError, match="TransformerEncoderLayer: activation should be 'relu', 'gelu' or a callable, "
                                        "got 5"):
        nn.TransformerEncoderLayer(E, H, activation=5)


def test_encoder_layer_uses_layer_norm_eps():
    """layer_norm_eps reaches norm1 and norm2: (x - mean) / sqrt(var + eps), here eps = 0.5."""
    layer = randomised(nn.TransformerEncoderLayer(E, H, 6, dropout=0.0, layer_norm_eps=0.5, dtype=np.float64))
    p, x = arrays_of(layer), rng(26).standard_normal((L, N, E))

    def norm(y, n):
        return np_layer_norm(y, p[f"norm{n}.weight"], p[f"norm{n}.bias"], eps=0.5)
    y = norm(x + np_mha(x, x, x, sub(p, "self_attn."), H)[0], 1)
    np.testing.assert_allclose(layer(mg.tensor(x)).numpy(), norm(y + np_feed_forward_relu(y, p), 2), rtol=1e-11,
                               atol=1e-12)


def np_decoder_layer(x, memory, p, norm_first, eps=1e-5, tgt_mask=None, memory_mask=None, tgt_padding=None,
                     memory_padding=None):
    """PyTorch's TransformerDecoderLayer.forward (relu, no dropout) with every mask."""
    def norm(y, n):
        return np_layer_norm(y, p[f"norm{n}.weight"], p[f"norm{n}.bias"], eps)

    def sa(y):
        return np_mha(y, y, y, sub(p, "self_attn."), H, tgt_padding, tgt_mask)[0]

    def ca(y):
        return np_mha(y, memory, memory, sub(p, "multihead_attn."), H, memory_padding, memory_mask)[0]
    if norm_first:
        x = x + sa(norm(x, 1))
        x = x + ca(norm(x, 2))
        return x + np_feed_forward_relu(norm(x, 3), p)
    x = norm(x + sa(x), 1)
    x = norm(x + ca(x), 2)
    return norm(x + np_feed_forward_relu(x, p), 3)


def np_encoder_layer(x, p, norm_first, eps=1e-5, mask=None, padding=None):
    def norm(y, n):
        return np_layer_norm(y, p[f"norm{n}.weight"], p[f"norm{n}.bias"], eps)

    def sa(y):
        return np_mha(y, y, y, sub(p, "self_attn."), H, padding, mask)[0]
    if norm_first:
        x = x + sa(norm(x, 1))
        return x + np_feed_forward_relu(norm(x, 2), p)
    x = norm(x + sa(x), 1)
    return norm(x + np_feed_forward_relu(x, p), 2)


def masks(seed):
    """Every mask a Transformer takes, bool and float mixed, no row masked out everywhere."""
    r = rng(seed)
    src_mask = r.standard_normal((S, S))
    memory_mask = r.random((L, S)) < 0.4
    memory_mask[:, 0] = False
    return {"src_mask": src_mask, "tgt_mask": causal_float(L), "memory_mask": memory_mask,
            "src_key_padding_mask": np.array([[False] * 4 + [True], [False] * 3 + [True, False]]),
            "tgt_key_padding_mask": np.array([[False, False, True], [False, True, False]]),
            "memory_key_padding_mask": np.array([[False, True] + [False] * 3, [False] * 4 + [True]])}


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_takes_every_mask(norm_first):
    """tgt_mask and tgt_key_padding_mask act on self-attention, memory_mask and memory_key_padding_mask on the
    attention over memory, with and without norm_first."""
    layer = randomised(nn.TransformerDecoderLayer(E, H, 6, dropout=0.0, norm_first=norm_first, dtype=np.float64))
    r = rng(27)
    tgt, memory, m = r.standard_normal((L, N, E)), r.standard_normal((S, N, E)), masks(27)
    out = layer(mg.tensor(tgt), mg.tensor(memory), tgt_mask=m["tgt_mask"], memory_mask=m["memory_mask"],
                tgt_key_padding_mask=m["tgt_key_padding_mask"], memory_key_padding_mask=m["memory_key_padding_mask"])
    expected = np_decoder_layer(tgt, memory, arrays_of(layer), norm_first, tgt_mask=m["tgt_mask"],
                                memory_mask=m["memory_mask"], tgt_padding=m["tgt_key_padding_mask"],
                                memory_padding=m["memory_key_padding_mask"])
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_passes_every_mask_and_layer_norm_eps_to_every_layer(norm_first):
    """nn.Transformer(E, H, 2, 2): memory = encoder.norm(layer1(layer0(src))), out = decoder.norm(the decoder
    layers over memory), every layer and both final norms with layer_norm_eps, each mask reaching each layer
    (PyTorch's Transformer.forward, TransformerEncoder.forward, TransformerDecoder.forward)."""
    model = randomised(nn.Transformer(E, H, 2, 2, 6, dropout=0.0, layer_norm_eps=0.5, norm_first=norm_first,
                                      dtype=np.float64))
    r = rng(28)
    src, tgt, m = r.standard_normal((S, N, E)), r.standard_normal((L, N, E)), masks(28)
    out = model(mg.tensor(src), mg.tensor(tgt), **m)
    p = arrays_of(model)
    memory = src
    for n in range(2):
        memory = np_encoder_layer(memory, sub(p, f"encoder.layers.{n}."), norm_first, 0.5, m["src_mask"],
                                  m["src_key_padding_mask"])
    memory = np_layer_norm(memory, p["encoder.norm.weight"], p["encoder.norm.bias"], 0.5)
    expected = tgt
    for n in range(2):
        expected = np_decoder_layer(expected, memory, sub(p, f"decoder.layers.{n}."), norm_first, 0.5,
                                    m["tgt_mask"], m["memory_mask"], m["tgt_key_padding_mask"],
                                    m["memory_key_padding_mask"])
    expected = np_layer_norm(expected, p["decoder.norm.weight"], p["decoder.norm.bias"], 0.5)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-10, atol=1e-11)


def test_encoder_with_a_square_mask_that_is_not_causal_uses_the_mask():
    """is_causal=None looks for the causal mask; a square float mask of other values is not it, and is
    added as it is."""
    layer = randomised(nn.TransformerEncoderLayer(E, H, 6, dropout=0.0, dtype=np.float64))
    encoder = nn.TransformerEncoder(layer, 1)
    r = rng(29)
    x, mask = r.standard_normal((L, N, E)), r.standard_normal((L, L))
    expected = np_encoder_layer(x, sub(arrays_of(encoder), "layers.0."), False, mask=mask)
    np.testing.assert_allclose(encoder(mg.tensor(x), mask=mask).numpy(), expected, rtol=1e-11, atol=1e-12)


# ---- the causal-mask detection: what the stacks pass their layers (PyTorch's _detect_is_causal_mask) --------------

class RecordingEncoderLayer(nn.Module):
    """Records the is_causal its stack passes; returns its input."""

    def __init__(self, batch_first):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(E, H, batch_first=batch_first)
        self.calls = []

    def forward(self, src, src_mask=None, is_causal=None, src_key_padding_mask=None):
        self.calls.append(is_causal)
        return src


class RecordingDecoderLayer(RecordingEncoderLayer):
    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=None, memory_is_causal=False):
        self.calls.append(tgt_is_causal)
        return tgt


@pytest.mark.parametrize("is_causal, mask, expected", [
    (None, causal_float(4), True),                       # found
    (False, causal_float(4), False),                     # given: kept, not looked for
    (True, None, True),
    (None, None, False),
    (None, np.triu(np.full((4, 4), -np.inf), 2), False),  # another mask
    (None, causal_float(3), False),                      # another size than the sequence's
])
def test_encoder_finds_the_causal_mask_only_when_is_causal_is_none(is_causal, mask, expected):
    """PyTorch: make_causal = (is_causal is True); if is_causal is None and a mask is given, whether the mask
    equals _generate_square_subsequent_mask(seq_len); the layers get that is_causal. Batched batch_first input
    (N=2, S=4): the sequence length is axis 1."""
    encoder = nn.TransformerEncoder(RecordingEncoderLayer(batch_first=True), 1)
    encoder(mg.tensor(np.zeros((2, 4, E))), mask=mask, is_causal=is_causal)
    assert encoder.layers[0].calls == [expected]


def test_encoder_finds_the_causal_mask_of_sequence_first_and_unbatched_input():
    for batch_first, shape in ((False, (4, 2, E)), (False, (4, E)), (True, (4, E))):
        encoder = nn.TransformerEncoder(RecordingEncoderLayer(batch_first=batch_first), 2)
        encoder(mg.tensor(np.zeros(shape)), mask=causal_float(4))
        assert [layer.calls for layer in encoder.layers] == [[True], [True]], (batch_first, shape)


@pytest.mark.parametrize("tgt_is_causal, mask, expected", [
    (None, causal_float(4), True), (False, causal_float(4), False), (None, np.zeros((4, 4)), False)])
def test_decoder_finds_the_causal_target_mask_only_when_tgt_is_causal_is_none(tgt_is_causal, mask, expected):
    decoder = nn.TransformerDecoder(RecordingDecoderLayer(batch_first=True), 1)
    decoder(mg.tensor(np.zeros((2, 4, E))), mg.tensor(np.zeros((2, 5, E))), tgt_mask=mask,
            tgt_is_causal=tgt_is_causal)
    assert decoder.layers[0].calls == [expected]


# ---- stacks and nn.Transformer --------------------------------------------------------------------------------------

def test_stacks_of_zero_layers_can_be_made():
    """PyTorch's _get_clones(module, 0) is an empty ModuleList."""
    layer = nn.TransformerEncoderLayer(E, H, 6)
    assert len(nn.TransformerEncoder(layer, 0).layers) == 0
    assert len(nn.TransformerDecoder(nn.TransformerDecoderLayer(E, H, 6), 0).layers) == 0


def test_transformer_checks_the_source_feature_number_too():
    model = nn.Transformer(E, H, 1, 1, 6, dtype=np.float64)
    r = rng(30)
    with pytest.raises(RuntimeError, match="Transformer: the feature number of src and tgt must be equal to "
                                           "d_model = 4, got src \\(5, 2, 3\\)"):
        model(mg.tensor(r.standard_normal((S, N, 3))), mg.tensor(r.standard_normal((L, N, E))))


def test_transformer_draws_every_matrix_again_with_xavier_uniform():
    """PyTorch's Transformer._reset_parameters: xavier_uniform_ on every parameter of 2+ axes, bound
    sqrt(6 / (fan_in + fan_out)), wider than a Linear's own 1 / sqrt(fan_in) here: linear2 (64, 256) reaches
    past 0.1 (its Linear bound is 0.0625), out_proj (64, 64) past 0.15 (Linear bound 0.125)."""
    mg.manual_seed(0)
    model = nn.Transformer(64, 2, 1, 1, 256)
    for name, low in (("encoder.layers.0.linear2.weight", 0.1), ("decoder.layers.0.linear2.weight", 0.1),
                      ("encoder.layers.0.self_attn.out_proj.weight", 0.15),
                      ("decoder.layers.0.multihead_attn.out_proj.weight", 0.15)):
        weight = dict(model.named_parameters())[name].numpy()
        assert low < np.abs(weight).max() <= math.sqrt(6 / sum(weight.shape)), name


def test_transformer_keeps_a_custom_encoder_and_decoder():
    encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(E, H, 6), 1)
    decoder = nn.TransformerDecoder(nn.TransformerDecoderLayer(E, H, 6), 1)
    model = nn.Transformer(E, H, 3, 3, 6, custom_encoder=encoder, custom_decoder=decoder)
    assert model.encoder is encoder and model.decoder is decoder
    assert len(model.encoder.layers) == 1 and encoder.norm is None


def test_transformer_keeps_its_options_as_attributes():
    model = nn.Transformer(E, H, 1, 1, 6, batch_first=True)
    assert (model.d_model, model.nhead, model.batch_first) == (E, H, True)


def test_generate_square_subsequent_mask_refuses_a_negative_size():
    with pytest.raises(ValueError, match="generate_square_subsequent_mask: sz must be an integer >= 0, got -1"):
        nn.Transformer.generate_square_subsequent_mask(-1)
