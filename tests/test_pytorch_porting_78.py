"""Porting, round 78: PYTORCH'S OWN TESTS OF GRADIENT CLIPPING, ANOMALY DETECTION AND NN UTILITIES -- the
torch.nn.utils tests of pytorch/pytorch's test/test_nn.py (commit 74f2fa66feec00335f72813782f4802e80bff4cb):
test_clip_grad_value and test_clip_grad_norm (TestNNDeviceType, parametrized over foreach and norm_type, with the
decomposed get_total_norm / clip_grads_with_norm_ part), test_parameters_to_vector, test_vector_to_parameters,
test_rnn_weight_norm, test_weight_norm, test_weight_norm_pickle, test_spectral_norm, test_spectral_norm_load_state_dict,
test_spectral_norm_dim, test_spectral_norm_forward and test_spectral_norm_pickle; and of test/test_autograd.py
(commit 5c322af10e52e4d236104ceefd542f34e6dcf20a) the anomaly-mode tests test_anomaly_detect_nan,
test_anomaly_grad_warnings and test_anomaly_mode_no_check_nan, and the gradcheck tests test_gradcheck_single_input,
test_gradcheck_validates_inputs, test_gradcheck_check_no_differentiable_outputs,
test_gradcheck_backward_mul_by_grad_output, test_gradcheck_undefined_grad, test_gradcheck_jacobian_mismatch,
test_gradcheck_output_shape_or_dtype_depend_on_values, test_gradcheck_custom_error, test_gradcheck_forward_ad,
test_gradcheck_check_forward_or_backward_only, test_gradcheck_forward_ad_batched_grad,
test_gradcheck_forward_ad_runs_with_no_requires_grad and test_gradcheck_forward_ad_respects_requires_grad. Every test
was read in the index at the commit named; none was written from memory. test_clip_grad_norm_multioutput and a
test_clip_grad_norm_error_if_nonfinite are not in test_nn.py at that commit (error_if_nonfinite is ported in
tests/test_optim_clip.py); test_gradcheck_nondeterministic was round 71's.

Each is written as PyTorch wrote it, with only the imports changed; `# differs:` marks every other change and why.
Throughout: TestCase methods become functions; `self.assertEqual` of tensors becomes numpy's `assert_allclose` against
values written in numpy from the inputs' values; `p._grad = g` becomes `p.grad = g` and `p.grad.data` the array
`p.grad` (docs/pytorch.md: `.grad` and `.data` are read-only numpy arrays here); the CUDA, DataParallel, sparse,
mkldnn, complex, bfloat16, `create_graph` and `gradgradcheck` parts are left out (docs/pytorch.md: none is here;
gradients are not recorded). Anomaly mode's messages are the library's own (docs/api.md: naming the op, its shapes);
PyTorch's forward-traceback warnings ("No forward pass information", "MyFunc.apply") have nothing here to show
(docs/pytorch.md: no forward traceback is recorded), and an in-place write after a read does not break the graph here
(docs/pytorch.md), so test_anomaly_grad_warnings' error is not raised.

What broke (one gap fixed, in microgradseq/anomaly.py):
  G1. `detect_anomaly()` gave no warning; PyTorch's warns when made, "Anomaly Detection has been enabled. This mode
      will increase the runtime and should only be enabled for debugging." (test_anomaly_grad_warnings counts it).
      Now so (a `UserWarning`, once per `detect_anomaly` object, not for `set_detect_anomaly`, as PyTorch's).
Left open (strict xfails; the files are not this helper's):
  - gradcheck computed its finite differences under `no_grad()`, so a `fn` that registers a hook on an intermediate
    (`y = x.clone(); y.register_hook(...)`, as five of PyTorch's gradcheck tests do) raised "cannot register a hook on
    a tensor that does not require grad"; fixed since (fn runs in grad mode, as PyTorch's): the two tests as PyTorch
    wrote them pass. The tests are also ported with the hook registered only when `y.requires_grad`.
  - gradcheck on float32 inputs gives no warning; PyTorch's warns "Input #0 requires gradient and is not a double
    precision floating point" (gradcheck.py).
  - gradcheck of an fn whose output shape changes with the input is a ValueError here; PyTorch's is an
    AssertionError (GradcheckError) "return outputs with the same shape when inputs are perturbed" (gradcheck.py).
  - `torch.autograd.forward_ad._current_level` (-1 outside a dual level; test_gradcheck_forward_ad and
    test_gradcheck_forward_ad_runs_with_no_requires_grad read it) is not here (microgradseq/forward_ad.py).
  - gradcheck(check_forward_ad=True) calls a Function's jvp 4 times for two one-element inputs; PyTorch's once per
    input, 2 (test_gradcheck_forward_ad_respects_requires_grad; gradcheck.py).
  - `.grad` cannot be set on a tensor that does not require grad (RuntimeError, tensor.py); PyTorch's
    test_clip_grad_norm and test_clip_grad_value set `p._grad` on `torch.randn(10, 10)`.
  - `pickle.dumps` of a module under `weight_norm` raises: its `weight` is a result of ops, which tensor.py refuses
    to pickle (documented for a tensor, not for this module); PyTorch's test_weight_norm_pickle pickles it.
Met and as documented: a gradcheck with both modes off is a ValueError (PyTorch: AssertionError "Expected at least one
of"); gradcheck's error messages are the library's own (naming input, index and both values); `check_undefined_grad`,
`check_batched_grad` and `fast_mode` need nothing more here; clip_grad_norm_ refused norm_type 0.5 (p >= 1), which
PyTorch's test uses: it takes p > 0 since; load_state_dict's unexpected key is a ValueError (PyTorch: RuntimeError).
"""

import io
import pickle
import sys
import warnings
from itertools import product

import numpy as np
import pytest
from porting_references import arr

import microgradseq as torch
import microgradseq.autograd.forward_ad as fwAD
from microgradseq import nn
from microgradseq.autograd import Function, detect_anomaly, gradcheck
from microgradseq.nn import functional as F
from microgradseq.nn.utils import clip_grad_norm_, clip_grad_value_, clip_grads_with_norm_, get_total_norm
from microgradseq.nn.utils import parameters_to_vector, vector_to_parameters

inf = float("inf")


# ---- test_nn.py: test_clip_grad_value ---------------------------------------------------------------------------

@pytest.mark.parametrize("foreach", (False, True))
def test_clip_grad_value(foreach):
    device = "cpu"
    l = nn.Linear(10, 10).to(device)
    clip_value = 2.5

    grad_w, grad_b = torch.arange(-50., 50, device=device).view(10, 10).div_(5), torch.ones(10, device=device).mul_(2)
    for grad_list in [[grad_w, grad_b], [grad_w, None]]:
        for p, g in zip(l.parameters(), grad_list):
            p.grad = g.clone().view_as(p.data) if g is not None else g     # differs: p._grad is p.grad here

        clip_grad_value_(l.parameters(), clip_value, foreach=foreach)
        for p in filter(lambda p: p.grad is not None, l.parameters()):
            assert p.grad.max() <= clip_value           # differs: p.grad is the array (p.grad.data)
            assert p.grad.min() >= -clip_value
    # differs: the values too, from numpy
    np.testing.assert_allclose(l.weight.grad, np.clip(np.arange(-50., 50).reshape(10, 10) / 5, -2.5, 2.5))

    # Should accept a single Tensor as input
    # differs: requires_grad=True: .grad cannot be set on a tensor that does not require grad here (strict xfail
    # test_grad_can_be_set_on_a_tensor_that_does_not_require_grad)
    p1 = torch.randn(10, 10, device=device, requires_grad=True)
    p2 = torch.randn(10, 10, device=device, requires_grad=True)
    g = torch.arange(-50., 50, device=device).view(10, 10).div_(5)
    p1.grad = g.clone()                                  # differs: p._grad is p.grad here
    p2.grad = g.clone()
    clip_grad_value_(p1, clip_value, foreach=foreach)
    clip_grad_value_([p2], clip_value, foreach=foreach)
    np.testing.assert_array_equal(p1.grad, p2.grad)


# ---- test_nn.py: test_clip_grad_norm ----------------------------------------------------------------------------

@pytest.mark.parametrize("norm_type", (0.5, 1.5, 2, 4, 'inf'))
@pytest.mark.parametrize("foreach", (False, True))
def test_clip_grad_norm(norm_type, foreach):
    device = "cpu"
    l = nn.Linear(10, 10).to(device)
    max_norm = 2
    def compute_norm(norm_type):
        norm_type = float(norm_type)
        if norm_type != inf:
            total_norm = 0
            for p in l.parameters():
                # differs: in float64 numpy on the array p.grad (p.grad.data in PyTorch)
                total_norm += (np.abs(p.grad.astype(np.float64)) ** norm_type).sum()
            return pow(total_norm, 1. / norm_type)
        else:
            return max(np.abs(p.grad).max() for p in l.parameters())

    def compare_scaling(grads):
        p_scale = [(p.grad / arr(g)).reshape(-1) for p, g in zip(l.parameters(), grads)]
        scale = np.concatenate(p_scale)
        assert scale.std() == pytest.approx(0, abs=1e-6)   # differs: float32 quotients, assertEqual's tolerance
        return scale[0]

    grads = torch.arange(1., 101, device=device).view(10, 10), torch.ones(10, device=device).div(1000)
    for p, g in zip(l.parameters(), grads):
        p.grad = g.clone().view_as(p.data)               # differs: p._grad is p.grad here
    norm_before = compute_norm(norm_type)
    norm = clip_grad_norm_(l.parameters(), max_norm, norm_type=norm_type, foreach=foreach)
    norm_after = compute_norm(norm_type)
    assert float(norm) == pytest.approx(norm_before, rel=1e-5)   # differs: assertEqual of float32 values
    assert norm_after == pytest.approx(max_norm, rel=1e-5)
    assert norm_after <= norm_before
    compare_scaling(grads)

    # decomposed APIs should behave as expected
    grads = torch.arange(1., 101, device=device).view(10, 10), torch.ones(10, device=device).div(1000)
    for p, g in zip(l.parameters(), grads):
        p.grad = g.clone().view_as(p)                    # differs: p._grad is p.grad here
    norm_before = compute_norm(norm_type)
    grads = [p.grad for p in l.parameters()]
    total_norm = get_total_norm(grads, norm_type=norm_type, foreach=foreach)
    clip_grads_with_norm_(l.parameters(), max_norm, total_norm, foreach=foreach)
    norm_after = compute_norm(norm_type)
    assert float(total_norm) == pytest.approx(norm_before, rel=1e-5)
    assert norm_after == pytest.approx(max_norm, rel=1e-5)
    assert norm_after <= norm_before
    compare_scaling(grads)

    # Small gradients should be left unchanged
    grads = torch.rand(10, 10, device=device).div(10000), torch.ones(10, device=device).div(500)
    for p, g in zip(l.parameters(), grads):
        p.grad = arr(g).copy()                           # differs: p.grad.data.copy_(g); the array is read-only
    norm_before = compute_norm(norm_type)
    norm = clip_grad_norm_(l.parameters(), max_norm, norm_type=norm_type, foreach=foreach)
    norm_after = compute_norm(norm_type)
    assert float(norm) == pytest.approx(norm_before, rel=1e-5)
    assert norm_before == norm_after
    assert norm_after <= max_norm
    scale = compare_scaling(grads)
    assert scale == 1

    # Should accept a single Tensor as input
    # differs: requires_grad=True: .grad cannot be set on a tensor that does not require grad here (strict xfail
    # test_grad_can_be_set_on_a_tensor_that_does_not_require_grad)
    p1 = torch.randn(10, 10, device=device, requires_grad=True)
    p2 = torch.randn(10, 10, device=device, requires_grad=True)
    g = torch.arange(1., 101, device=device).view(10, 10)
    p1.grad = g.clone()
    p2.grad = g.clone()
    clip_grad_norm_(p1, max_norm, norm_type=norm_type, foreach=foreach)
    clip_grad_norm_([p2], max_norm, norm_type=norm_type, foreach=foreach)
    np.testing.assert_array_equal(p1.grad, p2.grad)

    # Should warning when parameters generator exhausted
    params = l.parameters()
    for p in params:
        pass
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        clip_grad_norm_(params, max_norm, norm_type=norm_type, foreach=foreach)
        assert len(w) == 1
        # differs: the message names clip_grad_norm_ and adds a hint, so PyTorch's is inside it
        assert "`parameters` is an empty generator, no gradient clipping will occur" in str(w[0].message)


@pytest.mark.xfail(strict=True, reason="Tensor.grad cannot be set on a tensor that does not require grad here; "
                                       "PyTorch's test_clip_grad_norm / test_clip_grad_value set p._grad on one")
def test_grad_can_be_set_on_a_tensor_that_does_not_require_grad():
    p1 = torch.randn(10, 10)
    p1.grad = torch.arange(1., 101).view(10, 10)
    clip_grad_norm_(p1, 2)
    np.testing.assert_allclose(np.sqrt((p1.grad.astype(np.float64) ** 2).sum()), 2, rtol=1e-5)


# ---- test_nn.py: test_parameters_to_vector / test_vector_to_parameters ----------------------------------------

def test_parameters_to_vector():
    conv1 = nn.Conv2d(3, 10, 5)
    fc1 = nn.Linear(10, 20)
    model = nn.Sequential(conv1, fc1)

    vec = parameters_to_vector(model.parameters())
    assert vec.size(0) == 980


def test_vector_to_parameters():
    conv1 = nn.Conv2d(3, 10, 5)
    fc1 = nn.Linear(10, 20)
    model = nn.Sequential(conv1, fc1)

    vec = torch.arange(0., 980)
    vector_to_parameters(vec, model.parameters())

    sample = next(model.parameters())[0, 0, 0]
    assert torch.equal(sample.detach(), vec[:5])     # differs: .data is the array here; .detach() the tensor
    np.testing.assert_array_equal(arr(sample), np.arange(5.))    # differs: the values too


# ---- test_nn.py: test_rnn_weight_norm / test_weight_norm / test_weight_norm_pickle ------------------------------

def test_rnn_weight_norm():
    def check_weight_norm(l, name, num_params):
        # This Module has 4 or 5 parameters called:
        # 'weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0', weight_hr_l0

        # Applying weight norm on one of them causes it to become a tensor
        l = torch.nn.utils.weight_norm(l, name=name)
        assert sum(isinstance(p, torch.nn.Parameter) for p in l._flat_weights) == num_params - 1

        # Removing the weight norm reparametrization restores the Parameter
        l = torch.nn.utils.remove_weight_norm(l, name=name)
        assert sum(isinstance(p, torch.nn.Parameter) for p in l._flat_weights) == num_params

        # Make sure that, upon removal of the reparametrization, the
        # `._parameters` and `.named_parameters` contain the right params.
        assert name in l._parameters
        assert l._parameters[name] is not None
        assert name + '_v' not in l._parameters
        assert name + '_g' not in l._parameters
        assert name in dict(l.named_parameters())
        assert dict(l.named_parameters())[name] is not None
        assert name + '_v' not in dict(l.named_parameters())
        assert name + '_g' not in dict(l.named_parameters())

    check_weight_norm(torch.nn.LSTM(32, 32), 'weight_ih_l0', 4)
    # differs: LSTM(32, 32, proj_size=16) left out (docs/api.md: proj_size only at its default)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])     # differs: float16/bfloat16 left out
def test_weight_norm(dtype):
    atol = 1e-5 if dtype == torch.float32 else 1e-10            # differs: dtype2prec_DONTUSE of these two
    torch.manual_seed(0)                                        # differs: seeded (the numpy check's tolerance)
    input = torch.randn(3, 4, dtype=dtype)
    m = nn.Linear(4, 5).to(dtype=dtype)
    expected_output = m(input)
    # differs: expected_output also from numpy
    np.testing.assert_allclose(arr(expected_output), arr(input) @ arr(m.weight).T + arr(m.bias), rtol=1e-5, atol=atol)

    # add weight normalization
    m = torch.nn.utils.weight_norm(m)
    assert m.weight_v.size() == m.weight.size()
    assert m.weight_g.size() == (5, 1)
    np.testing.assert_allclose(arr(m(input)), arr(expected_output), atol=atol, rtol=0)

    # remove weight norm
    m = torch.nn.utils.remove_weight_norm(m)
    assert not hasattr(m, 'weight_g')
    assert not hasattr(m, 'weight_v')
    np.testing.assert_allclose(arr(m(input)), arr(expected_output), atol=atol, rtol=0)

    # test with dim=1
    m = torch.nn.utils.weight_norm(m, dim=1)
    assert m.weight_v.size() == m.weight.size()
    assert m.weight_g.size() == (1, 4)
    np.testing.assert_allclose(arr(m(input)), arr(expected_output), atol=atol, rtol=0)

    # test with dim=None
    m = nn.Linear(4, 5).to(dtype=dtype)
    expected_output = m(input)
    m = torch.nn.utils.weight_norm(m, dim=None)
    np.testing.assert_allclose(arr(m(input)), arr(expected_output), atol=atol, rtol=1e-5)

    with pytest.raises(RuntimeError, match='register two weight_norm hooks'):
        m = torch.nn.utils.weight_norm(m)
        m = torch.nn.utils.weight_norm(m)


def test_weight_norm_registers_on_a_float16_module():
    # For float16, the forward of the Module doesn't work but we must still be able
    # to register the weight norm as this is often done before sending the Module to
    # CUDA.  (the end of PyTorch's test_weight_norm)
    m = nn.Linear(4, 5, dtype=torch.float16)
    m = torch.nn.utils.weight_norm(m)
    assert m.weight_g.dtype == torch.float16        # differs: an assertion added (PyTorch's only registers it)


@pytest.mark.xfail(strict=True, reason="pickle of a module under weight_norm raises here: its `weight` is a result "
                                       "of ops, which tensor.py refuses to pickle; PyTorch pickles it")
def test_weight_norm_pickle():
    m = torch.nn.utils.weight_norm(nn.Linear(5, 7))
    m = pickle.loads(pickle.dumps(m))
    assert isinstance(m, nn.Linear)


# ---- test_nn.py: test_spectral_norm* ----------------------------------------------------------------------------

def test_spectral_norm(float64_default):
    # differs: @set_default_dtype(torch.double) is the float64_default fixture
    input = torch.randn(3, 5)
    m = nn.Linear(5, 7)
    m = torch.nn.utils.spectral_norm(m)

    assert m.weight_u.size() == torch.Size([m.weight.size(0)])
    # weight_orig should be trainable
    assert hasattr(m, 'weight_orig')
    assert 'weight_orig' in m._parameters
    # weight_u should be just a reused buffer
    assert hasattr(m, 'weight_u')
    assert 'weight_u' in m._buffers
    assert 'weight_v' in m._buffers
    # weight should be a plain attribute, not counted as a buffer or a param
    assert 'weight' not in m._buffers
    assert 'weight' not in m._parameters
    # differs: storage() sharing left out (no storages here: docs/pytorch.md); size and stride kept
    assert m.weight_orig.size() == m.weight.size()
    assert m.weight_orig.stride() == m.weight.stride()

    m = torch.nn.utils.remove_spectral_norm(m)
    assert not hasattr(m, 'weight_orig')
    assert not hasattr(m, 'weight_u')
    # weight should be converted back as a parameter
    assert hasattr(m, 'weight')
    assert 'weight' in m._parameters

    with pytest.raises(RuntimeError, match='register two spectral_norm hooks'):
        m = torch.nn.utils.spectral_norm(m)
        m = torch.nn.utils.spectral_norm(m)

    # test correctness in training/eval modes and cpu/multi-gpu settings
    # differs: apply_dp=True (DataParallel on two GPUs) left out
    device = torch.device('cpu')

    def maybe_wrap(m):
        return m

    for requires_grad in (True, False):
        m = nn.Linear(3, 4).to(device)
        m.weight.requires_grad_(requires_grad)
        m = torch.nn.utils.spectral_norm(m)
        wrapped_m = maybe_wrap(m)
        assert hasattr(m, 'weight_u')
        u0 = m.weight_u.clone()
        v0 = m.weight_v.clone()

        # TEST TRAINING BEHAVIOR

        # assert that u and v are updated
        input = torch.randn(2, 3, device=device)
        out = wrapped_m(input)
        assert not np.array_equal(arr(u0), arr(m.weight_u))
        assert not np.array_equal(arr(v0), arr(m.weight_v))
        # differs: u and v as one power step from u0 gives them, in numpy
        W = arr(m.weight_orig)
        v1 = W.T @ arr(u0)
        v1 /= max(np.linalg.norm(v1), 1e-12)
        u1 = W @ v1
        u1 /= max(np.linalg.norm(u1), 1e-12)
        np.testing.assert_allclose(arr(m.weight_u), u1, rtol=1e-10)
        np.testing.assert_allclose(arr(m.weight_v), v1, rtol=1e-10)
        np.testing.assert_allclose(arr(out), arr(input) @ (W / (u1 @ W @ v1)).T + arr(m.bias), rtol=1e-10)

        # assert that backprop reaches weight_orig
        # can't use gradcheck because the function changes as we
        # activate through it in training mode
        if requires_grad:
            torch.autograd.grad(out.sum(), m.weight_orig)

        # test backward works with multiple forwards
        # it uses training mode so we need to reset `u` and `v` vectors
        # to same value at beginning for finite difference test to pass
        saved_u = m.weight_u.clone()
        saved_v = m.weight_v.clone()

        def fn(input):
            m.weight_u.copy_(saved_u)        # differs: m.weight_u.data.copy_: .data is the array here
            m.weight_v.copy_(saved_v)
            out0 = wrapped_m(input)
            out1 = wrapped_m(input)
            return out0 + out1

        gradcheck(fn, (input.clone().requires_grad_(),), check_batched_grad=False)

        # test removing
        pre_remove_out = wrapped_m(input)
        m = torch.nn.utils.remove_spectral_norm(m)
        np.testing.assert_allclose(arr(wrapped_m(input)), arr(pre_remove_out), rtol=1e-12)

        m = torch.nn.utils.spectral_norm(m)
        for _ in range(3):
            pre_remove_out = wrapped_m(input)
        m = torch.nn.utils.remove_spectral_norm(m)
        np.testing.assert_allclose(arr(wrapped_m(input)), arr(pre_remove_out), rtol=1e-12)

        # TEST EVAL BEHAVIOR

        m = torch.nn.utils.spectral_norm(m)
        wrapped_m(input)
        last_train_out = wrapped_m(input)
        last_train_u = m.weight_u.clone()
        last_train_v = m.weight_v.clone()
        wrapped_m.zero_grad()
        wrapped_m.eval()

        eval_out0 = wrapped_m(input)
        # assert eval gives same result as last training iteration
        np.testing.assert_allclose(arr(eval_out0), arr(last_train_out), rtol=1e-12)
        # assert doing more iteration in eval don't change things
        np.testing.assert_allclose(arr(eval_out0), arr(wrapped_m(input)), rtol=1e-12)
        np.testing.assert_array_equal(arr(last_train_u), arr(m.weight_u))
        np.testing.assert_array_equal(arr(last_train_v), arr(m.weight_v))

        # test backward works with multiple forwards in mixed training
        # and eval modes
        # it uses training mode so we need to reset `u` and `v` vectors
        # to same value at beginning for finite difference test to pass
        saved_u = m.weight_u.clone()
        saved_v = m.weight_v.clone()

        def fn(input):
            m.weight_u.copy_(saved_u)        # differs: m.weight_u.data.copy_: .data is the array here
            m.weight_v.copy_(saved_v)
            wrapped_m.train()
            out0 = wrapped_m(input)
            wrapped_m.eval()
            out1 = wrapped_m(input)
            wrapped_m.train()
            out2 = wrapped_m(input)
            wrapped_m.eval()
            out3 = wrapped_m(input)
            return out0 + out1 + out2 + out3

        gradcheck(fn, (input.clone().requires_grad_(),))

        # assert that backprop reaches weight_orig in eval
        if requires_grad:
            def fn(weight):
                return wrapped_m(input)

            gradcheck(fn, (m.weight_orig,))


def test_spectral_norm_load_state_dict():
    inp = torch.randn(2, 3)
    for activate_times in (0, 3):
        m = nn.Linear(3, 5)
        snm = torch.nn.utils.spectral_norm(m)
        snm.train()
        for _ in range(activate_times):
            snm(inp)

        version_latest_ref_state_dict = {k: v.copy() for k, v in snm.state_dict().items()}    # differs: deepcopy
        assert {'weight_orig', 'bias', 'weight_u', 'weight_v'} == set(version_latest_ref_state_dict.keys())

        # test that non-strict loading works
        non_strict_state_dict = dict(version_latest_ref_state_dict)
        non_strict_state_dict['nonsense'] = np.zeros(1)     # differs: a string is no state-dict value here
        # differs: a ValueError naming the unexpected key (docs/api.md); PyTorch's RuntimeError
        # 'Unexpected key(s) in state_dict: "nonsense"'
        with pytest.raises(ValueError, match="unexpected: nonsense"):
            snm.load_state_dict(non_strict_state_dict, strict=True)
        snm.load_state_dict(non_strict_state_dict, strict=False)
        del non_strict_state_dict['weight_orig']
        snm.load_state_dict(non_strict_state_dict, strict=False)
        del non_strict_state_dict['weight_u']
        snm.load_state_dict(non_strict_state_dict, strict=False)
        del non_strict_state_dict['weight_v']
        snm.load_state_dict(non_strict_state_dict, strict=False)
        del non_strict_state_dict['bias']
        snm.load_state_dict(non_strict_state_dict, strict=False)
        # differs: the version-None state dicts (`_metadata`, a `weight` buffer) are left out (docs/pytorch.md:
        # no hook converts an old spectral_norm state dict)

        # test that re-wrapping does not matter
        m = torch.nn.utils.remove_spectral_norm(snm)
        snm = torch.nn.utils.spectral_norm(m)

        snm.load_state_dict(version_latest_ref_state_dict)
        with torch.no_grad():
            snm.eval()
            out0_eval = snm(inp)
            snm.train()
            out1_train = snm(inp)
            out2_train = snm(inp)
            snm.eval()
            out3_eval = snm(inp)

        # differs: out0_eval from numpy: W / (u^T W v) with the loaded u and v, no power step in eval mode
        sd = version_latest_ref_state_dict
        W, u, v = sd['weight_orig'], sd['weight_u'], sd['weight_v']
        np.testing.assert_allclose(arr(out0_eval), arr(inp) @ (W / (u @ W @ v)).T + sd['bias'], rtol=1e-5)

        # test that re-wrapping does not matter
        m = torch.nn.utils.remove_spectral_norm(snm)
        snm = torch.nn.utils.spectral_norm(m)

        # Test normal loading
        snm.load_state_dict(version_latest_ref_state_dict)
        with torch.no_grad():
            snm.eval()
            np.testing.assert_allclose(arr(out0_eval), arr(snm(inp)), rtol=1e-6)
            snm.train()
            np.testing.assert_allclose(arr(out1_train), arr(snm(inp)), rtol=1e-6)
            np.testing.assert_allclose(arr(out2_train), arr(snm(inp)), rtol=1e-6)
            snm.eval()
            np.testing.assert_allclose(arr(out3_eval), arr(snm(inp)), rtol=1e-6)


def test_spectral_norm_dim():
    inp = torch.randn(2, 3, 10, 12)
    m = nn.ConvTranspose2d(3, 4, (5, 6))
    m = torch.nn.utils.spectral_norm(m)
    # this should not run into incompatible shapes
    x = m(inp)
    # check that u refers to the same dimension
    assert m.weight_u.shape == m.weight_orig[0, :, 0, 0].shape


def test_spectral_norm_forward():
    input = torch.randn(3, 5)
    m = nn.Linear(5, 7)
    m = torch.nn.utils.spectral_norm(m)
    # naive forward
    _weight, _bias, _u = m.weight_orig, m.bias, m.weight_u
    _weight_mat = _weight.view(_weight.size(0), -1)
    _v = torch.mv(_weight_mat.t(), _u)
    _v = F.normalize(_v, dim=0, eps=1e-12)
    _u = torch.mv(_weight_mat, _v)
    _u = F.normalize(_u, dim=0, eps=1e-12)
    # differs: `_weight.data /= sigma` (an in-place write into weight_orig) is `m.weight_orig.data = ...`
    # here, .data being a read-only array (docs/pytorch.md); the same new values in the same parameter
    with torch.no_grad():
        _weight.data = (arr(_weight) / arr(torch.dot(_u, torch.matmul(_weight_mat, _v)))).astype(np.float32)
    out_hat = torch.nn.functional.linear(input, _weight, _bias)
    expect_out = m(input)
    np.testing.assert_allclose(arr(expect_out), arr(out_hat), rtol=1e-4, atol=1e-6)


def test_spectral_norm_pickle():
    m = torch.nn.utils.spectral_norm(nn.Linear(5, 7))
    m = pickle.loads(pickle.dumps(m))
    assert isinstance(m, nn.Linear)


# ---- test_autograd.py: anomaly mode -----------------------------------------------------------------------------

def test_anomaly_detect_nan():
    size = 10

    class MyFunc(Function):
        @staticmethod
        def forward(ctx, inp1, inp2, fail_0th):
            ctx.fail_0th = fail_0th
            return inp1.sum(0, keepdim=True)

        @staticmethod
        def backward(ctx, gO):
            gI = gO.clone().expand(size)
            gI[0] = 0
            with np.errstate(invalid="ignore"):     # differs: numpy's 0 / 0 warning silenced
                gI[0] /= 0  # Generate a nan
            if ctx.fail_0th:
                return gI, None, None
            else:
                return None, gI, None

    inp = torch.rand(size, requires_grad=True)
    out = MyFunc.apply(inp, inp, True)
    out.backward()  # Should not fail
    assert np.isnan(inp.grad[0])        # differs: an assertion added

    inp = torch.rand(size, requires_grad=True)
    out = MyFunc.apply(inp, inp, True)
    # differs: the library's own message, naming the Function and NaN (PyTorch: "Function 'MyFuncBackward'
    # returned nan values in its 0th output."); no forward-traceback warning to check
    with pytest.raises(RuntimeError, match="MyFunc: backward gradient holds NaN"):
        with detect_anomaly():
            out.backward()
    assert inp.grad is None             # differs: an assertion added: nothing was written

    inp = torch.rand(size, requires_grad=True)
    with pytest.raises(RuntimeError, match="MyFunc: backward gradient holds NaN"):    # differs: "its 1th output"
        with detect_anomaly():
            out = MyFunc.apply(inp, inp, False)
            out.backward()


def test_anomaly_grad_warnings():
    # PyTorch won't throw warnings if there is an error
    # but we'd want to at least see them in stderr

    class StdErrDiverter:
        def __enter__(self):
            self.stderr_orig = sys.stderr
            self.stderr_new = io.StringIO()
            sys.stderr = self.stderr_new
            return self

        def __exit__(self, *args):
            self.captured = self.stderr_new.getvalue()
            sys.stderr = self.stderr_orig

    # if the warnings don't throw, they will be handled as regular warnings
    # differs: no "modified by an inplace operation" error here (docs/pytorch.md: a write gives the tensor a new
    # array and the graph keeps the old one), so the gradient is that of what was computed, 2 (a + 1)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")     # differs: so that a warning seen before is recorded again
        with detect_anomaly():
            a = torch.randn(5, requires_grad=True)
            d1 = a + 1
            d2 = d1**2
            d1 += 1
            g, = torch.autograd.grad(d2.sum(), a)
    np.testing.assert_allclose(arr(g), 2 * (arr(a) + 1), rtol=1e-6)

    assert len(w) == 1                  # differs: 1, PyTorch's second ("Error detected in PowBackward0") has no error
    assert "Anomaly Detection has been enabled" in str(w[0].message)

    # if the warning throws, it will be printed to sys.stderr
    # differs: with the warning as an error, making detect_anomaly() raises it (PyTorch prints the second)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("error")
        with StdErrDiverter() as s:
            with pytest.raises(UserWarning, match="Anomaly Detection has been enabled"):
                detect_anomaly()
    assert len(w) == 0
    assert s.captured == ""


def test_anomaly_mode_no_check_nan():
    class MyFunc(torch.autograd.Function):
        @staticmethod
        def forward(ctx, inp):
            return inp.clone()

        @staticmethod
        def backward(ctx, gO):
            return torch.tensor(float("nan")).expand(10, 10)

    def run_fn(a):
        out = MyFunc.apply(a)
        return out.sum()

    with warnings.catch_warnings(record=True) as w:
        with torch.autograd.detect_anomaly(check_nan=False):
            inp = torch.rand(10, 10, requires_grad=True)
            out = run_fn(inp)
            out.backward(retain_graph=True)

            with torch.autograd.detect_anomaly(check_nan=True):
                # differs: the library's own message (PyTorch: "Function 'MyFuncBackward' returned nan values in
                # its 0th output.")
                with pytest.raises(RuntimeError, match="MyFunc: backward gradient holds NaN"):
                    out.backward(retain_graph=True)

            out.backward()
    assert np.isnan(inp.grad).all()     # differs: an assertion added


# ---- test_autograd.py: gradcheck --------------------------------------------------------------------------------

@pytest.mark.parametrize("fast_mode", (True, False))
def test_gradcheck_single_input(fast_mode):
    def f(inp):
        return inp.mul(5)

    assert gradcheck(f, torch.rand(10, dtype=torch.float64, requires_grad=True), fast_mode=fast_mode)
    # differs: gradgradcheck left out (NotImplementedError here: gradients are not recorded)


@pytest.mark.parametrize("fast_mode", (True, False))
def test_gradcheck_validates_inputs(fast_mode):
    # differs: the sparse (masked) parts left out: there are no sparse tensors here

    # when none of the inputs require grad (always raises even if raise_exception=False)
    x = torch.rand(10, requires_grad=False)
    # differs: the library's own message ("no input requires grad")
    with pytest.raises(ValueError, match="no input requires grad"):
        gradcheck(lambda x: x, (x,), raise_exception=False, fast_mode=fast_mode)

    # (warning) when inputs are not double precision: the warning is this file's strict xfail below
    x = torch.ones(1, dtype=torch.float32, requires_grad=True)
    assert gradcheck(lambda x: x, (x,), atol=1e-1, fast_mode=fast_mode)
    # differs: the stride-0 input (x.expand((2, 2))) left out: expand copies here (docs/pytorch.md)


@pytest.mark.xfail(strict=True, reason="gradcheck on float32 inputs gives no warning here; PyTorch's warns "
                                       "'Input #0 requires gradient and is not a double precision'")
def test_gradcheck_validates_inputs_warns_of_a_float32_input():
    x = torch.ones(1, dtype=torch.float32, requires_grad=True)
    with pytest.warns(UserWarning, match="Input #0 requires gradient and is not a double precision"):
        assert gradcheck(lambda x: x, (x,), atol=1e-1, fast_mode=False)


@pytest.mark.parametrize("fast_mode", (True, False))
def test_gradcheck_check_no_differentiable_outputs(fast_mode):
    # When none of the outputs are differentiable, but numerical gradient is not zero
    x = torch.ones((1,), requires_grad=True)
    # differs: the library's own message, naming autodiff's 0 and the finite differences (PyTorch: "Numerical
    # gradient for function expected to be zero")
    with pytest.raises(RuntimeError, match="autodiff gives 0.0, finite differences give"):
        gradcheck(lambda x: torch.tensor([x]), x)
    assert not gradcheck(lambda x: torch.tensor([x]), x, raise_exception=False, fast_mode=fast_mode)

    # succeed when no outputs at all
    assert gradcheck(lambda x: (), (x,), fast_mode=fast_mode)


def _hooked_plus(x, step):
    # differs: the hook is registered only when y requires grad: gradcheck here computes its finite differences
    # under no_grad (this file's strict xfails run PyTorch's form)
    y = x.clone()
    if y.requires_grad:
        y.register_hook(lambda x: x + step)
    return y


@pytest.mark.parametrize("fast_mode", (True, False))
def test_gradcheck_backward_mul_by_grad_output(fast_mode):
    # differs: the sparse cases and the wrong-layout Function left out (no sparse tensors here)

    # when backward not multiplied by grad_output (non-sparse case)
    def fn2(x):
        return _hooked_plus(x, 1e-2)

    x = torch.ones(1, dtype=torch.double, requires_grad=True)
    with pytest.raises(RuntimeError, match="backward not multiplied by grad_output"):
        gradcheck(fn2, (x,), atol=1e-1, fast_mode=fast_mode)
    assert not gradcheck(fn2, (x,), atol=1e-1, raise_exception=False, fast_mode=fast_mode)


def test_gradcheck_backward_mul_by_grad_output_as_pytorch_wrote_it():
    def fn2(x):
        y = x.clone()
        y.register_hook(lambda x: x + 1e-2)
        return y

    x = torch.ones(1, dtype=torch.double, requires_grad=True)
    with pytest.raises(RuntimeError, match="backward not multiplied by grad_output"):
        gradcheck(fn2, (x,), atol=1e-1, fast_mode=False)
    assert not gradcheck(fn2, (x,), atol=1e-1, raise_exception=False, fast_mode=False)


@pytest.mark.parametrize("fast_mode", (True, False))
def test_gradcheck_undefined_grad(fast_mode):
    # when encounter runtime error while running backward
    def fn(x):
        def hook(x):
            if x is None:
                raise RuntimeError("x is undefined")

        y = x.clone()
        if y.requires_grad:                 # differs: as _hooked_plus (gradcheck's no_grad finite differences)
            y.register_hook(hook)
        return y

    x = torch.ones(1, dtype=torch.double, requires_grad=True)
    # differs: a hook here never gets None (docs/api.md: check_undefined_grad needs nothing more here: a backward
    # gets zeros for an output a pass did not reach), so PyTorch's warning and "Expected backward function to
    # handle undefined output grads" do not come: gradcheck passes
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        assert gradcheck(fn, (x,), fast_mode=fast_mode)
        assert gradcheck(fn, (x,), raise_exception=False, fast_mode=fast_mode)
    assert len(w) == 0


@pytest.mark.parametrize("fast_mode", (True, False))
def test_gradcheck_jacobian_mismatch(fast_mode):
    def fn(x):  # R -> R, C -> C
        return _hooked_plus(x, 1e-2)

    x = torch.ones(2, 2, requires_grad=True)
    # differs: the library's own message ("input 0 ... at index ..., autodiff gives ..."; PyTorch: "Jacobian
    # mismatch for output 0 with respect to input 0")
    with pytest.raises(RuntimeError, match="input 0"):
        gradcheck(fn, (x,), fast_mode=fast_mode)
    assert not gradcheck(fn, (x,), raise_exception=False, fast_mode=fast_mode)
    # differs: the complex parts left out


def test_gradcheck_jacobian_mismatch_as_pytorch_wrote_it():
    def fn(x):  # R -> R, C -> C
        y = x.clone()
        y.register_hook(lambda x: x + 1e-2)
        return y

    x = torch.ones(2, 2, requires_grad=True)
    with pytest.raises(RuntimeError, match="input 0"):
        gradcheck(fn, (x,), fast_mode=False)
    assert not gradcheck(fn, (x,), raise_exception=False, fast_mode=False)


@pytest.mark.parametrize("fast_mode", (True, False))
def test_gradcheck_output_shape_or_dtype_depend_on_values(fast_mode):
    def fn(x):
        if torch.all(x >= 1):
            return torch.cat([x, x])
        else:
            return x

    a = torch.ones(1, dtype=torch.double, requires_grad=True)
    # differs: a ValueError with the library's own message (the strict xfail below asks for PyTorch's type)
    with pytest.raises(ValueError, match="fn returned shape"):
        assert gradcheck(fn, (a,), fast_mode=fast_mode)

    def fn2(x):
        if torch.all(x >= 1):
            return x.to(torch.float32)
        else:
            return x

    # differs: the library's own message, that fn returns float32 (PyTorch: "return outputs with the same dtype
    # when inputs are perturbed"); an AssertionError both
    with pytest.raises(AssertionError, match="fn returns float32"):
        assert gradcheck(fn2, (a,), fast_mode=fast_mode)


@pytest.mark.xfail(strict=True, reason="gradcheck of an fn whose output shape changes with the input is a "
                                       "ValueError here; PyTorch's is an AssertionError (GradcheckError)")
def test_gradcheck_output_shape_depends_on_values_is_an_assertion_error():
    def fn(x):
        if torch.all(x >= 1):
            return torch.cat([x, x])
        else:
            return x

    a = torch.ones(1, dtype=torch.double, requires_grad=True)
    with pytest.raises(AssertionError):
        gradcheck(fn, (a,), fast_mode=False)


@pytest.mark.parametrize("fast_mode", (True, False))
def test_gradcheck_custom_error(fast_mode):
    from microgradseq.autograd.gradcheck import GradcheckError

    def fn(x):
        return _hooked_plus(x, 1e-2)

    x = torch.ones(2, 2, requires_grad=True)
    # differs: the library's own message (PyTorch: "Jacobian mismatch for output 0 with respect to input 0")
    with pytest.raises(GradcheckError, match="input 0"):
        gradcheck(fn, (x,), fast_mode=fast_mode)
    with pytest.raises(RuntimeError, match="input 0"):
        gradcheck(fn, (x,), fast_mode=fast_mode)
    assert not gradcheck(fn, (x,), raise_exception=False, fast_mode=fast_mode)

    def fn2(x):
        raise RuntimeError("Not a GradcheckError!")

    # Checks that when raise_exception=False, non-GradcheckErrors are not caught by gradcheck
    with pytest.raises(RuntimeError, match="Not a GradcheckError!"):
        gradcheck(fn2, (x,), fast_mode=fast_mode, raise_exception=False)


@pytest.mark.xfail(strict=True, reason="torch.autograd.forward_ad._current_level is not here")
@pytest.mark.parametrize("fast_mode", (True, False))
def test_gradcheck_forward_ad(fast_mode):
    def fn(x, y):
        return x + y, y

    def bad_fn(x, y):
        # Hacky way to check if we're currently inside a forward ad level
        is_running_forward_ad = fwAD._current_level >= 0

        if is_running_forward_ad:
            y_p, y_d = fwAD.unpack_dual(y)
            y = fwAD.make_dual(y_p, y_d * 1.1)

        return x + y, y

    # differs: the library's own message, naming forward mode and input 1 (PyTorch: "Jacobian computed with forward
    # mode mismatch for output 0 with respect to input 1")
    err_msg = "forward mode"

    # Test for all inputs and outputs being real
    x = torch.rand(2, dtype=torch.double, requires_grad=True)
    y = torch.rand(2, dtype=torch.double, requires_grad=True)

    gradcheck(fn, (x, y), check_forward_ad=True, fast_mode=fast_mode)
    with pytest.raises(RuntimeError, match=err_msg) as info:
        gradcheck(bad_fn, (x, y), check_forward_ad=True, fast_mode=fast_mode)
    assert "input 1" in str(info.value)
    # differs: the complex parts (basic_mul, cdouble inputs) left out


@pytest.mark.xfail(strict=True, reason="torch.autograd.forward_ad._current_level is not here")
def test_forward_ad_current_level_as_test_gradcheck_forward_ad_reads_it():
    assert fwAD._current_level == -1
    with fwAD.dual_level():
        assert fwAD._current_level >= 0


def test_gradcheck_check_forward_or_backward_only():
    """Depending on settings for check_forward_ad and check_backward_ad, the
    correct codepaths should be reached (or not reached)
    """
    fwd_fail_err_msg = "FAIL FWD"
    bwd_fail_err_msg = "FAIL BWD"

    class UserFn(Function):
        @staticmethod
        def forward(ctx, foo, fwd_bad, bwd_bad):
            ctx.fwd_bad = fwd_bad
            ctx.bwd_bad = bwd_bad
            return foo * 2

        @staticmethod
        def vjp(ctx, gO):
            if ctx.bwd_bad:
                raise RuntimeError(bwd_fail_err_msg)
            else:
                return 2 * gO, None, None

        @staticmethod
        def jvp(ctx, gI, _1, _2):
            if ctx.fwd_bad:
                raise RuntimeError(fwd_fail_err_msg)
            else:
                return 2 * gI

    for fast_mode in (True, False):
        for check_forward_ad in (True, False):
            for check_backward_ad in (True, False):
                for fwd_bad in (True, False):
                    for bwd_bad in (True, False):
                        fwd_should_fail = fwd_bad and check_forward_ad
                        bwd_should_fail = bwd_bad and check_backward_ad

                        def run():
                            gradcheck(
                                UserFn.apply,
                                (x, fwd_bad, bwd_bad),
                                check_forward_ad=check_forward_ad,
                                check_backward_ad=check_backward_ad,
                                check_undefined_grad=check_backward_ad,
                                check_batched_grad=check_backward_ad,
                                fast_mode=fast_mode,
                            )

                        x = torch.rand(2, dtype=torch.double, requires_grad=True)

                        if not check_forward_ad and not check_backward_ad:
                            # differs: a ValueError here (docs/api.md); PyTorch's AssertionError "Expected at
                            # least one of"
                            with pytest.raises(ValueError, match="both False"):
                                run()
                            continue

                        if not fwd_should_fail and not bwd_should_fail:
                            run()
                        else:
                            # If both fail, backward AD failure "hides" forward AD failure
                            if fwd_should_fail:
                                fail_msg = fwd_fail_err_msg
                            if bwd_should_fail:
                                fail_msg = bwd_fail_err_msg
                            with pytest.raises(RuntimeError, match=fail_msg):
                                run()


def test_gradcheck_forward_ad_batched_grad():
    x = torch.rand(2, dtype=torch.double, requires_grad=True)

    # multiple inputs and outputs with non-tensors inputs
    def fn1(a: torch.Tensor, b: int):
        return a.clone(), a + 1

    assert gradcheck(
        fn1,
        (x, 1),
        check_forward_ad=True,
        check_backward_ad=False,
        check_batched_grad=False,
        check_undefined_grad=False,
        check_batched_forward_grad=True,
    )

    # unrelated inputs: tangent for c is None
    def fn2(a: torch.Tensor, c: torch.Tensor):
        return a.clone()

    assert gradcheck(
        fn2,
        (x, x.clone()),
        check_forward_ad=True,
        check_backward_ad=False,
        check_batched_grad=False,
        check_undefined_grad=False,
        check_batched_forward_grad=True,
    )
    # differs: the vmap-randomness part left out (no vmap of a jvp here)


@pytest.mark.xfail(strict=True, reason="torch.autograd.forward_ad._current_level is not here")
def test_gradcheck_forward_ad_runs_with_no_requires_grad():
    # Currently requires_grad is used as a easy way for gradcheck to know
    # which inputs of the function are meant to be differentiable
    # This test checks that when the inputs are passed to the function they should not have
    # requires_grad=True even though they may have requires_grad=True when passed
    # to gradcheck
    seen = []

    class UserFn(Function):
        @staticmethod
        def forward(ctx, x, y):
            if fwAD._current_level >= 0:
                assert not x.requires_grad
                assert not y.requires_grad
                seen.append(True)
            return x.clone(), y.clone()

        @staticmethod
        def jvp(ctx, x_t, y_t):
            return x_t, y_t

    x = torch.rand(2, dtype=torch.double, requires_grad=True)
    y = torch.rand(2, dtype=torch.double, requires_grad=True)

    for check_undefined_grad, check_batched_forward_grad in ((False, False), (True, False), (True, True)):
        gradcheck(
            UserFn.apply,
            (x, y),
            check_forward_ad=True,
            check_undefined_grad=check_undefined_grad,
            check_backward_ad=False,
            check_batched_grad=False,
            check_batched_forward_grad=check_batched_forward_grad,
        )

    x = torch.rand(2, dtype=torch.double, requires_grad=True)
    y = torch.rand(2, dtype=torch.double, requires_grad=False)
    gradcheck(
        UserFn.apply,
        (x, y),
        check_forward_ad=True,
        check_undefined_grad=True,
        check_backward_ad=False,
        check_batched_grad=False,
        check_batched_forward_grad=True,
    )


@pytest.mark.xfail(strict=True, reason="gradcheck(check_forward_ad=True) calls a Function's jvp 4 times for two "
                                       "one-element inputs; PyTorch's once per input (2)")
def test_gradcheck_forward_ad_respects_requires_grad():
    # Currently requires_grad is used as a easy way for gradcheck to know
    # which inputs of the function are meant to be differentiable
    jvp_count = [0]

    class UserFn(Function):
        @staticmethod
        def forward(ctx, x, y):
            return x.clone(), y.clone()

        @staticmethod
        def jvp(ctx, x_t, y_t):
            jvp_count[0] += 1
            return x_t, y_t

    # NB: In slow gradcheck we need to loop through numel times so use numel = 1 to ensure
    #     that fast and slow have the same counts
    x = torch.rand(1, dtype=torch.double, requires_grad=True)
    y = torch.rand(1, dtype=torch.double, requires_grad=True)
    gradcheck(
        UserFn.apply,
        (x, y),
        check_forward_ad=True,
        check_undefined_grad=False,
        check_backward_ad=False,
        check_batched_grad=False,
        check_batched_forward_grad=False,
    )
    assert jvp_count[0] == 2  # (2) once per input
    jvp_count = [0]

    gradcheck(
        UserFn.apply,
        (x, y),
        check_forward_ad=True,
        check_undefined_grad=True,
        check_backward_ad=False,
        check_batched_grad=False,
        check_batched_forward_grad=False,
    )
    # differs: 2; PyTorch's 6 adds its undefined-tangent passes (docs/api.md: check_undefined_grad needs nothing
    # more here)
    assert jvp_count[0] == 2
    jvp_count = [0]

    # Repeat the previous test except we mark one input with requires_grad=False
    x = torch.rand(1, dtype=torch.double, requires_grad=True)
    y = torch.rand(1, dtype=torch.double, requires_grad=False)
    gradcheck(
        UserFn.apply,
        (x, y),
        check_forward_ad=True,
        check_undefined_grad=True,
        check_backward_ad=False,
        check_batched_grad=False,
        check_batched_forward_grad=True,
    )
    # differs: 1, one pass for the one input that requires grad (PyTorch's 5 adds the undefined and batched passes)
    assert jvp_count[0] == 1
