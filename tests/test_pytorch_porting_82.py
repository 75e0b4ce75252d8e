"""Porting, round 82: PYTORCH'S OWN TESTS OF ATTENTION AND TRANSFORMER LAYERS -- the CPU tests of
`nn.MultiheadAttention` in pytorch/pytorch's test/nn/test_multihead_attention.py (commit
03f76200b7b3eccc1be6d93f2841dcfea04d972e): test_multihead_attention (both average_attn_weights, each of its nine
_multihead_attn_test_helper cases a test of its own, with PyTorch's numpy reference _scaled_dot_attn_ref,
_split_heads_ref, _combine_heads_ref and _fc as written), test_multihead_attn_3d_attn_mask,
test_multihead_attn_no_bias, test_multihead_attn_invalid_shape, test_multihead_attn_fast_path_invalid_shape,
test_multihead_self_attn_two_masks_fast_path, test_multihead_attn_fast_path_small_test,
test_multihead_attn_in_proj_bias_none and test_multihead_attn_in_proj_weight_none; and from test/test_transformers.py
(commit 00030eb8e81f911c48c4d7634fa6b8bb2fae1a1b): test_transformerencoderlayer_src_mask,
test_transformerencoder_square_input, test_transformerencoder (up to its two layers with norm),
test_encoder_padding_and_src_mask_bool, test_decoder_padding_and_src_mask_bool, test_encoder_is_causal,
test_kpm_mask_trailing_column_with_nested_tensor, test_bias_is_none, test_train_with_is_causal (with
is_causal_kernels on the MATH kernel) and test_scaled_dot_product_attention (dropout_p 0.0; its sdp_ref in numpy).
Every test was read in the index at the commit named; none was written from memory. test/test_nn.py's transformer
tests lie past what the index's string search reaches and were not read; they are left for another round.

Each is written as PyTorch wrote it, with only the imports changed; `# differs:` marks every other change and why.
Throughout: TestCase methods become functions; `self.assertEqual` of tensors becomes numpy's `assert_allclose`
against values written in numpy from the inputs' and parameters' values (PyTorch's numpy reference where it has
one), or against the numbers PyTorch's test writes out; where PyTorch compares the library with itself (fast path
against slow path, a 3-D mask against 2-D ones) the library is compared with numpy instead. `p.data.copy_(x)`
becomes `p.copy_(x)` under no_grad (docs/pytorch.md: `.data` is a numpy array here). The fast path, nested tensors
(test_multihead_attn_nested_tensor_outside_fast_path), mock of torch._native_multi_head_attention, torch.compile,
the CUDA-only dtype tests and test_multihead_attn_fast_path_query_and_bias_have_different_dtypes (a half bias on a
double module: the library refuses mixed dtypes, docs/api.md) are left out.

What broke (two gaps, fixed in microgradseq/functional/attention.py):
  G1. PyTorch's multi_head_attention_forward checks shapes with `assert` (_mha_shape_check, and "bias cannot be
      added to static key."): its tests catch AssertionError, with messages that quote `key`, `value`,
      `key_padding_mask`, `attn_mask` and `None` in backticks and "Expected `attn_mask` shape to be (4, 4, 4)".
      The library raised a ValueError without the backticks. Its error is now a ValueError that is also an
      AssertionError (so the library's earlier tests still hold), with PyTorch's wording after the function's name.
  G2. F.scaled_dot_product_attention(q, k, v, attn_mask, 0.0, True) is a RuntimeError in PyTorch, "Explicit
      attn_mask should not be set when is_causal=True"; here it was a ValueError with other words. Now a ValueError
      that is also a RuntimeError, with PyTorch's words (test_scaled_dot_product_attention).
Met and as documented: everything else ported here ran as PyTorch's. The sdp_ref cases with dropout_p 0.2 and 0.5
are left out: they rest on the library drawing its dropout mask from the same random stream as torch's.
"""

import contextlib
import random
import warnings

import numpy as np
import pytest
from porting_references import arr

import microgradseq as torch
import microgradseq.nn as nn
import microgradseq.nn.functional as F
import microgradseq.optim as optim
from microgradseq.autograd import gradcheck
from microgradseq.nn import MultiheadAttention
from microgradseq.nn.parameter import Parameter


@pytest.fixture(autouse=True)
def _seeded():
    # differs: seeded, so that each run draws the same sizes and values
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)


# ---- numpy references written for this port (where PyTorch compares its fast path with its slow path) ---------

def np_linear(x, w, b):
    return x @ w.T + (0.0 if b is None else b)


def np_mha_batch_first(mha, q, k, v, attn_mask=None, key_padding_mask=None):
    """multi_head_attention_forward in float64 numpy, batch-first (N, L, E); bool masks True where masked out,
    float ones added; softmax over the keys; the heads joined and projected by out_proj."""
    E, H = mha.embed_dim, mha.num_heads
    d = E // H
    w = arr(mha.in_proj_weight).astype(np.float64)
    b = np.zeros(3 * E) if mha.in_proj_bias is None else arr(mha.in_proj_bias).astype(np.float64)
    Q, K, V = (np_linear(np.asarray(x, np.float64), w[i * E:(i + 1) * E], b[i * E:(i + 1) * E])
               for i, x in enumerate((q, k, v)))
    N, L, S = Q.shape[0], Q.shape[1], K.shape[1]
    split = (lambda X, T: X.reshape(N, T, H, d).transpose(0, 2, 1, 3))
    scores = split(Q, L) @ split(K, S).transpose(0, 1, 3, 2) / np.sqrt(d)
    bias = np.zeros((N, H, L, S))
    if attn_mask is not None:
        m = np.asarray(attn_mask)
        m = m.reshape((1, 1) + m.shape) if m.ndim == 2 else m.reshape(N, H, L, S)
        bias = bias + (np.where(m, -np.inf, 0.0) if m.dtype == bool else m)
    if key_padding_mask is not None:
        bias = bias + np.where(np.asarray(key_padding_mask), -np.inf, 0.0)[:, None, None, :]
    scores = scores + bias
    with np.errstate(invalid="ignore"):
        e = np.exp(scores - scores.max(-1, keepdims=True))
        p = e / e.sum(-1, keepdims=True)
    out = (p @ split(V, S)).transpose(0, 2, 1, 3).reshape(N, L, E)
    ow = arr(mha.out_proj.weight).astype(np.float64)
    ob = None if mha.out_proj.bias is None else arr(mha.out_proj.bias).astype(np.float64)
    return np_linear(out, ow, ob), p


def np_layer_norm(x, w, b, eps=1e-5):
    mu = x.mean(-1, keepdims=True)
    var = x.var(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def np_encoder_layer_batch_first(layer, x, src_mask=None):
    """TransformerEncoderLayer (norm_first=False, relu, eval) in numpy: norm1(x + sa(x)), then
    norm2(x + linear2(relu(linear1(x))))."""
    g = (lambda t: arr(t).astype(np.float64))
    sa, _ = np_mha_batch_first(layer.self_attn, x, x, x, attn_mask=src_mask)
    x = np_layer_norm(x + sa, g(layer.norm1.weight), g(layer.norm1.bias), layer.norm1.eps)
    ff = np_linear(np.maximum(np_linear(x, g(layer.linear1.weight), g(layer.linear1.bias)), 0.0),
                   g(layer.linear2.weight), g(layer.linear2.bias))
    return np_layer_norm(x + ff, g(layer.norm2.weight), g(layer.norm2.bias), layer.norm2.eps)


# ---- test/nn/test_multihead_attention.py: test_multihead_attention ----------------------------------------------
# differs: the nested functions of test_multihead_attention are module-level here, average_attn_weights passed in.

def _scaled_dot_attn_ref(Q, K, V, dims, unseen_mask=None, key_padding_mask=None, average_attn_weights=True):
    """Numpy-based reference implementation of scaled dot attention
    for testing"""

    QKT = _batchmatmul(
        Q,
        np.transpose(K, axes=[0, 1, 3, 2])
        / np.sqrt(dims[3], dtype=np.float32),  # divide by sqrt(d_head)
    )
    b1, b2, s1, s2 = QKT.shape
    if unseen_mask is not None or key_padding_mask is not None:
        # assert s1 == s2
        for i in range(b1):
            for j in range(b2):
                for m in range(s1):
                    for n in range(s2):
                        if unseen_mask is not None and unseen_mask[m][n] == 0:
                            QKT[i, j, m, n] = -np.inf
                        if (
                            key_padding_mask is not None
                            and key_padding_mask[i][n]
                        ):
                            QKT[i, j, m, n] = -np.inf

    reference = _softmax(QKT)
    ref_attn_weight = reference
    if average_attn_weights:
        ref_attn_weight = np.sum(ref_attn_weight, axis=1) / b2
    reference = _batchmatmul(reference, V)
    return reference, ref_attn_weight


def _batchmatmul(a, b):  # batchmatmul over 4 dim matrix
    """Numpy-based batch matrix multiply over 4 dim matrix"""
    assert a.shape[0] == b.shape[0]
    assert a.shape[1] == b.shape[1]
    retval = np.zeros(
        (a.shape[0], a.shape[1], a.shape[2], b.shape[3]), dtype=np.float32
    )
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            retval[i, j, :, :] = np.matmul(a[i, j, :, :], b[i, j, :, :])
    return retval


def _softmax(x):  # softmax over 4 dim matrix
    """Numpy-based reference softmax over 4 dim matrix"""
    # differs: np.errstate in place of np.seterr(invalid="ignore"), which would outlast the test
    output = np.zeros(x.shape, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        for i in range(x.shape[0]):
            for j in range(x.shape[1]):
                for k in range(x.shape[2]):
                    x_curr = x[i, j, k, :]
                    e_x = np.exp(x_curr - np.amax(x_curr))
                    output[i, j, k, :] = e_x / np.sum(e_x)
    return output


def _split_heads_ref(X, dims, nheads, d_head):
    X_split = np.reshape(X, dims[:2] + [nheads, d_head])
    X_split_transposed = np.transpose(X_split, [0, 2, 1, 3])
    reference = np.reshape(
        X_split_transposed, [dims[0], nheads, dims[1], d_head]
    )
    return reference


def _combine_heads_ref(X, dims, nheads, d_head):
    X_transposed = np.transpose(X, [0, 2, 1, 3])
    reference = np.reshape(X_transposed, dims[:2] + [nheads * d_head])
    return reference


def _fc(X, X_weight, X_bias):
    X_fc_b = X_bias.detach().numpy()
    X_fc_w = X_weight.detach().numpy()
    return np.matmul(X, np.transpose(X_fc_w)) + X_fc_b


def _create_src_lengths_mask(batch_size, src_lengths):
    """
    Generate boolean mask to prevent attention beyond the end of source
    Inputs:
      batch_size : int
      src_lengths : [batch_size] of sentence lengths
    Outputs:
      [batch_size, max_src_len]
    """
    max_srclen = src_lengths.max()
    src_indices = torch.arange(0, max_srclen).unsqueeze(0).to(src_lengths)
    src_indices = src_indices.expand(batch_size, max_srclen)
    src_lengths = src_lengths.unsqueeze(dim=1).expand(batch_size, max_srclen)
    # returns [batch_size, max_seq_len]
    return (src_indices < src_lengths).int().detach()


ITERATIONS = 8  # differs: PyTorch draws 100 sizes per case; 8 here keep the file under a few seconds


def _multihead_attn_test_helper(
    add_key_padding_mask=False,
    add_bias_kv=False,
    add_zero_attn=False,
    saved_kv=False,
    same_embed_dim=False,
    average_attn_weights=True,
):
    for _ in range(ITERATIONS):
        batch_sz, seq_len = (random.randint(2, 10) for r in range(2))
        d_head = random.randint(3, 10)
        nheads = random.randint(2, 5) * 2
        d_model = d_head * nheads
        if same_embed_dim:
            kv_dim = d_model
        else:
            kv_dim = random.randint(5, 20)
        dims = [batch_sz, seq_len, kv_dim]

        saved_k = None
        saved_k_tensor = None
        saved_v = None
        saved_v_tensor = None
        if saved_kv:
            saved_k = np.random.rand(batch_sz * nheads, seq_len, d_head)
            saved_k_tensor = torch.from_numpy(saved_k).to(
                torch.get_default_dtype()
            )
            saved_v = np.random.rand(batch_sz * nheads, seq_len, d_head)
            saved_v_tensor = torch.from_numpy(saved_v).to(
                torch.get_default_dtype()
            )

        key_padding_mask = None
        key_padding_mask_tensor = None
        if add_key_padding_mask:
            seq_mask = np.random.randint(0, 2, (1, seq_len))
            key_padding_mask = np.repeat(seq_mask, batch_sz, axis=0) == 1
            key_padding_mask_tensor = torch.from_numpy(key_padding_mask)
        decoder_state = np.random.rand(batch_sz, d_model)
        K = np.random.rand(*dims)
        V = K
        Q = np.expand_dims(decoder_state, 1)
        attn_mask = np.random.randint(0, 2, size=(1, seq_len))
        attn_mask_tensor = torch.from_numpy(attn_mask).float()
        attn_mask_tensor.masked_fill_(attn_mask_tensor == 0, float("-inf"))
        attn_mask_tensor.masked_fill_(attn_mask_tensor > 0, float("0.0"))

        decoder_state_tensor = torch.from_numpy(decoder_state).to(
            torch.get_default_dtype()
        )
        source_hid_tensor = (
            torch.from_numpy(K).to(torch.get_default_dtype()).transpose(0, 1)
        )

        multihead_attn_module = MultiheadAttention(
            d_model,
            nheads,
            add_bias_kv=add_bias_kv,
            add_zero_attn=add_zero_attn,
            kdim=kv_dim,
            vdim=kv_dim,
        )

        if add_bias_kv:
            bias_k = multihead_attn_module.bias_k.detach().numpy()
            bias_v = multihead_attn_module.bias_v.detach().numpy()
        else:
            bias_k = None
            bias_v = None

        _Q = decoder_state_tensor.unsqueeze(1).transpose(0, 1)
        _V = source_hid_tensor
        _K = source_hid_tensor

        if multihead_attn_module._qkv_same_embed_dim:
            (
                result,
                result_weight,
            ) = torch.nn.functional.multi_head_attention_forward(
                _Q,
                _K,
                _V,
                d_model,
                nheads,
                multihead_attn_module.in_proj_weight,
                multihead_attn_module.in_proj_bias,
                multihead_attn_module.bias_k,
                multihead_attn_module.bias_v,
                multihead_attn_module.add_zero_attn,
                multihead_attn_module.dropout,
                multihead_attn_module.out_proj.weight,
                multihead_attn_module.out_proj.bias,
                multihead_attn_module.training,
                key_padding_mask_tensor,
                True,
                attn_mask_tensor,
                static_k=saved_k_tensor,
                static_v=saved_v_tensor,
                average_attn_weights=average_attn_weights,
                is_causal=False,
            )
        else:
            (
                result,
                result_weight,
            ) = torch.nn.functional.multi_head_attention_forward(
                _Q,
                _K,
                _V,
                d_model,
                nheads,
                None,
                multihead_attn_module.in_proj_bias,
                multihead_attn_module.bias_k,
                multihead_attn_module.bias_v,
                multihead_attn_module.add_zero_attn,
                multihead_attn_module.dropout,
                multihead_attn_module.out_proj.weight,
                multihead_attn_module.out_proj.bias,
                multihead_attn_module.training,
                key_padding_mask_tensor,
                True,
                attn_mask_tensor,
                True,
                multihead_attn_module.q_proj_weight,
                multihead_attn_module.k_proj_weight,
                multihead_attn_module.v_proj_weight,
                static_k=saved_k_tensor,
                static_v=saved_v_tensor,
                average_attn_weights=average_attn_weights,
                is_causal=False,
            )

        result = result.squeeze(0).detach().numpy()

        if multihead_attn_module._qkv_same_embed_dim:
            q_proj_weight = multihead_attn_module.in_proj_weight[:d_model]
            k_proj_weight = multihead_attn_module.in_proj_weight[
                d_model : (d_model * 2)
            ]
            v_proj_weight = multihead_attn_module.in_proj_weight[
                (d_model * 2) :
            ]
        else:
            q_proj_weight = multihead_attn_module.q_proj_weight
            k_proj_weight = multihead_attn_module.k_proj_weight
            v_proj_weight = multihead_attn_module.v_proj_weight

        Q_fc = _fc(
            Q, q_proj_weight, multihead_attn_module.in_proj_bias[:d_model]
        )
        K_fc = _fc(
            K,
            k_proj_weight,
            multihead_attn_module.in_proj_bias[d_model : (d_model * 2)],
        )
        V_fc = _fc(
            V,
            v_proj_weight,
            multihead_attn_module.in_proj_bias[(d_model * 2) :],
        )

        if add_bias_kv:
            K_fc = np.concatenate(
                (K_fc, np.repeat(bias_k, K_fc.shape[0], axis=0)), axis=1
            )
            V_fc = np.concatenate(
                (V_fc, np.repeat(bias_v, V_fc.shape[0], axis=0)), axis=1
            )
            if attn_mask is not None:
                attn_mask = np.concatenate((attn_mask, np.ones([1, 1])), axis=1)
            if key_padding_mask is not None:
                key_padding_mask = np.concatenate(
                    (
                        key_padding_mask,
                        np.full((batch_sz, 1), False, dtype=bool),
                    ),
                    axis=1,
                )
            dims[1] += 1
        Q_split = _split_heads_ref(Q_fc, [batch_sz, 1, d_model], nheads, d_head)

        if saved_k is not None:
            K_split = np.reshape(saved_k, [dims[0], nheads, dims[1], d_head])
        else:
            K_split = _split_heads_ref(K_fc, dims, nheads, d_head)

        if saved_v is not None:
            V_split = np.reshape(saved_v, [dims[0], nheads, dims[1], d_head])
        else:
            V_split = _split_heads_ref(V_fc, dims, nheads, d_head)

        if add_zero_attn:
            dims[1] += 1
            K_split = np.concatenate(
                (
                    K_split,
                    np.zeros(
                        [
                            K_split.shape[0],
                            K_split.shape[1],
                            1,
                            K_split.shape[3],
                        ]
                    ),
                ),
                axis=2,
            )
            V_split = np.concatenate(
                (
                    V_split,
                    np.zeros(
                        [
                            V_split.shape[0],
                            V_split.shape[1],
                            1,
                            V_split.shape[3],
                        ]
                    ),
                ),
                axis=2,
            )

            if attn_mask is not None:
                attn_mask = np.concatenate((attn_mask, np.ones([1, 1])), axis=1)

            if key_padding_mask is not None:
                key_padding_mask = np.concatenate(
                    (
                        key_padding_mask,
                        np.full((batch_sz, 1), False, dtype=bool),
                    ),
                    axis=1,
                )
        attn_heads, ref_attn_weight = _scaled_dot_attn_ref(
            Q=Q_split,
            K=K_split,
            V=V_split,
            dims=Q_split.shape,
            unseen_mask=attn_mask,
            key_padding_mask=key_padding_mask,
            average_attn_weights=average_attn_weights,  # differs: passed in (a closure's default there)
        )
        combined_attn_heads = _combine_heads_ref(
            X=attn_heads, dims=[batch_sz, 1], nheads=nheads, d_head=d_head
        )

        reference = _fc(
            combined_attn_heads,
            multihead_attn_module.out_proj.weight,
            multihead_attn_module.out_proj.bias,
        )
        reference = np.squeeze(reference, axis=1)

        # result = reference
        assert tuple(result.shape) == (batch_sz, d_model)  # differs: assert in place of self.assertEqual
        np.testing.assert_allclose(result, reference, atol=1e-5)

        # result_weight = ref_attn_weight
        result_weight = result_weight.detach().numpy()
        assert tuple(result_weight.shape) == tuple(ref_attn_weight.shape)
        np.testing.assert_allclose(result_weight, ref_attn_weight, atol=1e-5)


# differs: test_multihead_attention's nine calls of the helper are nine tests, each for both average_attn_weights
average = pytest.mark.parametrize("average_attn_weights", [True, False])


@average
def test_multihead_attn_add_bias_kv(average_attn_weights):
    _multihead_attn_test_helper(add_bias_kv=True, average_attn_weights=average_attn_weights)


@average
def test_multihead_attn_add_zero_attn(average_attn_weights):
    _multihead_attn_test_helper(add_zero_attn=True, average_attn_weights=average_attn_weights)


@average
def test_multihead_attn_no_masking(average_attn_weights):
    _multihead_attn_test_helper(average_attn_weights=average_attn_weights)


@average
def test_multihead_attn_key_padding_mask(average_attn_weights):
    _multihead_attn_test_helper(add_key_padding_mask=True, average_attn_weights=average_attn_weights)


@average
def test_multihead_attn_saved_kv(average_attn_weights):
    _multihead_attn_test_helper(saved_kv=True, average_attn_weights=average_attn_weights)


@average
def test_multihead_attn_add_bias_kv_zero_attn(average_attn_weights):
    _multihead_attn_test_helper(
        add_key_padding_mask=True, add_bias_kv=True, add_zero_attn=True, average_attn_weights=average_attn_weights
    )


@average
def test_multihead_attn_all_arguments1(average_attn_weights):
    _multihead_attn_test_helper(
        add_key_padding_mask=True, add_zero_attn=True, saved_kv=True, average_attn_weights=average_attn_weights
    )


@average
def test_multihead_attn_all_arguments2(average_attn_weights):
    with pytest.raises(AssertionError, match="bias cannot be added to static key."):  # differs: pytest.raises
        _multihead_attn_test_helper(
            add_key_padding_mask=True,
            add_bias_kv=True,
            add_zero_attn=True,
            saved_kv=True,
            average_attn_weights=average_attn_weights,
        )


@average
def test_multihead_attn_all_arguments3(average_attn_weights):
    _multihead_attn_test_helper(
        add_key_padding_mask=True,
        add_zero_attn=True,
        saved_kv=True,
        same_embed_dim=True,
        average_attn_weights=average_attn_weights,
    )


def test_create_src_lengths_mask_helper_of_the_file():
    # differs: PyTorch's file defines _create_src_lengths_mask and never calls it; here it is checked once
    mask = _create_src_lengths_mask(3, torch.tensor([1, 3, 2]))
    np.testing.assert_array_equal(arr(mask), [[1, 0, 0], [1, 1, 1], [1, 1, 0]])


# ---- test/nn/test_multihead_attention.py: the other CPU tests -----------------------------------------------------

def test_multihead_attn_3d_attn_mask():
    embed_dim = 8
    num_heads = 4
    batch_size = 8
    src_len = 3
    tgt_len = 2

    query = torch.rand(batch_size, tgt_len, embed_dim)  # [N, T, D]
    key = torch.rand(batch_size, src_len, embed_dim)  # [N, S, D]
    value = key  # [N, S, D]
    attn_mask = torch.randint(
        0, 2, (batch_size, tgt_len, src_len)
    ).float()  # [N, T, S]
    attn_mask = attn_mask.masked_fill(attn_mask == 0, float("-inf")).masked_fill(
        attn_mask == 1, 0.0
    )

    mta_model = torch.nn.MultiheadAttention(embed_dim, num_heads)

    # Generate 3D results
    attn_mask_3d = torch.repeat_interleave(
        attn_mask, num_heads, dim=0
    )  # [N * H, T, S]
    output_3d = mta_model(
        query.transpose(0, 1),
        key.transpose(0, 1),
        value.transpose(0, 1),
        attn_mask=attn_mask_3d,
    )[0]
    output_3d = output_3d.transpose(0, 1)  # [N, T, D]

    # differs: output_3d is also compared with numpy (PyTorch compares the 3-D mask's output with the 2-D ones' only)
    expected, _ = np_mha_batch_first(mta_model, arr(query), arr(key), arr(value),
                                     attn_mask=np.repeat(arr(attn_mask), num_heads, axis=0))
    np.testing.assert_allclose(arr(output_3d), expected, rtol=1e-5, atol=1e-5)  # NaN rows (all -inf) on both

    for i in range(0, batch_size):
        output_2d = mta_model(
            query[i].unsqueeze(0).transpose(0, 1),
            key[i].unsqueeze(0).transpose(0, 1),
            value[i].unsqueeze(0).transpose(0, 1),
            attn_mask=attn_mask[i],
        )[0]

        # output_2d in shape of [T, 1, D]
        # differs: assert_allclose against numpy (and the 3-D output) in place of self.assertEqual
        np.testing.assert_allclose(arr(output_2d)[:, 0], expected[i], rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(arr(output_3d[i].unsqueeze(0).transpose(0, 1)), arr(output_2d), rtol=1e-6,
                                   atol=1e-6)


def test_multihead_attn_no_bias():
    embed_dim = 8
    num_heads = 4
    mha = torch.nn.MultiheadAttention(embed_dim, num_heads, bias=False)

    # Verify that bias=False applies to both in and out projection layers.
    assert mha.in_proj_bias is None  # differs: assert in place of self.assertIsNone
    assert mha.out_proj.bias is None


def _test_multihead_attn_invalid_shape_impl(mha):
    # Batched (3D) query cases
    query = torch.randn(4, 4, 4)
    key = torch.randn(4, 4, 4)
    value = torch.randn(4, 4, 4)

    # differs: pytest.raises in place of self.assertRaisesRegex, throughout
    msg = "expected `key` and `value` to be 3-D but found 2-D and 3-D tensors respectively"
    # 3D query, 2D key and 3D value
    with pytest.raises(AssertionError, match=msg):
        mha(query, torch.randn(4, 4), value)

    msg = "expected `key` and `value` to be 3-D but found 3-D and 2-D tensors respectively"
    # 3D query, 3D key and 2D value
    with pytest.raises(AssertionError, match=msg):
        mha(query, key, torch.randn(4, 4))

    msg = "expected `key_padding_mask` to be `None` or 2-D but found 1-D tensor instead"
    # 3D query, 3D key, 3D value and 1D key_padding_mask
    with pytest.raises(AssertionError, match=msg):
        mha(
            query,
            key,
            value,
            key_padding_mask=torch.tensor(
                [False, False, True, True], dtype=torch.bool
            ),
        )

    msg = (
        "expected `attn_mask` to be `None`, 2-D or 3-D but found 1-D tensor instead"
    )
    # 3D query, 3D key, 3D value and 1D attn_mask
    with pytest.raises(AssertionError, match=msg):
        mha(
            query,
            key,
            value,
            attn_mask=torch.tensor([False, False, True, True], dtype=torch.bool),
        )

    # Unbatched (2D) query cases
    query = torch.randn(4, 4)
    key = torch.randn(4, 4)
    value = torch.randn(4, 4)

    msg = "expected `key` and `value` to be 2-D but found 3-D and 2-D tensors respectively"
    # 2D query, 3D key and 2D value
    with pytest.raises(AssertionError, match=msg):
        mha(query, torch.randn(4, 4, 4), value)

    msg = "expected `key` and `value` to be 2-D but found 2-D and 3-D tensors respectively"
    # 2D query, 3D key and 2D value
    with pytest.raises(AssertionError, match=msg):
        mha(query, key, torch.randn(4, 4, 4))

    msg = "expected `key_padding_mask` to be `None` or 1-D but found 2-D tensor instead"
    # 2D query, 2D key, 2D value and 1D key_padding_mask
    with pytest.raises(AssertionError, match=msg):
        mha(
            query,
            key,
            value,
            key_padding_mask=torch.tensor(
                [[False, False, True, True] * 2], dtype=torch.bool
            ),
        )

    msg = (
        "expected `attn_mask` to be `None`, 2-D or 3-D but found 1-D tensor instead"
    )
    # 2D query, 2D key, 2D value and 1D attn_mask
    with pytest.raises(AssertionError, match=msg):
        mha(
            query,
            key,
            value,
            attn_mask=torch.tensor([False, False, True, True], dtype=torch.bool),
        )

    msg = r"Expected `attn_mask` shape to be \(4, 4, 4\)"
    # 2D query, 2D key, 2D value and 3D incorrect attn_mask
    with pytest.raises(AssertionError, match=msg):
        mha(
            query,
            key,
            value,
            attn_mask=torch.randn(5, 4, 4).bernoulli_().to(torch.bool),
        )


def test_multihead_attn_invalid_shape():
    mha = torch.nn.MultiheadAttention(4, 4)
    _test_multihead_attn_invalid_shape_impl(mha)
    # Give the test a chance to hit the fast path. (Right now, it
    # won't, but gating may be less restricted in the future.)
    with torch.no_grad():
        _test_multihead_attn_invalid_shape_impl(mha.eval())


@torch.no_grad()
def test_multihead_attn_fast_path_invalid_shape():
    mha = torch.nn.MultiheadAttention(4, 4, batch_first=True).eval()

    # Batched (3D) query cases
    query = torch.randn(4, 4, 4)
    key = torch.randn(4, 4, 4)
    value = torch.randn(4, 4, 4)

    # differs: pytest.raises in place of self.assertRaisesRegex, throughout (there is no fast path here)
    msg = "expected `key` and `value` to be 3-D but found 2-D and 3-D tensors respectively"
    # 3D query, 2D key and 3D value
    with pytest.raises(AssertionError, match=msg):
        mha(query, torch.randn(3, 3), value, need_weights=False)

    msg = "expected `key` and `value` to be 3-D but found 3-D and 2-D tensors respectively"
    # 3D query, 3D key and 2D value
    with pytest.raises(AssertionError, match=msg):
        mha(query, key, torch.randn(3, 3), need_weights=False)

    msg = "expected `key_padding_mask` to be `None` or 2-D but found 1-D tensor instead"
    # 3D query, 3D key, 3D value and 1D key_padding_mask
    with pytest.raises(AssertionError, match=msg):
        mha(
            query,
            key,
            value,
            key_padding_mask=torch.tensor([False, True, True], dtype=torch.bool),
            need_weights=False,
        )

    msg = (
        "expected `attn_mask` to be `None`, 2-D or 3-D but found 1-D tensor instead"
    )
    # 3D query, 3D key, 3D value and 1D attn_mask
    with pytest.raises(AssertionError, match=msg):
        mha(
            query,
            key,
            value,
            attn_mask=torch.tensor([False, True, True], dtype=torch.bool),
            need_weights=False,
        )

    # Unbatched (2D) query cases
    # NOTE: error messages are the same as regular path because the fast path doesn't support 2D.
    query = torch.randn(4, 4)
    key = torch.randn(4, 4)
    value = torch.randn(4, 4)

    msg = "expected `key` and `value` to be 2-D but found 3-D and 2-D tensors respectively"
    # 2D query, 3D key and 2D value
    with pytest.raises(AssertionError, match=msg):
        mha(query, torch.randn(4, 4, 4), value)

    msg = "expected `key` and `value` to be 2-D but found 2-D and 3-D tensors respectively"
    # 2D query, 3D key and 2D value
    with pytest.raises(AssertionError, match=msg):
        mha(query, key, torch.randn(4, 4, 4))

    msg = "expected `key_padding_mask` to be `None` or 1-D but found 2-D tensor instead"
    # 2D query, 2D key, 2D value and 1D key_padding_mask
    with pytest.raises(AssertionError, match=msg):
        mha(
            query,
            key,
            value,
            key_padding_mask=torch.tensor(
                [[False, False, True, True] * 2], dtype=torch.bool
            ),
        )

    msg = (
        "expected `attn_mask` to be `None`, 2-D or 3-D but found 1-D tensor instead"
    )
    # 2D query, 2D key, 2D value and 1D attn_mask
    with pytest.raises(AssertionError, match=msg):
        mha(
            query,
            key,
            value,
            attn_mask=torch.tensor([False, False, True, True], dtype=torch.bool),
        )

    msg = r"Expected `attn_mask` shape to be \(4, 4, 4\)"
    # 2D query, 2D key, 2D value and 3D incorrect attn_mask
    with pytest.raises(AssertionError, match=msg):
        mha(
            query,
            key,
            value,
            attn_mask=torch.randn(5, 4, 4).bernoulli_().to(torch.bool),
        )


def test_multihead_attn_invalid_shape_errors_are_value_errors_too():
    # differs: not PyTorch's; the library's errors here are ValueErrors as well as AssertionErrors (G1)
    mha = torch.nn.MultiheadAttention(4, 4)
    with pytest.raises(ValueError, match="MultiheadAttention|multi_head_attention_forward"):
        mha(torch.randn(4, 4, 4), torch.randn(4, 4), torch.randn(4, 4, 4))


def test_multihead_self_attn_two_masks_fast_path():
    """
    Multihead self-attention should give the same result on the fast path (BetterTransformer) as on the slow path
    when both attention mask (mask type 0) and key padding mask (mask type 1) are provided
    """
    device = "cpu"  # differs: the device-type test on the CPU only
    with torch.no_grad():
        embed_dim = 14
        num_heads = 7
        batch_size = 8
        src_len = 5

        query = value = key = torch.rand(batch_size, src_len, embed_dim).to(device)
        # Create masks of two different types
        attn_mask = torch.randint(0, 2, (src_len, src_len)).bool().to(device)
        key_padding_mask = (
            torch.randint(0, 2, (batch_size, src_len)).bool().to(device)
        )

        # We'll need expanded versions of the masks for masking out the outputs below
        attn_mask_expanded = attn_mask.reshape(1, 1, src_len, src_len).expand(
            batch_size, num_heads, src_len, src_len
        )
        key_padding_mask_expanded = key_padding_mask.reshape(
            batch_size, 1, 1, src_len
        ).expand(batch_size, num_heads, src_len, src_len)
        merged_mask = attn_mask_expanded.logical_or(key_padding_mask_expanded)

        # Compute attention on the fast path
        mta_model = torch.nn.MultiheadAttention(
            embed_dim, num_heads, batch_first=True, device=device
        )
        mta_model.training = False
        result_fast_path, _ = mta_model(
            query,
            key,
            value,
            attn_mask=attn_mask,
            key_padding_mask=key_padding_mask,
        )

        # Compute attention on the slow path
        # differs: numpy's multi_head_attention_forward in place of the library's (PyTorch's slow path)
        result_ref, _ = np_mha_batch_first(mta_model, arr(query), arr(key), arr(value), attn_mask=attn_mask.numpy(),
                                           key_padding_mask=key_padding_mask.numpy())

        # Rows which are completely masked out are nan, we need to exclude them from comparison
        mask_out = (
            merged_mask[:, 0, :, :]
            .all(-1, keepdim=True)
            .expand(batch_size, src_len, embed_dim)
        )
        result_fast_path_masked = result_fast_path.masked_fill(mask_out, 0)
        result_ref_masked = np.where(mask_out.numpy(), 0.0, result_ref)  # differs: numpy's masked_fill

        np.testing.assert_allclose(arr(result_fast_path_masked), result_ref_masked, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", [torch.double])  # differs: @dtypes(torch.double) as a parametrize
@torch.no_grad()
def test_multihead_attn_fast_path_small_test(dtype):
    device = "cpu"
    mha = torch.nn.MultiheadAttention(
        4, 4, batch_first=True, dtype=dtype, device=device
    ).eval()
    query = torch.randn(4, 4, 4, dtype=dtype, device=device)
    out, w = mha(query, query, query)  # differs: PyTorch only calls; here the output is checked against numpy
    expected, p = np_mha_batch_first(mha, arr(query), arr(query), arr(query))
    np.testing.assert_allclose(arr(out), expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(arr(w), p.mean(1), rtol=1e-10, atol=1e-12)
    assert out.dtype == dtype


@pytest.mark.parametrize("dtype", [torch.double])
@torch.no_grad()
def test_multihead_attn_in_proj_bias_none(dtype):
    device = "cpu"
    mha = torch.nn.MultiheadAttention(2, 2, bias=False, dtype=dtype, device=device)
    query = torch.rand(2, 2, 2, dtype=dtype, device=device)
    out, _ = mha(query, query, query)
    # differs: PyTorch only calls; here numpy's (batch-first, so the query's first two axes swapped)
    q = arr(query).transpose(1, 0, 2)
    expected, _ = np_mha_batch_first(mha, q, q, q)
    np.testing.assert_allclose(arr(out).transpose(1, 0, 2), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.double])
@torch.no_grad()
def test_multihead_attn_in_proj_weight_none(dtype):
    device = "cpu"
    # Setting kdim == vdim == 2 means that vdim != embed_dim
    # will cause the logic to use per-input project weights, thereby
    # forcing self.in_proj_weight = None
    mha = torch.nn.MultiheadAttention(
        4, 4, vdim=2, kdim=2, dtype=dtype, device=device
    )
    query = torch.rand(4, 4, 4, dtype=dtype, device=device)
    key = torch.rand(4, 4, 2, dtype=dtype, device=device)
    out, w = mha(query, key, key)
    # differs: PyTorch only calls; here in_proj_weight is None and the output is numpy's, one head of one feature
    assert mha.in_proj_weight is None
    g = (lambda t: arr(t).astype(np.float64))
    b = g(mha.in_proj_bias)
    Q = arr(query) @ g(mha.q_proj_weight).T + b[:4]
    K = arr(key) @ g(mha.k_proj_weight).T + b[4:8]
    V = arr(key) @ g(mha.v_proj_weight).T + b[8:]
    s = np.einsum("lnh,snh->nhls", Q, K)  # four heads of one feature each: the scale 1/sqrt(1) is 1
    p = np.exp(s - s.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    o = np.einsum("nhls,snh->lnh", p, V)
    expected = o @ g(mha.out_proj.weight).T + g(mha.out_proj.bias)
    np.testing.assert_allclose(arr(out), expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(arr(w), p.mean(1), rtol=1e-10, atol=1e-12)


# ---- test/test_transformers.py (commit 00030eb8e81f911c48c4d7634fa6b8bb2fae1a1b) ----------------------------------

@pytest.mark.parametrize("nhead", [1, 4, 8])
def test_transformerencoderlayer_src_mask(nhead):
    device = "cpu"
    batch_size = 2
    seqlen = 4
    d_model = 8
    dim_feedforward = 32

    model = torch.nn.TransformerEncoderLayer(
        d_model=d_model,
        nhead=nhead,
        dim_feedforward=dim_feedforward,
        batch_first=True).to(device)
    src = torch.rand(batch_size, seqlen, d_model).to(device)  # bs, seqlen, d_model
    src_mask = torch.zeros(seqlen, seqlen).to(torch.bool).to(device)

    out = model(src, src_mask=src_mask)
    assert out.shape == (batch_size, seqlen, d_model)  # differs: PyTorch only calls; the shape checked here
    model.eval()
    with torch.no_grad():
        out = model(src, src_mask=src_mask)
    # differs: PyTorch only calls; in eval mode the output is numpy's (an all-False mask masks nothing)
    np.testing.assert_allclose(arr(out), np_encoder_layer_batch_first(model, arr(src), src_mask.numpy()),
                               rtol=1e-5, atol=1e-5)


def _set_constant_weights(model):
    with torch.no_grad():
        # set constant weights of the model
        for idx, p in enumerate(model.parameters()):
            x = p  # differs: p, not p.data (a numpy array here, docs/pytorch.md)
            sz = x.view(-1).size(0)
            shape = x.shape
            x = torch.cos(torch.arange(0, sz).float().view(shape))
            p.copy_(x)  # differs: p.copy_ under no_grad in place of p.data.copy_


@pytest.mark.parametrize("with_no_grad", [True, False])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("enable_nested_tensor", [False])
def test_transformerencoder_square_input(with_no_grad, training, enable_nested_tensor):
    """
    Test for edge cases when input of shape (batch size, sequence length, embedding dimension) has
    batch size == sequence length
    """
    device = "cpu"
    model = torch.nn.TransformerEncoder(
        torch.nn.TransformerEncoderLayer(d_model=4, nhead=2, dim_feedforward=16, dropout=0.0, batch_first=True),
        num_layers=2,
        enable_nested_tensor=enable_nested_tensor
    ).to(device)

    _set_constant_weights(model)  # differs: the loop of PyTorch's test, shared with test_transformerencoder

    if training:
        model = model.train()
    else:
        model = model.eval()
    x = torch.arange(0, 16).reshape(2, 2, 4).to(torch.get_default_dtype()).to(device)
    src_mask = torch.Tensor([[0, 1], [0, 0]]).to(torch.bool).to(device)

    if with_no_grad:
        cm = torch.no_grad()
    else:
        cm = contextlib.nullcontext()
    with cm:
        result = model(x, mask=src_mask)

    ref_output = torch.Tensor([[[2.420306205749512, 0.017629241570830, -0.607857942581177, -0.085519507527351],
                                [2.420306205749512, 0.017629241570830, -0.607857942581177, -0.085519507527351]],
                               [[2.419836044311523, 0.017548924311996, -0.608187675476074, -0.085347734391689],
                                [2.419836044311523, 0.017548924311996, -0.608187675476074, -0.085347734391689]]]
                              ).to(device)
    assert tuple(result.shape) == tuple(ref_output.shape)
    # differs: assert_allclose at torch.testing's float32 defaults (rtol 1.3e-6, atol 1e-5) for self.assertEqual
    np.testing.assert_allclose(arr(result), arr(ref_output), rtol=1.3e-6, atol=1e-5)


@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("enable_nested_tensor", [True, False])
def test_transformerencoder(batch_first, training, enable_nested_tensor):
    device = "cpu"

    def get_a_test_layer(activation, batch_first=False):
        d_model = 4
        nhead = 2
        dim_feedforward = 16
        dropout = 0.0

        layer = nn.TransformerEncoderLayer(
            d_model,
            nhead,
            dim_feedforward=dim_feedforward,
            dropout=dropout,
            activation=activation,
            batch_first=batch_first,
        ).to(device)

        _set_constant_weights(layer)

        return layer

    # this is a deterministic test for TransformerEncoder
    activation = F.relu

    def assert_close(result, ref_output):
        # differs: numpy's assert_allclose in place of torch.testing.assert_close(rtol=1e-7, atol=1e-5)
        np.testing.assert_allclose(arr(result), arr(ref_output), rtol=1e-7, atol=1e-5)

    def _test(batch_first, training, enable_nested_tensor):
        def perm_fn(x):
            return x.transpose(1, 0) if batch_first else x

        encoder_layer = get_a_test_layer(activation=activation,
                                         batch_first=batch_first)

        model = nn.TransformerEncoder(
            encoder_layer, 1, enable_nested_tensor=enable_nested_tensor
        ).to(device)

        if not training:
            model = model.eval()

        # deterministic input
        encoder_input = perm_fn(torch.tensor([[[0.7462, 0.6653, 0.5679, 0.4891],
                                               [0.5387, 0.1655, 0.3565, 0.0471]],
                                              [[0.8335, 0.2799, 0.5031, 0.2947],
                                               [0.1402, 0.0318, 0.7636, 0.1346]],
                                              [[0.6333, 0.9344, 0.1376, 0.9938],
                                               [0.8924, 0.2872, 0.6692, 0.2944]],
                                              [[0.9897, 0.6915, 0.3154, 0.1733],
                                               [0.8645, 0.3513, 0.3064, 0.0767]],
                                              [[0.8117, 0.2366, 0.4838, 0.7881],
                                               [0.3718, 0.4945, 0.9511, 0.0864]]]
                                             )).to(device)
        result = model(encoder_input)
        ref_output = perm_fn(torch.tensor([[[2.428589, 0.020835, -0.602055, -0.085249],
                                            [2.427987, 0.021213, -0.602496, -0.084103]],
                                           [[2.424689, 0.019155, -0.604793, -0.085672],
                                            [2.413863, 0.022211, -0.612486, -0.072490]],
                                           [[2.433774, 0.021598, -0.598343, -0.087548],
                                            [2.425104, 0.019748, -0.604515, -0.084839]],
                                           [[2.436185, 0.022682, -0.596625, -0.087261],
                                            [2.433556, 0.021891, -0.598509, -0.086832]],
                                           [[2.416246, 0.017512, -0.610712, -0.082961],
                                            [2.422901, 0.024187, -0.606178, -0.074929]]]
                                          )).to(device)
        assert tuple(result.shape) == tuple(ref_output.shape)
        assert_close(result, ref_output)

        # all 0 src_mask
        src_mask = torch.zeros([5, 5]).to(device) == 1
        result = model(encoder_input, mask=src_mask)
        assert tuple(result.shape) == tuple(ref_output.shape)
        assert_close(result, ref_output)

        # all 0
        mask = torch.zeros([2, 5]).to(device) == 1
        result = model(encoder_input, src_key_padding_mask=mask)
        assert tuple(result.shape) == tuple(ref_output.shape)
        assert_close(result, ref_output)

        mask[0, 1] = 1
        mask[1, 3] = 1
        mask[1, 4] = 1
        result = model(encoder_input, src_key_padding_mask=mask)
        ref_output = perm_fn(torch.tensor([[[2.429026, 0.020793, -0.601741, -0.085642],
                                            [2.428811, 0.021445, -0.601912, -0.084252]],
                                           [[2.425009, 0.019155, -0.604566, -0.085899],
                                            [2.415408, 0.02249, -0.611415, -0.073]],
                                           [[2.434199, 0.021682, -0.598039, -0.087699],
                                            [2.42598, 0.019941, -0.603896, -0.085091]],
                                           [[2.436457, 0.022736, -0.59643, -0.08736],
                                            [2.434021, 0.022093, -0.598179, -0.08679]],
                                           [[2.416531, 0.017498, -0.610513, -0.083181],
                                            [2.4242, 0.024653, -0.605266, -0.074959]]]
                                          )).to(device)
        assert tuple(result.shape) == tuple(ref_output.shape)
        assert_close(result, ref_output)

        # test case 2, multiple layers no norm
        model = nn.TransformerEncoder(encoder_layer, 2, enable_nested_tensor=enable_nested_tensor).to(device)
        if not training:
            model = model.eval()
        result = model(encoder_input, src_key_padding_mask=mask)
        ref_output = perm_fn(torch.tensor([[[2.419051, 0.017446, -0.608738, -0.085003],
                                            [2.419102, 0.017452, -0.608703, -0.085026]],
                                           [[2.419043, 0.017445, -0.608744, -0.084999],
                                            [2.419052, 0.017446, -0.608738, -0.085004]],
                                           [[2.419067, 0.017448, -0.608727, -0.085010],
                                            [2.419098, 0.017452, -0.608706, -0.085024]],
                                           [[2.419072, 0.017449, -0.608724, -0.085012],
                                            [2.419119, 0.017455, -0.608691, -0.085034]],
                                           [[2.419019, 0.017442, -0.608761, -0.084989],
                                            [2.419075, 0.017449, -0.608722, -0.085014]]]
                                          )).to(device)
        assert tuple(result.shape) == tuple(ref_output.shape)
        assert_close(result, ref_output)

        model = nn.TransformerEncoder(encoder_layer, 6, enable_nested_tensor=enable_nested_tensor).to(device)
        if not training:
            model = model.eval()
        result = model(encoder_input, src_key_padding_mask=mask)
        ref_output = perm_fn(torch.tensor([[[2.419101, 0.017453, -0.608703, -0.085025],
                                            [2.419101, 0.017453, -0.608704, -0.085025]]] * 5  # differs: * 5
                                          )).to(device)   # for PyTorch's five equal rows written out
        assert tuple(result.shape) == tuple(ref_output.shape)
        assert_close(result, ref_output)

        # test case 3, multiple layers with norm
        # d_model = 4
        norm = nn.LayerNorm(4)
        model = nn.TransformerEncoder(encoder_layer, 2, norm=norm,
                                      enable_nested_tensor=enable_nested_tensor).to(device)
        if not training:
            model = model.eval()
        result = model(encoder_input, src_key_padding_mask=mask)
        ref_output = perm_fn(torch.tensor([[[1.695949, -0.357635, -0.893077, -0.445238],
                                            [1.695955, -0.357639, -0.893050, -0.445266]],
                                           [[1.695948, -0.357634, -0.893082, -0.445233],
                                            [1.695950, -0.357635, -0.893077, -0.445238]],
                                           [[1.695951, -0.357636, -0.893069, -0.445246],
                                            [1.695955, -0.357639, -0.893052, -0.445264]],
                                           [[1.695952, -0.357636, -0.893066, -0.445249],
                                            [1.695957, -0.357641, -0.893041, -0.445276]],
                                           [[1.695946, -0.357632, -0.893095, -0.445220],
                                            [1.695952, -0.357637, -0.893065, -0.445251]]]
                                          )).to(device)
        assert tuple(result.shape) == tuple(ref_output.shape)
        assert_close(result, ref_output)
        # differs: the rest of PyTorch's test (six layers with norm, and on) is past the part read; left out

    _test(batch_first, training, enable_nested_tensor)


def test_encoder_padding_and_src_mask_bool():
    encoder_layer = nn.TransformerEncoderLayer(
        d_model=16,
        nhead=2,
        dim_feedforward=32,
        dropout=0.1,
        activation='relu',
        batch_first=True,
    )
    encoder_norm = nn.LayerNorm(16)
    encoder = nn.TransformerEncoder(
        encoder_layer, 2, encoder_norm
    )

    inputs = torch.randn(2, 3, 16)

    src_mask = torch.ones(3, 3, dtype=torch.bool).triu_(diagonal=1)
    input_seq_len = torch.tensor([3, 2])
    padding_mask = (
        torch.arange(3)[None, :].cpu() >= input_seq_len[:, None]
    )

    # differs: warnings.catch_warnings("error") in place of self.assertNoLogs(None); the output's shape checked too
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = encoder(
            inputs,
            mask=src_mask,
            src_key_padding_mask=padding_mask,
        )
    assert out.shape == (2, 3, 16)
    assert np.isfinite(arr(out)).all()


def test_decoder_padding_and_src_mask_bool():

    def transformer_decoder(inputs, input_seq_len, memory):
        decoder_layer = nn.TransformerDecoderLayer(
            d_model=16,
            nhead=2,
            dim_feedforward=32,
            dropout=0.1,
            activation='relu',
            batch_first=True,
        )
        decoder_norm = nn.LayerNorm(16)
        decoder = nn.TransformerDecoder(
            decoder_layer, 2, decoder_norm
        )

        src_mask = torch.ones(
            inputs.shape[1], inputs.shape[1], dtype=torch.bool
        ).triu_(diagonal=1)
        padding_mask = (
            torch.arange(inputs.shape[1])[None, :].cpu()
            >= input_seq_len[:, None]
        )

        return decoder(
            inputs,
            memory,
            tgt_mask=src_mask,
            tgt_key_padding_mask=padding_mask,
            memory_key_padding_mask=padding_mask,
        )

    inputs = torch.randn(2, 3, 16)
    memory = torch.randn(2, 3, 16)
    input_seq_len = torch.tensor([3, 2])

    # differs: warnings.catch_warnings("error") in place of self.assertNoLogs(None); the output's shape checked too
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = transformer_decoder(inputs, input_seq_len, memory)
    assert out.shape == (2, 3, 16)
    assert np.isfinite(arr(out)).all()


def test_encoder_is_causal():

    d_model = 3
    layer = torch.nn.TransformerEncoderLayer(d_model, 1, 6, batch_first=True)
    layer.eval()
    x = torch.randn(1, 5, d_model)
    unmasked_output = layer(x)
    mask = torch.nn.Transformer.generate_square_subsequent_mask(x.size(1))
    is_causal_output = layer(x, src_mask=mask, is_causal=True)
    masked_output = layer(x, src_mask=mask)

    # differs: assert_allclose in place of self.assertEqual, and both against numpy (PyTorch compares the two only)
    expected = np_encoder_layer_batch_first(layer, arr(x), arr(mask))
    np.testing.assert_allclose(arr(masked_output), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(arr(is_causal_output), arr(masked_output), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(arr(unmasked_output), np_encoder_layer_batch_first(layer, arr(x)), rtol=1e-5,
                               atol=1e-5)


def test_kpm_mask_trailing_column_with_nested_tensor():
    device = "cpu"
    encoder_layer = nn.TransformerEncoderLayer(
        d_model=256,
        nhead=4,
        dim_feedforward=512,
        activation='gelu',
        norm_first=False,
        batch_first=False,
    )
    transformer_encoder = nn.TransformerEncoder(encoder_layer, num_layers=3, enable_nested_tensor=True).to(device)

    x = torch.randn(10, 6, 256).to(device)
    mask = torch.ones(6, 10)
    mask[0, :] = 0  # here I masked 5 columns instead of just one
    mask = mask.bool().to(device)
    out = transformer_encoder(src=x, src_key_padding_mask=mask)
    assert out.shape[1] == 6  # differs: assert in place of self.assertEqual
    # differs: not PyTorch's: samples 1..5 are masked everywhere, so their rows are NaN; sample 0 is not
    assert np.isfinite(arr(out)[:, 0]).all() and np.isnan(arr(out)[:, 1:]).all()


# Test failing MHA when bias was NoneType
def test_bias_is_none():
    x = torch.rand((1, 5, 10))
    model = torch.nn.modules.activation.MultiheadAttention(10, 1, bias=False, batch_first=True)
    model.eval()
    out, _ = model(x, x, x)
    # completes without error
    # differs: and gives numpy's output
    np.testing.assert_allclose(arr(out), np_mha_batch_first(model, arr(x), arr(x), arr(x))[0], rtol=1e-5, atol=1e-5)


def test_train_with_is_causal():
    device = "cpu"
    # training with is_causal
    S, L, E, H = 1, 2, 2, 1
    layer = nn.TransformerEncoderLayer(
        d_model=2,
        dim_feedforward=4,
        nhead=H,
        batch_first=True,
        activation="gelu",
        dropout=0,
    )
    criterion = nn.MSELoss()
    encoder = nn.TransformerEncoder(layer, 2).to(device)
    optimizer = optim.SGD(encoder.parameters(), lr=0.1, momentum=0.9)
    encoder.train()

    encoder.train()
    optimizer.zero_grad()
    inputs = torch.randn(S, L, E).to(device)
    mask = torch.nn.Transformer.generate_square_subsequent_mask(
        inputs.size(1), device=device
    )

    outputs = encoder(inputs, mask=mask, is_causal=True)

    loss = criterion(outputs[:, 0:2, :], inputs[:, 0:2, :])
    loss.backward()
    before = arr(encoder.layers[0].linear1.weight)  # differs: the step is checked (PyTorch only takes it)
    optimizer.step()
    np.testing.assert_allclose(arr(encoder.layers[0].linear1.weight),
                               before - 0.1 * arr(encoder.layers[0].linear1.weight.grad), rtol=1e-6, atol=1e-7)

    # inference with is_causal
    t_qvk = torch.randn((S, L, E), device=device, dtype=torch.float32)
    mha = nn.MultiheadAttention(E, H).to(device)
    mask = torch.nn.Transformer.generate_square_subsequent_mask(
        S, device=device
    )

    attn_out, _ = mha(t_qvk, t_qvk, t_qvk, attn_mask=mask, is_causal=True)

    # Can't give only is_causal
    attn_mask = torch.randint(0, 2, size=(L, L), device=device, dtype=torch.bool)  # noqa: F841 (unused there too)
    with pytest.raises(RuntimeError):  # differs: pytest.raises in place of self.assertRaises
        _ = mha(t_qvk, t_qvk, t_qvk, is_causal=True)

    # differs: the MagicMock of encoder.layers[1] (is_causal found from a causal mask) is left out

    # check expected numerical values with all kernels
    is_causal_kernels(["MATH"], device)  # differs: the kernels by name; one attention here


def is_causal_kernels(kernels, device):
    def ones_tensor(*shape):
        return torch.ones(shape, device=device, dtype=torch.float32).to(device)
    S, L, E, H = 1, 2, 4, 1
    qkv = ones_tensor(S, L, E)

    mha = nn.MultiheadAttention(E, H).to(device)
    mha.in_proj_weight = Parameter(torch.ones((E * 3, E), device=device))
    mha.out_proj.weight = Parameter(torch.ones((E, E), device=device))
    expected = torch.ones(size=(S, L, E)).to(device) * 16
    mask = torch.nn.Transformer.generate_square_subsequent_mask(
        qkv.size(1), device=device
    )

    for kernel in kernels:
        # differs: no sdpa_kernel(backends=[kernel]) context; the non-MATH branch (CUDA) left out
        actual, _ = mha(qkv, qkv, qkv, attn_mask=mask, need_weights=False, is_causal=True)
        assert torch.equal(actual, expected)  # differs: assert in place of self.assertTrue


# ---- test_scaled_dot_product_attention (the MATH backend; dropout_p 0.0 only) -------------------------------------

def _np_sdp_ref(q, k, v, attn_mask=None):
    # differs: PyTorch's sdp_ref (written with baddbmm, bmm, softmax) transcribed to float64 numpy, without dropout
    E = q.shape[-1]
    q = q / np.sqrt(E)
    attn = q @ np.swapaxes(k, -2, -1)
    if attn_mask is not None:
        attn = attn_mask + attn
    with np.errstate(invalid="ignore"):
        attn = np.exp(attn - attn.max(-1, keepdims=True))
        attn = attn / attn.sum(-1, keepdims=True)
    return attn @ v


@pytest.mark.parametrize("input_dim,attn_mask_dim,is_causal",
                         [(3, None, False), (3, 2, False), (3, 2, True), (3, 3, False), (3, 3, True),
                          (4, None, False), (4, 2, False), (4, 2, True), (4, 4, False), (4, 4, True)])
@pytest.mark.parametrize("dropout_p", [0.0])  # differs: 0.2 and 0.5 left out (they match torch's RNG stream)
def test_scaled_dot_product_attention(input_dim, attn_mask_dim, is_causal, dropout_p):
    device = "cpu"
    dtypes = [torch.double, torch.float]
    for dtype in dtypes:

        def rand_tensor(*shape):
            return torch.randn(shape, device=device, dtype=dtype)

        # This test compares python and C++ implementations of SDP.
        N, N_prime, L, S, E = 5, 2, 4, 3, 6
        if input_dim == 3:
            query = rand_tensor(N, L, E)
            key = rand_tensor(N, S, E)
            value = rand_tensor(N, S, E)
        elif input_dim == 4:
            query = rand_tensor(N, N_prime, L, E)
            key = rand_tensor(N, N_prime, S, E)
            value = rand_tensor(N, N_prime, S, E)
        else:
            pytest.fail(f'Invalid input_dim {input_dim} encountered in SDP test')

        attn_mask = None
        if attn_mask_dim is not None:
            assert attn_mask_dim in [2, input_dim]
            mask_size = (L, S) if attn_mask_dim == 2 else ((N, L, S) if input_dim == 3 else (N, N_prime, L, S))
            attn_mask = (torch.ones(mask_size, device=device, dtype=torch.bool).tril() if is_causal
                         else torch.randint(0, 2, size=mask_size, device=device, dtype=torch.bool))

        # Python impl only supports float mask and 3D inputs.
        attn_mask_float = None
        if attn_mask is not None:
            # differs: numpy's float mask (-inf where the bool mask is False)
            attn_mask_float = np.where(attn_mask.numpy(), 0.0, -np.inf)
        q, k, v = arr(query).reshape(-1, L, E), arr(key).reshape(-1, S, E), arr(value).reshape(-1, S, E)
        a = attn_mask_float
        if a is not None and attn_mask_dim > 3:
            a = a.reshape(-1, L, S)
        expected = _np_sdp_ref(q, k, v, attn_mask=a)
        if input_dim > 3:
            expected = expected.reshape(-1, N_prime, L, E)

        if is_causal:
            # NB: Don't pass attn_mask here
            actual = torch.nn.functional.scaled_dot_product_attention(
                query, key, value, None, dropout_p, is_causal)

            # Error case: both explicit attn_mask and is_causal are set
            with pytest.raises(RuntimeError, match="Explicit attn_mask should not be set when is_causal=True"):
                torch.nn.functional.scaled_dot_product_attention(
                    query, key, value, attn_mask, dropout_p, is_causal)
        else:
            actual = torch.nn.functional.scaled_dot_product_attention(
                query, key, value, attn_mask, dropout_p, is_causal)

        # differs: assert_allclose at torch.testing's defaults for the dtype, in place of self.assertEqual
        tol = dict(rtol=1e-7, atol=1e-7) if dtype == torch.double else dict(rtol=1.3e-6, atol=1e-5)
        np.testing.assert_allclose(arr(actual), expected, **tol)

    if attn_mask_dim is None:
        q = torch.tensor(q).double().clone()  # differs: q, k, v are numpy's here; made tensors again
        k = torch.tensor(k).double().clone()
        v = torch.tensor(v).double().clone()
        q.requires_grad_()
        k.requires_grad_()
        v.requires_grad_()

        # differs: gradcheck of the library's function only (sdp_ref is numpy's here, without gradients)
        assert gradcheck(lambda *args, **kwargs: torch.nn.functional.scaled_dot_product_attention(*args, **kwargs),
                         (q, k, v, attn_mask, dropout_p))
