"""Porting, round 64: LINEAR RECURRENCES AND PARALLEL SCANS -- h_t = a_t * h_{t-1} + b_t computed all at once, as
public PyTorch code writes it. Round 20 ported lucidrains' minGRU (Heinsen's log-space scan) and mamba-minimal
(the selective scan as a Python loop); these are other authors' scans: a Blelloch scan written as a
torch.autograd.Function with in-place updates of strided slices, a second minGRU whose activations are built by
boolean-mask assignment, and the Linear Recurrent Unit's complex diagonal recurrence. Each is written as its author
wrote it, with only the imports changed (`# differs:` marks each other change and why; comments that repeat shapes
and long docstrings shortened, long lines wrapped):

1. alxndrTL/mamba.py: mambapy/pscan.py (acafc7162e9804efeb8056f8ed2156641e679548: `npo2`, `pad_npo2`, `PScan` with
   its up and down sweeps, `pscan_rev` for the backward, the optional initial state H_0, `pscan = PScan.apply`) and
   mambapy/mamba.py (b70f47e722776dbf87d6d8c5dfd31c4ff784a2d5: `MambaConfig`, `Mamba`, `ResidualBlock`,
   `MambaBlock` with `selective_scan` (the pscan), `selective_scan_seq` (the loop), `step`/`ssm_step` (one token
   with a cache of the conv inputs), `RMSNorm`).
2. michaelpginn/mingru (Christoph Heind's MinGRU, cheind/mingru): mingru/scan.py
   (3a3ea53e65a24c959b468a18923dd7607ab07eeb: `parallel_scan_log`, the pad list `[0] * (ndim - 2) * 2 + [1, 0]`),
   mingru/functional.py (292811c88b2bf7d76bee037782f871e69d2e74a7: `g` and `log_g` written by boolean-mask
   assignment into `torch.empty_like`, `mingru_sequential`, `mingru_parallel`, `mingru`, and the convolutional
   `conv_mingru*` with `F.conv2d(..., padding="same")`), tests/test_scan.py
   (711c507de93026ab3c7d0ac90dfe999a87d8c627: `test_parallel_scan`, run as written).
3. Gothos/LRU-pytorch: LRU_pytorch/LRU.py (5dbbad5aa533c3786f9825dd55592eb579338890): the LRU's exponential
   parametrisation (nu_log, theta_log, gamma_log), complex B and C made with `torch.complex`, `Lambda @ state`,
   `.real`.
Every source was read in the index at the commit named; none was written from memory.

What broke:
  G1. (left open, strict xfail) The LRU does not run: the library has no complex dtype, so `torch.complex(B_re,
      B_im)` in `LRU.__init__` is an AttributeError (PyTorch's `torch.complex(real, imag)` makes a complex64 tensor
      from two float32 ones). docs/pytorch.md already says the library has no complex dtype (for `linalg.eig`); a
      complex dtype is not a small change. The test at the end runs LRU.py as written and pins the recurrence it
      computes in numpy's complex arithmetic, so it passes once complex tensors exist. Meanwhile `LRUInRealParts`
      is LRU.py with each complex tensor kept as its real and imaginary parts (marked lines), checked against the
      same numpy, with gradients through its item-assigned outputs.

Met and as PyTorch: pscan's sweeps as written, in-place writes through `Aa.view(B, D, T//2, 2, -1)[:, :, :, 1]`
into A and X (a view of a view of a transposed clone, each a part of the one before, as PyTorch's views are;
until this session a view was a tensor of its own here and the port took strided slices instead); a `torch.autograd.Function` whose forward scans clones in place and saves a None (H_0) with
`save_for_backward`, and whose backward returns two gradients or three; `F.pad` with a 6-tuple and with a list;
`transpose` then in-place ops on parts; `torch.cumsum`, `torch.logcumsumexp`; `out[mask] = ...` and
`out[~mask] = ...` into `torch.empty_like(x)` carrying both branches' gradients; `F.linear(...).chunk(2, dim=-1)`;
`F.conv2d(padding="same")` of a 3x3 kernel; `torch.tensor(list of one-element tensors)` (shape (10,): PyTorch's
`compute_sizes` does not walk into a tensor, each becomes a scalar); `torch.split` with sizes, `torch.expm1`,
`clamp(min=)`, `arange(..., dtype=torch.float32).repeat(d, 1)` (a float32 parameter in a float64 model, promoted
where it meets float64), attributes set on a Parameter (`_no_weight_decay`), a depthwise causal `Conv1d`, `torch.rsqrt`.

Noticed and left alone (the sources', in PyTorch too):
  - pscan's forward with H_0 and a length that is not a power of two pads A and X, then pads them again in the
    branch after (the first pad is thrown away); the scan supports only powers of two internally.
  - michaelpginn/mingru's `log_g` of a hidden state of exactly 0 takes the `x >= 0` branch: log(0.5).
  - LRU.forward's `Lambda@self.state` is `@` of two vectors, their dot product (no conjugate, as `torch.dot`): one
    complex number added to every state entry, where the paper's diagonal recurrence is Lambda * state. The numpy
    reference computes what the source computes.

Expected values come from numpy written here in float64 (the recurrence unrolled step by step, the selective scan
and a Mamba layer from the paper's equations, minGRU's recurrence h_t = (1 - z_t) h_{t-1} + z_t g(h~_t), the LRU in
numpy's complex arithmetic), gradients by central differences of those numpy functions; never from the library's
own outputs.
"""

import math
from dataclasses import dataclass
from typing import Union

import numpy as np
import pytest
from porting_references import arr, central, np_sigmoid, some_indices

import microgradseq as torch
import microgradseq.nn as nn
import microgradseq.nn.functional as F


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)
    np.random.seed(0)


# =========================================================================================================
# 1. alxndrTL/mamba.py: mambapy/pscan.py (acafc716) and mambapy/mamba.py (b70f47e7)
# =========================================================================================================

# ---- mambapy/pscan.py ----------------------------------------------------------------------------------

def npo2(len):
    """
    Returns the next power of 2 above len
    """

    return 2 ** math.ceil(math.log2(len))

def pad_npo2(X):
    """
    Pads input length dim to the next power of 2

    Args:
        X : (B, L, D, N)

    Returns:
        Y : (B, npo2(L), D, N)
    """

    len_npo2 = npo2(X.size(1))
    pad_tuple = (0, 0, 0, 0, 0, len_npo2 - X.size(1))
    return F.pad(X, pad_tuple, "constant", 0)

class PScan(torch.autograd.Function):
    @staticmethod
    def pscan(A, X):
        B, D, L, _ = A.size()
        num_steps = int(math.log2(L))

        # up sweep (last 2 steps unfolded)
        Aa = A
        Xa = X
        for _ in range(num_steps-2):
            T = Xa.size(2)
            Aa = Aa.view(B, D, T//2, 2, -1)
            Xa = Xa.view(B, D, T//2, 2, -1)

            Xa[:, :, :, 1].add_(Aa[:, :, :, 1].mul(Xa[:, :, :, 0]))
            Aa[:, :, :, 1].mul_(Aa[:, :, :, 0])

            Aa = Aa[:, :, :, 1]
            Xa = Xa[:, :, :, 1]

        # we have only 4, 2 or 1 nodes left
        if Xa.size(2) == 4:
            Xa[:, :, 1].add_(Aa[:, :, 1].mul(Xa[:, :, 0]))
            Aa[:, :, 1].mul_(Aa[:, :, 0])

            Xa[:, :, 3].add_(Aa[:, :, 3].mul(Xa[:, :, 2] + Aa[:, :, 2].mul(Xa[:, :, 1])))
        elif Xa.size(2) == 2:
            Xa[:, :, 1].add_(Aa[:, :, 1].mul(Xa[:, :, 0]))
            return
        else:
            return

        # down sweep (first 2 steps unfolded)
        Aa = A[:, :, 2**(num_steps-2)-1:L:2**(num_steps-2)]
        Xa = X[:, :, 2**(num_steps-2)-1:L:2**(num_steps-2)]
        Xa[:, :, 2].add_(Aa[:, :, 2].mul(Xa[:, :, 1]))
        Aa[:, :, 2].mul_(Aa[:, :, 1])

        for k in range(num_steps-3, -1, -1):
            Aa = A[:, :, 2**k-1:L:2**k]
            Xa = X[:, :, 2**k-1:L:2**k]

            T = Xa.size(2)
            Aa = Aa.view(B, D, T//2, 2, -1)
            Xa = Xa.view(B, D, T//2, 2, -1)

            Xa[:, :, 1:, 0].add_(Aa[:, :, 1:, 0].mul(Xa[:, :, :-1, 1]))
            Aa[:, :, 1:, 0].mul_(Aa[:, :, :-1, 1])

    @staticmethod
    def pscan_rev(A, X):
        B, D, L, _ = A.size()
        num_steps = int(math.log2(L))

        # up sweep (last 2 steps unfolded)
        Aa = A
        Xa = X
        for _ in range(num_steps-2):
            T = Xa.size(2)
            Aa = Aa.view(B, D, T//2, 2, -1)
            Xa = Xa.view(B, D, T//2, 2, -1)

            Xa[:, :, :, 0].add_(Aa[:, :, :, 0].mul(Xa[:, :, :, 1]))
            Aa[:, :, :, 0].mul_(Aa[:, :, :, 1])

            Aa = Aa[:, :, :, 0]
            Xa = Xa[:, :, :, 0]

        # we have only 4, 2 or 1 nodes left
        if Xa.size(2) == 4:
            Xa[:, :, 2].add_(Aa[:, :, 2].mul(Xa[:, :, 3]))
            Aa[:, :, 2].mul_(Aa[:, :, 3])

            Xa[:, :, 0].add_(Aa[:, :, 0].mul(Xa[:, :, 1].add(Aa[:, :, 1].mul(Xa[:, :, 2]))))
        elif Xa.size(2) == 2:
            Xa[:, :, 0].add_(Aa[:, :, 0].mul(Xa[:, :, 1]))
            return
        else:
            return

        # down sweep (first 2 steps unfolded)
        Aa = A[:, :, 0:L:2**(num_steps-2)]
        Xa = X[:, :, 0:L:2**(num_steps-2)]
        Xa[:, :, 1].add_(Aa[:, :, 1].mul(Xa[:, :, 2]))
        Aa[:, :, 1].mul_(Aa[:, :, 2])

        for k in range(num_steps-3, -1, -1):
            Aa = A[:, :, 0:L:2**k]
            Xa = X[:, :, 0:L:2**k]

            T = Xa.size(2)
            Aa = Aa.view(B, D, T//2, 2, -1)
            Xa = Xa.view(B, D, T//2, 2, -1)

            Xa[:, :, :-1, 1].add_(Aa[:, :, :-1, 1].mul(Xa[:, :, 1:, 0]))
            Aa[:, :, :-1, 1].mul_(Aa[:, :, 1:, 0])

    @staticmethod
    def forward(ctx, A_in, X_in, H_0=None):
        B, L, D, N = X_in.size()

        if H_0 is not None:
            X_in = torch.cat([H_0.unsqueeze(1), X_in], dim=1)
            A_in = torch.cat([torch.ones(B, 1, D, N, device=A_in.device), A_in], dim=1)
            L = L+1

            if L != npo2(L):
                # pad tensors
                A = pad_npo2(A_in) # (B, npo2(L), D, N)
                X = pad_npo2(X_in) # (B, npo2(L), D, N)

        # cloning is requiered because of the in-place ops
        if L == npo2(L):
            A = A_in.clone()
            X = X_in.clone()
        else:
            # pad tensors (and clone btw)
            A = pad_npo2(A_in) # (B, npo2(L), D, N)
            X = pad_npo2(X_in) # (B, npo2(L), D, N)

        # prepare tensors
        A = A.transpose(2, 1) # (B, D, npo2(L), N)
        X = X.transpose(2, 1) # (B, D, npo2(L), N)

        # parallel scan (modifies X in-place)
        PScan.pscan(A, X)

        ctx.save_for_backward(A_in, X, H_0)

        # slice [:, :L] (cut if there was padding)
        if H_0 is not None:
            return X.transpose(2, 1)[:, 1:L]
        else:
            return X.transpose(2, 1)[:, :L]

    @staticmethod
    def backward(ctx, grad_output_in):
        A_in, X, H_0 = ctx.saved_tensors

        B, L, D, N = grad_output_in.size()

        if H_0 is not None:
            grad_output_in = torch.cat([torch.zeros(B, 1, D, N, device=grad_output_in.device), grad_output_in], dim=1)
            L = L+1

        # cloning is requiered because of the in-place ops
        if L == npo2(L):
            grad_output = grad_output_in.clone()
            # the next padding will clone A_in
        else:
            grad_output = pad_npo2(grad_output_in) # (B, npo2(L), D, N)
            A_in = pad_npo2(A_in) # (B, npo2(L), D, N)

        # prepare tensors
        grad_output = grad_output.transpose(2, 1)
        A_in = A_in.transpose(2, 1) # (B, D, npo2(L), N)
        A = torch.nn.functional.pad(A_in[:, :, 1:], (0, 0, 0, 1)) # (B, D, npo2(L), N) shift 1 to the left
                                                                    # (see hand derivation)

        # reverse parallel scan (modifies grad_output in-place)
        PScan.pscan_rev(A, grad_output)

        Q = torch.zeros_like(X)
        Q[:, :, 1:].add_(X[:, :, :-1] * grad_output[:, :, 1:])

        if H_0 is not None:
            grad_output = grad_output.transpose(2, 1)
            return Q.transpose(2, 1)[:, 1:L], grad_output[:, 1:L], grad_output[:, 0]
        else:
            return Q.transpose(2, 1)[:, :L], grad_output.transpose(2, 1)[:, :L]

pscan = PScan.apply




# ---- numpy references and tests of the scan ------------------------------------------------------------

def np_scan(A, X, H0=None):
    """h_t = A_t * h_{t-1} + X_t unrolled step by step over axis 1 of (B, L, D, N), from h_{-1} = H0 (or 0)."""
    h = np.zeros((A.shape[0],) + A.shape[2:]) if H0 is None else H0
    hs = []
    for t in range(A.shape[1]):
        h = A[:, t] * h + X[:, t]
        hs.append(h)
    return np.stack(hs, 1)


def scan_inputs(rng, L, shape=(2, 3, 2)):
    b, d, n = shape
    return rng.uniform(0.3, 1.1, (b, L, d, n)), rng.normal(size=(b, L, d, n))


def numeric_gradient(f, value, eps=1e-6):
    """Central differences of the scalar f at every entry of `value`."""
    return central(f, value, list(np.ndindex(value.shape)), eps).reshape(value.shape)


@pytest.mark.parametrize("L", [1, 2, 3, 4, 5, 8, 13, 16, 32])
def test_pscan_is_the_recurrence_unrolled_step_by_step(L, float64_default):
    A, X = scan_inputs(np.random.default_rng(L), L)
    A_t, X_t = torch.tensor(A), torch.tensor(X)
    H = pscan(A_t, X_t)
    assert H.shape == (2, L, 3, 2)
    np.testing.assert_allclose(arr(H), np_scan(A, X), rtol=1e-12, atol=1e-13)
    np.testing.assert_array_equal(arr(A_t), A)           # the forward scans clones: its inputs are left alone
    np.testing.assert_array_equal(arr(X_t), X)


@pytest.mark.parametrize("L", [2, 4, 7, 16])
def test_pscan_backward_by_the_reverse_scan_matches_central_differences(L, float64_default):
    rng = np.random.default_rng(10 + L)
    A, X = scan_inputs(rng, L)
    W = rng.normal(size=A.shape)
    A_t, X_t = torch.tensor(A, requires_grad=True), torch.tensor(X, requires_grad=True)
    (pscan(A_t, X_t) * torch.tensor(W)).sum().backward()
    np.testing.assert_allclose(A_t.grad, numeric_gradient(lambda a: (np_scan(a, X) * W).sum(), A), atol=1e-7)
    np.testing.assert_allclose(X_t.grad, numeric_gradient(lambda x: (np_scan(A, x) * W).sum(), X), atol=1e-7)


@pytest.mark.parametrize("L", [3, 4, 6])
def test_pscan_with_an_initial_state_values_and_three_gradients(L, float64_default):
    rng = np.random.default_rng(20 + L)
    A, X = scan_inputs(rng, L)
    H0, W = rng.normal(size=(2, 3, 2)), rng.normal(size=A.shape)
    A_t, X_t, H0_t = (torch.tensor(v, requires_grad=True) for v in (A, X, H0))
    H = pscan(A_t, X_t, H0_t)
    np.testing.assert_allclose(arr(H), np_scan(A, X, H0), rtol=1e-12, atol=1e-13)
    (H * torch.tensor(W)).sum().backward()
    np.testing.assert_allclose(A_t.grad, numeric_gradient(lambda a: (np_scan(a, X, H0) * W).sum(), A), atol=1e-7)
    np.testing.assert_allclose(X_t.grad, numeric_gradient(lambda x: (np_scan(A, x, H0) * W).sum(), X), atol=1e-7)
    np.testing.assert_allclose(H0_t.grad, numeric_gradient(lambda h: (np_scan(A, X, h) * W).sum(), H0), atol=1e-7)


def test_bptt_through_the_sequential_loop_matches_the_scans_hand_written_backward(float64_default):
    """selective_scan_seq's loop `h = deltaA[:, t] * h + BX[:, t]` differentiated by the library's autograd, against
    pscan's backward (a reverse scan of the shifted A) and central differences."""
    rng = np.random.default_rng(5)
    A, X = scan_inputs(rng, 6)
    W = rng.normal(size=A.shape)
    grads = []
    for parallel in (True, False):
        A_t, X_t = torch.tensor(A, requires_grad=True), torch.tensor(X, requires_grad=True)
        if parallel:
            H = pscan(A_t, X_t)
        else:
            h, hs = torch.zeros(2, 3, 2), []
            for t in range(6):
                h = A_t[:, t] * h + X_t[:, t]
                hs.append(h)
            H = torch.stack(hs, dim=1)
        (H * torch.tensor(W)).sum().backward()
        grads.append((A_t.grad.copy(), X_t.grad.copy()))
    expected_A = numeric_gradient(lambda a: (np_scan(a, X) * W).sum(), A)
    for gA, gX in grads:
        np.testing.assert_allclose(gA, expected_A, atol=1e-7)
    np.testing.assert_allclose(grads[0][0], grads[1][0], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(grads[0][1], grads[1][1], rtol=1e-12, atol=1e-14)


def test_pad_npo2_pads_the_length_axis_at_the_end_with_zeros():
    X = torch.ones(2, 5, 3, 2)
    Y = pad_npo2(X)
    assert (npo2(5), npo2(8), npo2(9)) == (8, 8, 16)
    assert Y.shape == (2, 8, 3, 2)
    np.testing.assert_array_equal(arr(Y)[:, :5], 1.0)
    np.testing.assert_array_equal(arr(Y)[:, 5:], 0.0)


def test_the_sources_view_spelling_writes_through_as_pytorchs():
    """PyTorch's `X.view(...)[:, :, :, 1].add_(...)` writes into X: pairs (x0, x1) become (x0, x1 + x0); the
    same with X a transpose of another tensor, as in PScan.forward."""
    X = torch.arange(8.).view(1, 1, 8, 1)
    Xa = X.view(1, 1, 4, 2, -1)
    Xa[:, :, :, 1].add_(Xa[:, :, :, 0])
    np.testing.assert_array_equal(arr(X).ravel(), [0, 1, 2, 5, 4, 9, 6, 13])
    base = torch.arange(8.).view(1, 8, 1, 1)
    X = base.transpose(2, 1)
    X.view(1, 1, 4, 2, -1)[:, :, :, 1].add_(X.view(1, 1, 4, 2, -1)[:, :, :, 0])
    np.testing.assert_array_equal(arr(base).ravel(), [0, 1, 2, 5, 4, 9, 6, 13])
    np.testing.assert_array_equal(arr(X).ravel(), [0, 1, 2, 5, 4, 9, 6, 13])


# ---- mambapy/mamba.py ----------------------------------------------------------------------------------

@dataclass
class MambaConfig:
    d_model: int # D
    n_layers: int
    dt_rank: Union[int, str] = 'auto'
    d_state: int = 16 # N in paper/comments
    expand_factor: int = 2 # E in paper/comments
    d_conv: int = 4

    dt_min: float = 0.001
    dt_max: float = 0.1
    dt_init: str = "random" # "random" or "constant"
    dt_scale: float = 1.0
    dt_init_floor = 1e-4

    rms_norm_eps: float = 1e-5
    base_std: float = 0.02

    bias: bool = False
    conv_bias: bool = True
    inner_layernorms: bool = False # apply layernorms to internal activations

    mup: bool = False
    mup_base_width: float = 128 # width=d_model

    pscan: bool = True # use parallel scan mode or sequential mode when training
    use_cuda: bool = False # use official CUDA implementation when training (not compatible with (b)float16)

    def __post_init__(self):
        self.d_inner = self.expand_factor * self.d_model # E*D = ED in comments

        if self.dt_rank == 'auto':
            self.dt_rank = math.ceil(self.d_model / 16)

        # muP
        if self.mup:
            self.mup_width_mult = self.d_model / self.mup_base_width

class Mamba(nn.Module):
    def __init__(self, config: MambaConfig):
        super().__init__()

        self.config = config

        self.layers = nn.ModuleList([ResidualBlock(config) for _ in range(config.n_layers)])

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)

        return x

    def step(self, x, caches):
        for i, layer in enumerate(self.layers):
            x, caches[i] = layer.step(x, caches[i])

        return x, caches

class ResidualBlock(nn.Module):
    def __init__(self, config: MambaConfig):
        super().__init__()

        self.mixer = MambaBlock(config)
        self.norm = RMSNorm(config.d_model, config.rms_norm_eps, config.mup)

    def forward(self, x):
        output = self.mixer(self.norm(x)) + x
        return output

    def step(self, x, cache):
        output, cache = self.mixer.step(self.norm(x), cache)
        output = output + x
        return output, cache

class MambaBlock(nn.Module):
    def __init__(self, config: MambaConfig):
        super().__init__()

        self.config = config

        # projects block input from D to 2*ED (two branches)
        self.in_proj = nn.Linear(config.d_model, 2 * config.d_inner, bias=config.bias)

        self.conv1d = nn.Conv1d(in_channels=config.d_inner, out_channels=config.d_inner,
                              kernel_size=config.d_conv, bias=config.conv_bias,
                              groups=config.d_inner,
                              padding=config.d_conv - 1)

        # projects x to input-dependent delta, B, C
        self.x_proj = nn.Linear(config.d_inner, config.dt_rank + 2 * config.d_state, bias=False)

        # projects delta from dt_rank to d_inner
        self.dt_proj = nn.Linear(config.dt_rank, config.d_inner, bias=True)

        # dt initialization
        # dt weights
        dt_init_std = config.dt_rank**-0.5 * config.dt_scale
        if config.dt_init == "constant":
            nn.init.constant_(self.dt_proj.weight, dt_init_std)
        elif config.dt_init == "random":
            nn.init.uniform_(self.dt_proj.weight, -dt_init_std, dt_init_std)
        else:
            raise NotImplementedError

        # delta bias
        dt = torch.exp(
            torch.rand(config.d_inner) * (math.log(config.dt_max) - math.log(config.dt_min)) + math.log(config.dt_min)
        ).clamp(min=config.dt_init_floor)
        inv_dt = dt + torch.log(-torch.expm1(-dt)) # inverse of softplus:
                                                   # https://github.com/pytorch/pytorch/issues/72759
        with torch.no_grad():
            self.dt_proj.bias.copy_(inv_dt)

        # S4D real initialization
        A = torch.arange(1, config.d_state + 1, dtype=torch.float32).repeat(config.d_inner, 1)
        self.A_log = nn.Parameter(torch.log(A)) # why store A in log ? to keep A < 0 (cf -torch.exp(...)) ?
                                                # for gradient stability ?
        self.A_log._no_weight_decay = True

        self.D = nn.Parameter(torch.ones(config.d_inner))
        self.D._no_weight_decay = True

        # projects block output from ED back to D
        self.out_proj = nn.Linear(config.d_inner, config.d_model, bias=config.bias)

        # used in jamba
        if self.config.inner_layernorms:
            self.dt_layernorm = RMSNorm(self.config.dt_rank, config.rms_norm_eps, config.mup)
            self.B_layernorm = RMSNorm(self.config.d_state, config.rms_norm_eps, config.mup)
            self.C_layernorm = RMSNorm(self.config.d_state, config.rms_norm_eps, config.mup)
        else:
            self.dt_layernorm = None
            self.B_layernorm = None
            self.C_layernorm = None

        if self.config.use_cuda:
            try:
                from mamba_ssm.ops.selective_scan_interface import selective_scan_fn
                self.selective_scan_cuda = selective_scan_fn
            except ImportError:
                print("Failed to import mamba_ssm. Falling back to mamba.py.")
                self.config.use_cuda = False

    def _apply_layernorms(self, dt, B, C):
        if self.dt_layernorm is not None:
            dt = self.dt_layernorm(dt)
        if self.B_layernorm is not None:
            B = self.B_layernorm(B)
        if self.C_layernorm is not None:
            C = self.C_layernorm(C)
        return dt, B, C

    def forward(self, x):
        _, L, _ = x.shape

        xz = self.in_proj(x) # (B, L, 2*ED)
        x, z = xz.chunk(2, dim=-1) # (B, L, ED), (B, L, ED)

        # x branch
        x = x.transpose(1, 2) # (B, ED, L)
        x = self.conv1d(x)[:, :, :L] # depthwise convolution over time, with a short filter
        x = x.transpose(1, 2) # (B, L, ED)

        x = F.silu(x)
        y = self.ssm(x, z)

        if self.config.use_cuda:
            output = self.out_proj(y) # (B, L, D)
            return output # the rest of the operations are done in the ssm function (fused with the CUDA pscan)

        # z branch
        z = F.silu(z)

        output = y * z
        output = self.out_proj(output) # (B, L, D)

        return output

    def ssm(self, x, z):
        A = -torch.exp(self.A_log.float()) # (ED, N)
        D = self.D.float()

        deltaBC = self.x_proj(x) # (B, L, dt_rank+2*N)
        delta, B, C = torch.split(deltaBC, [self.config.dt_rank, self.config.d_state, self.config.d_state],
                                  dim=-1) # (B, L, dt_rank), (B, L, N), (B, L, N)
        delta, B, C = self._apply_layernorms(delta, B, C)
        delta = self.dt_proj.weight @ delta.transpose(1, 2) # (ED, dt_rank) @ (B, L, dt_rank) -> (B, ED, L)

        if self.config.use_cuda:
            x = x.transpose(1, 2)
            B = B.transpose(1, 2)
            C = C.transpose(1, 2)
            z = z.transpose(1, 2)

            y = self.selective_scan_cuda(x, delta, A, B, C, D, z=z, delta_softplus=True,
                                         delta_bias=self.dt_proj.bias.float())
            y = y.transpose(1, 2) # (B, L, ED)

        else:
            delta = delta.transpose(1, 2)
            delta = F.softplus(delta + self.dt_proj.bias)

            if self.config.pscan:
                y = self.selective_scan(x, delta, A, B, C, D)
            else:
                y = self.selective_scan_seq(x, delta, A, B, C, D)

        return y

    def selective_scan(self, x, delta, A, B, C, D):
        deltaA = torch.exp(delta.unsqueeze(-1) * A) # (B, L, ED, N)
        deltaB = delta.unsqueeze(-1) * B.unsqueeze(2) # (B, L, ED, N)

        BX = deltaB * (x.unsqueeze(-1)) # (B, L, ED, N)

        hs = pscan(deltaA, BX)

        y = (hs @ C.unsqueeze(-1)).squeeze(3) # (B, L, ED, N) @ (B, L, N, 1) -> (B, L, ED, 1)

        y = y + D * x

        return y

    def selective_scan_seq(self, x, delta, A, B, C, D):
        _, L, _ = x.shape

        deltaA = torch.exp(delta.unsqueeze(-1) * A) # (B, L, ED, N)
        deltaB = delta.unsqueeze(-1) * B.unsqueeze(2) # (B, L, ED, N)

        BX = deltaB * (x.unsqueeze(-1)) # (B, L, ED, N)

        h = torch.zeros(x.size(0), self.config.d_inner, self.config.d_state, device=deltaA.device) # (B, ED, N)
        hs = []

        for t in range(0, L):
            h = deltaA[:, t] * h + BX[:, t]
            hs.append(h)

        hs = torch.stack(hs, dim=1) # (B, L, ED, N)

        y = (hs @ C.unsqueeze(-1)).squeeze(3) # (B, L, ED, N) @ (B, L, N, 1) -> (B, L, ED, 1)

        y = y + D * x

        return y

    def step(self, x, cache):
        h, inputs = cache

        xz = self.in_proj(x) # (B, 2*ED)
        x, z = xz.chunk(2, dim=1) # (B, ED), (B, ED)

        # x branch
        x_cache = x.unsqueeze(2)
        x = self.conv1d(torch.cat([inputs, x_cache], dim=2))[:, :, self.config.d_conv-1] # (B, ED)

        x = F.silu(x)
        y, h = self.ssm_step(x, h)

        # z branch
        z = F.silu(z)

        output = y * z
        output = self.out_proj(output) # (B, D)

        # prepare cache for next call
        inputs = torch.cat([inputs[:, :, 1:], x_cache], dim=2) # (B, ED, d_conv-1)
        cache = (h, inputs)

        return output, cache

    def ssm_step(self, x, h):
        A = -torch.exp(self.A_log.float()) # (ED, N) # todo : ne pas le faire tout le temps,
                                           # puisque c'est indépendant de la timestep
        D = self.D.float()

        deltaBC = self.x_proj(x) # (B, dt_rank+2*N)

        delta, B, C = torch.split(deltaBC, [self.config.dt_rank, self.config.d_state, self.config.d_state],
                                  dim=-1) # (B, dt_rank), (B, N), (B, N)
        delta, B, C = self._apply_layernorms(delta, B, C)
        delta = F.softplus(self.dt_proj(delta)) # (B, ED)

        deltaA = torch.exp(delta.unsqueeze(-1) * A) # (B, ED, N)
        deltaB = delta.unsqueeze(-1) * B.unsqueeze(1) # (B, ED, N)

        BX = deltaB * (x.unsqueeze(-1)) # (B, ED, N)

        if h is None:
            h = torch.zeros(x.size(0), self.config.d_inner, self.config.d_state, device=deltaA.device) # (B, ED, N)

        h = deltaA * h + BX # (B, ED, N)

        y = (h @ C.unsqueeze(-1)).squeeze(2) # (B, ED, N) @ (B, N, 1) -> (B, ED, 1)

        y = y + D * x

        return y, h

class RMSNorm(nn.Module):
    def __init__(self, d_model: int, eps: float = 1e-5, use_mup: bool = False):
        super().__init__()

        self.use_mup = use_mup
        self.eps = eps

        # https://arxiv.org/abs/2404.05728, RMSNorm gains prevents muTransfer (section 4.2.3)
        if not use_mup:
            self.weight = nn.Parameter(torch.ones(d_model))

    def forward(self, x):
        output = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)

        if not self.use_mup:
            return output * self.weight
        else:
            return output


# ---- numpy references and tests of the Mamba layer -----------------------------------------------------

def np_silu(z):
    return z * np_sigmoid(z)


def np_softplus(z):
    return np.logaddexp(0.0, z)


def np_selective_scan(x, delta, A, B, C, D):
    """Mamba's discretised SSM: h_t = exp(delta_t A) h_{t-1} + delta_t B_t x_t, y_t = C_t h_t + D x_t, per channel."""
    deltaA = np.exp(delta[..., None] * A)                    # (B, L, ED, N)
    BX = delta[..., None] * B[:, :, None, :] * x[..., None]
    hs = np_scan(deltaA, BX)
    return np.einsum('bldn,bln->bld', hs, C) + D * x


def np_mamba(p, x, cfg):
    """mamba.py's Mamba in float64 numpy, layer by layer: x + out_proj(ssm(silu(causal depthwise conv(x_in))) *
    silu(z)) with [x_in, z] = in_proj(rms_norm(x))."""
    L, K, N, R = x.shape[1], cfg.d_conv, cfg.d_state, cfg.dt_rank
    for i in range(cfg.n_layers):
        q = {k[len(f'layers.{i}.'):]: v for k, v in p.items() if k.startswith(f'layers.{i}.')}
        normed = x / np.sqrt((x ** 2).mean(-1, keepdims=True) + cfg.rms_norm_eps) * q['norm.weight']
        xs, z = np.split(normed @ q['mixer.in_proj.weight'].T, 2, axis=-1)
        padded = np.concatenate([np.zeros((x.shape[0], K - 1, xs.shape[2])), xs], axis=1)
        w = q['mixer.conv1d.weight'][:, 0]                        # (ED, K)
        conv = sum(padded[:, k:k + L] * w[:, k] for k in range(K)) + q['mixer.conv1d.bias']
        xs = np_silu(conv)
        dbc = xs @ q['mixer.x_proj.weight'].T
        delta, B, C = dbc[..., :R], dbc[..., R:R + N], dbc[..., R + N:]
        delta = np_softplus(delta @ q['mixer.dt_proj.weight'].T + q['mixer.dt_proj.bias'])
        y = np_selective_scan(xs, delta, -np.exp(q['mixer.A_log']), B, C, q['mixer.D'])
        x = x + (y * np_silu(z)) @ q['mixer.out_proj.weight'].T
    return x


def small_config(**changes):
    return MambaConfig(**{**dict(d_model=4, n_layers=2, d_state=3, d_conv=3), **changes})


@pytest.mark.parametrize("parallel", [True, False])
def test_selective_scan_and_its_sequential_twin_against_the_ssm_equations(parallel, float64_default):
    rng = np.random.default_rng(30 + parallel)
    block = MambaBlock(small_config())
    b, L, ed, n = 2, 5, 8, 3
    values = dict(x=rng.normal(size=(b, L, ed)), delta=rng.uniform(0.05, 0.8, (b, L, ed)),
                  A=-rng.uniform(0.5, 3.0, (ed, n)), B=rng.normal(size=(b, L, n)), C=rng.normal(size=(b, L, n)),
                  D=rng.normal(size=ed))
    W = rng.normal(size=(b, L, ed))
    tensors = {k: torch.tensor(v, requires_grad=True) for k, v in values.items()}
    scan = block.selective_scan if parallel else block.selective_scan_seq
    y = scan(**tensors)
    np.testing.assert_allclose(arr(y), np_selective_scan(**values), rtol=1e-12, atol=1e-12)
    (y * torch.tensor(W)).sum().backward()
    for name in values:
        def loss(v, name=name):
            return (np_selective_scan(**{**values, name: v}) * W).sum()
        np.testing.assert_allclose(tensors[name].grad, numeric_gradient(loss, values[name]), rtol=1e-6, atol=1e-7)


def test_mamba_forward_in_both_scan_modes_is_the_numpy_mamba(float64_default):
    cfg = small_config()
    model = Mamba(cfg)
    assert model.layers[0].mixer.A_log.dtype == np.float32      # `arange(..., dtype=torch.float32)`, as written
    x = np.random.default_rng(40).normal(size=(2, 7, 4))
    params = {k: arr(v) for k, v in model.named_parameters()}
    want = np_mamba(params, x, cfg)
    got_parallel = arr(model(torch.tensor(x)))
    cfg.pscan = False
    got_sequential = arr(model(torch.tensor(x)))
    np.testing.assert_allclose(got_parallel, want, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got_sequential, want, rtol=1e-10, atol=1e-12)


def test_mamba_gradients_agree_in_both_modes_and_with_central_differences(float64_default):
    cfg = small_config(n_layers=1)
    model = Mamba(cfg)
    x = np.random.default_rng(41).normal(size=(2, 6, 4))
    W = np.random.default_rng(42).normal(size=(2, 6, 4))
    params = {k: arr(v) for k, v in model.named_parameters()}
    grads = []
    for mode in (True, False):
        cfg.pscan = mode
        model.zero_grad()
        (model(torch.tensor(x)) * torch.tensor(W)).sum().backward()
        grads.append({k: np.array(v.grad, dtype=np.float64) for k, v in model.named_parameters()})
    for name in ['layers.0.mixer.in_proj.weight', 'layers.0.mixer.conv1d.weight', 'layers.0.mixer.x_proj.weight',
                 'layers.0.mixer.dt_proj.bias', 'layers.0.mixer.D', 'layers.0.norm.weight']:
        idx = some_indices(params[name].shape, 4, seed=len(name))

        def loss(v, name=name):
            return (np_mamba({**params, name: v}, x, cfg) * W).sum()
        want = central(loss, params[name], idx)
        for g in grads:
            np.testing.assert_allclose([g[name][i] for i in idx], want, rtol=1e-6, atol=1e-8)
    for name in grads[0]:                     # A_log is float32 (as written): its gradient to float32 rounding
        np.testing.assert_allclose(grads[0][name], grads[1][name], rtol=1e-5, atol=1e-7)


def test_step_with_a_cache_of_conv_inputs_gives_the_full_forward_token_by_token(float64_default):
    cfg = small_config()
    model = Mamba(cfg)
    x = np.random.default_rng(43).normal(size=(2, 7, 4))
    params = {k: arr(v) for k, v in model.named_parameters()}
    caches = [(None, torch.zeros(2, cfg.d_inner, cfg.d_conv - 1)) for _ in range(cfg.n_layers)]
    outputs = []
    for t in range(7):
        y, caches = model.step(torch.tensor(x[:, t]), caches)
        outputs.append(arr(y))
    np.testing.assert_allclose(np.stack(outputs, 1), np_mamba(params, x, cfg), rtol=1e-10, atol=1e-12)
    assert caches[0][0].shape == (2, cfg.d_inner, cfg.d_state) and caches[0][1].shape == (2, cfg.d_inner, 2)


def test_dt_bias_is_the_inverse_softplus_of_a_log_uniform_step():
    block = MambaBlock(small_config())
    dt = np_softplus(arr(block.dt_proj.bias))
    assert np.all(dt >= 1e-4 - 1e-9) and np.all(dt <= 0.1 + 1e-6)
    np.testing.assert_allclose(arr(block.A_log), np.log(np.tile(np.arange(1, 4), (8, 1))), rtol=1e-6)
    assert block.A_log._no_weight_decay and block.D._no_weight_decay


@pytest.mark.parametrize("parallel", [True, False])
def test_a_mamba_learns_to_output_the_running_mean_with_adamw(parallel):
    torch.manual_seed(1)
    cfg = small_config(n_layers=1, pscan=parallel)
    model = Mamba(cfg)
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-2)
    x = torch.randn(8, 8, 4)
    target = x.cumsum(dim=1) / torch.arange(1, 9).float().view(1, 8, 1)
    losses = []
    for _ in range(40):
        optimizer.zero_grad()
        loss = F.mse_loss(model(x), target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


# =========================================================================================================
# 2. michaelpginn/mingru: mingru/scan.py (3a3ea53e), mingru/functional.py (292811c8), tests/test_scan.py (711c507d)
# =========================================================================================================

def parallel_scan_log(log_a: torch.Tensor, log_b: torch.Tensor):
    a_star = F.pad(
        torch.cumsum(log_a, dim=1),
        [0] * (log_a.ndim - 2) * 2 + [1, 0],
    )
    x0_plus_b_star = torch.logcumsumexp(log_b - a_star, dim=1)
    log_x = a_star + x0_plus_b_star
    return torch.exp(log_x)


def g(x: torch.Tensor):
    """Proposed activation function for h"""
    out = torch.empty_like(x)
    mask = x >= 0
    out[mask] = x[mask] + 0.5
    out[~mask] = torch.sigmoid(x[~mask])
    return out


def log_g(x: torch.Tensor):
    """Proposed activation function for h in log-space"""
    out = torch.empty_like(x)
    mask = x >= 0
    out[mask] = (x[mask] + 0.5).log()
    out[~mask] = -F.softplus(-x[~mask])
    return out


def mingru_sequential(
    x: torch.Tensor,
    h: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
):
    gate, hidden = F.linear(x, weight, bias).chunk(2, dim=-1)

    z = torch.sigmoid(gate)
    h_tilde = g(hidden)
    h_t = (1 - z) * h + z * h_tilde
    return h_t


def mingru_parallel(
    x: torch.Tensor,
    h: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
):
    gate, hidden = F.linear(x, weight, bias).chunk(2, dim=-1)

    log_z = -F.softplus(-gate)  # log(z)
    log_coeffs = -F.softplus(gate)  # log(1-z)
    log_h_0 = h.log()
    log_tilde_h = log_g(hidden)
    h = parallel_scan_log(
        log_coeffs,
        torch.cat((log_h_0, log_z + log_tilde_h), dim=1),
    )
    return h[:, 1:]  # tail


def mingru(
    x: torch.Tensor,
    h: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
):
    S = x.shape[1]
    if S == 1:
        return mingru_sequential(x, h, weight, bias)
    else:
        return mingru_parallel(x, h, weight, bias)


def conv_mingru_sequential(
    x: torch.Tensor,
    h: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
):
    gate, hidden = F.conv2d(
        x.squeeze(1),
        weight,
        bias,
        stride=1,
        padding="same",
    ).chunk(2, dim=1)

    z = torch.sigmoid(gate)
    h_tilde = g(hidden)
    h_t = (1 - z) * h.squeeze(1) + z * h_tilde
    return h_t.unsqueeze(1)


def conv_mingru_parallel(
    x: torch.Tensor,
    h: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
):
    B, S, input_dims, H, W = x.shape
    hidden_dims = h.shape[2]

    gate, hidden = (
        F.conv2d(
            x.view(B * S, input_dims, H, W),
            weight,
            bias,
            stride=1,
            padding="same",
        )
        .view(B, S, hidden_dims * 2, H, W)
        .chunk(2, dim=2)
    )

    log_z = -F.softplus(-gate)  # log(z)
    log_coeffs = -F.softplus(gate)  # log(1-z)
    log_h_0 = h.log()
    log_tilde_h = log_g(hidden)

    h = parallel_scan_log(
        log_coeffs,
        torch.cat((log_h_0, log_z + log_tilde_h), dim=1),
    )
    return h[:, 1:]  # tail


def conv_mingru(
    x: torch.Tensor,
    h: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
):
    S = x.shape[1]
    if S == 1:
        return conv_mingru_sequential(x, h, weight, bias)
    else:
        return conv_mingru_parallel(x, h, weight, bias)




# ---- numpy references and tests of the minGRU ----------------------------------------------------------

def np_g(x):
    return np.where(x >= 0, x + 0.5, np_sigmoid(x))


def np_mingru(x, h, weight, bias):
    """The paper's minGRU step by step: [k, h~] = W x_t + b, z = sigmoid(k), h_t = (1 - z) h_{t-1} + z g(h~)."""
    hs = []
    for t in range(x.shape[1]):
        gate, hidden = np.split(x[:, t] @ weight.T + bias, 2, axis=-1)
        z = np_sigmoid(gate)
        h = (1 - z) * h + z * np_g(hidden)
        hs.append(h)
    return np.stack(hs, 1)


def test_parallel_scan_as_the_repository_tests_it():
    # tests/test_scan.py (711c507d), as written
    a = torch.rand(10) + 0.1
    b = torch.rand(10) + 0.1
    x0 = torch.rand(1) + 0.1

    xt_seq = [x0]
    for i in range(10):
        xt_seq.append(a[i] * xt_seq[-1] + b[i])
    xt_seq = torch.tensor(xt_seq[1:])

    xt_par = parallel_scan_log(
        torch.log(a).view(1, -1, 1),
        torch.cat([torch.log(x0), torch.log(b)], 0).view(1, -1, 1),
    )[:, 1:, :].view(-1)

    assert torch.allclose(xt_seq, xt_par)
    # and against numpy's recurrence
    av, bv, x = arr(a), arr(b), arr(x0)[0]
    want = []
    for i in range(10):
        x = av[i] * x + bv[i]
        want.append(x)
    assert xt_seq.shape == (10,)
    np.testing.assert_allclose(arr(xt_par), want, rtol=2e-5)


def test_parallel_scan_log_pads_every_trailing_axis_with_its_list_and_differentiates(float64_default):
    rng = np.random.default_rng(50)
    a, b = rng.uniform(0.2, 0.95, (2, 6, 2, 3)), rng.uniform(0.1, 2.0, (2, 7, 2, 3))

    def np_x(log_a, log_b):
        x, xs = np.exp(log_b[:, 0]), [np.exp(log_b[:, 0])]
        for t in range(log_a.shape[1]):
            x = np.exp(log_a[:, t]) * x + np.exp(log_b[:, t + 1])
            xs.append(x)
        return np.stack(xs, 1)

    W = rng.normal(size=b.shape)
    log_a, log_b = torch.tensor(np.log(a), requires_grad=True), torch.tensor(np.log(b), requires_grad=True)
    x = parallel_scan_log(log_a, log_b)
    np.testing.assert_allclose(arr(x), np_x(np.log(a), np.log(b)), rtol=1e-12)
    (x * torch.tensor(W)).sum().backward()
    np.testing.assert_allclose(log_a.grad, numeric_gradient(lambda v: (np_x(v, np.log(b)) * W).sum(), np.log(a)),
                               rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(log_b.grad, numeric_gradient(lambda v: (np_x(np.log(a), v) * W).sum(), np.log(b)),
                               rtol=1e-6, atol=1e-8)


def test_g_and_log_g_by_mask_assignment_take_each_branchs_value_and_gradient(float64_default):
    values = np.array([-3.0, -0.5, -1e-3, 0.0, 0.25, 2.0])
    x = torch.tensor(values, requires_grad=True)
    out = g(x)
    np.testing.assert_allclose(arr(out), np_g(values), rtol=1e-15)
    out.sum().backward()
    s = np_sigmoid(values)
    np.testing.assert_allclose(x.grad, np.where(values >= 0, 1.0, s * (1 - s)), rtol=1e-12)
    x = torch.tensor(values, requires_grad=True)
    out = log_g(x)
    np.testing.assert_allclose(arr(out), np.log(np_g(values)), rtol=1e-12)
    out.sum().backward()
    want = np.where(values >= 0, 1 / (np.maximum(values, 0) + 0.5), np_sigmoid(-values))
    np.testing.assert_allclose(x.grad, want, rtol=1e-12)


@pytest.mark.parametrize("with_bias", [True, False])
def test_mingru_parallel_and_sequential_are_the_papers_recurrence(with_bias, float64_default):
    rng = np.random.default_rng(60 + with_bias)
    x, weight = rng.normal(size=(2, 6, 3)), rng.normal(size=(8, 3))
    bias = rng.normal(size=8) if with_bias else np.zeros(8)
    h0 = np_g(np.zeros((2, 1, 4)))
    want = np_mingru(x, h0[:, 0], weight, bias)
    b_t = torch.tensor(bias) if with_bias else None
    h_par = mingru(torch.tensor(x), torch.tensor(h0), torch.tensor(weight), b_t)
    h_seq = [torch.tensor(h0)]
    for i in range(6):
        h_seq.append(mingru(torch.tensor(x)[:, i:i + 1], h_seq[-1], torch.tensor(weight), b_t))
    assert h_par.shape == (2, 6, 4)
    np.testing.assert_allclose(arr(h_par), want, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(arr(torch.cat(h_seq, 1))[:, 1:], want, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("parallel", [True, False])
def test_mingru_gradients_of_the_scan_and_of_bptt_match_central_differences(parallel, float64_default):
    rng = np.random.default_rng(70)
    x, weight, bias = rng.normal(size=(2, 5, 3)), rng.normal(size=(8, 3)), rng.normal(size=8)
    h0, W = rng.uniform(0.2, 1.0, (2, 1, 4)), rng.normal(size=(2, 5, 4))
    tensors = [torch.tensor(v, requires_grad=True) for v in (x, weight, bias, h0)]
    if parallel:
        h = mingru(*[tensors[i] for i in (0, 3, 1, 2)])
    else:
        steps = [tensors[3]]
        for i in range(5):
            steps.append(mingru(tensors[0][:, i:i + 1], steps[-1], tensors[1], tensors[2]))
        h = torch.cat(steps[1:], 1)
    (h * torch.tensor(W)).sum().backward()
    values = [x, weight, bias, h0]
    for k in range(4):
        def loss(v, k=k):
            args = values[:k] + [v] + values[k + 1:]
            return (np_mingru(args[0], args[3][:, 0], args[1], args[2]) * W).sum()
        np.testing.assert_allclose(tensors[k].grad, numeric_gradient(loss, values[k]), rtol=1e-6, atol=1e-8)


def test_conv_mingru_parallel_and_sequential_are_the_convolutional_recurrence(float64_default):
    from test_pytorch_porting_19 import np_conv2d
    rng = np.random.default_rng(80)
    x, weight, bias = rng.normal(size=(2, 4, 2, 5, 5)), rng.normal(size=(6, 2, 3, 3)) * 0.5, rng.normal(size=6)
    h = np_g(np.zeros((2, 3, 5, 5)))
    want = []
    for t in range(4):
        gate, hidden = np.split(np_conv2d(x[:, t], weight, bias, padding=1), 2, axis=1)
        z = np_sigmoid(gate)
        h = (1 - z) * h + z * np_g(hidden)
        want.append(h)
    want = np.stack(want, 1)
    h0 = torch.tensor(np_g(np.zeros((2, 1, 3, 5, 5))))
    par = conv_mingru(torch.tensor(x), h0, torch.tensor(weight), torch.tensor(bias))
    seq = [h0]
    for t in range(4):
        seq.append(conv_mingru(torch.tensor(x)[:, t:t + 1], seq[-1], torch.tensor(weight), torch.tensor(bias)))
    np.testing.assert_allclose(arr(par), want, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(arr(torch.cat(seq[1:], 1)), want, rtol=1e-12, atol=1e-14)


def test_a_mingru_with_a_readout_learns_to_count_ones_with_adam():
    torch.manual_seed(2)
    weight = nn.Parameter(torch.randn(8, 2) * 0.5)
    bias = nn.Parameter(torch.zeros(8))
    readout = nn.Linear(4, 1)
    optimizer = torch.optim.Adam([weight, bias, *readout.parameters()], lr=3e-2)
    bits = (torch.rand(16, 6) > 0.5).float()
    x = torch.stack([bits, 1 - bits], dim=-1)                   # (16, 6, 2)
    target = bits.sum(dim=1, keepdim=True) / 6
    h0 = g(torch.zeros(16, 1, 4))
    losses = []
    for _ in range(60):
        optimizer.zero_grad()
        h = mingru(x, h0, weight, bias)
        loss = F.mse_loss(readout(h[:, -1]), target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0]


# =========================================================================================================
# 3. Gothos/LRU-pytorch: LRU_pytorch/LRU.py (5dbbad5a)
# =========================================================================================================

class LRU(nn.Module):
    def __init__(self,in_features,out_features,state_features, rmin=0, rmax=1,max_phase=6.283):
        super().__init__()
        self.out_features=out_features
        self.D=nn.Parameter(torch.randn([out_features,in_features])/math.sqrt(in_features))
        u1=torch.rand(state_features)
        u2=torch.rand(state_features)
        self.nu_log= nn.Parameter(torch.log(-0.5*torch.log(u1*(rmax+rmin)*(rmax-rmin) + rmin**2)))
        self.theta_log= nn.Parameter(torch.log(max_phase*u2))
        Lambda_mod=torch.exp(-torch.exp(self.nu_log))
        self.gamma_log=nn.Parameter(torch.log(torch.sqrt(torch.ones_like(Lambda_mod)-torch.square(Lambda_mod))))
        B_re=torch.randn([state_features,in_features])/math.sqrt(2*in_features)
        B_im=torch.randn([state_features,in_features])/math.sqrt(2*in_features)
        self.B=nn.Parameter(torch.complex(B_re,B_im))
        C_re=torch.randn([out_features,state_features])/math.sqrt(state_features)
        C_im=torch.randn([out_features,state_features])/math.sqrt(state_features)
        self.C=nn.Parameter(torch.complex(C_re,C_im))
        self.state=torch.complex(torch.zeros(state_features),torch.zeros(state_features))

    def forward(self, input,state=None):
        self.state=self.state.to(self.B.device) if state==None else state
        Lambda_mod=torch.exp(-torch.exp(self.nu_log))
        Lambda_re=Lambda_mod*torch.cos(torch.exp(self.theta_log))
        Lambda_im=Lambda_mod*torch.sin(torch.exp(self.theta_log))
        Lambda=torch.complex(Lambda_re,Lambda_im)
        Lambda=Lambda.to(self.state.device)
        gammas=torch.exp(self.gamma_log).unsqueeze(-1).to(self.B.device)
        gammas=gammas.to(self.state.device)
        output=torch.empty([i for i in input.shape[:-1]] +[self.out_features],device=self.B.device)
        #Handle input of (Batches,Seq_length, Input size)
        if input.dim()==3:
            for i,batch in enumerate(input):
                out_seq=torch.empty(input.shape[1],self.out_features)
                for j,step in enumerate(batch):
                    self.state=(Lambda@self.state + gammas* self.B@step.to(dtype= self.B.dtype))
                    out_step= (self.C@self.state).real + self.D@step
                    out_seq[j]=out_step
                self.state=torch.complex(torch.zeros_like(self.state.real),torch.zeros_like(self.state.real))
                output[i]=out_seq
        #Handle input of (Seq_length, Input size)
        if input.dim()==2:
            for i,step in enumerate(input):
                self.state=(Lambda@self.state + gammas* self.B@step.to(dtype= self.B.dtype))
                out_step= (self.C@self.state).real + self.D@step
                output[i]=out_step
            self.state=torch.complex(torch.zeros_like(self.state.real),torch.zeros_like(self.state.real))
        return output


@pytest.mark.xfail(strict=True, raises=AttributeError,
                   reason="no complex dtype: torch.complex (the LRU's B, C, Lambda and state) is missing (G1)")
def test_the_lru_runs_as_written_and_is_its_complex_recurrence():
    model = LRU(3, 2, 4)
    u = np.random.default_rng(90).normal(size=(2, 5, 3)).astype(np.float32)
    out = model(torch.tensor(u))
    p = {k: np.asarray(v.detach().numpy()) for k, v in model.named_parameters()}
    lam = np.exp(-np.exp(p['nu_log'])) * np.exp(1j * np.exp(p['theta_log']))
    gammas = np.exp(p['gamma_log'])[:, None]
    want = np.zeros((2, 5, 2))
    for i in range(2):
        state = np.zeros(4, dtype=complex)
        for j in range(5):
            state = lam @ state + (gammas * p['B']) @ u[i, j]      # the source's `@` of two vectors: a dot product
            want[i, j] = (p['C'] @ state).real + p['D'] @ u[i, j]
    np.testing.assert_allclose(arr(out), want, rtol=1e-4, atol=1e-5)
    r = np.abs(lam)
    assert np.all((r > 0) & (r < 1))                                 # |Lambda| = exp(-exp(nu_log)) in (0, 1)
    np.testing.assert_allclose(gammas[:, 0], np.sqrt(1 - r ** 2), rtol=1e-5)   # at initialisation


class LRUInRealParts(nn.Module):
    """LRU.py with each complex tensor kept as its real and imaginary parts (the lines marked `differs:`); the rest as
    written."""

    def __init__(self,in_features,out_features,state_features, rmin=0, rmax=1,max_phase=6.283):
        super().__init__()
        self.out_features=out_features
        self.D=nn.Parameter(torch.randn([out_features,in_features])/math.sqrt(in_features))
        u1=torch.rand(state_features)
        u2=torch.rand(state_features)
        self.nu_log= nn.Parameter(torch.log(-0.5*torch.log(u1*(rmax+rmin)*(rmax-rmin) + rmin**2)))
        self.theta_log= nn.Parameter(torch.log(max_phase*u2))
        Lambda_mod=torch.exp(-torch.exp(self.nu_log))
        self.gamma_log=nn.Parameter(torch.log(torch.sqrt(torch.ones_like(Lambda_mod)-torch.square(Lambda_mod))))
        B_re=torch.randn([state_features,in_features])/math.sqrt(2*in_features)
        B_im=torch.randn([state_features,in_features])/math.sqrt(2*in_features)
        # differs: self.B=nn.Parameter(torch.complex(B_re,B_im)), and C below (no complex dtype here, G1)
        self.B_re, self.B_im = nn.Parameter(B_re), nn.Parameter(B_im)
        C_re=torch.randn([out_features,state_features])/math.sqrt(state_features)
        C_im=torch.randn([out_features,state_features])/math.sqrt(state_features)
        self.C_re, self.C_im = nn.Parameter(C_re), nn.Parameter(C_im)  # differs: as B
        self.state=(torch.zeros(state_features),torch.zeros(state_features))  # differs: torch.complex(...) of the two

    def step(self, Lambda, gammas, step):
        # differs: `self.state=(Lambda@self.state + gammas* self.B@step.to(dtype= self.B.dtype))` and
        # `out_step= (self.C@self.state).real + self.D@step`, the complex products written out in real parts
        (L_re, L_im), (s_re, s_im) = Lambda, self.state
        dot_re, dot_im = L_re@s_re - L_im@s_im, L_re@s_im + L_im@s_re
        self.state=(dot_re + gammas* self.B_re@step, dot_im + gammas* self.B_im@step)
        return self.C_re@self.state[0] - self.C_im@self.state[1] + self.D@step

    def forward(self, input,state=None):
        self.state=self.state if state==None else state  # differs: `.to(self.B.device)` of a tuple
        Lambda_mod=torch.exp(-torch.exp(self.nu_log))
        Lambda_re=Lambda_mod*torch.cos(torch.exp(self.theta_log))
        Lambda_im=Lambda_mod*torch.sin(torch.exp(self.theta_log))
        Lambda=(Lambda_re,Lambda_im)  # differs: torch.complex(Lambda_re,Lambda_im), then `.to(device)`
        gammas=torch.exp(self.gamma_log).unsqueeze(-1)  # differs: `.to(self.B.device)` twice (self.B is two here)
        output=torch.empty([i for i in input.shape[:-1]] +[self.out_features])  # differs: device=self.B.device
        #Handle input of (Batches,Seq_length, Input size)
        if input.dim()==3:
            for i,batch in enumerate(input):
                out_seq=torch.empty(input.shape[1],self.out_features)
                for j,step in enumerate(batch):
                    out_step=self.step(Lambda, gammas, step)  # differs: the two lines above, in real parts
                    out_seq[j]=out_step
                self.state=(torch.zeros_like(self.state[0]),torch.zeros_like(self.state[0]))  # differs: torch.complex
                output[i]=out_seq
        #Handle input of (Seq_length, Input size)
        if input.dim()==2:
            for i,step in enumerate(input):
                out_step=self.step(Lambda, gammas, step)  # differs: as above
                output[i]=out_step
            self.state=(torch.zeros_like(self.state[0]),torch.zeros_like(self.state[0]))  # differs: as above
        return output


def np_lru(p, u):
    """LRU.py's forward in numpy's complex arithmetic, for (B, L, H) or (L, H) inputs; `@` of two vectors as written."""
    lam = np.exp(-np.exp(p['nu_log'])) * np.exp(1j * np.exp(p['theta_log']))
    B = np.exp(p['gamma_log'])[:, None] * (p['B_re'] + 1j * p['B_im'])
    C = p['C_re'] + 1j * p['C_im']
    outs = []
    for seq in (u if u.ndim == 3 else u[None]):
        state, out = np.zeros(len(lam), dtype=complex), []
        for step in seq:
            state = lam @ state + B @ step
            out.append((C @ state).real + p['D'] @ step)
        outs.append(out)
    return np.array(outs) if u.ndim == 3 else np.array(outs[0])


@pytest.mark.parametrize("shape", [(2, 5, 3), (4, 3)])
def test_the_lru_in_real_parts_is_the_sources_complex_recurrence(shape, float64_default):
    model = LRUInRealParts(3, 2, 4)
    u = np.random.default_rng(91).normal(size=shape)
    p = {k: arr(v) for k, v in model.named_parameters()}
    out = model(torch.tensor(u))
    np.testing.assert_allclose(arr(out), np_lru(p, u), rtol=1e-12, atol=1e-12)
    r = np.exp(-np.exp(p['nu_log']))
    assert np.all((r > 0) & (r < 1))
    np.testing.assert_allclose(np.exp(p['gamma_log']), np.sqrt(1 - r ** 2), rtol=1e-12)   # at initialisation
    np.testing.assert_array_equal(arr(model.state[0]), 0.0)                               # reset after the pass


def test_lru_gradients_through_item_assigned_outputs_match_central_differences(float64_default):
    model = LRUInRealParts(3, 2, 4)
    u = np.random.default_rng(92).normal(size=(2, 4, 3))
    W = np.random.default_rng(93).normal(size=(2, 4, 2))
    p = {k: arr(v) for k, v in model.named_parameters()}
    (model(torch.tensor(u)) * torch.tensor(W)).sum().backward()
    for name, param in model.named_parameters():
        def loss(v, name=name):
            return (np_lru({**p, name: v}, u) * W).sum()
        np.testing.assert_allclose(param.grad, numeric_gradient(loss, p[name]), rtol=1e-6, atol=1e-8)
