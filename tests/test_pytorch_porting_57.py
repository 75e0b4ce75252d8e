"""Porting, round 57: SPIKING NETWORKS AND COMPUTATIONAL-NEUROSCIENCE RNNS, trained by BPTT through surrogate gradients
and by an online rule beside it, as public PyTorch code writes them. Each script is written as its author wrote it,
with only the imports changed (`# differs:` marks each other change and why; the sources' lines longer than 120
characters are wrapped, a trailing comment moved above its line, no code changed); sizes are small, data made up:

1. fzenke/spytorch, notebooks/SpyTorchTutorial2.ipynb (a9f64c5940455f911e49e1e64e1d6db47f439a2f): the code cells in
   order, `current2firing_time` and `sparse_data_generator` (a latency code: each pixel spikes once), the LIF hidden
   layer with current-based synapses, `SurrGradSpike` (a `torch.autograd.Function`: the step forward by
   `out[input > 0] = 1.0`, `ctx.save_for_backward`, backward the fast sigmoid's derivative grad / (100 |x| + 1)^2),
   `run_snn` (`rst = out.detach()` multiplying the membrane, the leaky readout, `torch.einsum("abc,cd->abd",
   (inputs, w1))` with its operands as a tuple), `train` (Adam, the max over time, `nn.LogSoftmax`, `nn.NLLLoss`) and
   `compute_classification_accuracy`; the reset by a boolean mask of the notebook's older `run_snn`
   (034188db1e8c98f2484b43d13e43b7d3eb72adf5). FashionMNIST is replaced by made-up two-class "images".
2. norse/norse, norse/torch/functional/: heaviside.py (135303dcad8d1a874848602470e39536195211ab) `heaviside` (a
   `torch.where` on `data <= zeros_like(data)`); superspike.py (050746cc50f15811ecc14d529454d9ff13659786)
   `SuperSpike` (`ctx.alpha`, `@torch.jit.ignore` under `@staticmethod`) and `super_fn`; threshold.py
   (a7f426318c0eda23adab41985895b73f1eada1bd) `HeaviErfc`, `HeaviTanh`, `HeaviCirc`, `Triangle` and `threshold`;
   lif.py (f0d0c3363262b9efe96513707661878d67cd9af1) `LIFParameters` (0-d tensor defaults), `LIFState`,
   `LIFFeedForwardState`, `lif_step` (`F.linear`, the reset `(1 - z_new.detach()) v + z_new.detach() v_reset`),
   `lif_feed_forward_step`, `lif_feed_forward_integral` and `lif_current_encoder`.
3. ChFrenkel/eprop-PyTorch (0f32a8f20cdc07c1c21873ae740024be78c6a88a), e-prop (Bellec et al. 2020): models.py `SRNN`
   (the LIF network run under `torch.no_grad()`, its states written into preallocated tensors, `self.v[t+1] = ...`,
   `self.w_rec *= (1 - eye)` on the Parameter, and `grads_batch`: the eligibility traces as grouped `F.conv1d`s with
   kernels of powers of alpha and kappa, the learning signal `torch.einsum('tbo,or->brt', err, w_out)`, the
   gradients written into `.grad` for the optimizer); train.py `train` and `do_epoch`; setup.py
   `CueAccumulationDataset` (its sizes made small), `setup`, `load_dataset_cue_accumulation`,
   `generate_poisson_noise_np`; main.py's argparse `main`. Beside it, mg.bptt.tbptt (k1 = k2 = n: BPTT) and
   mg.bptt.rtrl over the same network, its spike a Function written here with e-prop's pseudo-derivative and a `jvp`.
4. gyyang/nn-brain, RNN_tutorial.ipynb (100931c26955cf21995776a31f8c3ef5b6df4e47): `CTRNN` (Euler steps
   h <- relu((1 - dt/tau) h + dt/tau (W_in x + W_h h + b))), `RNNNet`, the notebook's `PerceptualDecisionMaking`
   environment, `train_model` and the evaluation cell. gym and neurogym are not installed: `ngym.TrialEnv`, `spaces`
   and `ngym.Dataset` are stand-ins written here for the calls the notebook makes (the dataset's batches of
   concatenated trials as neurogym/utils/data.py, 002a2c3eebfe9955721123944399cb573db95fbe, makes them, time-major).
   mg.bptt.rtrl runs over `CTRNN.recurrence`.
5. Long unrolls: run_snn's synaptic current over 100,000 steps in one chain; Norse's lif_step recorded for 1,200
   steps with and without a `detach()` every 50 steps (the memory held).

Every source was read in the index at the commit named; none was written from memory.

What broke (fixed in this round's library change):
  G1. `torch.sparse.FloatTensor(i, v, torch.Size([...]))` (sparse_data_generator's batch; `torch.sparse_coo_tensor`
      likewise) and `x_local.to_dense()` (train's): AttributeErrors. Sparse tensors are not here, and docs/pytorch.md
      did not say so. `Tensor.to_dense(dtype=None, *, masked_grad=None)` is added, PyTorch's for a strided tensor,
      which every tensor here is (aten's `to_dense`: the tensor itself, or `.to(dtype)`), so train's line runs as
      written; docs/pytorch.md now says sparse tensors are not here and how to build the dense tensor a sparse one
      would densify to (`torch.zeros(size, dtype=v.dtype).index_put_(tuple(i), v, accumulate=True)`, the port's).

Met and left as documented (docs/pytorch.md; the lines say `differs:`):
  - models.py's `self.w_in.grad += ...`: `.grad` is a numpy array, and numpy's in-place add of a tensor raises
    "operand 'Tensor' does not support ufuncs"; written `p.grad = p.grad + ...` (a test pins the TypeError).
  - `torch.Tensor(rows, cols)` with sizes is refused: `torch.empty`.
Met and as PyTorch: mg.bptt.rtrl through a Function without `jvp` (Norse's SuperSpike) raises NotImplementedError
naming the Function, as PyTorch's forward AD does; `dt * p.tau_mem_inv` with a 0-d float32 parameter is float32 (0.1
rounded) in a float64 run too, as PyTorch's scalar promotion makes it (numpy's references follow it); Norse's
`heaviside` (a `where` of two constants) has no history; a recorded history is kept until cut: never detached, a
lif_step recording holds ~6 KB more each step, detached every 50 steps it stays bounded; a 100,000-step chain
backpropagates (no recursion).

Noticed and left alone (the sources', in PyTorch too):
  - eprop-PyTorch slices the input trace's convolution `[:, :, 1:n_t+1]` (sum over s <= t of alpha^(t-s) x[s]) and
    the recurrent one's `[:, :, :n_t]` (s < t): the input's trace at t already holds x[t], which reaches the membrane
    only at t + 1. With W_rec = 0, where e-prop is exactly BPTT (the paper's claim; numpy's e-prop and numpy's BPTT
    agree here to rounding), grads_batch's W_out and W_rec gradients are BPTT's and its W_in gradient is not. W_rec's
    diagonal gets an e-prop gradient that Adam applies; the next forward zeroes it again.
  - main.py's `type=bool` flags (`--visualize`, `--shuffle`) are True for any non-empty string, 'False' included; the
    tests pass `--visualize ''`.
  - Norse's HeaviErfc backward, 2 exp(-(k x)^2) / sqrt(pi), is not the derivative of its docstring's
    1/2 + 1/2 erfc(k x) (that is -k exp(-(k x)^2) / sqrt(pi)); the tests check the backward as written.

Expected values come from numpy in float64 written here (the LIF, e-prop and CTRNN recurrences; gradients by forward
mode through the unrolled numpy network, each spike's derivative the source's surrogate; BPTT by hand; e-prop's
recursions), from central differences where the loss is smooth (the readout, the CTRNN), and from closed forms, never
from the library's own outputs.
"""

import argparse
import gc
import types
from typing import NamedTuple, Tuple

import numpy as np
import numpy.random as rd
import pytest
from porting_references import arr, central, np_log_softmax, np_softmax, quietly

import microgradseq as torch
import microgradseq.nn as nn
import microgradseq.nn.functional as F
import microgradseq.optim as optim


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)
    np.random.seed(0)
    yield
    torch.set_default_dtype(torch.float32)


@pytest.fixture
def float64():
    torch.set_default_dtype(torch.float64)


def directions(shape):
    """The identity directions of a parameter of `shape`: (n, *shape), direction k moves entry k only."""
    n = int(np.prod(shape))
    return np.eye(n).reshape((n,) + tuple(shape))


# ==== 1. fzenke/spytorch, notebooks/SpyTorchTutorial2.ipynb (a9f64c5940455f911e49e1e64e1d6db47f439a2f) ============

def spytorch_tutorial2(nb_inputs_, nb_hidden_, nb_steps_, batch_size_, dtype_=None):
    """The notebook's code cells in order, up to the training call; the sizes (and, for the tests that compare with
    numpy to 1e-10, the dtype) are passed in (marked). Returns the cells' names."""
    # differs: `import torchvision` and the FashionMNIST loading, standardising and plotting cells are left out: the
    # tests pass made-up "images" (values in [0, 1]) to the functions below; matplotlib/seaborn are not used

    # The coarse network structure is dicated by the Fashion MNIST dataset.
    nb_inputs = nb_inputs_  # differs: 28*28 in the notebook
    nb_hidden = nb_hidden_  # differs: 100
    nb_outputs = 2  # differs: 10 (the made-up data has two classes)

    time_step = 1e-3
    nb_steps = nb_steps_  # differs: 100

    batch_size = batch_size_  # differs: 256

    dtype = torch.float if dtype_ is None else dtype_  # differs: torch.float; float64 where a test passes it

    # Check whether a GPU is available
    if torch.cuda.is_available():
        device = torch.device("cuda")
    else:
        device = torch.device("cpu")

    def current2firing_time(x, tau=20, thr=0.2, tmax=1.0, epsilon=1e-7):
        """ Computes first firing time latency for a current input x assuming the charge time of a current based LIF
        neuron.

        Args:
        x -- The "current" values

        Keyword args:
        tau -- The membrane time constant of the LIF neuron to be charged
        thr -- The firing threshold value
        tmax -- The maximum time returned
        epsilon -- A generic (small) epsilon > 0

        Returns:
        Time to first spike for each "current" x
        """
        idx = x < thr
        x = np.clip(x, thr+epsilon, 1e9)
        T = tau*np.log(x/(x-thr))
        T[idx] = tmax
        return T

    def sparse_data_generator(X, y, batch_size, nb_steps, nb_units, shuffle=True):
        """ This generator takes datasets in analog format and generates spiking network input as sparse tensors.

        Args:
            X: The data ( sample x event x 2 ) the last dim holds (time,neuron) tuples
            y: The labels
        """

        _, labels_ = np.unique(y, return_inverse=True)
        number_of_batches = len(X)//batch_size
        sample_index = np.arange(len(X))

        # compute discrete firing times
        tau_eff = 20e-3/time_step
        firing_times = np.array(current2firing_time(
            X, tau=tau_eff, tmax=nb_steps), dtype=int)  # differs: `dtype=np.int` (numpy >= 1.24 has no np.int)
        unit_numbers = np.arange(nb_units)

        if shuffle:
            np.random.shuffle(sample_index)

        total_batch_count = 0
        counter = 0
        while counter < number_of_batches:
            batch_index = sample_index[batch_size*counter:batch_size*(counter+1)]

            coo = [[] for i in range(3)]
            for bc, idx in enumerate(batch_index):
                c = firing_times[idx] < nb_steps
                times, units = firing_times[idx][c], unit_numbers[c]

                batch = [bc for _ in range(len(times))]
                coo[0].extend(batch)
                coo[1].extend(times)
                coo[2].extend(units)

            i = torch.LongTensor(coo).to(device)
            v = torch.FloatTensor(np.ones(len(coo[0]))).to(device)

            # differs: `torch.sparse.FloatTensor(i, v, torch.Size([batch_size, nb_steps, nb_units]))`: sparse tensors
            # are not here (docs/pytorch.md); the dense tensor its `.to_dense()` gives is built (v's dtype, duplicates
            # summed, as a sparse tensor's to_dense sums them), and train's `x_local.to_dense()` runs as written
            X_batch = torch.zeros(torch.Size([batch_size, nb_steps, nb_units]), dtype=v.dtype).index_put_(
                (i[0], i[1], i[2]), v, accumulate=True).to(device)
            y_batch = torch.tensor(labels_[batch_index], device=device)

            yield X_batch.to(device=device), y_batch.to(device=device)

            counter += 1

    tau_mem = 10e-3
    tau_syn = 5e-3

    alpha = float(np.exp(-time_step/tau_syn))
    beta = float(np.exp(-time_step/tau_mem))

    weight_scale = 7*(1.0-beta)  # this should give us some spikes to begin with

    w1 = torch.empty((nb_inputs, nb_hidden),  device=device,
                     dtype=dtype, requires_grad=True)
    torch.nn.init.normal_(w1, mean=0.0, std=weight_scale/np.sqrt(nb_inputs))

    w2 = torch.empty((nb_hidden, nb_outputs), device=device,
                     dtype=dtype, requires_grad=True)
    torch.nn.init.normal_(w2, mean=0.0, std=weight_scale/np.sqrt(nb_hidden))

    print("init done")

    class SurrGradSpike(torch.autograd.Function):
        """
        Here we implement our spiking nonlinearity which also implements
        the surrogate gradient. By subclassing torch.autograd.Function,
        we will be able to use all of PyTorch's autograd functionality.
        Here we use the normalized negative part of a fast sigmoid
        as this was done in Zenke & Ganguli (2018).
        """

        scale = 100.0  # controls steepness of surrogate gradient

        @staticmethod
        def forward(ctx, input):
            """
            In the forward pass we compute a step function of the input Tensor
            and return it. ctx is a context object that we use to stash information which
            we need to later backpropagate our error signals. To achieve this we use the
            ctx.save_for_backward method.
            """
            ctx.save_for_backward(input)
            out = torch.zeros_like(input)
            out[input > 0] = 1.0
            return out

        @staticmethod
        def backward(ctx, grad_output):
            """
            In the backward pass we receive a Tensor we need to compute the
            surrogate gradient of the loss with respect to the input.
            Here we use the normalized negative part of a fast sigmoid
            as this was done in Zenke & Ganguli (2018).
            """
            input, = ctx.saved_tensors
            grad_input = grad_output.clone()
            grad = grad_input/(SurrGradSpike.scale*torch.abs(input)+1.0)**2
            return grad

    # here we overwrite our naive spike function by the "SurrGradSpike" nonlinearity which implements a surrogate
    # gradient
    spike_fn = SurrGradSpike.apply

    def run_snn(inputs):
        # Hidden layer
        h1 = torch.einsum("abc,cd->abd", (inputs, w1))
        syn = torch.zeros((batch_size, nb_hidden), device=device, dtype=dtype)
        mem = torch.zeros((batch_size, nb_hidden), device=device, dtype=dtype)
        mem_rec = []
        spk_rec = []

        # Readout layer
        flt = torch.zeros((batch_size, nb_outputs), device=device, dtype=dtype)
        out_out = torch.zeros((batch_size, nb_outputs), device=device, dtype=dtype)
        out_rec = [out_out]

        # Compute network activity over time
        for t in range(nb_steps):
            # Hidden layer
            mthr = mem-1.0
            out = spike_fn(mthr)
            rst = out.detach()  # We do not want to backprop through the reset

            new_syn = alpha*syn + h1[:, t]
            new_mem = (beta*mem + syn)*(1.0-rst)

            mem_rec.append(mem)
            spk_rec.append(out)

            mem = new_mem
            syn = new_syn

            # Readout layer
            h2 = torch.einsum("ab,bc->ac", (out, w2))
            new_flt = alpha*flt + h2
            new_out = beta*out_out + flt

            flt = new_flt
            out_out = new_out

            out_rec.append(out_out)

        mem_rec = torch.stack(mem_rec, dim=1)
        spk_rec = torch.stack(spk_rec, dim=1)

        out_rec = torch.stack(out_rec, dim=1)
        other_recs = [mem_rec, spk_rec]
        return out_rec, other_recs

    def train(x_data, y_data, lr=2e-3, nb_epochs=10):
        params = [w1, w2]
        optimizer = torch.optim.Adam(params, lr=lr, betas=(0.9, 0.999))

        log_softmax_fn = nn.LogSoftmax(dim=1)
        loss_fn = nn.NLLLoss()

        loss_hist = []
        for e in range(nb_epochs):
            local_loss = []
            for x_local, y_local in sparse_data_generator(x_data, y_data, batch_size, nb_steps, nb_inputs):
                output, _ = run_snn(x_local.to_dense())
                m, _ = torch.max(output, 1)
                log_p_y = log_softmax_fn(m)
                loss_val = loss_fn(log_p_y, y_local)

                optimizer.zero_grad()
                loss_val.backward()
                optimizer.step()
                local_loss.append(loss_val.item())
            mean_loss = np.mean(local_loss)
            print("Epoch %i: loss=%.5f" % (e+1, mean_loss))
            loss_hist.append(mean_loss)

        return loss_hist

    def compute_classification_accuracy(x_data, y_data):
        """ Computes classification accuracy on supplied data in batches. """
        accs = []
        for x_local, y_local in sparse_data_generator(x_data, y_data, batch_size, nb_steps, nb_inputs, shuffle=False):
            output, _ = run_snn(x_local.to_dense())
            m, _ = torch.max(output, 1)  # max over time
            _, am = torch.max(m, 1)      # argmax over output units
            # compare to labels
            tmp = np.mean((y_local == am).detach().cpu().numpy())
            accs.append(tmp)
        return np.mean(accs)

    return types.SimpleNamespace(**locals())


def spytorch(nb_inputs=12, nb_hidden=6, nb_steps=25, batch_size=4, dtype=None):
    """The notebook's names, its "init done" print kept out of the test output."""
    return quietly(spytorch_tutorial2, nb_inputs, nb_hidden, nb_steps, batch_size, dtype)[0]


def made_up_images(n, nb_inputs, rng):
    """Two classes of "images": class 0 bright in the first half of the pixels, class 1 in the second."""
    y = rng.integers(0, 2, n)
    x = rng.random((n, nb_inputs)) * 0.35
    half = nb_inputs // 2
    for k in range(n):
        cols = slice(0, half) if y[k] == 0 else slice(half, nb_inputs)
        x[k, cols] = 0.5 + 0.5 * rng.random(half)
    return x, y


def np_surrogate(x, scale=100.0):
    """SuperSpike's surrogate derivative, the normalised negative part of a fast sigmoid: 1 / (scale |x| + 1)^2."""
    return 1.0 / (scale * np.abs(x) + 1.0) ** 2


def np_run_snn(inputs, w1, w2, alpha, beta, tangents=None, reset_through=False):
    """run_snn in numpy (float64), with forward-mode sensitivities beside the values when `tangents` = (dw1, dw2)
    holds K directions each ((K,) + w.shape): a spike's tangent is the surrogate derivative at mem - 1 times mem's
    tangent, the reset's tangent is zero (`rst = out.detach()`) unless `reset_through`. Returns (mem_rec, spk_rec,
    out_rec) and, with tangents, out_rec's tangents (K, batch, T + 1, outputs)."""
    B, T, _ = inputs.shape
    H, O = w2.shape
    K = 0 if tangents is None else tangents[0].shape[0]
    dw1, dw2 = tangents if tangents is not None else (np.zeros((0,) + w1.shape), np.zeros((0,) + w2.shape))
    h1, dh1 = inputs @ w1, np.einsum("btc,kcd->kbtd", inputs, dw1)
    syn, mem, flt, out_out = (np.zeros((B, H)), np.zeros((B, H)), np.zeros((B, O)), np.zeros((B, O)))
    dsyn, dmem, dflt, dout_out = (np.zeros((K, B, H)), np.zeros((K, B, H)), np.zeros((K, B, O)), np.zeros((K, B, O)))
    mem_rec, spk_rec, out_rec, dout_rec = [], [], [out_out], [dout_out]
    for t in range(T):
        out = (mem - 1.0 > 0).astype(float)
        dout = np_surrogate(mem - 1.0) * dmem
        drst = dout if reset_through else 0.0
        new_syn, dnew_syn = alpha * syn + h1[:, t], alpha * dsyn + dh1[:, :, t]
        new_mem = (beta * mem + syn) * (1.0 - out)
        dnew_mem = (beta * dmem + dsyn) * (1.0 - out) - (beta * mem + syn) * drst
        mem_rec.append(mem)
        spk_rec.append(out)
        mem, dmem, syn, dsyn = new_mem, dnew_mem, new_syn, dnew_syn
        h2, dh2 = out @ w2, dout @ w2 + out @ dw2
        new_flt, dnew_flt = alpha * flt + h2, alpha * dflt + dh2
        new_out, dnew_out = beta * out_out + flt, beta * dout_out + dflt
        flt, dflt, out_out, dout_out = new_flt, dnew_flt, new_out, dnew_out
        out_rec.append(out_out)
        dout_rec.append(dout_out)
    values = (np.stack(mem_rec, 1), np.stack(spk_rec, 1), np.stack(out_rec, 1))
    return values if tangents is None else values + (np.stack(dout_rec, 2),)


def np_snn_loss_and_grads(inputs, y, w1, w2, alpha, beta, reset_through=False):
    """train's loss, NLL(log_softmax(max over time of out_rec)), and its surrogate gradients with respect to w1 and
    w2 by forward mode (`np_run_snn`'s tangents): the max passes the tangent of the step that is the maximum."""
    k1, k2 = w1.size, w2.size
    dw1 = np.concatenate([directions(w1.shape), np.zeros((k2,) + w1.shape)])
    dw2 = np.concatenate([np.zeros((k1,) + w2.shape), directions(w2.shape)])
    _, _, out_rec, dout_rec = np_run_snn(inputs, w1, w2, alpha, beta, (dw1, dw2), reset_through)
    arg = out_rec.argmax(1)                                         # (B, O)
    m = np.take_along_axis(out_rec, arg[:, None], 1)[:, 0]
    dm = np.take_along_axis(dout_rec, arg[None, :, None], 2)[:, :, 0]  # (K, B, O)
    logp = np_log_softmax(m)
    loss = -logp[np.arange(len(y)), y].mean()
    dlogits = (np_softmax(m) - np.eye(m.shape[1])[y]) / len(y)      # dloss/dm
    grad = np.einsum("bo,kbo->k", dlogits, dm)
    return loss, grad[:k1].reshape(w1.shape), grad[k1:].reshape(w2.shape)


def snn_batch(ns, rng, w_gain=3.0):
    """One float64 batch of latency-coded made-up images as the generator makes it, w1 scaled up so that the hidden
    layer spikes; every membrane value at least 1e-6 from the threshold (no spike decided by rounding)."""
    x, y = made_up_images(ns.batch_size, ns.nb_inputs, rng)
    with torch.no_grad():
        ns.w1.mul_(w_gain)
    x_local, y_local = next(ns.sparse_data_generator(x, y, ns.batch_size, ns.nb_steps, ns.nb_inputs, shuffle=False))
    inputs = x_local.to_dense().to(torch.float64)
    mem, spk, _ = np_run_snn(arr(inputs), arr(ns.w1), arr(ns.w2), ns.alpha, ns.beta)
    assert spk.sum() >= 5 and np.abs(mem - 1.0).min() > 1e-6
    return inputs, y_local


def test_surrgradspike_forward_is_a_strict_step_and_backward_the_fast_sigmoids_derivative(float64):
    """SurrGradSpike: forward out[input > 0] = 1 (0 at 0 itself); backward grad_output / (100 |input| + 1)^2, the
    surrogate's, never the step's zero, for every entry including those far from 0."""
    ns = spytorch(dtype=torch.float64)
    x = torch.tensor([-0.5, -1e-3, 0.0, 2e-3, 0.3, 4.0], requires_grad=True)
    out = ns.spike_fn(x)
    assert out.tolist() == [0.0, 0.0, 0.0, 1.0, 1.0, 1.0]
    weights = torch.tensor([1.0, -2.0, 3.0, 0.5, -1.5, 2.5])
    (out * weights).sum().backward()
    expected = arr(weights) / (100.0 * np.abs(arr(x)) + 1.0) ** 2
    np.testing.assert_allclose(x.grad, expected, rtol=1e-14)
    assert np.all(x.grad != 0)
    assert x.grad[2] == 3.0      # at 0 the surrogate's peak, 1


def test_surrgradspike_reads_its_class_attribute_scale_when_backward_runs(float64):
    """`SurrGradSpike.scale` is read inside backward, as in PyTorch: a change between forward and backward counts."""
    ns = spytorch(dtype=torch.float64)
    x = torch.tensor([0.1, -0.2], requires_grad=True)
    out = ns.spike_fn(x)
    ns.SurrGradSpike.scale = 10.0
    out.sum().backward()
    np.testing.assert_allclose(x.grad, 1.0 / (10.0 * np.abs([0.1, -0.2]) + 1.0) ** 2, rtol=1e-14)


def test_sparse_data_generator_gives_the_latency_code_as_a_dense_batch():
    """sparse_data_generator: each pixel spikes once, at int(tau_eff log(x / (x - 0.2))) (tau_eff = 20 steps), if that
    is before nb_steps; pixels below 0.2 never. The batch holds exactly those spikes and the labels."""
    ns = spytorch(nb_inputs=6, nb_steps=30, batch_size=3)
    x = np.array([[0.1, 0.25, 0.5, 0.9, 1.0, 0.21],
                  [0.0, 0.3, 0.3, 0.6, 0.7, 0.8],
                  [1.0, 1.0, 0.19, 0.2001, 0.4, 0.33]])
    y = np.array([1, 0, 1])
    batch, labels = next(ns.sparse_data_generator(x, y, 3, 30, 6, shuffle=False))
    expected = np.zeros((3, 30, 6))
    with np.errstate(divide="ignore", invalid="ignore"):
        times = np.where(x < 0.2, 30, 20.0 * np.log(np.clip(x, 0.2 + 1e-7, 1e9) / (np.clip(x, 0.2 + 1e-7, 1e9) - 0.2)))
    for b in range(3):
        for u in range(6):
            if int(times[b, u]) < 30:
                expected[b, int(times[b, u]), u] = 1.0
    assert batch.shape == (3, 30, 6) and batch.dtype == torch.float32
    np.testing.assert_array_equal(batch.to_dense().numpy(), expected)
    assert labels.tolist() == [1, 0, 1]


def test_run_snn_values_match_numpy(float64):
    """run_snn: mem_rec, spk_rec and out_rec (the leaky readout, out_rec[:, 0] = 0) against numpy's recurrence."""
    ns = spytorch(dtype=torch.float64)
    inputs, _ = snn_batch(ns, np.random.default_rng(1))
    out_rec, (mem_rec, spk_rec) = ns.run_snn(inputs)
    mem, spk, out = np_run_snn(arr(inputs), arr(ns.w1), arr(ns.w2), ns.alpha, ns.beta)
    assert out_rec.shape == (4, 26, 2) and mem_rec.shape == (4, 25, 6)
    np.testing.assert_allclose(arr(mem_rec), mem, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(arr(spk_rec), spk)
    np.testing.assert_allclose(arr(out_rec), out, rtol=1e-12, atol=1e-14)


def test_training_loss_gradients_are_the_surrogate_bptt_of_numpy(float64):
    """train's loss (NLL of log_softmax of the max over time of out_rec) and its gradients with respect to w1 and w2
    against numpy's forward-mode sensitivities: each spike's derivative the surrogate at mem - 1, the reset's none."""
    ns = spytorch(dtype=torch.float64)
    inputs, y_local = snn_batch(ns, np.random.default_rng(2))
    output, _ = ns.run_snn(inputs)
    m, _ = torch.max(output, 1)
    loss_val = nn.NLLLoss()(nn.LogSoftmax(dim=1)(m), y_local)
    loss_val.backward()
    loss, g1, g2 = np_snn_loss_and_grads(arr(inputs), y_local.numpy(), arr(ns.w1), arr(ns.w2), ns.alpha, ns.beta)
    np.testing.assert_allclose(loss_val.item(), loss, rtol=1e-12)
    assert np.abs(g1).max() > 1e-4             # the hidden layer learns through the surrogate
    np.testing.assert_allclose(ns.w1.grad, g1, rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(ns.w2.grad, g2, rtol=1e-9, atol=1e-14)


def test_readout_gradient_against_central_differences(float64):
    """w2 does not change a spike, so the loss is smooth in it: w2.grad against central differences of numpy's loss."""
    ns = spytorch(dtype=torch.float64)
    inputs, y_local = snn_batch(ns, np.random.default_rng(3))
    output, _ = ns.run_snn(inputs)
    m, _ = torch.max(output, 1)
    nn.NLLLoss()(nn.LogSoftmax(dim=1)(m), y_local).backward()
    x, w1, y = arr(inputs), arr(ns.w1), y_local.numpy()

    def loss(w2):
        out = np_run_snn(x, w1, w2, ns.alpha, ns.beta)[2].max(1)
        return -np_log_softmax(out)[np.arange(len(y)), y].mean()

    idx = [(i, j) for i in range(6) for j in range(2)]
    np.testing.assert_allclose([ns.w2.grad[i] for i in idx], central(loss, arr(ns.w2), idx), rtol=1e-7, atol=1e-10)


def test_the_detached_reset_is_what_makes_the_gradient_differ_from_a_reset_differentiated(float64):
    """`rst = out.detach()`: the gradient does not go through the reset. Written without the detach (a variant of
    run_snn written here) the gradient is numpy's with the reset's surrogate path, and not the detached one."""
    ns = spytorch(dtype=torch.float64)
    inputs, y_local = snn_batch(ns, np.random.default_rng(4))

    def run_snn_reset_through(inputs):      # run_snn's hidden loop and readout, `rst = out`
        h1 = torch.einsum("abc,cd->abd", (inputs, ns.w1))
        syn = mem = torch.zeros((ns.batch_size, ns.nb_hidden))
        flt = out_out = torch.zeros((ns.batch_size, ns.nb_outputs))
        out_rec = [out_out]
        for t in range(ns.nb_steps):
            out = ns.spike_fn(mem - 1.0)
            rst = out
            mem, syn = (ns.beta * mem + syn) * (1.0 - rst), ns.alpha * syn + h1[:, t]
            flt, out_out = ns.alpha * flt + torch.einsum("ab,bc->ac", (out, ns.w2)), ns.beta * out_out + flt
            out_rec.append(out_out)
        return torch.stack(out_rec, dim=1)

    m, _ = torch.max(run_snn_reset_through(inputs), 1)
    nn.NLLLoss()(nn.LogSoftmax(dim=1)(m), y_local).backward()
    args = (arr(inputs), y_local.numpy(), arr(ns.w1), arr(ns.w2), ns.alpha, ns.beta)
    _, g1_through, _ = np_snn_loss_and_grads(*args, reset_through=True)
    _, g1_detached, _ = np_snn_loss_and_grads(*args)
    np.testing.assert_allclose(ns.w1.grad, g1_through, rtol=1e-9, atol=1e-14)
    assert np.abs(g1_through - g1_detached).max() > 1e-3 * np.abs(g1_detached).max()


def test_reset_by_a_boolean_mask_has_no_gradient_path():
    """The notebook's older reset (034188db1e8c98f2484b43d13e43b7d3eb72adf5's run_snn): `c = (mthr > 0)`, `rst =
    torch.zeros_like(mem)`, `rst[c] = torch.ones_like(mem)[c]`: the step's values, built from a comparison, with no
    history, so nothing flows back through it; the same values as `out.detach()`."""
    mem = torch.tensor([[0.5, 1.2, 1.0, 3.0]], requires_grad=True)
    mthr = mem-1.0
    rst = torch.zeros_like(mem)
    c = (mthr > 0)
    rst[c] = torch.ones_like(mem)[c]
    assert rst.tolist() == [[0.0, 1.0, 0.0, 1.0]] and not rst.requires_grad and c.dtype == torch.bool
    assert (mem * (1.0 - rst)).sum().requires_grad


def test_train_lowers_the_loss_and_learns_the_made_up_classes():
    """train (Adam over w1 and w2, batches from sparse_data_generator's dense batch via `x_local.to_dense()`) as
    written, in float32: the epoch loss falls, and compute_classification_accuracy is above chance after."""
    ns = spytorch(nb_inputs=12, nb_hidden=8, nb_steps=25, batch_size=8)
    x, y = made_up_images(32, 12, np.random.default_rng(5))
    with torch.no_grad():
        ns.w1.mul_(3.0)
    loss_hist, printed = quietly(ns.train, x, y, lr=2e-2, nb_epochs=6)  # differs: the notebook's lr=2e-4, 30 epochs
    assert printed.splitlines()[0].startswith("Epoch 1: loss=")
    assert loss_hist[-1] < 0.7 * loss_hist[0]
    assert ns.compute_classification_accuracy(x, y) >= 0.75


def test_to_dense_is_the_tensor_itself_and_sparse_constructors_are_not_here():
    """G1: `t.to_dense()` of a strided tensor, which every tensor here is, is `t` (with a dtype, `t.to(dtype)`), as
    aten's to_dense; the sparse constructors are not here (docs/pytorch.md), so the port builds the dense batch."""
    x = torch.tensor([[0.0, 1.0], [2.0, 0.0]], requires_grad=True)
    assert x.to_dense() is x and not x.is_sparse
    y = x.to_dense(torch.float64)
    assert y.dtype == torch.float64 and y.tolist() == [[0.0, 1.0], [2.0, 0.0]]
    y.sum().backward()
    assert x.grad.tolist() == [[1.0, 1.0], [1.0, 1.0]] and x.grad.dtype == np.float32
    assert not hasattr(torch, "sparse_coo_tensor") and not hasattr(torch, "sparse")


# ==== 2. norse/norse: heaviside.py, superspike.py, threshold.py, lif.py ===========================================

# norse/torch/functional/heaviside.py (135303dcad8d1a874848602470e39536195211ab)
def heaviside(data):
    """
    A `heaviside step function <https://en.wikipedia.org/wiki/Heaviside_step_function>`_
    that truncates numbers <= 0 to 0 and everything else to 1.

    .. math::
        H[n]=\\begin{cases} 0, & n <= 0, \\\\ 1, & n \\g 0, \\end{cases}
    """
    return torch.where(
        data <= torch.zeros_like(data),
        torch.zeros_like(data),
        torch.ones_like(data),
    )


# norse/torch/functional/superspike.py (050746cc50f15811ecc14d529454d9ff13659786)
class SuperSpike(torch.autograd.Function):
    """SuperSpike surrogate gradient as described in Section 3.3.2 of

    F. Zenke, S. Ganguli, "SuperSpike: Supervised Learning in
                           Multilayer Spiking Neural Networks",
    Neural Computation 30, 1514–1541 (2018),
    doi:10.1162/neco_a_01086
    """

    @staticmethod
    @torch.jit.ignore
    def forward(ctx, input_tensor: torch.Tensor, alpha: float) -> torch.Tensor:
        ctx.save_for_backward(input_tensor)
        ctx.alpha = alpha
        return heaviside(input_tensor)

    @staticmethod
    @torch.jit.ignore
    def backward(ctx, grad_output):
        (inp,) = ctx.saved_tensors
        alpha = ctx.alpha
        grad_input = grad_output.clone()
        grad = grad_input / (alpha * torch.abs(inp) + 1.0).pow(
            2
        )  # section 3.3.2 (beta -> alpha)
        return grad, None


@torch.jit.ignore
def super_fn(x: torch.Tensor, alpha: float = 100.0) -> torch.Tensor:
    return SuperSpike.apply(x, alpha)


# norse/torch/functional/threshold.py (a7f426318c0eda23adab41985895b73f1eada1bd); CircDist and Logistic (stochastic,
# not among `threshold`'s methods there) are left out
superspike_fn = super_fn


class HeaviErfc(torch.autograd.Function):
    r"""Approximation of the heaviside step function as

    .. math::
        h(x,k) = \frac{1}{2} + \frac{1}{2} \text{erfc}(k x)

    where erfc is the error function.
    """

    @staticmethod
    def forward(ctx, x, k):
        ctx.save_for_backward(x)
        ctx.k = k
        return heaviside(x)  # 0 + 0.5 * torch.erfc(k * x)

    @staticmethod
    def backward(ctx, dy):
        (x,) = ctx.saved_tensors
        derfc = (2 * torch.exp(-(ctx.k * x).pow(2))) / (torch.as_tensor(np.pi).sqrt())
        return derfc * dy, None


@torch.jit.ignore
def heavi_erfc_fn(x: torch.Tensor, k: float):
    return HeaviErfc.apply(x, k)


class HeaviTanh(torch.autograd.Function):
    r"""Approximation of the heaviside step function as

    .. math::
        h(x,k) = \frac{1}{2} + \frac{1}{2} \text{tanh}(k x)
    """

    @staticmethod
    def forward(ctx, x, k):
        ctx.save_for_backward(x)
        ctx.k = k
        return heaviside(x)  # 0.5 + 0.5 * torch.tanh(k * x)

    @staticmethod
    def backward(ctx, dy):
        (x,) = ctx.saved_tensors
        dtanh = 1 - (x * ctx.k).tanh().pow(2)
        return dy * dtanh, None


@torch.jit.ignore
def heavi_tanh_fn(x: torch.Tensor, k: float):
    return HeaviTanh.apply(x, k)


class HeaviCirc(torch.autograd.Function):
    r"""Approximation of the heaviside step function as

    .. math::
        h(x,\alpha) = \frac{1}{2} + \frac{1}{2} \
        \frac{x}{(x^2 + \alpha^2)^{1/2}}
    """

    @staticmethod
    def forward(ctx, x, alpha):
        ctx.save_for_backward(x)
        ctx.alpha = alpha
        return heaviside(x)  # 0.5 + 0.5 * (x / (x.pow(2) + alpha ** 2).sqrt())

    @staticmethod
    def backward(ctx, dy):
        (x,) = ctx.saved_tensors
        alpha = ctx.alpha

        return (
            dy
            * (
                -(x.pow(2) / (2 * (alpha**2 + x.pow(2)).pow(1.5)))
                + 1 / (2 * (alpha**2 + x.pow(2)).sqrt())
            )
            * 2
            * alpha,
            None,
        )


@torch.jit.ignore
def heavi_circ_fn(x: torch.Tensor, k: float):
    return HeaviCirc.apply(x, k)


class Triangle(torch.autograd.Function):
    r"""Triangular/piecewise linear surrogate gradient as in

    S.K. Esser et al., **"Convolutional networks for fast, energy-efficient neuromorphic computing"**,
    Proceedings of the National Academy of Sciences 113(41), 11441-11446, (2016),
    `doi:10.1073/pnas.1604850113 <https://www.pnas.org/content/113/41/11441.short>`_
    G. Bellec et al., **"A solution to the learning dilemma for recurrent networks of spiking neurons"**,
    Nature Communications 11(1), 3625, (2020),
    `doi:10.1038/s41467-020-17236-y <https://www.nature.com/articles/s41467-020-17236-y>`_
    """

    @staticmethod
    @torch.jit.ignore
    def forward(ctx, x: torch.Tensor, alpha: float) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.alpha = alpha
        return heaviside(x)

    @staticmethod
    @torch.jit.ignore
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        alpha = ctx.alpha
        grad_input = grad_output.clone()
        grad = grad_input * alpha * torch.relu(1 - x.abs())
        return grad, None


@torch.jit.ignore
def triangle_fn(x: torch.Tensor, alpha: float = 0.3) -> torch.Tensor:
    return Triangle.apply(x, alpha)


def threshold(x: torch.Tensor, method: str, alpha: float) -> torch.Tensor:
    if method == "heaviside":
        return heaviside(x)
    elif method == "super":
        return superspike_fn(x, torch.as_tensor(alpha))
    elif method == "triangle":
        return triangle_fn(x, alpha)
    elif method == "tanh":
        return heavi_tanh_fn(x, alpha)
    elif method == "circ":
        return heavi_circ_fn(x, alpha)
    elif method == "heavi_erfc":
        return heavi_erfc_fn(x, alpha)
    else:
        raise ValueError(
            f"Attempted to apply threshold function {method}, but no such "
            + "function exist. We currently support heaviside, super, "
            + "tanh, triangle, circ, and heavi_erfc."
        )


# norse/torch/functional/lif.py (f0d0c3363262b9efe96513707661878d67cd9af1): the parameters, states and steps
class LIFParameters(NamedTuple):  # differs: `(pytree.StateTuple, metaclass=pytree.MultipleInheritanceNamedTupleMeta)`:
    # norse's own pytree helpers (a NamedTuple that can also be mapped over); a NamedTuple is what is read here
    """Parametrization of a LIF neuron

    Parameters:
        tau_syn_inv (torch.Tensor): inverse synaptic time
                                    constant (:math:`1/\\tau_\\text{syn}`) in 1/ms
        tau_mem_inv (torch.Tensor): inverse membrane time
                                    constant (:math:`1/\\tau_\\text{mem}`) in 1/ms
        v_leak (torch.Tensor): leak potential in mV
        v_th (torch.Tensor): threshold potential in mV
        v_reset (torch.Tensor): reset potential in mV
        method (str): method to determine the spike threshold
                      (relevant for surrogate gradients)
        alpha (float): hyper parameter to use in surrogate gradient computation
    """

    tau_syn_inv: torch.Tensor = torch.as_tensor(1.0 / 5e-3)
    tau_mem_inv: torch.Tensor = torch.as_tensor(1.0 / 1e-2)
    v_leak: torch.Tensor = torch.as_tensor(0.0)
    v_th: torch.Tensor = torch.as_tensor(1.0)
    v_reset: torch.Tensor = torch.as_tensor(0.0)
    method: str = "super"
    alpha: float = torch.as_tensor(100.0)


class LIFState(NamedTuple):
    """State of a LIF neuron

    Parameters:
        z (torch.Tensor): recurrent spikes
        v (torch.Tensor): membrane potential
        i (torch.Tensor): synaptic input current
    """

    z: torch.Tensor
    v: torch.Tensor
    i: torch.Tensor


class LIFFeedForwardState(NamedTuple):
    """State of a feed forward LIF neuron

    Parameters:
        v (torch.Tensor): membrane potential
        i (torch.Tensor): synaptic input current
    """

    v: torch.Tensor
    i: torch.Tensor


def lif_step(
    input_spikes: torch.Tensor,
    state: LIFState,
    input_weights: torch.Tensor,
    recurrent_weights: torch.Tensor,
    p: LIFParameters,
    dt: float = 0.001,
) -> Tuple[torch.Tensor, LIFState]:
    r"""Computes a single euler-integration step of a LIF neuron-model. (The docstring's equations: see the module
    docstring of norse's lif.py.)"""  # differs: the docstring shortened
    # compute current jumps
    i_jump = (
        state.i
        + torch.nn.functional.linear(input_spikes, input_weights)
        + torch.nn.functional.linear(state.z, recurrent_weights)
    )
    # compute voltage updates
    dv = dt * p.tau_mem_inv * ((p.v_leak - state.v) + i_jump)
    v_decayed = state.v + dv

    # compute current updates
    di = -dt * p.tau_syn_inv * i_jump
    i_decayed = i_jump + di

    # compute new spikes
    z_new = threshold(v_decayed - p.v_th, p.method, p.alpha)
    # compute reset
    v_new = (1 - z_new.detach()) * v_decayed + z_new.detach() * p.v_reset

    return z_new, LIFState(z_new, v_new, i_decayed)


def lif_feed_forward_step(
    input_spikes: torch.Tensor,
    state: LIFFeedForwardState,
    p: LIFParameters,
    dt: float = 0.001,
) -> Tuple[torch.Tensor, LIFFeedForwardState]:
    r"""Computes a single euler-integration step for a lif neuron-model. (Docstring shortened.)"""  # differs
    # compute current jumps
    i_new = state.i + input_spikes
    # compute voltage updates
    dv = dt * p.tau_mem_inv * ((p.v_leak - state.v) + i_new)
    v_decayed = state.v + dv
    # compute current updates
    di = -dt * p.tau_syn_inv * i_new
    i_decayed = i_new + di
    # compute new spikes
    z_new = threshold(v_decayed - p.v_th, p.method, p.alpha)
    # compute reset
    v_new = (1 - z_new) * v_decayed + z_new * p.v_reset

    return z_new, LIFFeedForwardState(v=v_new, i=i_decayed)


def lif_feed_forward_integral(
    input_tensor: torch.Tensor,
    state: LIFFeedForwardState,
    p: LIFParameters,
    dt: float = 0.001,
) -> Tuple[torch.Tensor, LIFFeedForwardState]:
    r"""Computes multiple euler-integration steps of a LIF neuron-model. (Docstring shortened.)"""  # differs
    outputs = []

    for input_spikes in input_tensor:
        # compute current jumps
        i_new = state.i + input_spikes
        # compute voltage updates
        dv = dt * p.tau_mem_inv * ((p.v_leak - state.v) + i_new)
        v_decayed = state.v + dv

        # compute current updates
        di = -dt * p.tau_syn_inv * i_new
        i_decayed = i_new + di

        # compute new spikes
        z_new = threshold(v_decayed - p.v_th, p.method, p.alpha)
        # compute reset
        v_new = (1 - z_new) * v_decayed + z_new * p.v_reset

        outputs.append(z_new)
        state = LIFFeedForwardState(v=v_new, i=i_decayed)
    return torch.stack(outputs), state


def lif_current_encoder(
    input_current: torch.Tensor,
    voltage: torch.Tensor,
    p: LIFParameters,
    dt: float = 0.001,
) -> Tuple[torch.Tensor, torch.Tensor]:
    r"""Computes a single euler-integration step of a leaky integrator. (Docstring shortened.)"""  # differs
    dv = dt * p.tau_mem_inv * ((p.v_leak - voltage) + input_current)
    voltage = voltage + dv
    z = threshold(voltage - p.v_th, p.method, p.alpha)

    voltage = voltage - z * (voltage - p.v_reset)
    return z, voltage


# numpy: the surrogate derivatives (the sources' backward formulas, as numbers) and the LIF steps in forward mode

NP_SURROGATES = {
    "super": lambda x, a: 1.0 / (a * np.abs(x) + 1.0) ** 2,
    "triangle": lambda x, a: a * np.maximum(0.0, 1.0 - np.abs(x)),
    "tanh": lambda x, k: 1.0 - np.tanh(k * x) ** 2,
    "circ": lambda x, a: 2 * a * (1 / (2 * np.sqrt(a ** 2 + x ** 2)) - x ** 2 / (2 * (a ** 2 + x ** 2) ** 1.5)),
    "heavi_erfc": lambda x, k: 2 * np.exp(-(k * x) ** 2) / np.sqrt(np.pi),
}


def np_lif_run(xs, w_in, w_rec, p, dt=0.001, recurrent=True, tangents=None):
    """lif_step (recurrent, reset detached) or lif_feed_forward_step applied to F.linear(x, w_in) (the reset through
    the surrogate), over the steps of xs (T, B, I), in numpy, with forward-mode tangents of K directions for
    (w_in, w_rec) beside the values. Returns the spikes (T, B, H), the last (v, i) and the spikes' tangents."""
    surr = NP_SURROGATES[p["method"]]
    T, B, _ = xs.shape
    H = w_in.shape[0]
    dwi, dwr = tangents
    K = dwi.shape[0]
    # dt * p.tau_mem_inv: a Python float times a 0-d float32 tensor is float32 (0.1 rounded), in PyTorch and here
    a_mem = float(np.float32(dt) * np.float32(p["tau_mem_inv"]))
    a_syn = float(np.float32(-dt) * np.float32(p["tau_syn_inv"]))
    z, v, i = np.zeros((B, H)), np.zeros((B, H)), np.zeros((B, H))
    dz, dv, di = np.zeros((K, B, H)), np.zeros((K, B, H)), np.zeros((K, B, H))
    zs, dzs = [], []
    for t in range(T):
        inp, dinp = xs[t] @ w_in.T, xs[t] @ np.swapaxes(dwi, 1, 2)
        if recurrent:
            inp, dinp = inp + z @ w_rec.T, dinp + dz @ w_rec.T + z @ np.swapaxes(dwr, 1, 2)
        i_jump, di_jump = i + inp, di + dinp
        v_dec = v + a_mem * ((p["v_leak"] - v) + i_jump)
        dv_dec = dv + a_mem * (-dv + di_jump)
        i, di = i_jump + a_syn * i_jump, di_jump + a_syn * di_jump
        z_new = (v_dec - p["v_th"] > 0).astype(float)
        dz_new = surr(v_dec - p["v_th"], p["alpha"]) * dv_dec
        v_new = (1 - z_new) * v_dec + z_new * p["v_reset"]
        dv_new = (1 - z_new) * dv_dec
        if not recurrent:       # lif_feed_forward_step does not detach its reset
            dv_new = dv_new + (p["v_reset"] - v_dec) * dz_new
        z, dz, v, dv = z_new, dz_new, v_new, dv_new
        zs.append(z)
        dzs.append(dz)
    return np.stack(zs), (v, i), np.stack(dzs, 1)


def np_params(p):
    return {k: (getattr(p, k) if k == "method" else float(getattr(p, k))) for k in LIFParameters._fields}


def test_heaviside_is_a_where_on_a_comparison_with_no_history():
    """heaviside: torch.where(data <= 0, 0, 1): 0 at 0 itself, 1 above; both branches constants, so the result has
    no history even for an input that requires grad (as PyTorch's where of two constants)."""
    x = torch.tensor([-1.0, 0.0, 1e-9, 2.0], requires_grad=True)
    h = heaviside(x)
    assert h.tolist() == [0.0, 0.0, 1.0, 1.0] and h.dtype == torch.float32
    assert not h.requires_grad and h.grad_fn is None


@pytest.mark.parametrize("method,alpha", [("super", 100.0), ("triangle", 0.3), ("tanh", 2.0), ("circ", 0.5),
                                          ("heavi_erfc", 1.5)])
def test_threshold_is_heaviside_forward_and_its_surrogate_backward(float64, method, alpha):
    """threshold(x, method, alpha): the step forward for every method; backward exactly the method's surrogate times
    the incoming gradient (SuperSpike with alpha a 0-d tensor kept on ctx, as threshold passes it)."""
    x = torch.tensor([-2.0, -0.7, -0.05, 0.0, 0.05, 0.4, 1.5], requires_grad=True)
    out = threshold(x, method, alpha)
    assert out.tolist() == [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0]
    g = torch.tensor([1.0, -1.0, 2.0, 0.5, 3.0, -2.0, 1.0])
    (out * g).sum().backward()
    np.testing.assert_allclose(x.grad, arr(g) * NP_SURROGATES[method](arr(x), alpha), rtol=1e-12, atol=1e-300)


def test_threshold_names_its_methods_when_given_another():
    with pytest.raises(ValueError, match="We currently support heaviside, super"):
        threshold(torch.zeros(2), "tent", 1.0)


def test_lif_parameters_defaults_are_0d_tensors_and_the_encoder_steps_as_numpy():
    """LIFParameters' defaults are 0-d float32 tensors (torch.as_tensor of Python floats); lif_current_encoder's
    Euler step, spike and subtractive reset `voltage - z (voltage - v_reset)` against numpy."""
    p = LIFParameters()
    assert p.tau_mem_inv.shape == () and p.tau_mem_inv.dtype == torch.float32 and float(p.tau_syn_inv) == 200.0
    current = torch.tensor([[5.0, 20.0, 40.0]])
    voltage = torch.tensor([[0.2, 0.9, 0.95]])
    zs, vs = [], []
    for _ in range(4):
        z, voltage = lif_current_encoder(current, voltage, p)
        zs.append(z.numpy())
        vs.append(voltage.numpy())
    v = np.array([[0.2, 0.9, 0.95]])
    for k in range(4):
        v = v + 0.001 * 100.0 * (-v + np.array([[5.0, 20.0, 40.0]]))
        z = (v - 1.0 > 0).astype(float)
        v = v - z * (v - 0.0)
        np.testing.assert_array_equal(zs[k], z)
        np.testing.assert_allclose(vs[k], v, rtol=1e-6)
    assert np.sum(zs) >= 2


def lif_data(rng, T=30, B=2, I=4, H=3):
    xs = (rng.random((T, B, I)) < 0.5).astype(float)
    return xs, rng.normal(0, 60.0, (H, I)), rng.normal(0, 8.0, (H, H)), rng.normal(size=(T, B, H))


def test_lif_feed_forward_integral_spikes_and_gradient_through_the_reset_match_numpy(float64):
    """lif_feed_forward_integral (the input current F.linear(x, w)): the spikes and the last (v, i) against numpy;
    the gradient of sum_t c_t . z_t against numpy's forward mode, where the reset `(1 - z) v + z v_reset` is
    differentiated through the surrogate (this step does not detach it)."""
    rng = np.random.default_rng(6)
    xs, w_in, _, c = lif_data(rng)
    p = LIFParameters()
    w = torch.tensor(w_in, requires_grad=True)
    spikes, state = lif_feed_forward_integral(F.linear(torch.tensor(xs), w),
                                             LIFFeedForwardState(torch.zeros(2, 3), torch.zeros(2, 3)), p)
    (spikes * torch.tensor(c)).sum().backward()
    zs, (v, i), dzs = np_lif_run(xs, w_in, None, np_params(p), recurrent=False,
                                 tangents=(directions(w_in.shape), np.zeros((w_in.size, 3, 3))))
    assert spikes.shape == (30, 2, 3) and zs.sum() >= 6
    np.testing.assert_array_equal(arr(spikes), zs)
    np.testing.assert_allclose(arr(state.v), v, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(arr(state.i), i, rtol=1e-12)
    np.testing.assert_allclose(w.grad, np.einsum("ktbh,tbh->k", dzs, c).reshape(w_in.shape), rtol=1e-9, atol=1e-12)


def test_lif_step_recurrent_gradients_with_the_detached_reset_match_numpy(float64):
    """lif_step unrolled (input and recurrent weights, F.linear, `z_new.detach()` in the reset): the gradient of
    sum_t c_t . z_t with respect to both weight matrices against numpy's forward mode (the reset's tangent zero, the
    previous spikes' through the recurrent weights), with Triangle's surrogate (e-prop's) from LIFParameters."""
    rng = np.random.default_rng(7)
    xs, w_in, w_rec, c = lif_data(rng)
    p = LIFParameters(method="triangle", alpha=torch.as_tensor(0.5))
    wi, wr = torch.tensor(w_in, requires_grad=True), torch.tensor(w_rec, requires_grad=True)
    state = LIFState(torch.zeros(2, 3), torch.zeros(2, 3), torch.zeros(2, 3))
    total = 0.0
    for t, x in enumerate(torch.tensor(xs)):
        z, state = lif_step(x, state, wi, wr, p)
        total = total + (z * torch.tensor(c[t])).sum()
    total.backward()
    k1 = w_in.size
    tangents = (np.concatenate([directions(w_in.shape), np.zeros((w_rec.size,) + w_in.shape)]),
                np.concatenate([np.zeros((k1,) + w_rec.shape), directions(w_rec.shape)]))
    zs, _, dzs = np_lif_run(xs, w_in, w_rec, np_params(p), tangents=tangents)
    grad = np.einsum("ktbh,tbh->k", dzs, c)
    assert zs.sum() >= 6 and np.abs(grad).max() > 1e-3
    np.testing.assert_allclose(wi.grad, grad[:k1].reshape(w_in.shape), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(wr.grad, grad[k1:].reshape(w_rec.shape), rtol=1e-9, atol=1e-12)


def test_rtrl_over_a_surrogate_function_without_jvp_raises_as_pytorchs_forward_mode():
    """mg.bptt.rtrl carries sensitivities forward (forward mode): SuperSpike has only a backward, so it raises
    NotImplementedError naming the Function and the jvp it needs, as PyTorch's forward AD does for a custom Function
    without `jvp` ("You must implement the jvp function for custom autograd.Function to use it with forward mode
    AD"). Section 3 gives a surrogate a jvp and runs rtrl."""
    w = torch.randn(3, 2, requires_grad=True)

    def step(x, state):
        z, state = lif_step(x, state, w, torch.zeros(3, 3), LIFParameters())
        return z, state

    state = LIFState(torch.zeros(1, 3), torch.zeros(1, 3), torch.zeros(1, 3))
    with pytest.raises(NotImplementedError, match="SuperSpike: forward mode .* needs a jvp"):
        torch.bptt.rtrl(step, state, [torch.ones(1, 2)] * 2, [torch.zeros(1, 3)] * 2,
                        lambda z, t: ((z - t) ** 2).sum(), [w])


# ==== 3. ChFrenkel/eprop-PyTorch (0f32a8f20cdc07c1c21873ae740024be78c6a88a): models.py, train.py, setup.py, main.py ==

# models.py
class SRNN(nn.Module):

    def __init__(self, n_in, n_rec, n_out, n_t, thr, tau_m, tau_o, b_o, gamma, dt, model, classif, w_init_gain,
                 lr_layer, t_crop, visualize, visualize_light, device):

        super(SRNN, self).__init__()
        self.n_in     = n_in
        self.n_rec    = n_rec
        self.n_out    = n_out
        self.n_t      = n_t
        self.thr      = thr
        self.dt       = dt
        self.alpha    = np.exp(-dt/tau_m)
        self.kappa    = np.exp(-dt/tau_o)
        self.gamma    = gamma
        self.b_o      = b_o
        self.model    = model
        self.classif  = classif
        self.lr_layer = lr_layer
        self.t_crop   = t_crop
        self.visu     = visualize
        self.visu_l   = visualize_light
        self.device   = device

        #Parameters
        # differs: `torch.Tensor(rows, cols)` with sizes is refused here (docs/pytorch.md): torch.empty, which it is
        self.w_in  = nn.Parameter(torch.empty(n_rec, n_in ))
        self.w_rec = nn.Parameter(torch.empty(n_rec, n_rec))
        self.w_out = nn.Parameter(torch.empty(n_out, n_rec))
        self.reg_term = torch.zeros(self.n_rec).to(self.device)
        self.B_out = torch.empty(n_out, n_rec).to(self.device)  # differs: `torch.Tensor(n_out, n_rec)`, as above
        self.reset_parameters(w_init_gain)

        #Visualization
        if self.visu:  # differs: the plots (`plt.subplots`, `update_plot`) are left out; the tests run without them
            raise NotImplementedError("update_plot (matplotlib) is not ported")

    def reset_parameters(self, gain):

        torch.nn.init.kaiming_normal_(self.w_in)
        self.w_in.data = gain[0]*self.w_in.data
        torch.nn.init.kaiming_normal_(self.w_rec)
        self.w_rec.data = gain[1]*self.w_rec.data
        torch.nn.init.kaiming_normal_(self.w_out)
        self.w_out.data = gain[2]*self.w_out.data

    def init_net(self, n_b, n_t, n_in, n_rec, n_out):

        #Hidden state
        self.v  = torch.zeros(n_t,n_b,n_rec).to(self.device)
        self.vo = torch.zeros(n_t,n_b,n_out).to(self.device)
        #Visible state
        self.z  = torch.zeros(n_t,n_b,n_rec).to(self.device)
        #Weight gradients
        self.w_in.grad  = torch.zeros_like(self.w_in)
        self.w_rec.grad = torch.zeros_like(self.w_rec)
        self.w_out.grad = torch.zeros_like(self.w_out)

    def forward(self, x, yt, do_training):

        self.n_b = x.shape[1]    # Extracting batch size
        self.init_net(self.n_b, self.n_t, self.n_in, self.n_rec, self.n_out)    # Network reset

        # Making sure recurrent self excitation/inhibition is cancelled
        self.w_rec *= (1 - torch.eye(self.n_rec, self.n_rec, device=self.device))

        for t in range(self.n_t-1):     # Computing the network state and outputs for the whole sample duration

            # Forward pass - Hidden state:  v: recurrent layer membrane potential
            #                Visible state: z: recurrent layer spike output, vo: output layer membrane potential
            #                (yo incl. activation function)
            self.v[t+1]  = (self.alpha * self.v[t] + torch.mm(self.z[t], self.w_rec.t())
                            + torch.mm(x[t], self.w_in.t())) - self.z[t]*self.thr
            self.z[t+1]  = (self.v[t+1] > self.thr).float()
            self.vo[t+1] = self.kappa * self.vo[t] + torch.mm(self.z[t+1], self.w_out.t()) + self.b_o

        if self.classif:        #Apply a softmax function for classification problems
            yo = F.softmax(self.vo,dim=2)
        else:
            yo = self.vo

        if do_training:
            self.grads_batch(x, yo, yt)

        return yo

    def grads_batch(self, x, yo, yt):

        # Surrogate derivatives
        h = self.gamma*torch.max(torch.zeros_like(self.v), 1-torch.abs((self.v-self.thr)/self.thr))

        # Input and recurrent eligibility vectors for the 'LIF' model (vectorized computation, model-dependent)
        assert self.model == "LIF", "Nice try, but model " + self.model + " is not supported. ;-)"
        alpha_conv  = torch.tensor([self.alpha ** (self.n_t-i-1)
                                    for i in range(self.n_t)]).float().view(1,1,-1).to(self.device)
        #n_b, n_rec, n_in , n_t
        trace_in    = F.conv1d(     x.permute(1,2,0), alpha_conv.expand(self.n_in ,-1,-1), padding=self.n_t,
                               groups=self.n_in )[:,:,1:self.n_t+1].unsqueeze(1).expand(-1,self.n_rec,-1,-1)
        trace_in    = torch.einsum('tbr,brit->brit', h, trace_in )  #n_b, n_rec, n_in , n_t
        #n_b, n_rec, n_rec, n_t
        trace_rec   = F.conv1d(self.z.permute(1,2,0), alpha_conv.expand(self.n_rec,-1,-1), padding=self.n_t,
                               groups=self.n_rec)[:,:, :self.n_t  ].unsqueeze(1).expand(-1,self.n_rec,-1,-1)
        trace_rec   = torch.einsum('tbr,brit->brit', h, trace_rec)  #n_b, n_rec, n_rec, n_t
        trace_reg   = trace_rec

        # Output eligibility vector (vectorized computation, model-dependent)
        kappa_conv = torch.tensor([self.kappa ** (self.n_t-i-1)
                                   for i in range(self.n_t)]).float().view(1,1,-1).to(self.device)
        trace_out  = F.conv1d(self.z.permute(1,2,0), kappa_conv.expand(self.n_rec,-1,-1), padding=self.n_t,
                              groups=self.n_rec)[:,:,1:self.n_t+1]  #n_b, n_rec, n_t

        # Eligibility traces
        trace_in     = F.conv1d(   trace_in.reshape(self.n_b,self.n_in *self.n_rec,self.n_t),
                                kappa_conv.expand(self.n_in *self.n_rec,-1,-1), padding=self.n_t,
                                groups=self.n_in *self.n_rec)[:,:,1:self.n_t+1].reshape(
                                    self.n_b,self.n_rec,self.n_in ,self.n_t)   #n_b, n_rec, n_in , n_t
        trace_rec    = F.conv1d(  trace_rec.reshape(self.n_b,self.n_rec*self.n_rec,self.n_t),
                                kappa_conv.expand(self.n_rec*self.n_rec,-1,-1), padding=self.n_t,
                                groups=self.n_rec*self.n_rec)[:,:,1:self.n_t+1].reshape(
                                    self.n_b,self.n_rec,self.n_rec,self.n_t)   #n_b, n_rec, n_rec, n_t

        # Learning signals
        err = yo - yt
        L = torch.einsum('tbo,or->brt', err, self.w_out)

        # Update network visualization
        if self.visu:
            self.update_plot(x, self.z, yo, yt, L, trace_reg, trace_in, trace_rec, trace_out)

        # Compute network updates taking only the timesteps where the target is present
        if self.t_crop != 0:
            L         =          L[:,:,-self.t_crop:]
            err       =        err[-self.t_crop:,:,:]
            trace_in  =   trace_in[:,:,:,-self.t_crop:]
            trace_rec =  trace_rec[:,:,:,-self.t_crop:]
            trace_out =  trace_out[:,:,-self.t_crop:]

        # Weight gradient updates
        # differs: `self.w_in.grad += ...` (and w_rec's, w_out's): `.grad` is a numpy array here and numpy's in-place
        # add of a tensor raises "operand 'Tensor' does not support ufuncs" (docs/pytorch.md): `p.grad = p.grad + ...`
        self.w_in.grad  = self.w_in.grad + self.lr_layer[0]*torch.sum(
            L.unsqueeze(2).expand(-1,-1,self.n_in ,-1) * trace_in , dim=(0,3))
        self.w_rec.grad = self.w_rec.grad + self.lr_layer[1]*torch.sum(
            L.unsqueeze(2).expand(-1,-1,self.n_rec,-1) * trace_rec, dim=(0,3))
        self.w_out.grad = self.w_out.grad + self.lr_layer[2]*torch.einsum('tbo,brt->or', err, trace_out)

    # differs: update_plot (matplotlib's drawing of the traces) is left out

    def __repr__(self):

        return self.__class__.__name__ + ' (' \
            + str(self.n_in) + ' -> ' \
            + str(self.n_rec) + ' -> ' \
            + str(self.n_out) + ') '


# train.py
class _Models:  # differs: `import models` (models.py above)
    SRNN = SRNN


models = _Models


def train(args, device, train_loader, traintest_loader, test_loader):
    torch.manual_seed(42)

    for trial in range(1,args.trials+1):

        # Network topology
        model = models.SRNN(n_in=args.n_inputs,
                            n_rec=args.n_rec,
                            n_out=args.n_classes,
                            n_t=args.n_steps,
                            thr=args.threshold,
                            tau_m=args.tau_mem,
                            tau_o=args.tau_out,
                            b_o=args.bias_out,
                            gamma=args.gamma,
                            dt=args.dt,
                            model=args.model,
                            classif=args.classif,
                            w_init_gain=args.w_init_gain,
                            lr_layer=args.lr_layer_norm,
                            t_crop=args.delay_targets,
                            visualize=args.visualize,
                            visualize_light=args.visualize_light,
                            device=device)

        # Use CUDA for GPU-based computation if enabled
        if args.cuda:
            model.cuda()

        # Initial monitoring
        if (args.trials > 1):
            print('\nIn trial {} of {}'.format(trial,args.trials))
        if (trial == 1):
            print("=== Model ===" )
            print(model)

        # Optimizer
        if args.optimizer == 'SGD':
            optimizer = optim.SGD(model.parameters(), lr=args.lr)
        elif args.optimizer == 'Adam':
            optimizer = optim.Adam(model.parameters(), lr=args.lr)
        elif args.optimizer == 'NAG':
            optimizer = optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, nesterov=True)
        elif args.optimizer == 'RMSprop':
            optimizer = optim.RMSprop(model.parameters(), lr=args.lr)
        else:
            raise NameError("=== ERROR: optimizer " + str(args.optimizer) + " not supported")

        # Loss function (only for performance monitoring purposes, does not influence learning as e-prop learning
        # is hardcoded)
        if args.loss == 'MSE':
            loss = (F.mse_loss, (lambda l : l))
        elif args.loss == 'BCE':
            loss = (F.binary_cross_entropy, (lambda l : l))
        elif args.loss == 'CE':
            loss = (F.cross_entropy, (lambda l : torch.max(l, 1)[1]))
        else:
            raise NameError("=== ERROR: loss " + str(args.loss) + " not supported")

        # Training and performance monitoring
        print("\n=== Starting model training with %d epochs:\n" % (args.epochs,))
        for epoch in range(1, args.epochs + 1):
            print("\t Epoch "+str(epoch)+"...")
            #Training:
            # Will display the average accuracy on the training set during the epoch (changing weights)
            do_epoch(args, True, model, device, train_loader, optimizer, loss, 'train')
            #Check performance on the training set and on the test set:
            if not args.skip_test:
                # Uncomment to display the final accuracy on the training set after the epoch (fixed weights)
                #do_epoch(args, False, model, device, traintest_loader, optimizer, loss, 'train')
                do_epoch(args, False, model, device, test_loader, optimizer, loss, 'test')
    return model  # differs: train returns nothing; the tests read the trained model


def do_epoch(args, do_training, model, device, loader, optimizer, loss_fct, benchType):
    model.eval()    # This implementation does not rely on autograd, learning update rules are hardcoded
    score = 0
    loss = 0
    batch = args.batch_size if (benchType == 'train') else args.test_batch_size  # noqa: F841
    length = args.full_train_len if (benchType == 'train') else args.full_test_len
    with torch.no_grad():   # Same here, we make sure autograd is disabled

        # For each batch
        for batch_idx, (data, label) in enumerate(loader):

            data, label = data.to(device), label.to(device)
            if args.classif:    # Do a one-hot encoding for classification
                targets = torch.zeros(label.shape, device=device).unsqueeze(-1).expand(
                    -1,-1,args.n_classes).scatter(2, label.unsqueeze(-1), 1.0).permute(1,0,2)
            else:
                targets = label.permute(1,0,2)

            # Evaluate the model for all the time steps of the input data, then either do the weight updates on a
            # per-timestep basis, or on a per-sample basis (sum of all per-timestep updates).
            optimizer.zero_grad()
            output = model(data.permute(1,0,2), targets, do_training)
            if do_training:
                optimizer.step()

            # Compute the loss function, inference and score
            if args.delay_targets:
                loss += loss_fct[0](output[-args.delay_targets:], loss_fct[1](targets[-args.delay_targets:]),
                                    reduction='mean')
            else:
                loss += loss_fct[0](output, loss_fct[1](targets), reduction='mean')
            if args.classif:
                if args.delay_targets:
                    inference = torch.argmax(torch.sum(output[-args.delay_targets:],axis=0),axis=1)
                    score += torch.sum(torch.eq(inference,label[:,0]))
                else:
                    inference = torch.argmax(torch.sum(output,axis=0),axis=1)
                    score += torch.sum(torch.eq(inference,label[:,0]))

    if benchType == "train" and do_training:
        info = "on training set (while training): "
    elif benchType == "train":
        info = "on training set                 : "
    elif benchType == "test":
        info = "on test set                     : "

    if args.classif:
        print("\t\t Score "+info+str(score.item())+'/'+str(length)+' ('+str(score.item()/length*100)+'%), loss: '
              +str(loss.item()))
    else:
        print("\t\t Loss "+info+str(loss.item()))


# setup.py
class CueAccumulationDataset(torch.utils.data.Dataset):
    """Adapted from the original TensorFlow e-prop implemation from TU Graz, available at
    https://github.com/IGITUGraz/eligibility_propagation"""

    def __init__(self, args, type):

        n_cues     = 3  # differs: 7 (the task's sizes made small: seq_len 3*6 + 6 = 24 steps, not 2250)
        f0         = 40
        t_cue      = 4  # differs: 100
        t_wait     = 6  # differs: 1200
        n_symbols  = 4
        p_group    = 0.3

        self.dt         = 1e-3
        self.t_interval = 6  # differs: 150
        self.seq_len    = n_cues*self.t_interval + t_wait
        self.n_in       = 8  # differs: 40
        # This is a binary classification task, so using two output units with a softmax activation redundant
        self.n_out      = 2
        n_channel       = self.n_in // n_symbols
        prob0           = f0 * self.dt * 10  # differs: f0 * dt (the spikes made ten times likelier for the few steps)
        t_silent        = self.t_interval - t_cue

        if (type == 'train'):
            length = args.train_len
        else:
            length = args.test_len


        # Randomly assign group A and B
        prob_choices = np.array([p_group, 1 - p_group], dtype=np.float32)
        idx = rd.choice([0, 1], length)
        probs = np.zeros((length, 2), dtype=np.float32)
        # Assign input spike probabilities
        probs[:, 0] = prob_choices[idx]
        probs[:, 1] = prob_choices[1 - idx]

        cue_assignments = np.zeros((length, n_cues), dtype=int)  # differs: `dtype=np.int` (removed in numpy 1.24)
        # For each example in batch, draw which cues are going to be active (left or right)
        for b in range(length):
            cue_assignments[b, :] = rd.choice([0, 1], n_cues, p=probs[b])

        # Generate input spikes
        input_spike_prob = np.zeros((length, self.seq_len, self.n_in))
        t_silent = self.t_interval - t_cue
        for b in range(length):
            for k in range(n_cues):
                # Input channels only fire when they are selected (left or right)
                c = cue_assignments[b, k]
                input_spike_prob[b, t_silent+k*self.t_interval:t_silent+k*self.t_interval+t_cue,
                                 c*n_channel:(c+1)*n_channel] = prob0

        # Recall cue and background noise
        input_spike_prob[:, -self.t_interval:, 2*n_channel:3*n_channel] = prob0
        input_spike_prob[:, :, 3*n_channel:] = prob0/4.
        input_spikes = generate_poisson_noise_np(input_spike_prob)
        self.x = torch.tensor(input_spikes).float()

        # Generate targets
        target_nums = np.zeros((length, self.seq_len), dtype=int)  # differs: `dtype=np.int`
        target_nums[:, :] = np.transpose(np.tile(np.sum(cue_assignments, axis=1) > int(n_cues/2), (self.seq_len, 1)))
        self.y = torch.tensor(target_nums).long()

    def __len__(self):
        return len(self.y)

    def __getitem__(self, index):
        return self.x[index], self.y[index]


def setup(args):
    args.cuda = not args.cpu and torch.cuda.is_available()
    if args.cuda:
        print("=== The available CUDA GPU will be used for computations.")
        device = torch.cuda.current_device()
    else:
        device = torch.device('cpu')

    kwargs = {'num_workers': 0, 'pin_memory': True} if args.cuda else {}

    if args.dataset == "cue_accumulation":
        print("=== Loading cue evidence accumulation dataset...")
        (train_loader, traintest_loader, test_loader) = load_dataset_cue_accumulation(args, kwargs)
    else:
        print("=== ERROR - Unsupported dataset ===")
        raise SystemExit(1)  # differs: `sys.exit(1)`, the same exception

    print("Training set length: "+str(args.full_train_len))
    print("Test set length: "+str(args.full_test_len))

    return (device, train_loader, traintest_loader, test_loader)


def load_dataset_cue_accumulation(args, kwargs):

    trainset = CueAccumulationDataset(args,"train")
    testset  = CueAccumulationDataset(args,"test")

    train_loader     = torch.utils.data.DataLoader(trainset, batch_size=args.batch_size,      shuffle=args.shuffle,
                                                   **kwargs)
    traintest_loader = torch.utils.data.DataLoader(trainset, batch_size=args.test_batch_size, shuffle=False       ,
                                                   **kwargs)
    test_loader      = torch.utils.data.DataLoader(testset , batch_size=args.test_batch_size, shuffle=False       ,
                                                   **kwargs)

    args.n_classes      = trainset.n_out
    args.n_steps        = trainset.seq_len
    args.n_inputs       = trainset.n_in
    args.dt             = trainset.dt
    args.classif        = True
    args.full_train_len = len(trainset)
    args.full_test_len  = len(testset)
    args.delay_targets  = trainset.t_interval
    args.skip_test      = False

    return (train_loader, traintest_loader, test_loader)


def generate_poisson_noise_np(prob_pattern, freezing_seed=None):
    if isinstance(prob_pattern, list):
        return [generate_poisson_noise_np(pb, freezing_seed=freezing_seed) for pb in prob_pattern]

    shp = prob_pattern.shape

    if not(freezing_seed is None): rng = rd.RandomState(freezing_seed)  # noqa: E701
    else: rng = rd.RandomState()  # noqa: E701

    spikes = prob_pattern > rng.rand(prob_pattern.size).reshape(shp)
    return spikes


# main.py
def main(argv=None):  # differs: `main()` parses sys.argv; the tests pass the command line as a list
    parser = argparse.ArgumentParser(description='Spiking RNN Pytorch training')
    # General
    parser.add_argument('--cpu', action='store_true', default=False,
                        help='Disable CUDA training and run training on CPU')
    parser.add_argument('--dataset', type=str, choices = ['cue_accumulation'], default='cue_accumulation',
                        help='Choice of the dataset')
    parser.add_argument('--shuffle', type=bool, default=True,
                        help='Enables shuffling sample order in datasets after each epoch')
    parser.add_argument('--trials', type=int, default=1,
                        help='Nomber of trial experiments to do (i.e. repetitions with different initializations)')
    parser.add_argument('--epochs', type=int, default=10, help='Number of epochs to train')
    parser.add_argument('--optimizer', type=str, choices = ['SGD', 'NAG', 'Adam', 'RMSProp'], default='Adam',
                        help='Choice of the optimizer')
    parser.add_argument('--loss', type=str, choices = ['MSE', 'BCE', 'CE'], default='BCE',
                        help='Choice of the loss function (only for performance monitoring purposes, '
                             'does not influence learning)')
    parser.add_argument('--lr', type=float, default=1e-4, help='Initial learning rate')
    parser.add_argument('--lr-layer-norm', type=float, nargs='+', default=(0.05,0.05,1.0),
                        help='Per-layer modulation factor of the learning rate')
    parser.add_argument('--batch-size', type=int, default=5,
                        help='Batch size for training (limited by the available GPU memory)')
    parser.add_argument('--test-batch-size', type=int, default=5,
                        help='Batch size for testing (limited by the available GPU memory)')
    parser.add_argument('--train-len', type=int, default=200, help='Number of training set samples')
    parser.add_argument('--test-len', type=int, default=100, help='Number of test set samples')
    parser.add_argument('--visualize', type=bool, default=True, help='Enable network visualization')
    parser.add_argument('--visualize-light', type=bool, default=True,
                        help='Enable light mode in network visualization, plots traces only for a single neuron')
    # Network model parameters
    parser.add_argument('--n-rec', type=int, default=100, help='Number of recurrent units')
    parser.add_argument('--model', type=str, choices = ['LIF'], default='LIF',
                        help='Neuron model in the recurrent layer. Support for the ALIF neuron model has been removed.')
    parser.add_argument('--threshold', type=float, default=0.6, help='Firing threshold in the recurrent layer')
    parser.add_argument('--tau-mem', type=float, default=2000e-3,
                        help='Membrane potential leakage time constant in the recurrent layer (in seconds)')
    parser.add_argument('--tau-out', type=float, default=20e-3,
                        help='Membrane potential leakage time constant in the output layer (in seconds)')
    parser.add_argument('--bias-out', type=float, default=0.0, help='Bias of the output layer')
    parser.add_argument('--gamma', type=float, default=0.3, help='Surrogate derivative magnitude parameter')
    parser.add_argument('--w-init-gain', type=float, nargs='+', default=(0.5,0.1,0.5),
                        help='Gain parameter for the He Normal initialization of the input, recurrent and '
                             'output layer weights')

    args = parser.parse_args(argv)  # differs: `parse_args()`

    (device, train_loader, traintest_loader, test_loader) = setup(args)  # differs: `setup.setup(args)`
    return train(args, device, train_loader, traintest_loader, test_loader)  # differs: `train.train(...)`, returned


# numpy references: the network, BPTT with the pseudo-derivative, and e-prop's recursions

def np_srnn_forward(x, w_in, w_rec, w_out, alpha, kappa, thr, b_o):
    """SRNN.forward's recurrence: v[t+1] = alpha v[t] + z[t] W_rec^T + x[t] W_in^T - thr z[t], z = (v > thr),
    vo[t+1] = kappa vo[t] + z[t+1] W_out^T + b_o; W_rec's diagonal zeroed first."""
    n_t, n_b, _ = x.shape
    n_rec, n_out = w_in.shape[0], w_out.shape[0]
    w_rec = w_rec * (1 - np.eye(n_rec))
    v, z, vo = np.zeros((n_t, n_b, n_rec)), np.zeros((n_t, n_b, n_rec)), np.zeros((n_t, n_b, n_out))
    for t in range(n_t - 1):
        v[t + 1] = alpha * v[t] + z[t] @ w_rec.T + x[t] @ w_in.T - z[t] * thr
        z[t + 1] = (v[t + 1] > thr).astype(float)
        vo[t + 1] = kappa * vo[t] + z[t + 1] @ w_out.T + b_o
    return v, z, vo


def np_pseudo(v, thr, gamma):
    """e-prop's pseudo-derivative of z = (v > thr): gamma max(0, 1 - |(v - thr) / thr|)."""
    return gamma * np.maximum(0.0, 1.0 - np.abs((v - thr) / thr))


def np_bptt(x, yt, w_in, w_rec, w_out, alpha, kappa, thr, b_o, gamma, t_crop=0):
    """BPTT by hand (reverse mode, numpy) of E = sum over the last t_crop steps (all if 0) and the batch of the
    cross-entropy of softmax(vo[t]) against yt[t]: each spike's derivative the pseudo-derivative, the reset's
    (-thr z[t]) none. Returns dE/dW_in, dE/dW_rec (diagonal zero: the forward zeroes it) and dE/dW_out."""
    n_t = x.shape[0]
    n_rec = w_in.shape[0]
    w_rec_m = w_rec * (1 - np.eye(n_rec))
    v, z, vo = np_srnn_forward(x, w_in, w_rec, w_out, alpha, kappa, thr, b_o)
    err = np_softmax(vo) - yt
    if t_crop:
        err[:n_t - t_crop] = 0.0
    psi = np_pseudo(v, thr, gamma)
    g_in, g_rec, g_out = np.zeros_like(w_in), np.zeros_like(w_rec), np.zeros_like(w_out)
    dvo_next, dv_next = np.zeros_like(err[0]), np.zeros_like(v[0])
    for t in range(n_t - 1, 0, -1):
        dvo = err[t] + kappa * dvo_next                 # vo[t] feeds its loss and vo[t+1]
        dz = dvo @ w_out + dv_next @ w_rec_m            # z[t] feeds vo[t] and v[t+1] (not through the reset)
        dv = dz * psi[t] + alpha * dv_next              # v[t] feeds z[t] and v[t+1]
        g_out += dvo.T @ z[t]
        g_in += dv.T @ x[t - 1]
        g_rec += dv.T @ z[t - 1]
        dvo_next, dv_next = dvo, dv
    return g_in, g_rec * (1 - np.eye(n_rec)), g_out


def np_eprop(x, yt, w_in, w_rec, w_out, alpha, kappa, thr, b_o, gamma, input_trace_ahead=False, t_crop=0):
    """e-prop (Bellec et al. 2020) forward in time, numpy: eligibility vectors eps_in[t] = alpha eps_in[t-1] + x[t-1]
    (eps_rec likewise with z), eligibility traces psi[t] eps[t] low-passed by kappa, the learning signal
    L[t] = (softmax(vo[t]) - yt[t]) W_out, the gradient sum_t L[t] (kappa-filtered trace)[t]; W_out's from the
    kappa-filtered spikes. With `input_trace_ahead` the input's trace at t holds x[t] too (alpha eps_in[t] + x[t]),
    as models.py's `[:, :, 1:n_t+1]` slice of the input convolution makes it."""
    n_t, n_b, n_in = x.shape
    n_rec = w_in.shape[0]
    v, z, vo = np_srnn_forward(x, w_in, w_rec, w_out, alpha, kappa, thr, b_o)
    err = np_softmax(vo) - yt
    if t_crop:
        err[:n_t - t_crop] = 0.0
    psi = np_pseudo(v, thr, gamma)
    L = err @ w_out
    eps_in, eps_rec = np.zeros((n_b, n_in)), np.zeros((n_b, n_rec))
    f_in, f_rec, f_z = np.zeros((n_b, n_rec, n_in)), np.zeros((n_b, n_rec, n_rec)), np.zeros((n_b, n_rec))
    g_in, g_rec, g_out = np.zeros_like(w_in), np.zeros((n_rec, n_rec)), np.zeros_like(w_out)
    for t in range(n_t):
        if t > 0:
            eps_in, eps_rec = alpha * eps_in + x[t - 1], alpha * eps_rec + z[t - 1]
        trace_x = alpha * eps_in + x[t] if input_trace_ahead else eps_in
        f_in = kappa * f_in + psi[t][:, :, None] * trace_x[:, None, :]
        f_rec = kappa * f_rec + psi[t][:, :, None] * eps_rec[:, None, :]
        f_z = kappa * f_z + z[t]
        g_in += np.einsum("br,bri->ri", L[t], f_in)
        g_rec += np.einsum("br,bri->ri", L[t], f_rec)
        g_out += err[t].T @ f_z
    return g_in, g_rec, g_out


class PseudoSpike(torch.autograd.Function):
    """The BPTT and RTRL twin's spike, written here (not in the source): z = (v - thr > 0) forward, e-prop's
    pseudo-derivative gamma max(0, 1 - |(v - thr) / thr|) as its derivative in backward and in jvp."""

    @staticmethod
    def forward(ctx, v, thr, gamma):
        ctx.save_for_backward(v)
        ctx.save_for_forward(v)
        ctx.thr, ctx.gamma = thr, gamma
        return (v > thr).float().to(v.dtype)

    @staticmethod
    def backward(ctx, grad_output):
        v, = ctx.saved_tensors
        return grad_output * ctx.gamma * torch.relu(1 - torch.abs((v - ctx.thr) / ctx.thr)), None, None

    @staticmethod
    def jvp(ctx, v_t, thr_t, gamma_t):
        v, = ctx.saved_tensors
        return v_t * ctx.gamma * torch.relu(1 - torch.abs((v - ctx.thr) / ctx.thr))


def srnn_step(model):
    """One step of SRNN.forward's loop as a step of mg.bptt's runners (state (v, z, vo), output vo), its spike the
    PseudoSpike above and its reset `- z.detach() thr`: the network BPTT and RTRL differentiate."""
    mask = 1 - torch.eye(model.n_rec, model.n_rec)

    def step(x_t, state):
        v, z, vo = state
        v = model.alpha * v + torch.mm(z, (model.w_rec * mask).t()) + torch.mm(x_t, model.w_in.t()) \
            - z.detach() * model.thr
        z = PseudoSpike.apply(v, model.thr, model.gamma)
        vo = model.kappa * vo + torch.mm(z, model.w_out.t()) + model.b_o
        return vo, (v, z, vo)
    return step


def cross_entropy_sum(vo, y):
    """sum over the batch of -y . log softmax(vo): its gradient in vo is softmax(vo) - y, e-prop's err."""
    return -(y * F.log_softmax(vo, dim=1)).sum()


def eprop_setup(seed, w_rec_zero, t_crop=0, n_in=3, n_rec=4, n_out=2, n_t=14, n_b=3):
    """An SRNN (float32, as models.py makes it), made-up input spikes and one-hot targets as do_epoch builds them;
    no membrane value within 1e-3 of the threshold (so float32 and float64 runs spike alike)."""
    torch.manual_seed(seed)
    model = SRNN(n_in, n_rec, n_out, n_t, 0.6, 20e-3, 10e-3, 0.0, 0.3, 1e-3, "LIF", True, (3.0, 0.6, 0.5),
                 (1.0, 1.0, 1.0), t_crop, False, False, torch.device("cpu"))
    if w_rec_zero:
        model.w_rec.data = np.zeros((n_rec, n_rec), np.float32)
    rng = np.random.default_rng(seed)
    x = torch.tensor((rng.random((n_t, n_b, n_in)) < 0.4).astype(np.float32))
    label = torch.tensor(rng.integers(0, n_out, (n_b, n_t)))
    targets = torch.zeros(label.shape).unsqueeze(-1).expand(-1, -1, n_out).scatter(2, label.unsqueeze(-1), 1.0) \
        .permute(1, 0, 2)
    weights = [arr(p) * ((1 - np.eye(n_rec)) if p is model.w_rec else 1) for p in (model.w_in, model.w_rec,
                                                                                     model.w_out)]
    v, z, _ = np_srnn_forward(arr(x), *weights, model.alpha, model.kappa, 0.6, 0.0)
    assert z.sum() >= 8 and np.abs(v[1:] - 0.6).min() > 1e-3
    return model, x, targets, weights


def eprop_args(model, x, targets, weights, **kw):
    return (arr(x), arr(targets), *weights, model.alpha, model.kappa, model.thr, model.b_o, model.gamma), kw


def test_srnn_forward_matches_numpy_and_zeroes_the_recurrent_diagonal_in_place():
    """SRNN.forward under no_grad, as do_epoch runs it: `self.w_rec *= (1 - eye)` zeroes the Parameter's diagonal in
    place (the same Parameter, still requiring grad); the states written into preallocated tensors (`self.v[t+1] =
    ...`), z = (v > thr).float() and yo = softmax(vo) against numpy."""
    model, x, targets, weights = eprop_setup(10, False)
    w_rec = model.w_rec
    assert np.abs(np.diag(arr(w_rec))).min() > 0
    with torch.no_grad():
        yo = model(x, targets, False)
    assert model.w_rec is w_rec and w_rec.requires_grad and np.all(np.diag(arr(w_rec)) == 0)
    v, z, vo = np_srnn_forward(arr(x), *weights, model.alpha, model.kappa, 0.6, 0.0)
    np.testing.assert_allclose(arr(model.v), v, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(arr(model.z), z)
    assert model.z.dtype == torch.float32
    np.testing.assert_allclose(arr(yo), np_softmax(vo), rtol=1e-5, atol=1e-7)
    assert repr(model) == "SRNN (3 -> 4 -> 2) "


def test_the_grouped_conv1d_traces_are_leaky_sums_and_the_two_slices_differ_by_a_step():
    """grads_batch's traces: F.conv1d with the kernel [alpha^(n_t-1), ..., alpha, 1], padding n_t and one group per
    channel is, at output index k, sum_{s <= k-1} alpha^(k-1-s) x[s]; the slice [:, :, 1:n_t+1] is therefore
    sum_{s <= t} (x[t] included), [:, :, :n_t] is sum_{s < t}, both against numpy's recursion."""
    rng = np.random.default_rng(11)
    n_t, alpha = 9, 0.8
    x = torch.tensor(rng.random((n_t, 2, 3)).astype(np.float32))
    alpha_conv = torch.tensor([alpha ** (n_t-i-1) for i in range(n_t)]).float().view(1,1,-1)
    full = F.conv1d(x.permute(1,2,0), alpha_conv.expand(3,-1,-1), padding=n_t, groups=3)
    assert full.shape == (2, 3, 2 * n_t + 1)
    upto = np.zeros((n_t, 2, 3))
    acc = np.zeros((2, 3))
    for t in range(n_t):
        acc = alpha * acc + arr(x)[t]
        upto[t] = acc
    before = np.concatenate([np.zeros((1, 2, 3)), upto[:-1]])
    np.testing.assert_allclose(arr(full[:, :, 1:n_t+1]).transpose(2, 0, 1), upto, rtol=1e-5)
    np.testing.assert_allclose(arr(full[:, :, :n_t]).transpose(2, 0, 1), before, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("w_rec_zero,t_crop", [(True, 0), (False, 0), (False, 5)])
def test_grads_batch_is_eprop_with_the_input_trace_one_step_ahead(w_rec_zero, t_crop):
    """SRNN.grads_batch (forward with do_training=True): the three .grad arrays against numpy's e-prop recursion,
    the input eligibility trace taken as models.py's slice takes it (x[t] already in the trace at t)."""
    model, x, targets, weights = eprop_setup(12, w_rec_zero, t_crop)
    with torch.no_grad():
        model(x, targets, True)
    args, _ = eprop_args(model, x, targets, weights)
    expected = np_eprop(*args, input_trace_ahead=True, t_crop=t_crop)
    for p, g in zip((model.w_in, model.w_rec, model.w_out), expected):
        assert isinstance(p.grad, np.ndarray) and p.grad.dtype == np.float32
        np.testing.assert_allclose(p.grad, g, rtol=2e-5, atol=2e-6 * np.abs(g).max())
    assert np.abs(expected[0]).max() > 1e-2


def test_without_recurrence_eprop_is_bptt_but_the_sources_input_trace_runs_a_step_ahead():
    """The paper's claim (Bellec et al. 2020): with no recurrent weights (and the reset not differentiated) e-prop's
    gradient is BPTT's. Numpy's e-prop and numpy's BPTT agree to rounding for all three matrices (the recurrent one's
    off-diagonal at W_rec = 0). grads_batch agrees for W_out and W_rec, not for W_in: its input trace includes x[t]
    at step t, one step before x[t] reaches the membrane (the source's, in PyTorch too)."""
    model, x, targets, weights = eprop_setup(13, True)
    with torch.no_grad():
        model(x, targets, True)
    args, _ = eprop_args(model, x, targets, weights)
    bptt = np_bptt(*args)
    eprop = np_eprop(*args)
    off = 1 - np.eye(4)
    for e, b, mask in zip(eprop, bptt, (1.0, off, 1.0)):
        np.testing.assert_allclose(e * mask, b, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(model.w_out.grad, bptt[2], rtol=2e-5, atol=1e-6 * np.abs(bptt[2]).max())
    np.testing.assert_allclose(model.w_rec.grad * off, bptt[1], rtol=2e-5, atol=1e-6 * np.abs(bptt[1]).max())
    assert np.abs(model.w_in.grad - bptt[0]).max() > 0.1 * np.abs(bptt[0]).max()


def twin(model):
    """The model's weights as float64 leaves for the BPTT and RTRL twins."""
    return types.SimpleNamespace(**{k: getattr(model, k) for k in ("n_rec", "alpha", "kappa", "thr", "b_o", "gamma")},
                                 w_in=torch.tensor(arr(model.w_in), requires_grad=True),
                                 w_rec=torch.tensor(arr(model.w_rec), requires_grad=True),
                                 w_out=torch.tensor(arr(model.w_out), requires_grad=True))


@pytest.mark.parametrize("learner", ["tbptt", "rtrl"])
def test_bptt_and_rtrl_runners_give_numpys_bptt_and_eprop_only_approximates_it_with_recurrence(float64, learner):
    """The same network as a step of mg.bptt's runners (PseudoSpike's pseudo-derivative, the reset detached, the
    summed cross-entropy at steps 1..n_t-1): tbptt(k1 = k2 = n) backpropagates through the whole sequence and rtrl
    carries dh/dtheta forward, both numpy's BPTT to rounding, with recurrent weights. e-prop, written by hand beside
    them, drops the recurrent paths of the learning signal: not BPTT's gradient then (W_out's still is)."""
    model, x, targets, weights = eprop_setup(19, False)
    net = twin(model)
    n_b = x.shape[1]
    state = (torch.zeros(n_b, 4), torch.zeros(n_b, 4), torch.zeros(n_b, 2))
    inputs = list(torch.tensor(arr(x))[:-1])
    ys = list(torch.tensor(arr(targets))[1:])
    params = [net.w_in, net.w_rec, net.w_out]
    if learner == "tbptt":
        torch.bptt.tbptt(srnn_step(net), state, inputs, ys, cross_entropy_sum, k1=len(inputs), k2=len(inputs))
    else:
        torch.bptt.rtrl(srnn_step(net), state, inputs, ys, cross_entropy_sum, params, k1=len(inputs))
    args, _ = eprop_args(model, x, targets, weights)
    bptt = np_bptt(*args)
    for p, g in zip(params, bptt):
        np.testing.assert_allclose(p.grad, g, rtol=1e-10, atol=1e-12)
    eprop = np_eprop(*args)
    np.testing.assert_allclose(eprop[2], bptt[2], rtol=1e-12)
    assert np.abs(eprop[0] - bptt[0]).max() > 0.02 * np.abs(bptt[0]).max()
    assert np.abs(eprop[1] - bptt[1]).max() > 0.5 * np.abs(bptt[1]).max()


def test_grad_iadd_of_a_tensor_is_the_documented_numpy_error():
    """models.py's `self.w_in.grad += tensor`: .grad is a numpy array here, and numpy's in-place add refuses an
    operand that opts out of ufuncs (docs/pytorch.md); `p.grad = p.grad + t` (the port's) stores an array again."""
    p = nn.Parameter(torch.ones(2, 2))
    p.grad = torch.zeros_like(p)
    assert isinstance(p.grad, np.ndarray)
    with pytest.raises(TypeError, match="does not support ufuncs"):
        p.grad += torch.ones(2, 2)
    p.grad = p.grad + torch.ones(2, 2)
    assert isinstance(p.grad, np.ndarray) and p.grad.tolist() == [[1.0, 1.0], [1.0, 1.0]]


def test_main_trains_the_cue_accumulation_task_with_eprop_and_the_loss_falls():
    """main (argparse, setup's DataLoaders over the cue-accumulation dataset, train's Adam over the e-prop gradients,
    do_epoch's BCE loss and score on the last t_interval steps) with small sizes: the printed training loss falls.
    `--visualize ''`: the flags are `type=bool`, so any non-empty string (even 'False') is True (the source's)."""
    argv = ["--n-rec", "12", "--epochs", "6", "--train-len", "40", "--test-len", "10", "--batch-size", "10",
            "--test-batch-size", "10", "--lr", "0.05", "--tau-mem", "0.05", "--w-init-gain", "1.0", "0.2", "0.5",
            "--visualize", ""]
    model, printed = quietly(main, argv)
    train_losses = [float(line.split("loss: ")[1]) for line in printed.splitlines() if "while training" in line]
    assert "=== Model ===" in printed and "SRNN (8 -> 12 -> 2)" in printed and len(train_losses) == 6
    assert "Score on test set" in printed
    assert min(train_losses[-2:]) < 0.9 * train_losses[0]
    assert np.all(np.diag(arr(model.w_rec)) == 0)


# ==== 4. gyyang/nn-brain, RNN_tutorial.ipynb (100931c26955cf21995776a31f8c3ef5b6df4e47) =============================

class CTRNN(nn.Module):
    """Continuous-time RNN.

    Parameters:
        input_size: Number of input neurons
        hidden_size: Number of hidden neurons
        dt: discretization time step in ms.
            If None, dt equals time constant tau

    Inputs:
        input: tensor of shape (seq_len, batch, input_size)
        hidden: tensor of shape (batch, hidden_size), initial hidden activity
            if None, hidden is initialized through self.init_hidden()

    Outputs:
        output: tensor of shape (seq_len, batch, hidden_size)
        hidden: tensor of shape (batch, hidden_size), final hidden activity
    """

    def __init__(self, input_size, hidden_size, dt=None, **kwargs):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.tau = 100
        if dt is None:
            alpha = 1
        else:
            alpha = dt / self.tau
        self.alpha = alpha
        self.oneminusalpha = 1 - alpha

        self.input2h = nn.Linear(input_size, hidden_size)
        self.h2h = nn.Linear(hidden_size, hidden_size)

    def init_hidden(self, input_shape):
        batch_size = input_shape[1]
        return torch.zeros(batch_size, self.hidden_size)

    def recurrence(self, input, hidden):
        """Run network for one time step.

        Inputs:
            input: tensor of shape (batch, input_size)
            hidden: tensor of shape (batch, hidden_size)

        Outputs:
            h_new: tensor of shape (batch, hidden_size),
                network activity at the next time step
        """
        pre_activation = self.input2h(input) + self.h2h(hidden)
        h_new = torch.relu(hidden * self.oneminusalpha +
                           pre_activation * self.alpha)
        return h_new

    def forward(self, input, hidden=None):
        """Propogate input through the network."""

        # If hidden activity is not provided, initialize it
        if hidden is None:
            hidden = self.init_hidden(input.shape).to(input.device)

        # Loop through time
        output = []
        steps = range(input.size(0))
        for i in steps:
            hidden = self.recurrence(input[i], hidden)
            output.append(hidden)

        # Stack together output from all time steps
        output = torch.stack(output, dim=0)  # (seq_len, batch, hidden_size)
        return output, hidden


class RNNNet(nn.Module):
    """Recurrent network model.

    Parameters:
        input_size: int, input size
        hidden_size: int, hidden size
        output_size: int, output size

    Inputs:
        x: tensor of shape (Seq Len, Batch, Input size)

    Outputs:
        out: tensor of shape (Seq Len, Batch, Output size)
        rnn_output: tensor of shape (Seq Len, Batch, Hidden size)
    """
    def __init__(self, input_size, hidden_size, output_size, **kwargs):
        super().__init__()

        # Continuous time RNN
        self.rnn = CTRNN(input_size, hidden_size, **kwargs)

        # Add an output layer
        self.fc = nn.Linear(hidden_size, output_size)

    def forward(self, x):
        rnn_output, _ = self.rnn(x)
        out = self.fc(rnn_output)
        return out, rnn_output


# neurogym, the few names the notebook uses (not installed; `import gym`, `import neurogym as ngym`): a stand-in
# written here for spaces.Box/Discrete (shape, n, name), TrialEnv's trial builders (add_period, add_ob, add_randn,
# set_groundtruth, in_period, new_trial, reset, ob, gt, rng) and ngym.Dataset's time-major batches of concatenated
# trials (inputs (seq_len, batch, obs), target (seq_len, batch)), as the notebook's printed shapes show them

class _Box:
    def __init__(self, low, high, shape, dtype=np.float32, name=None):
        self.shape, self.name = shape, name


class _Discrete:
    def __init__(self, n, name=None):
        self.n, self.shape, self.name = n, (), name


spaces = types.SimpleNamespace(Box=_Box, Discrete=_Discrete)


class _TrialEnv:
    def __init__(self, dt=100):
        self.dt = dt
        self.rng = np.random.RandomState(0)
        self.performance = 0

    def add_period(self, periods):
        self.start_ind, self.end_ind, t = {}, {}, 0
        for period in periods:
            self.start_ind[period] = t
            t += int(self.timing[period] // self.dt)
            self.end_ind[period] = t
        self.ob = np.zeros((t,) + self.observation_space.shape, dtype=np.float32)
        self.gt = np.zeros(t, dtype=int)

    def _cells(self, period, where):
        periods = [period] if isinstance(period, str) else period
        cols = self.observation_space.name[where]
        cols = [cols] if isinstance(cols, int) else list(cols)
        return [(slice(self.start_ind[p], self.end_ind[p]), cols) for p in periods]

    def add_ob(self, value, period=None, where=None):
        for rows, cols in self._cells(period, where):
            self.ob[rows, cols] += value

    def add_randn(self, mu=0, sigma=1, period=None, where=None):
        for rows, cols in self._cells(period, where):
            self.ob[rows, cols] += mu + sigma * self.rng.randn(rows.stop - rows.start, len(cols))

    def set_groundtruth(self, value, period=None, where=None):
        self.gt[self.start_ind[period]:self.end_ind[period]] = self.action_space.name[where][value]

    def new_trial(self, **kwargs):
        self.trial = self._new_trial(**kwargs)
        return self.trial

    def reset(self, no_step=False):
        self.new_trial()


class _Dataset:
    def __init__(self, env, batch_size=1, seq_len=None):
        self.env, self.batch_size, self.seq_len = env, batch_size, seq_len

    def __call__(self):
        inputs = np.zeros((self.seq_len, self.batch_size) + self.env.observation_space.shape)
        target = np.zeros((self.seq_len, self.batch_size))
        for b in range(self.batch_size):
            t = 0
            while t < self.seq_len:
                self.env.new_trial()
                n = min(len(self.env.gt), self.seq_len - t)
                inputs[t:t + n, b], target[t:t + n, b] = self.env.ob[:n], self.env.gt[:n]
                t += n
        return inputs, target


ngym = types.SimpleNamespace(TrialEnv=_TrialEnv, Dataset=_Dataset)


class PerceptualDecisionMaking(ngym.TrialEnv):
    """Two-alternative forced choice task in which the subject has to
    integrate two stimuli to decide which one is higher on average.
    A noisy stimulus is shown during the stimulus period. The strength (
    coherence) of the stimulus is randomly sampled every trial. Because the
    stimulus is noisy, the agent is encouraged to integrate the stimulus
    over time.
    Args:
        cohs: list of float, coherence levels controlling the difficulty of
            the task
        sigma: float, input noise level
        dim_ring: int, dimension of ring input and output
    """
    metadata = {
        'paper_link': 'https://www.jneurosci.org/content/12/12/4745',
        'paper_name': '''The analysis of visual motion: a comparison of
        neuronal and psychophysical performance''',
        'tags': ['perceptual', 'two-alternative', 'supervised']
    }

    def __init__(self, dt=100, rewards=None, timing=None, cohs=None,
                 sigma=1.0, dim_ring=2):
        super().__init__(dt=dt)
        if cohs is None:
            self.cohs = np.array([0, 6.4, 12.8, 25.6, 51.2])
        else:
            self.cohs = cohs
        self.sigma = sigma / np.sqrt(self.dt)  # Input noise

        # Rewards
        self.rewards = {'abort': -0.1, 'correct': +1., 'fail': 0.}
        if rewards:
            self.rewards.update(rewards)

        self.timing = {
            'fixation': 100,
            'stimulus': 2000,
            'delay': 0,
            'decision': 100}
        if timing:
            self.timing.update(timing)

        self.abort = False

        self.theta = np.linspace(0, 2*np.pi, dim_ring+1)[:-1]
        self.choices = np.arange(dim_ring)

        name = {'fixation': 0, 'stimulus': range(1, dim_ring+1)}
        self.observation_space = spaces.Box(
            -np.inf, np.inf, shape=(1+dim_ring,), dtype=np.float32, name=name)
        name = {'fixation': 0, 'choice': range(1, dim_ring+1)}
        self.action_space = spaces.Discrete(1+dim_ring, name=name)

    def _new_trial(self, **kwargs):
        """
        new_trial() is called when a trial ends to generate the next trial.
        The following variables are created:
            durations, which stores the duration of the different periods (in
            the case of perceptualDecisionMaking: fixation, stimulus and
            decision periods)
            ground truth: correct response for the trial
            coh: stimulus coherence (evidence) for the trial
            obs: observation
        """
        # Trial info
        trial = {
            'ground_truth': self.rng.choice(self.choices),
            'coh': self.rng.choice(self.cohs),
        }
        trial.update(kwargs)

        coh = trial['coh']
        ground_truth = trial['ground_truth']
        stim_theta = self.theta[ground_truth]

        # Periods
        self.add_period(['fixation', 'stimulus', 'delay', 'decision'])

        # Observations
        self.add_ob(1, period=['fixation', 'stimulus', 'delay'], where='fixation')
        stim = np.cos(self.theta - stim_theta) * (coh/200) + 0.5
        self.add_ob(stim, 'stimulus', where='stimulus')
        self.add_randn(0, self.sigma, 'stimulus', where='stimulus')

        # Ground truth
        self.set_groundtruth(ground_truth, period='decision', where='choice')

        return trial

    # differs: `_step` (the reinforcement-learning interface: rewards per action) is left out; supervised training
    # and the evaluation below read only `ob` and `gt`


def train_model(net, dataset, output_size, steps):  # differs: `output_size` a global of the notebook; 1000 steps
    """Simple helper function to train the model.

    Args:
        net: a pytorch nn.Module module
        dataset: a dataset object that when called produce a (input, target output) pair

    Returns:
        net: network object after training
    """
    # Use Adam optimizer
    optimizer = optim.Adam(net.parameters(), lr=0.01)
    criterion = nn.CrossEntropyLoss()

    running_loss = 0
    running_acc = 0  # noqa: F841
    # Loop over training batches
    print('Training network...')
    for i in range(steps):  # differs: range(1000)
        # Generate input and target, convert to pytorch tensor
        inputs, labels = dataset()
        inputs = torch.from_numpy(inputs).type(torch.float)
        labels = torch.from_numpy(labels.flatten()).type(torch.long)

        # boiler plate pytorch training:
        optimizer.zero_grad()   # zero the gradient buffers
        output, _ = net(inputs)
        output = output.view(-1, output_size)
        loss = criterion(output, labels)
        loss.backward()
        optimizer.step()    # Does the update

        # Compute the running loss every 100 steps
        running_loss += loss.item()
        if i % 100 == 99:
            running_loss /= 100
            print('Step {}, Loss {:0.4f}'.format(i+1, running_loss))
            running_loss = 0
    return net


def run_trained_network(net, dataset, num_trial):  # differs: the notebook's evaluation cell, as a function
    # Reset environment
    env = dataset.env
    env.reset(no_step=True)

    # Initialize variables for logging
    perf = 0  # noqa: F841
    activity_dict = {}  # recording activity
    trial_infos = {}  # recording trial information

    for i in range(num_trial):  # differs: num_trial = 100
        # Neurogym boiler plate
        # Sample a new trial
        trial_info = env.new_trial()
        # Observation and groud-truth of this trial
        ob, gt = env.ob, env.gt
        # Convert to numpy, add batch dimension to input
        inputs = torch.from_numpy(ob[:, np.newaxis, :]).type(torch.float)

        # Run the network for one trial
        # inputs (SeqLen, Batch, InputSize)
        # action_pred (SeqLen, Batch, OutputSize)
        action_pred, rnn_activity = net(inputs)

        # Compute performance
        # First convert back to numpy
        action_pred = action_pred.detach().numpy()[:, 0, :]
        # Read out final choice at last time step
        choice = np.argmax(action_pred[-1, :])
        # Compare to ground truth
        correct = choice == gt[-1]

        # Record activity, trial information, choice, correctness
        rnn_activity = rnn_activity[:, 0, :].detach().numpy()
        activity_dict[i] = rnn_activity
        trial_infos[i] = trial_info  # trial_info is a dictionary
        trial_infos[i].update({'correct': correct})

    # Concatenate activity for PCA
    activity = np.concatenate(list(activity_dict[i] for i in range(num_trial)), axis=0)
    print('Shape of the neural activity: (Time points, Neurons): ', activity.shape)

    # Print informations for sample trials
    for i in range(5):
        print('Trial ', i, trial_infos[i])

    print('Average performance', np.mean([val['correct'] for val in trial_infos.values()]))
    return activity, trial_infos  # differs: the cell's names, returned


def np_ctrnn(x, w_ih, b_ih, w_hh, b_hh, w_fc, b_fc, alpha):
    """CTRNN + readout in numpy: h_t = relu((1 - alpha) h_(t-1) + alpha (W_ih x_t + b_ih + W_hh h_(t-1) + b_hh)),
    out_t = W_fc h_t + b_fc, h_0 = 0. Returns (out, hs)."""
    h = np.zeros((x.shape[1], w_hh.shape[0]))
    hs = []
    for t in range(x.shape[0]):
        h = np.maximum(0.0, (1 - alpha) * h + alpha * (x[t] @ w_ih.T + b_ih + h @ w_hh.T + b_hh))
        hs.append(h)
    hs = np.stack(hs)
    return hs @ w_fc.T + b_fc, hs


CTRNN_NAMES = ("rnn.input2h.weight", "rnn.input2h.bias", "rnn.h2h.weight", "rnn.h2h.bias", "fc.weight", "fc.bias")


def np_ctrnn_loss(params, x, labels, alpha, per_step=False):
    """nn.CrossEntropyLoss over output.view(-1, output_size) against labels.flatten() (the mean over time and
    batch), or with `per_step` the sum over steps of each step's mean over the batch (rtrl's sum of step losses)."""
    out, _ = np_ctrnn(x, *(params[k] for k in CTRNN_NAMES), alpha)
    logp = np_log_softmax(out)
    nll = -np.take_along_axis(logp, labels[..., None], -1)[..., 0]
    return nll.mean(1).sum() if per_step else nll.mean()


@pytest.mark.parametrize("dt", [20, None])
def test_ctrnn_steps_are_numpys_euler_discretisation(float64, dt):
    """CTRNN: h <- relu((1 - dt/tau) h + dt/tau (W_in x + W_h h + b)), tau = 100 (alpha 1 without dt), stacked over
    time; RNNNet's readout on every step; against numpy."""
    net = RNNNet(input_size=3, hidden_size=5, output_size=3, dt=dt)
    x = torch.rand(7, 4, 3)
    out, rnn_output = net(x)
    params = {k: arr(v) for k, v in net.named_parameters()}
    expected_out, hs = np_ctrnn(arr(x), *(params[k] for k in CTRNN_NAMES), 1 if dt is None else dt / 100)
    assert out.shape == (7, 4, 3) and rnn_output.shape == (7, 4, 5) and net.rnn.alpha == (1 if dt is None else 0.2)
    np.testing.assert_allclose(arr(rnn_output), hs, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(arr(out), expected_out, rtol=1e-12, atol=1e-14)


def test_ctrnn_cross_entropy_gradients_against_central_differences(float64):
    """The training step's loss, CrossEntropyLoss(output.view(-1, output_size), labels.flatten()), and every
    parameter's gradient against central differences of numpy's loss."""
    net = RNNNet(input_size=3, hidden_size=5, output_size=3, dt=20)
    x = torch.rand(6, 4, 3) * 2
    labels = np.random.default_rng(8).integers(0, 3, (6, 4))
    output, _ = net(x)
    loss = nn.CrossEntropyLoss()(output.view(-1, 3), torch.from_numpy(labels.flatten()).type(torch.long))
    loss.backward()
    base = {k: arr(v) for k, v in net.named_parameters()}
    np.testing.assert_allclose(loss.item(), np_ctrnn_loss(base, arr(x), labels, 0.2), rtol=1e-12)
    grads = dict(net.named_parameters())
    for name in CTRNN_NAMES:
        idx = [tuple(i) for i in np.ndindex(base[name].shape)][:6]
        numeric = central(lambda value: np_ctrnn_loss({**base, name: value}, arr(x), labels, 0.2), base[name], idx)
        np.testing.assert_allclose([grads[name].grad[i] for i in idx], numeric, rtol=1e-6, atol=1e-9, err_msg=name)


def test_rtrl_over_the_ctrnn_recurrence_is_the_gradient_of_the_summed_step_losses(float64):
    """mg.bptt.rtrl with CTRNN.recurrence and the readout as the step and one update at the end: the gradient of the
    sum over steps of CrossEntropyLoss (each a mean over the batch), against central differences of numpy's."""
    net = RNNNet(input_size=3, hidden_size=4, output_size=3, dt=20)
    x = torch.rand(5, 2, 3) * 2
    labels = np.random.default_rng(9).integers(0, 3, (5, 2))

    def step(x_t, hidden):
        hidden = net.rnn.recurrence(x_t, hidden)
        return net.fc(hidden), hidden

    result = torch.bptt.rtrl(step, torch.zeros(2, 4), list(x), list(torch.from_numpy(labels)),
                             nn.CrossEntropyLoss(), net.named_parameters(), k1=5)
    base = {k: arr(v) for k, v in net.named_parameters()}
    np.testing.assert_allclose(result.losses[0], np_ctrnn_loss(base, arr(x), labels, 0.2, per_step=True),
                               rtol=1e-12)
    grads = dict(net.named_parameters())
    for name in CTRNN_NAMES:
        idx = [tuple(i) for i in np.ndindex(base[name].shape)][:5]
        numeric = central(lambda value: np_ctrnn_loss({**base, name: value}, arr(x), labels, 0.2, per_step=True),
                          base[name], idx)
        np.testing.assert_allclose([grads[name].grad[i] for i in idx], numeric, rtol=1e-6, atol=1e-9, err_msg=name)


def test_perceptual_decision_trials_and_the_dataset_stand_in():
    """The notebook's PerceptualDecisionMaking on the stand-in TrialEnv: fixation input 1 until the decision period,
    the two stimulus channels cos(theta - theta_gt) coh/200 + 0.5 plus noise, the ground truth 1 + choice at the
    decision step only; the dataset's time-major batches (seq_len, batch, 3) and (seq_len, batch)."""
    env = PerceptualDecisionMaking(dt=100, timing={'stimulus': 500}, sigma=0.0)
    trial = env.new_trial(ground_truth=1, coh=51.2)
    assert env.ob.shape == (7, 3) and env.gt.tolist() == [0, 0, 0, 0, 0, 0, 2]
    np.testing.assert_array_equal(env.ob[:, 0], [1, 1, 1, 1, 1, 1, 0])
    np.testing.assert_allclose(env.ob[1:6, 1:], np.tile([0.5 - 0.256, 0.5 + 0.256], (5, 1)), rtol=1e-6)
    assert trial == {'ground_truth': 1, 'coh': 51.2}
    inputs, target = ngym.Dataset(env, batch_size=4, seq_len=20)()
    assert inputs.shape == (20, 4, 3) and target.shape == (20, 4)
    assert set(np.unique(target)) <= {0.0, 1.0, 2.0} and (target > 0).sum() >= 8


def test_train_model_lowers_the_running_loss_and_the_network_decides():
    """train_model as written (Adam, CrossEntropyLoss over every step, running loss printed every 100 steps) on the
    short task: the printed running loss falls; the notebook's evaluation loop then runs trial by trial (batch 1)
    and the average performance on the easy coherences is above chance."""
    env = PerceptualDecisionMaking(dt=100, timing={'stimulus': 500}, cohs=np.array([25.6, 51.2]))
    dataset = ngym.Dataset(env, batch_size=16, seq_len=21)
    net = RNNNet(input_size=3, hidden_size=16, output_size=3, dt=env.dt)
    net, printed = quietly(train_model, net, dataset, 3, steps=300)
    losses = [float(line.split("Loss ")[1]) for line in printed.splitlines() if line.startswith("Step")]
    assert len(losses) == 3 and losses[-1] < 0.6 * losses[0]
    (activity, trial_infos), printed = quietly(run_trained_network, net, dataset, 40)
    assert activity.shape == (40 * 7, 16) and "Average performance" in printed
    assert np.mean([val['correct'] for val in trial_infos.values()]) >= 0.7


# ==== 5. Long unrolls ===============================================================================================

def test_a_100000_step_unroll_backpropagates_through_the_whole_chain(float64):
    """run_snn's synaptic current over 100,000 steps, syn <- alpha syn + h1[:, t] with h1 = w x (300,000 recorded
    ops in one chain): backward walks it without recursion and gives d syn_T / dw = sum_t alpha^(T-1-t) x_t."""
    T, alpha = 100_000, float(np.exp(-1e-3 / 5e-3))
    x = np.random.default_rng(15).random(T)
    w = torch.tensor(0.7, requires_grad=True)
    h1 = w * torch.tensor(x)
    syn = torch.zeros(())
    for t in range(T):
        syn = alpha * syn + h1[t]
    syn.backward()
    powers = alpha ** np.arange(T - 1, -1, -1)
    np.testing.assert_allclose(float(syn), 0.7 * np.dot(powers, x), rtol=1e-10)
    np.testing.assert_allclose(w.grad, np.dot(powers, x), rtol=1e-10)


def lif_memory_after(steps, chunk, w_in, xs):
    """Traced memory held after `steps` lif_step steps (inputs drawn from xs), the state detached every `chunk`
    steps (TBPTT by hand, the way SpyTorch-style loops cut a long recording), no backward."""
    import tracemalloc
    p = LIFParameters()
    state = LIFState(torch.zeros(4, 8), torch.zeros(4, 8), torch.zeros(4, 8))
    w_rec = torch.zeros(8, 8)
    tracemalloc.start()
    try:
        held = []
        for t in range(steps):
            z, state = lif_step(xs[t % len(xs)], state, w_in, w_rec, p)
            if chunk and (t + 1) % chunk == 0:
                state = LIFState(*(s.detach() for s in state))
            if t + 1 in (steps // 3, steps):
                gc.collect()
                held.append(tracemalloc.get_traced_memory()[0])
        return held
    finally:
        tracemalloc.stop()


def test_detaching_the_state_every_chunk_keeps_the_held_graph_bounded():
    """A long lif_step recording that requires grad (w_in a leaf): cut every 50 steps by `detach()`, the memory held
    at step 1,200 is about that at step 400 (one chunk's graph at most); never cut, it grows with the steps
    (the recorded history of every step is kept for a backward that could still come), as in PyTorch."""
    w_in = torch.randn(8, 5, requires_grad=True)
    xs = [torch.tensor((np.random.default_rng(k).random((4, 5)) < 0.3).astype(np.float32)) for k in range(10)]
    cut = lif_memory_after(1200, 50, w_in, xs)
    kept = lif_memory_after(1200, 0, w_in, xs)
    assert cut[1] < 1.2 * cut[0] + 50_000
    assert kept[1] > 2.2 * kept[0] and kept[1] > 5 * cut[1]
