"""Porting, round 32: the `Examples::` blocks (and the optimisers' algorithm blocks) of PyTorch's own API
documentation for the names the library added in its latest day of work: the schedules `SequentialLR`,
`ChainedScheduler`, `OneCycleLR`, `CyclicLR`, `CosineAnnealingWarmRestarts`, `PolynomialLR` and `MultiplicativeLR`;
the optimisers `NAdam`, `RAdam`, `Adamax`, `Rprop` and `ASGD`; `nn.RMSNorm` and `nn.GroupNorm` (so `F.rms_norm` and
`F.group_norm`, which they call); and `torch.prod`, `cumprod`, `diff`, `outer`/`ger`, `addmm`, `addcmul`, `addcdiv`,
`logaddexp`, `count_nonzero`, `nansum`, `isclose`, `take_along_dim`, `maximum` and `minimum`. Each example is written
as its docstring writes it, with only the imports changed (`import microgradseq as torch`, `from microgradseq import
nn`); `# differs:` marks each other line and why (the stand-ins for names a docstring leaves undefined: `optimizer`,
`self.opt`, `train(...)`, `validate(...)`, `train_batch(...)`, `data_loader`, `T_0`, `T_mult`). Then what the
example implies is checked: shapes, dtypes, the values the docs print (within print precision), and values from
numpy written here or by hand (the schedules' rates from the formulas their docstrings state, the optimisers'
updates from their algorithm blocks, the norms from their equations), never from the library's own output.
Random examples are checked for shapes, dtypes and closed-form relations only. Every source was found in the index
(pytorch/pytorch), none written from memory; the index keeps one revision of each file:

- torch/optim/lr_scheduler.py at 91a8950d1b07074bdd6a13051956e8c470d17f83: `MultiplicativeLR`, `SequentialLR`,
  `PolynomialLR`, `ChainedScheduler`, `CyclicLR`, `OneCycleLR` and the two examples of
  `CosineAnnealingWarmRestarts.step` (per-batch fractional epochs; interleaved `step(26)`) (8 examples);
- docs/source/optim.rst at 702a5a9d922e9ba09bb5c6e1e9c5b227d44410b2, "How to adjust learning rate": `ExponentialLR`
  after each epoch's batches, and `ExponentialLR` chained with `MultiStepLR` (2);
- the optimisers' docstrings, whose algorithm blocks (or, where the stored revision has none, the update its code
  performs) are written out in numpy here and run step by step against the library in float64 (5):
  torch/optim/nadam.py at f967f7b85f261bd993b18df1ed6d5048bba0cd9c (the block, with weight decay),
  torch/optim/radam.py at 6a57601b5e8f7daad1a6621cb3c95bc046a804b8 (the block: Adam-style and decoupled weight
  decay, `maximize`, the rectification once rho_t > 5), torch/optim/rprop.py at
  4f227b9127206a4bd865bac09aa4a6ec25943fba (the block, sign changes included), torch/optim/adamax.py at
  2d5e8b6dc685208351a64760a08e4bf4cd04cd32 and torch/optim/asgd.py at c17bf4a5e80effaec4932fefc9f9bc0b54b7eef5
  (these two revisions have no block: the update their docstring names, as their code writes it). Each
  docstring's stated defaults are checked too; Adamax's (lr 2e-3, eps 1e-8) from the later
  torch/optim/_multi_tensor/adamax.py at 386e1ebea12a7b284fe24f618afe7015bdfee28b (the same update; the 2d5e8b6
  revision, from before PyTorch changed them, says lr 1e-2 and eps 1e-38);
- torch/nn/modules/normalization.py at f3eef90335dca1b8b1d58e9df340629a5ad2ee1f: `RMSNorm`, `GroupNorm` (its three
  groupings and their stated equivalences with InstanceNorm and LayerNorm) (2);
- torch/_torch_docs.py at a5a2680b1fd6197f34d5193a170a13559e015b42: `addcdiv`, `addcmul`, `addmm`, `outer` (and
  `ger`, "Alias of torch.outer", which has no example of its own), `count_nonzero`, `cumprod` (2 parts), `diff` (4
  calls), `isclose` (2), `logaddexp` (3), `maximum`, `minimum`, `nansum` (1 + 4 calls), `prod` (2), `take_along_dim`
  (2) (27). torch/_tensor_docs.py's entries for the methods (`Tensor.prod`, ...) only point to these functions.
  torch/nn/functional.py's `rms_norm` and `group_norm` have no examples; the modules' examples run them.

Counts: 44 examples tried. 44 ran as written (imports changed; stand-ins only for names the docstrings leave
undefined). 0 met a documented difference. 0 gaps: every value, shape and dtype the examples imply is PyTorch's.

Two of lr_scheduler.py's example comments disagree with PyTorch's own code at the same revision, and the library
follows the code (so the tests check the code's rates, derived by hand from the `get_lr`/`_get_closed_form_lr` of
`ConstantLR`, `ExponentialLR` and `SequentialLR.step` read at that commit): `SequentialLR`'s comment says
lr = 0.9 at epoch 2, but at its milestone `SequentialLR.step` calls `ExponentialLR.step(0)`, whose closed form is
base_lr * gamma ** 0 = 1.0 (0.9 comes at epoch 3); and `ChainedScheduler`'s comment (0.09, 0.081, 0.729, 0.6561,
0.59049 "if epoch >= 4") is off by one step and not constant after epoch 4: ConstantLR's factor and ExponentialLR's
first step (which keeps the rate) give 0.1 at epoch 0, then 0.09, 0.81, 0.729, 0.6561, 0.59049, 0.531441, ...
`torch.nansum(torch.tensor([1., float("nan")]))` prints `1.0` in the docs, a 0-d tensor both there and here.
"""

import math

import numpy as np
import pytest

import microgradseq as torch
import microgradseq.nn.functional as F
from microgradseq import nn
from microgradseq.optim.lr_scheduler import (ChainedScheduler, ConstantLR, CosineAnnealingWarmRestarts,
                                             ExponentialLR, MultiplicativeLR, MultiStepLR, PolynomialLR,
                                             SequentialLR)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(32)


def _np(t):
    return np.asarray(t.detach().numpy(), dtype=np.float64)


# ---- stand-ins for what the schedule docstrings leave undefined ----------------------------------------------------

def _model_and_optimizer(lr, **kwargs):
    model = nn.Linear(3, 1)
    return model, torch.optim.SGD(model.parameters(), lr=lr, **kwargs)


def _stand_ins(model, optimizer):
    """`train(...)` (one optimizer step, so `scheduler.step()` comes after `optimizer.step()`, as PyTorch asks) and
    `validate(...)`."""
    x, y = torch.randn(4, 3), torch.randn(4, 1)

    def train(*args):
        optimizer.zero_grad()
        ((model(x) - y) ** 2).mean().backward()
        optimizer.step()

    def validate(*args):
        with torch.no_grad():
            return ((model(x) - y) ** 2).mean().item()

    return train, validate


def _run_epochs(scheduler, optimizer, epochs, train, validate):
    """The docstrings' loop; the rate each epoch trains with."""
    rates = []
    for epoch in range(epochs):
        rates.append(optimizer.param_groups[0]["lr"])
        train(...)
        validate(...)
        scheduler.step()
    return rates


# ---- torch/optim/lr_scheduler.py ------------------------------------------------------------------------------------

def test_multiplicativelr_example():
    model, optimizer = _model_and_optimizer(0.05)                      # differs: the docstring's optimizer
    train, validate = _stand_ins(model, optimizer)
    lmbda = lambda epoch: 0.95  # noqa: E731
    scheduler = MultiplicativeLR(optimizer, lr_lambda=lmbda)
    rates = _run_epochs(scheduler, optimizer, 100, train, validate)
    # "Multiply the learning rate of each parameter group by the factor given in the specified function"
    assert np.allclose(rates, [0.05 * 0.95 ** epoch for epoch in range(100)], rtol=1e-12, atol=0)


def test_sequentiallr_example():
    model, optimizer = _model_and_optimizer(1.)                        # differs: "Assuming optimizer uses lr = 1."
    train, validate = _stand_ins(model, optimizer)
    opt = optimizer                                                    # differs: the docstring's self.opt
    scheduler1 = ConstantLR(opt, factor=0.1, total_iters=2)
    scheduler2 = ExponentialLR(opt, gamma=0.9)
    scheduler = SequentialLR(opt, schedulers=[scheduler1, scheduler2], milestones=[2])
    rates = _run_epochs(scheduler, optimizer, 100, train, validate)
    # the comment: 0.1, 0.1, 0.9, 0.81, 0.729; PyTorch's code at that revision restarts ExponentialLR at its
    # milestone by step(0), whose closed form is 1.0 * 0.9 ** 0 (see the module docstring)
    assert np.allclose(rates[:2], [0.1, 0.1], rtol=1e-12, atol=0)
    assert np.allclose(rates[2:], [0.9 ** (epoch - 2) for epoch in range(2, 100)], rtol=1e-12, atol=0)
    assert np.allclose(rates[3:5], [0.9, 0.81], rtol=1e-12, atol=0)   # the comment's 0.9, 0.81, one epoch on


def test_polynomiallr_example():
    model, optimizer = _model_and_optimizer(0.001)                     # differs: "Assuming ... lr = 0.001"
    train, validate = _stand_ins(model, optimizer)
    scheduler = PolynomialLR(optimizer, total_iters=4, power=1.0)      # differs: self.opt
    rates = _run_epochs(scheduler, optimizer, 100, train, validate)
    assert np.allclose(rates[:5], [0.001, 0.00075, 0.00050, 0.00025, 0.0], rtol=1e-12, atol=1e-18)
    assert all(rate == 0.0 for rate in rates[4:])                      # "lr = 0.0 if epoch >= 4"


def test_chainedscheduler_example():
    model, optimizer = _model_and_optimizer(1.)                        # differs: "Assuming optimizer uses lr = 1."
    train, validate = _stand_ins(model, optimizer)
    opt = optimizer                                                    # differs: self.opt
    scheduler1 = ConstantLR(opt, factor=0.1, total_iters=2)
    scheduler2 = ExponentialLR(opt, gamma=0.9)
    scheduler = ChainedScheduler([scheduler1, scheduler2])
    rates = _run_epochs(scheduler, optimizer, 100, train, validate)
    # both schedules' factors multiplied: ConstantLR's 0.1 until epoch 2, ExponentialLR's 0.9 per step after its
    # first (which keeps the rate): PyTorch's code; the comment's values are these, one step off (module docstring)
    expected = [(0.1 if epoch < 2 else 1.0) * 0.9 ** epoch for epoch in range(100)]
    assert np.allclose(rates, expected, rtol=1e-12, atol=0)
    assert np.allclose(rates[1:6], [0.09, 0.81, 0.729, 0.6561, 0.59049], rtol=1e-12, atol=0)


def _triangular(iteration, base, peak, step_size):
    """CLR's triangular policy: up from base to peak in step_size iterations, back down in as many, again."""
    cycle = math.floor(1 + iteration / (2 * step_size))
    x = abs(iteration / step_size - 2 * cycle + 1)
    return base + (peak - base) * max(0.0, 1.0 - x)


def test_cycliclr_example():
    model = nn.Linear(3, 1)                                            # differs: the docstring's model
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.CyclicLR(optimizer, base_lr=0.01, max_lr=0.1)
    data = torch.utils.data.TensorDataset(torch.randn(450, 3))          # differs: DataLoader(...), 450 batches
    data_loader = torch.utils.data.DataLoader(data, batch_size=1)
    x = torch.randn(2, 3)

    def train_batch(*args):                                            # differs: the docstring's train_batch
        optimizer.zero_grad()
        model(x).sum().backward()
        optimizer.step()

    rates, momenta = [], []
    for epoch in range(10):
        for batch in data_loader:
            rates.append(optimizer.param_groups[0]["lr"])
            momenta.append(optimizer.param_groups[0]["momentum"])
            train_batch(...)
            scheduler.step()
    assert len(rates) == 4500                                         # a whole cycle (2 x 2000) and a quarter
    expected = [_triangular(i, 0.01, 0.1, 2000) for i in range(4500)]
    assert np.allclose(rates, expected, rtol=0, atol=1e-12)
    assert rates[0] == pytest.approx(0.01) and rates[2000] == pytest.approx(0.1) and rates[4000] == pytest.approx(0.01)
    # momentum cycled inversely, between base_momentum 0.8 (at the peak) and max_momentum 0.9 (at the start)
    expected_momenta = [0.9 - (0.9 - 0.8) * (rate - 0.01) / (0.1 - 0.01) for rate in expected]
    assert np.allclose(momenta, expected_momenta, rtol=0, atol=1e-12)


def _annealed(epoch, base, T_0, T_mult, eta_min=0.0):
    """SGDR, as the docstring states it: T_cur epochs since the last restart, T_i the period it is in."""
    start, period = 0.0, T_0
    while epoch >= start + period:
        start, period = start + period, period * T_mult
    return eta_min + (base - eta_min) * (1 + math.cos(math.pi * (epoch - start) / period)) / 2


def test_cosineannealingwarmrestarts_step_example_fractional_epochs():
    model, optimizer = _model_and_optimizer(0.1)                       # differs: the docstring's optimizer, net
    T_0, T_mult = 5, 2                                                # differs: undefined in the docstring
    scheduler = CosineAnnealingWarmRestarts(optimizer, T_0, T_mult)
    dataloader = [{"inputs": torch.randn(2, 3), "labels": torch.randn(2, 1)} for _ in range(4)]   # differs
    net, criterion = model, nn.MSELoss()                              # differs: the docstring's net, criterion
    iters = len(dataloader)
    rates, epochs = [], []
    for epoch in range(20):
        for i, sample in enumerate(dataloader):
            inputs, labels = sample['inputs'], sample['labels']
            optimizer.zero_grad()
            outputs = net(inputs)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()
            scheduler.step(epoch + i / iters)
            rates.append(optimizer.param_groups[0]["lr"])
            epochs.append(epoch + i / iters)
    assert np.allclose(rates, [_annealed(e, 0.1, 5, 2) for e in epochs], rtol=0, atol=1e-12)
    # restarts at epochs 5 and 15 (periods 5, 10, 20): eta_max again there
    assert rates[epochs.index(5.0)] == pytest.approx(0.1) and rates[epochs.index(15.0)] == pytest.approx(0.1)
    assert scheduler.last_epoch == 19


def test_cosineannealingwarmrestarts_step_example_interleaved():
    model, optimizer = _model_and_optimizer(0.1)                       # differs: the docstring's optimizer
    T_0, T_mult = 5, 2                                                # differs: undefined in the docstring
    scheduler = CosineAnnealingWarmRestarts(optimizer, T_0, T_mult)
    rates = []
    for epoch in range(20):
        scheduler.step()
        rates.append(optimizer.param_groups[0]["lr"])
    assert np.allclose(rates, [_annealed(e, 0.1, 5, 2) for e in range(1, 21)], rtol=0, atol=1e-12)
    scheduler.step(26)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(_annealed(26, 0.1, 5, 2), abs=1e-12)
    scheduler.step()  # scheduler.step(27), instead of scheduler(20)
    assert scheduler.last_epoch == 27
    assert optimizer.param_groups[0]["lr"] == pytest.approx(_annealed(27, 0.1, 5, 2), abs=1e-12)


def _cos_anneal(start, end, pct):
    return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)


def test_onecyclelr_example():
    data = torch.utils.data.TensorDataset(torch.randn(20, 3))           # differs: DataLoader(...), 20 batches
    data_loader = torch.utils.data.DataLoader(data, batch_size=1)
    model = nn.Linear(3, 1)                                            # differs: the docstring's model
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.01, steps_per_epoch=len(data_loader), epochs=10)
    x = torch.randn(2, 3)

    def train_batch(*args):                                            # differs: the docstring's train_batch
        optimizer.zero_grad()
        model(x).sum().backward()

    rates, momenta = [], []
    for epoch in range(10):
        for batch in data_loader:
            rates.append(optimizer.param_groups[0]["lr"])
            momenta.append(optimizer.param_groups[0]["momentum"])
            train_batch(...)
            optimizer.step()
            scheduler.step()
    # 200 steps: from max_lr / div_factor (25) up to max_lr over pct_start (0.3) of them, then down to
    # initial_lr / final_div_factor (1e4), cosine annealing; momentum from 0.95 down to 0.85 and back
    initial, peak = 0.01 / 25, 0.01
    low = initial / 1e4
    up_end = 0.3 * 200 - 1
    expected, expected_m = [], []
    for step in range(200):
        if step <= up_end:
            pct = step / up_end
            expected.append(_cos_anneal(initial, peak, pct))
            expected_m.append(_cos_anneal(0.95, 0.85, pct))
        else:
            pct = (step - up_end) / (199 - up_end)
            expected.append(_cos_anneal(peak, low, pct))
            expected_m.append(_cos_anneal(0.85, 0.95, pct))
    assert np.allclose(rates, expected, rtol=0, atol=1e-15)
    assert np.allclose(momenta, expected_m, rtol=0, atol=1e-12)
    assert rates[0] == pytest.approx(4e-4) and max(rates) == pytest.approx(0.01) and rates[-1] == pytest.approx(4e-8)
    # the loop's last scheduler.step() reaches step total_steps (200), where the cosine goes on past its end
    assert scheduler.last_epoch == 200
    assert optimizer.param_groups[0]["lr"] == pytest.approx(_cos_anneal(peak, low, (200 - up_end) / (199 - up_end)),
                                                            rel=1e-12)


# ---- docs/source/optim.rst, "How to adjust learning rate" -----------------------------------------------------------

def _rst_stand_ins():
    model = nn.Linear(3, 1)                                            # differs: the page's model, dataset, loss_fn
    dataset = [(torch.randn(4, 3), torch.randn(4, 1)) for _ in range(2)]
    return model, dataset, nn.MSELoss()


def test_optim_rst_exponentiallr_after_optimizer_step():
    model, dataset, loss_fn = _rst_stand_ins()
    optim = torch.optim                                                # differs: `from torch import optim`
    optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    scheduler = ExponentialLR(optimizer, gamma=0.9)

    rates = []
    for epoch in range(20):
        rates.append(optimizer.param_groups[0]["lr"])
        for input, target in dataset:
            optimizer.zero_grad()
            output = model(input)
            loss = loss_fn(output, target)
            loss.backward()
            optimizer.step()
        scheduler.step()
    assert np.allclose(rates, [0.01 * 0.9 ** epoch for epoch in range(20)], rtol=1e-12, atol=0)


def test_optim_rst_chained_schedulers():
    model, dataset, loss_fn = _rst_stand_ins()
    optim = torch.optim                                                # differs: `from torch import optim`
    optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    scheduler1 = ExponentialLR(optimizer, gamma=0.9)
    scheduler2 = MultiStepLR(optimizer, milestones=[30, 80], gamma=0.1)

    rates = []
    for epoch in range(20):
        rates.append(optimizer.param_groups[0]["lr"])
        for input, target in dataset:
            optimizer.zero_grad()
            output = model(input)
            loss = loss_fn(output, target)
            loss.backward()
            optimizer.step()
        scheduler1.step()
        scheduler2.step()
    # "each scheduler is applied one after the other on the learning rate obtained by the one preceding it";
    # MultiStepLR's milestones (30, 80) are past these 20 epochs
    assert np.allclose(rates, [0.01 * 0.9 ** epoch for epoch in range(20)], rtol=1e-12, atol=0)


# ---- the optimisers' algorithm blocks, in numpy ---------------------------------------------------------------------

_TARGET = np.array([0.5, -1.0, 2.0, 0.0, 3.0])
_SCALE = np.array([1.0, 4.0, 0.25, 2.0, 0.5])
_START = np.array([1.5, 0.3, -0.7, 0.05, 2.2])


def _grad(theta):
    """Of f(theta) = sum(scale * (theta - target) ** 2), the objective of every optimiser test."""
    return 2 * _SCALE * (theta - _TARGET)


def _run_library(make, steps):
    theta = nn.Parameter(torch.tensor(_START, dtype=torch.float64))
    optimizer = make([theta])
    target, scale = torch.tensor(_TARGET), torch.tensor(_SCALE)
    history = []
    for _ in range(steps):
        optimizer.zero_grad()
        (scale * (theta - target) ** 2).sum().backward()
        optimizer.step()
        history.append(_np(theta).copy())
    return np.array(history), optimizer, theta


def _nadam_block(steps, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, psi=4e-3):
    b1, b2 = betas
    theta, m, v, product = _START.copy(), np.zeros(5), np.zeros(5), 1.0
    history = []
    for t in range(1, steps + 1):
        g = _grad(theta)
        if weight_decay != 0:
            g = g + weight_decay * theta
        mu_t = b1 * (1 - 0.5 * 0.96 ** (t * psi))
        mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * psi))
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g ** 2
        product *= mu_t                                               # prod_{i=1}^{t} mu_i
        m_hat = mu_next * m / (1 - product * mu_next) + (1 - mu_t) * g / (1 - product)
        v_hat = v / (1 - b2 ** t)
        theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
        history.append(theta.copy())
    return np.array(history)


def _radam_block(steps, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decoupled=False, maximize=False):
    b1, b2 = betas
    rho_inf = 2 / (1 - b2) - 1
    theta, m, v = _START.copy(), np.zeros(5), np.zeros(5)
    history, rectified = [], []
    for t in range(1, steps + 1):
        g = -_grad(theta) if maximize else _grad(theta)
        if weight_decay != 0:
            if decoupled:
                theta = theta - lr * weight_decay * theta
            else:
                g = g + weight_decay * theta
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g ** 2
        m_hat = m / (1 - b1 ** t)
        rho_t = rho_inf - 2 * t * b2 ** t / (1 - b2 ** t)
        if rho_t > 5:
            l_t = np.sqrt(1 - b2 ** t) / (np.sqrt(v) + eps)
            r_t = np.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            theta = theta - lr * m_hat * r_t * l_t
        else:
            theta = theta - lr * m_hat
        rectified.append(rho_t > 5)
        history.append(theta.copy())
    return np.array(history), rectified


def _adamax_update(steps, lr, betas, eps, weight_decay):
    b1, b2 = betas
    theta, m, u = _START.copy(), np.zeros(5), np.zeros(5)
    history = []
    for t in range(1, steps + 1):
        g = _grad(theta)
        if weight_decay != 0:
            g = g + weight_decay * theta
        m = b1 * m + (1 - b1) * g                                     # "biased first moment estimate"
        u = np.maximum(b2 * u, np.abs(g) + eps)                       # "exponentially weighted infinity norm"
        theta = theta - lr / (1 - b1 ** t) * m / u
        history.append(theta.copy())
    return np.array(history)


def _rprop_block(steps, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50)):
    eta_minus, eta_plus = etas
    low, high = step_sizes
    theta, g_prev, eta = _START.copy(), np.zeros(5), np.full(5, lr)
    history, flips = [], 0
    for t in range(1, steps + 1):
        g = _grad(theta)
        product = g_prev * g
        eta = np.where(product > 0, np.minimum(eta * eta_plus, high),
                       np.where(product < 0, np.maximum(eta * eta_minus, low), eta))
        flips += int((product < 0).sum())
        g = np.where(product < 0, 0.0, g)
        theta = theta - eta * np.sign(g)
        g_prev = g
        history.append(theta.copy())
    return np.array(history), eta, flips


def _asgd_update(steps, lr, lambd, alpha, t0, weight_decay):
    theta, ax, eta, mu = _START.copy(), np.zeros(5), lr, 1.0
    history = []
    for step in range(1, steps + 1):
        g = _grad(theta)
        if weight_decay != 0:
            g = g + weight_decay * theta
        theta = theta * (1 - lambd * eta)                             # decay term
        theta = theta - eta * g                                      # update parameter
        ax = ax + (theta - ax) * mu if mu != 1 else theta.copy()      # averaging
        eta = lr / (1 + lambd * lr * step) ** alpha
        mu = 1 / max(1, step - t0)
        history.append(theta.copy())
    return np.array(history), ax, eta, mu


@pytest.mark.parametrize("name, defaults", [
    ("NAdam", dict(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3)),
    ("RAdam", dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, decoupled_weight_decay=False)),
    ("Adamax", dict(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0)),
    ("Rprop", dict(lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50))),
    ("ASGD", dict(lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0))],
    ids=lambda v: v if isinstance(v, str) else "")
def test_optimiser_defaults_as_documented(name, defaults):
    optimizer = getattr(torch.optim, name)([nn.Parameter(torch.zeros(2))])
    assert {key: optimizer.defaults[key] for key in defaults} == defaults


def test_nadam_algorithm_block():
    got, _, _ = _run_library(lambda p: torch.optim.NAdam(p, weight_decay=0.01), 30)
    assert np.allclose(got, _nadam_block(30, weight_decay=0.01), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("options", [{}, {"weight_decay": 0.1}, {"weight_decay": 0.1, "decoupled_weight_decay": True},
                                     {"maximize": True}], ids=["plain", "adam_decay", "decoupled", "maximize"])
def test_radam_algorithm_block(options):
    got, _, _ = _run_library(lambda p: torch.optim.RAdam(p, lr=0.01, **options), 12)
    expected, rectified = _radam_block(12, lr=0.01, weight_decay=options.get("weight_decay", 0.0),
                                       decoupled=options.get("decoupled_weight_decay", False),
                                       maximize=options.get("maximize", False))
    assert rectified[:5] == [False] * 5 and all(rectified[6:])       # both branches of the block are met
    assert np.allclose(got, expected, rtol=1e-12, atol=1e-14)


def test_adamax_update():
    got, _, _ = _run_library(lambda p: torch.optim.Adamax(p, lr=0.05, betas=(0.9, 0.999), eps=1e-8,
                                                          weight_decay=0.01), 25)
    assert np.allclose(got, _adamax_update(25, 0.05, (0.9, 0.999), 1e-8, 0.01), rtol=1e-12, atol=1e-14)


def test_rprop_algorithm_block():
    got, optimizer, theta = _run_library(lambda p: torch.optim.Rprop(p, lr=0.3), 25)
    expected, eta, flips = _rprop_block(25, lr=0.3)
    assert flips > 5                                                  # the "else if g_prev g_t < 0" branch is met
    assert np.allclose(got, expected, rtol=0, atol=1e-12)
    assert np.allclose(_np(torch.tensor(optimizer.state[theta]["step_size"])), eta, rtol=1e-12, atol=0)


def test_asgd_update():
    got, optimizer, theta = _run_library(lambda p: torch.optim.ASGD(p, lr=0.05, lambd=0.01, alpha=0.75, t0=3,
                                                                     weight_decay=0.02), 12)
    expected, ax, eta, mu = _asgd_update(12, 0.05, 0.01, 0.75, 3, 0.02)
    assert np.allclose(got, expected, rtol=1e-12, atol=1e-14)
    state = optimizer.state[theta]
    assert np.allclose(_np(torch.tensor(state["ax"])), ax, rtol=1e-12, atol=1e-14)
    assert float(state["eta"]) == pytest.approx(eta, rel=1e-12) and float(state["mu"]) == pytest.approx(mu, rel=1e-12)


# ---- torch/nn/modules/normalization.py ------------------------------------------------------------------------------

def test_rmsnorm_example():
    rms_norm = nn.RMSNorm([2, 3])
    input = torch.randn(2, 2, 3)
    output = rms_norm(input)
    assert output.shape == (2, 2, 3) and output.dtype == torch.float32
    x = _np(input)
    eps = float(np.finfo(np.float32).eps)                            # "Default: torch.finfo(x.dtype).eps"
    rms = np.sqrt(eps + (x ** 2).mean(axis=(1, 2), keepdims=True))   # over the last D = 2 dimensions
    assert np.allclose(_np(output), x / rms * np.ones((2, 3)), rtol=1e-5, atol=1e-6)
    assert rms_norm.weight.shape == (2, 3) and (_np(rms_norm.weight) == 1).all()
    assert np.allclose(_np(F.rms_norm(input, [2, 3])), x / rms, rtol=1e-5, atol=1e-6)   # what forward calls


def _group_norm(x, groups, eps=1e-5):
    n, c = x.shape[:2]
    g = x.reshape(n, groups, -1)
    out = (g - g.mean(axis=2, keepdims=True)) / np.sqrt(g.var(axis=2, keepdims=True) + eps)   # biased variance
    return out.reshape(x.shape)


def test_groupnorm_example():
    input = torch.randn(20, 6, 10, 10)
    # Separate 6 channels into 3 groups
    m = nn.GroupNorm(3, 6)
    three = m(input)
    # Separate 6 channels into 6 groups (equivalent with InstanceNorm)
    m = nn.GroupNorm(6, 6)
    six = m(input)
    # Put all 6 channels into a single group (equivalent with LayerNorm)
    m = nn.GroupNorm(1, 6)
    # Activating the module
    output = m(input)
    x = _np(input)
    assert output.shape == (20, 6, 10, 10) and output.dtype == torch.float32
    assert np.allclose(_np(output), _group_norm(x, 1), rtol=1e-4, atol=1e-5)
    assert np.allclose(_np(three), _group_norm(x, 3), rtol=1e-4, atol=1e-5)
    assert np.allclose(_np(six), _group_norm(x, 6), rtol=1e-4, atol=1e-5)
    # the comments' equivalences: each channel of each sample on its own (instance norm), and the whole sample
    per_channel = (x - x.mean(axis=(2, 3), keepdims=True)) / np.sqrt(x.var(axis=(2, 3), keepdims=True) + 1e-5)
    assert np.allclose(_np(six), per_channel, rtol=1e-4, atol=1e-5)
    layer_norm = nn.LayerNorm([6, 10, 10], elementwise_affine=False)
    assert np.allclose(_np(output), _np(layer_norm(input)), rtol=1e-4, atol=1e-5)
    assert np.allclose(_np(F.group_norm(input, 3)), _group_norm(x, 3), rtol=1e-4, atol=1e-5)   # what forward calls
    assert m.weight.shape == (6,) and (_np(m.weight) == 1).all() and (_np(m.bias) == 0).all()


# ---- torch/_torch_docs.py -------------------------------------------------------------------------------------------

def test_addcdiv_example():
    t = torch.randn(1, 3)
    t1 = torch.randn(3, 1)
    t2 = torch.randn(1, 3)
    out = torch.addcdiv(t, t1, t2, value=0.1)
    assert out.shape == (3, 3) and out.dtype == torch.float32
    assert np.allclose(_np(out), _np(t) + 0.1 * _np(t1) / _np(t2), rtol=1e-5, atol=1e-6)


def test_addcmul_example():
    t = torch.randn(1, 3)
    t1 = torch.randn(3, 1)
    t2 = torch.randn(1, 3)
    out = torch.addcmul(t, t1, t2, value=0.1)
    assert out.shape == (3, 3) and out.dtype == torch.float32
    assert np.allclose(_np(out), _np(t) + 0.1 * _np(t1) * _np(t2), rtol=1e-5, atol=1e-6)


def test_addmm_example():
    M = torch.randn(2, 3)
    mat1 = torch.randn(2, 3)
    mat2 = torch.randn(3, 3)
    out = torch.addmm(M, mat1, mat2)
    assert out.shape == (2, 3) and out.dtype == torch.float32
    assert np.allclose(_np(out), _np(M) + _np(mat1) @ _np(mat2), rtol=1e-5, atol=1e-5)


def test_outer_example_and_ger():
    v1 = torch.arange(1., 5.)
    v2 = torch.arange(1., 4.)
    printed = [[1., 2., 3.], [2., 4., 6.], [3., 6., 9.], [4., 8., 12.]]
    assert torch.outer(v1, v2).tolist() == printed and torch.outer(v1, v2).dtype == torch.float32
    assert torch.ger(v1, v2).tolist() == printed                     # "Alias of torch.outer"


def test_count_nonzero_example():
    x = torch.zeros(3,3)
    mask = torch.randn(3,3) > 0.5
    x[mask] = 1                                                       # differs: the mask kept to check the counts
    assert torch.count_nonzero(x).item() == int(mask.numpy().sum()) and torch.count_nonzero(x).dtype == torch.int64
    assert torch.count_nonzero(x, dim=0).tolist() == mask.numpy().sum(axis=0).tolist()
    printed = torch.tensor([[0., 1., 1.], [0., 0., 0.], [0., 0., 1.]])   # the x the docs print
    assert torch.count_nonzero(printed).item() == 3 and torch.count_nonzero(printed).shape == ()
    assert torch.count_nonzero(printed, dim=0).tolist() == [0, 1, 2]


def test_cumprod_example():
    a = torch.randn(10)
    first = torch.cumprod(a, dim=0)
    assert first.shape == (10,) and np.allclose(_np(first), np.cumprod(_np(a)), rtol=1e-5, atol=1e-7)
    a[5] = 0.0
    second = torch.cumprod(a, dim=0)
    assert np.allclose(_np(second)[:5], _np(first)[:5], rtol=0, atol=0) and (_np(second)[5:] == 0).all()
    printed_a = torch.tensor([0.6001, 0.2069, -0.1919, 0.9792, 0.6727, 1.0062, 0.4126, -0.2129, -0.4206, 0.1968])
    printed = [0.6001, 0.1241, -0.0238, -0.0233, -0.0157, -0.0158, -0.0065, 0.0014, -0.0006, -0.0001]
    assert np.allclose(_np(torch.cumprod(printed_a, dim=0)), printed, rtol=0, atol=1e-4)


def test_diff_examples():
    a = torch.tensor([1, 3, 2])
    assert torch.diff(a).tolist() == [2, -1] and torch.diff(a).dtype == torch.int64
    b = torch.tensor([4, 5])
    assert torch.diff(a, append=b).tolist() == [2, -1, 2, 1]
    c = torch.tensor([[1, 2, 3], [3, 4, 5]])
    assert torch.diff(c, dim=0).tolist() == [[2, 2, 2]]
    assert torch.diff(c, dim=1).tolist() == [[1, 1], [1, 1]]


def test_isclose_examples():
    close = torch.isclose(torch.tensor((1., 2, 3)), torch.tensor((1 + 1e-10, 3, 4)))
    assert close.tolist() == [True, False, False] and close.dtype == torch.bool
    assert torch.isclose(torch.tensor((float('inf'), 4)), torch.tensor((float('inf'), 6)), rtol=.5).tolist() == [True,
                                                                                                               True]


def test_logaddexp_examples():
    out = torch.logaddexp(torch.tensor([-1.0]), torch.tensor([-1.0, -2, -3]))
    assert out.shape == (3,) and np.allclose(_np(out), [-0.3069, -0.6867, -0.8731], rtol=0, atol=5e-5)
    assert np.allclose(_np(out), np.logaddexp(-1.0, [-1.0, -2, -3]), rtol=1e-6, atol=0)
    out = torch.logaddexp(torch.tensor([-100.0, -200, -300]), torch.tensor([-1.0, -2, -3]))
    assert np.allclose(_np(out), [-1., -2., -3.], rtol=0, atol=5e-5)
    out = torch.logaddexp(torch.tensor([1.0, 2000, 30000]), torch.tensor([-1.0, -2, -3]))
    assert np.allclose(_np(out), [1.1269e+00, 2.0000e+03, 3.0000e+04], rtol=5e-5, atol=0)
    assert out.dtype == torch.float32 and np.isfinite(_np(out)).all()


def test_maximum_and_minimum_examples():
    a = torch.tensor((1, 2, -1))
    b = torch.tensor((3, 0, 4))
    assert torch.maximum(a, b).tolist() == [3, 2, 4] and torch.maximum(a, b).dtype == torch.int64
    assert torch.minimum(a, b).tolist() == [1, 0, -1] and torch.minimum(a, b).dtype == torch.int64


def test_nansum_examples():
    a = torch.tensor([1., 2., float('nan'), 4.])
    assert torch.nansum(a).item() == 7.0 and torch.nansum(a).shape == ()
    assert torch.nansum(torch.tensor([1., float("nan")])).item() == 1.0
    a = torch.tensor([[1, 2], [3., float("nan")]])
    assert torch.nansum(a).item() == 6.0
    assert torch.nansum(a, dim=0).tolist() == [4., 2.]
    assert torch.nansum(a, dim=1).tolist() == [3., 3.]


def test_prod_examples():
    a = torch.randn(1, 3)
    assert torch.prod(a).shape == () and torch.prod(a).item() == pytest.approx(float(np.prod(_np(a))), rel=1e-5)
    assert torch.prod(torch.tensor([[-0.8020, 0.5428, -1.5854]])).item() == pytest.approx(0.6902, abs=1e-4)
    a = torch.randn(4, 2)
    out = torch.prod(a, 1)
    assert out.shape == (4,) and np.allclose(_np(out), np.prod(_np(a), axis=1), rtol=1e-5, atol=1e-7)
    printed_a = torch.tensor([[0.5261, -0.3837], [1.1857, -0.2498], [-1.1646, 0.0705], [1.1131, -1.0629]])
    assert np.allclose(_np(torch.prod(printed_a, 1)), [-0.2018, -0.2962, -0.0821, -1.1831], rtol=0, atol=1e-4)


def test_take_along_dim_examples():
    t = torch.tensor([[10, 30, 20], [60, 40, 50]])
    max_idx = torch.argmax(t)
    assert torch.take_along_dim(t, max_idx).tolist() == [60] and torch.take_along_dim(t, max_idx).shape == (1,)
    sorted_idx = torch.argsort(t, dim=1)
    out = torch.take_along_dim(t, sorted_idx, dim=1)
    assert out.tolist() == [[10, 20, 30], [40, 50, 60]] and out.dtype == torch.int64
