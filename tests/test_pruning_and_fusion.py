"""nn.utils.prune (masks against numpy: the smallest |w| or the channels of least norm zeroed, counts as PyTorch's
_compute_nparams_toprune rounds them; state dict keys; the gradient to weight_orig masked; remove; global pruning),
nn.utils.fuse_conv_bn_eval / fuse_linear_bn_eval (the fused layer equals the layer then the batch norm in eval
mode, in float64, to 1e-12), nn.utils.skip_init, nn.utils.stateless.functional_call and nn.LazyConv1d / LazyConv2d
(in_channels from the first input, then a convolution of those sizes); errors name the function and what came,
and leave the module as it was. Read from PyTorch's torch/nn/utils/prune.py, fusion.py, init.py, stateless.py."""

import re

import numpy as np
import pytest

import microgradseq as mg
from microgradseq import nn
from microgradseq.nn.utils import prune


def linear(in_features=5, out_features=4, seed=0):
    """A float64 Linear whose weights are distinct (no ties among |w|)."""
    layer = nn.Linear(in_features, out_features, dtype=np.float64)
    rng = np.random.default_rng(seed)
    weight = rng.permutation(np.arange(1, in_features * out_features + 1)).reshape(out_features, in_features)
    layer.load_state_dict({"weight": weight * rng.choice([-0.1, 0.1], weight.shape),
                           "bias": rng.standard_normal(out_features)})
    return layer


def smallest_zeroed(values, count):
    mask = np.ones(values.size)
    mask[np.argsort(np.abs(values).reshape(-1), kind="stable")[:count]] = 0
    return mask.reshape(values.shape)


# ---- pruning --------------------------------------------------------------------------------------

@pytest.mark.parametrize("amount, count", [(0.3, 6), (7, 7), (0.0, 0), (1.0, 20), (0.125, 2)])
def test_l1_unstructured_zeroes_the_smallest_magnitudes(amount, count):
    layer = linear()
    weight = layer.weight.numpy().copy()
    prune.l1_unstructured(layer, "weight", amount=amount)          # count = round(amount * 20) for a float
    np.testing.assert_array_equal(layer.weight_mask.numpy(), smallest_zeroed(weight, count))
    np.testing.assert_array_equal(layer.weight.numpy(), weight * smallest_zeroed(weight, count))
    np.testing.assert_array_equal(layer.weight_orig.numpy(), weight)


def test_a_fraction_rounds_half_to_even_as_pythons_round():
    layer = linear(5, 1)
    prune.l1_unstructured(layer, "weight", amount=0.5)              # round(2.5) = 2
    assert (layer.weight_mask.numpy() == 0).sum() == 2


def test_state_dict_holds_weight_orig_and_weight_mask_as_pytorchs():
    layer = prune.l1_unstructured(linear(), "weight", amount=0.2)
    assert list(layer.state_dict()) == ["bias", "weight_orig", "weight_mask"]
    assert [name for name, _ in layer.named_parameters()] == ["bias", "weight_orig"]
    assert layer.weight_mask.dtype == np.float64 and not layer.weight_mask.requires_grad


def test_forward_uses_the_masked_weight_and_the_gradient_reaches_weight_orig_masked():
    layer = prune.l1_unstructured(linear(), "weight", amount=0.5)
    mask = layer.weight_mask.numpy()
    layer.weight_orig.data = layer.weight_orig.numpy() * 2       # the pre-hook recomputes weight from it
    x = np.random.default_rng(1).standard_normal((3, 5))
    out = layer(mg.tensor(x))
    np.testing.assert_allclose(out.numpy(), x @ (layer.weight_orig.numpy() * mask).T + layer.bias.numpy(),
                               rtol=1e-12)
    out.sum().backward()
    np.testing.assert_allclose(layer.weight_orig.grad, mask * x.sum(axis=0), rtol=1e-12)   # d sum / dW = 1 x


def test_an_optimizer_made_before_pruning_trains_weight_orig():
    layer = linear()
    weight = layer.weight
    optimizer = mg.optim.SGD(layer.parameters(), lr=0.1)
    prune.l1_unstructured(layer, "weight", amount=0.5)
    assert layer.weight_orig is weight
    layer(mg.tensor(np.ones((1, 5)))).sum().backward()
    before = weight.numpy().copy()
    optimizer.step()
    np.testing.assert_allclose(weight.numpy(), before - 0.1 * layer.weight_mask.numpy(), rtol=1e-12)


def test_remove_makes_the_pruned_weight_a_plain_parameter():
    layer = prune.l1_unstructured(linear(), "weight", amount=0.5)
    pruned = layer.weight.numpy().copy()
    prune.remove(layer, "weight")
    assert isinstance(layer.weight, nn.Parameter) and not hasattr(layer, "weight_orig")
    assert not hasattr(layer, "weight_mask") and not prune.is_pruned(layer)
    assert list(layer.state_dict()) == ["bias", "weight"] and len(layer._forward_pre_hooks) == 0
    np.testing.assert_array_equal(layer.weight.numpy(), pruned)


def test_pruning_again_acts_on_the_entries_still_kept():
    layer = linear()
    weight = layer.weight.numpy().copy()
    prune.l1_unstructured(layer, "weight", amount=0.5)          # 10 of 20
    prune.l1_unstructured(layer, "weight", amount=0.3)          # round(0.3 * 10) = 3 more of the 10 kept
    np.testing.assert_array_equal(layer.weight_mask.numpy(), smallest_zeroed(weight, 13))
    hooks = list(layer._forward_pre_hooks.values())
    assert len(hooks) == 1 and isinstance(hooks[0], prune.PruningContainer) and len(hooks[0]) == 2


@pytest.mark.parametrize("n, dim", [(2, 0), (1, 1), (np.inf, 0), (-np.inf, 1), ("fro", -1)])
def test_ln_structured_zeroes_the_channels_of_least_norm(n, dim):
    conv = nn.Conv2d(4, 6, 2, dtype=np.float64)
    weight = conv.weight.numpy().copy()
    prune.ln_structured(conv, "weight", amount=0.5, n=n, dim=dim)
    axis = dim % 4
    channels = np.moveaxis(weight, axis, 0).reshape(weight.shape[axis], -1)
    norms = {2: np.sqrt((channels ** 2).sum(1)), 1: np.abs(channels).sum(1), np.inf: np.abs(channels).max(1),
             -np.inf: np.abs(channels).min(1), "fro": np.sqrt((channels ** 2).sum(1))}[n]
    pruned = np.argsort(norms, kind="stable")[:round(0.5 * weight.shape[axis])]
    expected = np.ones(weight.shape)
    np.moveaxis(expected, axis, 0)[pruned] = 0
    np.testing.assert_array_equal(conv.weight_mask.numpy(), expected)


def test_ln_structured_nuclear_norm_on_a_three_axis_weight():
    # Seed 3 draws a weight whose smallest nuclear norm is not the smallest of |weight|'s: PyTorch's
    # _compute_norm takes the norm of the signed slice, and an abs before "nuc" prunes another channel.
    mg.manual_seed(3)
    conv = nn.Conv1d(3, 4, 2, dtype=np.float64)
    weight = conv.weight.numpy().copy()
    prune.ln_structured(conv, "weight", amount=1, n="nuc", dim=0)
    norms = [np.linalg.svd(weight[c], compute_uv=False).sum() for c in range(4)]
    expected = np.ones(weight.shape)
    expected[int(np.argmin(norms))] = 0
    np.testing.assert_array_equal(conv.weight_mask.numpy(), expected)


def test_random_unstructured_prunes_the_count_and_follows_the_seed():
    masks = []
    for _ in range(2):
        mg.manual_seed(3)
        masks.append(prune.random_unstructured(linear(), "weight", amount=0.25).weight_mask.numpy())
    assert (masks[0] == 0).sum() == 5
    np.testing.assert_array_equal(masks[0], masks[1])


def test_random_structured_prunes_whole_channels():
    layer = prune.random_structured(linear(), "weight", amount=2, dim=1)
    mask = layer.weight_mask.numpy()
    columns = mask.sum(axis=0)
    assert sorted(columns) == [0, 0, 4, 4, 4]


def test_importance_scores_decide_instead_of_the_weights():
    layer = linear()
    scores = np.arange(20.0).reshape(4, 5)[::-1]                    # the last row scores least
    prune.l1_unstructured(layer, "weight", amount=5, importance_scores=mg.tensor(scores))
    np.testing.assert_array_equal(layer.weight_mask.numpy(), smallest_zeroed(scores, 5))


def test_custom_from_mask_and_identity():
    layer = prune.custom_from_mask(linear(), "bias", mask=np.array([0, 1, 0, 1]))
    np.testing.assert_array_equal(layer.bias_mask.numpy(), [0.0, 1.0, 0.0, 1.0])
    np.testing.assert_array_equal(prune.identity(linear(), "weight").weight_mask.numpy(), np.ones((4, 5)))


def test_global_unstructured_prunes_the_smallest_across_modules():
    first, second = linear(5, 4, seed=0), linear(4, 2, seed=1)
    both = np.concatenate([first.weight.numpy().reshape(-1), second.weight.numpy().reshape(-1) * 0.37])
    second.load_state_dict({"weight": second.weight.numpy() * 0.37, "bias": second.bias.numpy()})
    prune.global_unstructured([(first, "weight"), (second, "weight")], pruning_method=prune.L1Unstructured, amount=10)
    expected = smallest_zeroed(both, 10)
    np.testing.assert_array_equal(first.weight_mask.numpy().reshape(-1), expected[:20])
    np.testing.assert_array_equal(second.weight_mask.numpy().reshape(-1), expected[20:])
    assert prune.is_pruned(nn.Sequential(first, second))


def test_prune_method_without_a_module():
    t = mg.tensor(np.array([[0.3, -0.1], [2.0, -0.05]]))
    np.testing.assert_array_equal(prune.L1Unstructured(amount=2).prune(t).numpy(), [[0.3, 0.0], [2.0, 0.0]])


@pytest.mark.parametrize("call, error, text", [
    (lambda m: prune.l1_unstructured(m, "weight", amount=1.5), ValueError, "l1_unstructured: amount=1.5"),
    (lambda m: prune.l1_unstructured(m, "weight", amount=-1), ValueError, "l1_unstructured: amount=-1"),
    (lambda m: prune.random_unstructured(m, "weight", amount="half"), TypeError,
     "random_unstructured: amount.*str"),
    (lambda m: prune.l1_unstructured(m, "weight", amount=21), ValueError,
     "l1_unstructured: amount=21 is more than the 20"),
    (lambda m: prune.l1_unstructured(m, "gain", amount=1), ValueError,
     "l1_unstructured: Linear has no parameter 'gain'"),
    (lambda m: prune.ln_structured(m, "bias", amount=1, n=2, dim=0), ValueError,
     r"ln_structured: structured pruning needs a tensor of 2 axes or more, got shape \(4,\)"),
    (lambda m: prune.ln_structured(m, "weight", amount=1, n=2, dim=2), IndexError,
     r"ln_structured: dim 2 is out of range for a tensor of shape \(4, 5\)"),
    (lambda m: prune.ln_structured(m, "weight", amount=1, n="max", dim=0), ValueError, "LnStructured: n must be"),
    (lambda m: prune.custom_from_mask(m, "weight", mask=np.ones(3)), ValueError,
     r"custom_from_mask: the mask has shape \(3,\), the tensor \(4, 5\)"),
    (lambda m: prune.l1_unstructured(m, "weight", 1, importance_scores=np.ones(3)), ValueError,
     r"l1_unstructured: importance_scores must have the shape \(4, 5\)"),
    (lambda m: prune.remove(m, "weight"), ValueError, "remove: parameter 'weight' of Linear has to be pruned"),
    (lambda m: prune.global_unstructured([(m, "weight")], prune.RandomStructured, amount=1), TypeError,
     "global_unstructured: only an \"unstructured\" pruning_method"),
])
def test_bad_input_names_the_function_and_changes_nothing(call, error, text):
    layer = linear()
    before = {name: value.copy() for name, value in layer.state_dict().items()}
    with pytest.raises(error, match=text):
        call(layer)
    after = layer.state_dict()
    assert list(after) == list(before) and not layer._forward_pre_hooks
    for name, value in before.items():
        np.testing.assert_array_equal(after[name], value)


def test_a_failed_second_pruning_keeps_the_first():
    layer = prune.l1_unstructured(linear(), "weight", amount=0.5)
    mask, hook = layer.weight_mask.numpy().copy(), next(iter(layer._forward_pre_hooks.values()))
    with pytest.raises(ValueError, match="l1_unstructured: amount=11 is more than the 10"):
        prune.l1_unstructured(layer, "weight", amount=11)           # 10 entries are still kept
    np.testing.assert_array_equal(layer.weight_mask.numpy(), mask)
    assert list(layer._forward_pre_hooks.values()) == [hook]


# ---- fusion ---------------------------------------------------------------------------------------

def batch_norm(kind, features, seed=2):
    bn = kind(features, dtype=np.float64)
    rng = np.random.default_rng(seed)
    bn.load_state_dict({"weight": rng.uniform(0.5, 2, features), "bias": rng.standard_normal(features),
                        "running_mean": rng.standard_normal(features), "running_var": rng.uniform(0.5, 2, features),
                        "num_batches_tracked": np.array(3)})
    return bn.eval()


@pytest.mark.parametrize("conv, bn, shape", [
    (lambda: nn.Conv2d(3, 4, 3, padding=1, dtype=np.float64), lambda: batch_norm(nn.BatchNorm2d, 4), (2, 3, 5, 5)),
    (lambda: nn.Conv1d(3, 4, 2, bias=False, dtype=np.float64), lambda: batch_norm(nn.BatchNorm1d, 4), (2, 3, 6)),
])
def test_fused_conv_equals_conv_then_batch_norm(conv, bn, shape):
    conv, bn = conv().eval(), bn()
    x = mg.tensor(np.random.default_rng(4).standard_normal(shape))
    fused = nn.utils.fuse_conv_bn_eval(conv, bn)
    np.testing.assert_allclose(fused(x).numpy(), bn(conv(x)).numpy(), rtol=1e-12, atol=1e-12)
    assert type(fused) is type(conv) and fused is not conv and fused.weight.requires_grad


def test_fused_transposed_conv_equals_it_then_batch_norm():
    conv, bn = nn.ConvTranspose1d(3, 4, 2, dtype=np.float64).eval(), batch_norm(nn.BatchNorm1d, 4)
    x = mg.tensor(np.random.default_rng(5).standard_normal((2, 3, 5)))
    fused = nn.utils.fuse_conv_bn_eval(conv, bn, transpose=True)
    np.testing.assert_allclose(fused(x).numpy(), bn(conv(x)).numpy(), rtol=1e-12, atol=1e-12)


def test_fused_linear_equals_linear_then_batch_norm():
    layer, bn = linear().eval(), batch_norm(nn.BatchNorm1d, 4)
    x = mg.tensor(np.random.default_rng(6).standard_normal((3, 5)))
    weight = layer.weight.numpy().copy()
    fused = nn.utils.fuse_linear_bn_eval(layer, bn)
    np.testing.assert_allclose(fused(x).numpy(), bn(layer(x)).numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(layer.weight.numpy(), weight)            # the originals are left as they were


def test_fused_weights_follow_the_formula():
    w, b = np.arange(6.0).reshape(3, 2), np.array([1.0, -1.0, 0.5])
    mean, var = np.array([0.5, 0.0, 1.0]), np.array([1.0, 3.0, 0.25])
    gamma, beta = np.array([2.0, 1.0, 1.0]), np.ones(3)
    fused_w, fused_b = nn.utils.fuse_linear_bn_weights(mg.tensor(w), mg.tensor(b), mean, var, 1e-5, gamma, beta)
    scale = gamma / np.sqrt(var + 1e-5)
    np.testing.assert_allclose(fused_w.numpy(), w * scale[:, None], rtol=1e-15)
    np.testing.assert_allclose(fused_b.numpy(), (b - mean) * scale + beta, rtol=1e-15)
    conv_w, conv_b = nn.utils.fuse_conv_bn_weights(mg.tensor(w[:, :, None]), None, mean, var, 1e-5, gamma, beta)
    np.testing.assert_allclose(conv_w.numpy()[:, :, 0], w * scale[:, None], rtol=1e-15)
    np.testing.assert_allclose(conv_b.numpy(), -mean * scale + beta, rtol=1e-15)
    assert isinstance(conv_b, nn.Parameter) and not conv_b.requires_grad     # zeros_like(bn_rm) did not


def test_fusion_in_training_mode_is_refused():
    with pytest.raises(AssertionError, match=r"fuse_conv_bn_eval: fusion only for eval! \(training is True"):
        nn.utils.fuse_conv_bn_eval(nn.Conv1d(2, 4, 1), batch_norm(nn.BatchNorm1d, 4))
    with pytest.raises(AssertionError, match="fuse_linear_bn_eval: to fuse, linear.out_features == bn.num_features"):
        nn.utils.fuse_linear_bn_eval(linear().eval(), batch_norm(nn.BatchNorm1d, 3))


# ---- skip_init and stateless ------------------------------------------------------------------------

def test_skip_init_makes_the_module_without_drawing():
    mg.manual_seed(0)
    layer = nn.utils.skip_init(nn.Linear, 5, 3)
    after = mg.randn(2).numpy()
    mg.manual_seed(0)
    np.testing.assert_array_equal(mg.randn(2).numpy(), after)              # no draw was used up
    assert layer.weight.shape == (3, 5) and isinstance(layer.weight, nn.Parameter)
    np.testing.assert_array_equal(layer.weight.numpy(), np.zeros((3, 5)))


def test_skip_init_wants_a_module_class_with_a_device_argument():
    with pytest.raises(RuntimeError, match="skip_init: expected a Module class; got 3"):
        nn.utils.skip_init(3)
    with pytest.raises(RuntimeError, match="skip_init: ReLU must support a 'device' arg"):
        nn.utils.skip_init(nn.ReLU)


def test_stateless_functional_call_warns_and_calls_with_the_given_weights():
    layer = linear()
    weight, bias = np.ones((4, 5)), np.zeros(4)
    x = np.arange(5.0)
    with pytest.warns(FutureWarning, match=re.escape("stateless.functional_call` is deprecated")):
        out = nn.utils.stateless.functional_call(layer, {"weight": mg.tensor(weight), "bias": mg.tensor(bias)},
                                                 (mg.tensor(x),))
    np.testing.assert_array_equal(out.numpy(), weight @ x + bias)


# ---- lazy convolutions ------------------------------------------------------------------------------

@pytest.mark.parametrize("lazy, conv, shape, options", [
    (nn.LazyConv2d, nn.Conv2d, (2, 3, 5, 5), dict(kernel_size=3, padding=1)),
    (nn.LazyConv1d, nn.Conv1d, (3, 6), dict(kernel_size=2, groups=3)),
    (nn.LazyConv1d, nn.Conv1d, (2, 4, 7), dict(kernel_size=3, stride=2, bias=False)),
])
def test_lazy_conv_infers_in_channels_and_then_equals_a_conv(lazy, conv, shape, options):
    x = mg.tensor(np.random.default_rng(7).standard_normal(shape))
    in_channels = shape[1] if len(shape) == lazy.dims + 2 else shape[0]
    mg.manual_seed(1)
    layer = lazy(6, dtype=np.float64, **options)
    assert layer.in_channels == 0 and isinstance(layer.weight, nn.UninitializedParameter)
    out = layer(x)
    mg.manual_seed(1)
    reference = conv(in_channels, 6, dtype=np.float64, **options)          # the same draws, as PyTorch's
    assert type(layer) is conv and layer.in_channels == in_channels
    assert layer.weight.shape == reference.weight.shape and type(layer.weight) is nn.Parameter
    np.testing.assert_array_equal(layer.weight.numpy(), reference.weight.numpy())
    np.testing.assert_allclose(out.numpy(), reference(x).numpy(), rtol=1e-14)


def test_lazy_conv_takes_its_shape_from_a_state_dict():
    source = nn.Conv2d(3, 4, 2, dtype=np.float64)
    layer = nn.LazyConv2d(4, 2, dtype=np.float64)
    optimizer = mg.optim.SGD(layer.parameters(), lr=0.1)
    layer.load_state_dict(source.state_dict())
    assert type(layer) is nn.Conv2d and layer.in_channels == 3 and type(layer.bias) is nn.Parameter
    np.testing.assert_array_equal(layer.weight.numpy(), source.weight.numpy())
    assert optimizer.param_groups[0]["params"][0] is layer.weight


def test_lazy_conv_errors_name_it_and_what_came():
    with pytest.raises(ValueError, match=r"LazyConv2d: expected 3D \(unbatched\) or 4D \(batched\) input, got input of "
                                         r"shape \(2, 5\)"):
        nn.LazyConv2d(4, 3)(mg.tensor(np.zeros((2, 5))))
    layer = nn.LazyConv1d(4, 1, groups=2)
    with pytest.raises(ValueError, match="LazyConv1d: the input's 3 channels must be a positive multiple of groups=2"):
        layer(mg.tensor(np.zeros((1, 3, 4))))
    assert type(layer) is nn.LazyConv1d and layer.in_channels == 0
    with pytest.raises(ValueError, match="LazyConv1d: groups must be a positive integer, got 0"):
        nn.LazyConv1d(4, 1, groups=0)
