"""Porting, round 48: TIME-SERIES FORECASTING RESEARCH CODE with recurrent cores, the repositories earlier rounds
did not port (round 45 ported Jessica Yung's AR(20) LSTM and curiousily's COVID LSTM, round 8 a windowed
TimeSeriesDataset). Each is written as its author wrote it, with only the imports changed (`# differs:` marks
each other change and why):

1. laiguokun/LSTNet (Lai et al., SIGIR 2018), models/LSTNet.py (001bec3916352c02a773a5570691288c0e52b4f9):
   `Model` (a `Conv2d(1, hidC, (Ck, m))` over the window, ReLU, dropout, `torch.squeeze(c, 3)`, a GRU over the
   conv features, the skip-GRU over `c[:, :, -pt*skip:]` regrouped by `view`/`permute(2, 0, 3, 1)`, `torch.cat`,
   the highway autoregression `x[:, -hw:, :].permute(0, 2, 1).contiguous().view(-1, hw)`, `F.sigmoid`);
   Optim.py (bc61d033c5ae597db3f6e533d50c21aea84be91e): `Optim` (its own global-norm clipping, then the wrapped
   optimizer's step; `updateLearningRate`); utils.py (8d9b2064956a8eb28593fe4583b4ad7b613d8886): `normal_std`,
   `Data_utility` (np.loadtxt of a csv, per-column max normalisation, windows written into `torch.zeros` by item
   assignment, `scale.expand`, rse/rae, `get_batches` by `torch.randperm`/`torch.LongTensor(range(n))`). The
   electricity/solar/traffic csv is made up (a small file of the same layout in pytest's tmp_path). main.py was
   not read: the training test drives `Model`, `Optim` and `get_batches` with a plain loop (MSE on the rescaled
   outputs, as the paper's L2 objective).
2. Zhenye-Na/DA-RNN (Qin et al., IJCAI 2017), src/model.py (aa971f5a8df7f0c2b183d1628e4e194205d3dd5a): `Encoder`
   (input attention over the driving series: `h_n.repeat(input_size, 1, 1).permute(1, 0, 2)`, `F.softmax(...,
   dim=1)`, `torch.mul(alpha, X[:, t, :])`, a one-step `nn.LSTM` fed its own (h, s), `X_tilde[:, t, :] =`),
   `Decoder` (temporal attention, `torch.bmm(beta.unsqueeze(1), X_encoded)`, `fc` on `[context; y_prev]`, a
   one-step LSTM, `fc_final`), `DA_RNN` (two Adams, `train` with its batches and every-10-epochs `test` and plot,
   `train_forward`, `test`). NASDAQ 100 is made up (the target a lagged mix of the driving series).
3. lkulowski/LSTM_encoder_decoder, code/lstm_encoder_decoder.py (043ae9eed366f8658244024973ffea00c9d6707c):
   `lstm_encoder`, `lstm_decoder` (one `nn.LSTM` step on `x_input.unsqueeze(0)`, a Linear), `lstm_seq2seq`
   (`train_model`: teacher forcing drawn by `random.random()`, `outputs[t] = decoder_output` into `torch.zeros`,
   MSELoss, Adam, `dynamic_tf`; `predict`: recursive). The repo's generate_dataset.py was not needed: the windows
   are a made-up noisy sinusoid in its (seq_len, batch, 1) layout.
4. zhykoties/TimeSeries (DeepAR), model/net.py (0a2d4a6cf6689e4ad10fe58441df77078529b768): `Net` (an embedding of
   the series id concatenated to [z_{t-1}, covariates], a 2-layer `nn.LSTM` stepped one time step at a time, the
   forget-gate biases set to 1 through `self.lstm._all_weights`, mu by a Linear and sigma by `nn.Softplus` on
   the layers' h `permute(1, 2, 0)`d together, `test` with ancestral sampling by `torch.distributions.normal.
   Normal(...).sample()` and `torch.median(samples, dim=0)[0]`), `loss_fn` (Gaussian NLL on the non-zero labels
   by a boolean mask), `accuracy_ND`, `accuracy_RMSE`. train.py was not read: the training test sums `loss_fn`
   over the window's steps, as DeepAR's objective. The electricity windows are made up.

Every source was read in the index at the commit named; none was written from memory.

What broke: nothing the library promises (no gap found this round).

Met and left as documented (docs/pytorch.md; the lines say `differs:`):
  - `.data` is the read-only numpy array: LSTNet's `param.grad.data.norm()` / `param.grad.data.mul_(s)` read and
    reassign `param.grad`; DA-RNN's `X.data.new(...).zero_()` is `X.new(...).zero_()`, `self.fc.weight.data.
    normal_()` is `nn.init.normal_`, `.cpu().data.numpy()` is `.cpu().detach().numpy()`; DeepAR's
    `bias.data[start:end].fill_(1.)` is an item assignment under `torch.no_grad()`.
  - the new refusal of a list/tuple of multi-element tensors and the `mg.Tensor(n)` warning: no source met
    either (every `torch.cat((a, b), ...)` is a tuple given where a sequence of tensors goes, as it should be).

Names the library lacks: `nn.LSTM._all_weights` (private in PyTorch: the per-layer lists of parameter names;
DeepAR reads it; the names from `named_parameters()` stand in, marked).

Met and changed for reasons outside the library (marked):
  - LSTNet's `self.pt = (self.P - self.Ck)/self.skip` is a float under Python 3, so `s.view(..., self.pt, ...)`
    raises TypeError in PyTorch too (the repo was written for Python 2): a test pins it; `FixedModel` casts.
  - not installed: tqdm (`trange`), matplotlib: stand-ins.
  - Data_utility closes the csv it opens (a ResourceWarning otherwise); DA_RNN.train's never-read `y_pred = `
    is dropped (pyflakes); DeepAR's `logger` is the module's `logging.getLogger('DeepAR.Net')`, as in net.py.
  - sizes, epochs and windows are smaller so the file stays fast.

Noticed and left alone (the sources', in PyTorch too):
  - LSTM_encoder_decoder's `train_model` takes batch b as `input_tensor[:, b: b + batch_size, :]`, so
    consecutive batches overlap in all but one window and the last windows are never seen; `encoder_hidden =
    self.encoder.init_hidden(batch_size)` is computed and not used.
  - DA-RNN's `train` leaves `self.shuffle = False` and plots with `plt.show()` every ten epochs; its `if t <
    self.T - 1` inside `range(self.T - 1)` is always true.
  - DeepAR's `test` writes the predicted mean into the caller's `x` (`x[predict_start + t + 1, :, 0] = mu_de`).

Expected values come from numpy written here in float64 (PyTorch's GRU and LSTM cells, the conv, the attention
stages, the Gaussian likelihood, central differences of those), never from the library's own outputs.
"""

import argparse
import logging
import math
import random

import numpy as np
import pytest
from porting_references import arr, central, np_gru_cell, np_lstm_cell, np_sigmoid, np_softmax, params_of, some_indices

import microgradseq as torch
import microgradseq.nn as nn
import microgradseq.nn.functional as F
import microgradseq.optim as optim
from microgradseq.autograd import Variable


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)
    np.random.seed(0)
    random.seed(0)
    yield
    torch.set_default_dtype(torch.float32)


# ---- numpy references (float64), written here ------------------------------------------------------------

def np_gru_last(xs, p, hidden):
    h = np.zeros((xs.shape[1], hidden))
    for t in range(xs.shape[0]):
        h = np_gru_cell(xs[t], h, p["weight_ih_l0"], p["weight_hh_l0"], p["bias_ih_l0"], p["bias_hh_l0"])
    return h



def np_softplus(z):
    return np.log1p(np.exp(-np.abs(z))) + np.maximum(z, 0)


def check_grads(model, name, loss_np, loss_lib, count=3, seed=0, rtol=1e-5, atol=1e-8):
    """Library gradient of parameter `name` against central differences of the numpy loss."""
    model.zero_grad()
    loss = loss_lib()
    loss.backward()
    params = dict(model.named_parameters())
    base = params_of(model)
    idx = some_indices(base[name].shape, count, seed)

    def f(value):
        q = dict(base)
        q[name] = value
        return loss_np(q)

    expected = central(f, base[name], idx)
    got = np.array([params[name].grad[i] for i in idx])
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol)
    np.testing.assert_allclose(float(loss.item()), loss_np(base), rtol=1e-10)


class _Pyplot:  # differs: `import matplotlib.pyplot as plt` (not installed): a stand-in recording the calls
    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        def record(*args, **kwargs):
            self.calls.append(name)
        return record


plt = _Pyplot()


class trange:  # differs: `from tqdm import trange` (not installed): the range, with set_postfix kept
    def __init__(self, n):
        self.n = n
        self.postfix = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __iter__(self):
        return iter(range(self.n))

    def set_postfix(self, **kwargs):
        self.postfix.append(kwargs)


# ==== 1. laiguokun/LSTNet: models/LSTNet.py, Optim.py, utils.py ================================================

class Model(nn.Module):
    def __init__(self, args, data):
        super(Model, self).__init__()
        self.use_cuda = args.cuda
        self.P = args.window;
        self.m = data.m
        self.hidR = args.hidRNN;
        self.hidC = args.hidCNN;
        self.hidS = args.hidSkip;
        self.Ck = args.CNN_kernel;
        self.skip = args.skip;
        self.pt = (self.P - self.Ck)/self.skip
        self.hw = args.highway_window
        self.conv1 = nn.Conv2d(1, self.hidC, kernel_size = (self.Ck, self.m));
        self.GRU1 = nn.GRU(self.hidC, self.hidR);
        self.dropout = nn.Dropout(p = args.dropout);
        if (self.skip > 0):
            self.GRUskip = nn.GRU(self.hidC, self.hidS);
            self.linear1 = nn.Linear(self.hidR + self.skip * self.hidS, self.m);
        else:
            self.linear1 = nn.Linear(self.hidR, self.m);
        if (self.hw > 0):
            self.highway = nn.Linear(self.hw, 1);
        self.output = None;
        if (args.output_fun == 'sigmoid'):
            self.output = F.sigmoid;
        if (args.output_fun == 'tanh'):
            self.output = F.tanh;

    def forward(self, x):
        batch_size = x.size(0);

        #CNN
        c = x.view(-1, 1, self.P, self.m);
        c = F.relu(self.conv1(c));
        c = self.dropout(c);
        c = torch.squeeze(c, 3);

        # RNN
        r = c.permute(2, 0, 1).contiguous();
        _, r = self.GRU1(r);
        r = self.dropout(torch.squeeze(r,0));


        #skip-rnn

        if (self.skip > 0):
            s = c[:,:, int(-self.pt * self.skip):].contiguous();
            s = s.view(batch_size, self.hidC, self.pt, self.skip);
            s = s.permute(2,0,3,1).contiguous();
            s = s.view(self.pt, batch_size * self.skip, self.hidC);
            _, s = self.GRUskip(s);
            s = s.view(batch_size, self.skip * self.hidS);
            s = self.dropout(s);
            r = torch.cat((r,s),1);

        res = self.linear1(r);

        #highway
        if (self.hw > 0):
            z = x[:, -self.hw:, :];
            z = z.permute(0,2,1).contiguous().view(-1, self.hw);
            z = self.highway(z);
            z = z.view(-1,self.m);
            res = res + z;

        if (self.output):
            res = self.output(res);
        return res;


class FixedModel(Model):
    # differs: Python 3's `/` makes `self.pt` a float and `s.view(..., self.pt, ...)` a TypeError in PyTorch too
    # (LSTNet was written for Python 2, where int / int is int): the one change is int(...)
    def __init__(self, args, data):
        super(FixedModel, self).__init__(args, data)
        self.pt = int((self.P - self.Ck)/self.skip)


class Optim(object):

    def _makeOptimizer(self):
        if self.method == 'sgd':
            self.optimizer = optim.SGD(self.params, lr=self.lr)
        elif self.method == 'adagrad':
            self.optimizer = optim.Adagrad(self.params, lr=self.lr)
        elif self.method == 'adadelta':
            self.optimizer = optim.Adadelta(self.params, lr=self.lr)
        elif self.method == 'adam':
            self.optimizer = optim.Adam(self.params, lr=self.lr)
        else:
            raise RuntimeError("Invalid optim method: " + self.method)

    def __init__(self, params, method, lr, max_grad_norm, lr_decay=1, start_decay_at=None):
        self.params = list(params)  # careful: params may be a generator
        self.last_ppl = None
        self.lr = lr
        self.max_grad_norm = max_grad_norm
        self.method = method
        self.lr_decay = lr_decay
        self.start_decay_at = start_decay_at
        self.start_decay = False

        self._makeOptimizer()

    def step(self):
        # Compute gradients norm.
        grad_norm = 0
        for param in self.params:
            grad_norm += math.pow(np.linalg.norm(param.grad), 2)  # differs: `param.grad.data.norm()` (.grad is
            # the numpy array, docs/pytorch.md)

        grad_norm = math.sqrt(grad_norm)
        if grad_norm > 0:
            shrinkage = self.max_grad_norm / grad_norm
        else:
            shrinkage = 1.

        for param in self.params:
            if shrinkage < 1:
                param.grad = param.grad * shrinkage  # differs: `param.grad.data.mul_(shrinkage)` (docs/pytorch.md)

        self.optimizer.step()
        return grad_norm

    # decay learning rate if val perf does not improve or we hit the start_decay_at limit
    def updateLearningRate(self, ppl, epoch):
        if self.start_decay_at is not None and epoch >= self.start_decay_at:
            self.start_decay = True
        if self.last_ppl is not None and ppl > self.last_ppl:
            self.start_decay = True

        if self.start_decay:
            self.lr = self.lr * self.lr_decay
            print("Decaying learning rate to %g" % self.lr)
        #only decay for one epoch
        self.start_decay = False

        self.last_ppl = ppl

        self._makeOptimizer()


def normal_std(x):
    return x.std() * np.sqrt((len(x) - 1.)/(len(x)))

class Data_utility(object):
    # train and valid is the ratio of training set and validation set. test = 1 - train - valid
    def __init__(self, file_name, train, valid, cuda, horizon, window, normalize = 2):
        self.cuda = cuda;
        self.P = window;
        self.h = horizon
        fin = open(file_name);
        self.rawdat = np.loadtxt(fin,delimiter=',');
        fin.close()  # differs: closes the file (the source leaves it to the garbage collector; a ResourceWarning)
        self.dat = np.zeros(self.rawdat.shape);
        self.n, self.m = self.dat.shape;
        self.normalize = 2
        self.scale = np.ones(self.m);
        self._normalized(normalize);
        self._split(int(train * self.n), int((train+valid) * self.n), self.n);

        self.scale = torch.from_numpy(self.scale).float();
        tmp = self.test[1] * self.scale.expand(self.test[1].size(0), self.m);

        if self.cuda:
            self.scale = self.scale.cuda();
        self.scale = Variable(self.scale);

        self.rse = normal_std(tmp);
        self.rae = torch.mean(torch.abs(tmp - torch.mean(tmp)));

    def _normalized(self, normalize):
        #normalized by the maximum value of entire matrix.

        if (normalize == 0):
            self.dat = self.rawdat

        if (normalize == 1):
            self.dat = self.rawdat / np.max(self.rawdat);

        #normlized by the maximum value of each row(sensor).
        if (normalize == 2):
            for i in range(self.m):
                self.scale[i] = np.max(np.abs(self.rawdat[:,i]));
                self.dat[:,i] = self.rawdat[:,i] / np.max(np.abs(self.rawdat[:,i]));


    def _split(self, train, valid, test):

        train_set = range(self.P+self.h-1, train);
        valid_set = range(train, valid);
        test_set = range(valid, self.n);
        self.train = self._batchify(train_set, self.h);
        self.valid = self._batchify(valid_set, self.h);
        self.test = self._batchify(test_set, self.h);


    def _batchify(self, idx_set, horizon):

        n = len(idx_set);
        X = torch.zeros((n,self.P,self.m));
        Y = torch.zeros((n,self.m));

        for i in range(n):
            end = idx_set[i] - self.h + 1;
            start = end - self.P;
            X[i,:,:] = torch.from_numpy(self.dat[start:end, :]);
            Y[i,:] = torch.from_numpy(self.dat[idx_set[i], :]);

        return [X, Y];

    def get_batches(self, inputs, targets, batch_size, shuffle=True):
        length = len(inputs)
        if shuffle:
            index = torch.randperm(length)
        else:
            index = torch.LongTensor(range(length))
        start_idx = 0
        while (start_idx < length):
            end_idx = min(length, start_idx + batch_size)
            excerpt = index[start_idx:end_idx]
            X = inputs[excerpt]; Y = targets[excerpt];
            if (self.cuda):
                X = X.cuda();
                Y = Y.cuda();
            yield Variable(X), Variable(Y);
            start_idx += batch_size


def lstnet_args(**kw):
    a = dict(cuda=False, window=12, hidRNN=6, hidCNN=5, hidSkip=3, CNN_kernel=3, skip=3, highway_window=4,
             dropout=0.0, output_fun='sigmoid')
    a.update(kw)
    return argparse.Namespace(**a)


def made_up_csv(path, n=90, m=4, seed=0):
    """# differs: electricity.txt etc. -- n x m positive readings, daily-like cycles, comma separated."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)[:, None]
    raw = 50 + 20 * np.sin(2 * np.pi * t / 6 + np.arange(m)) + 3 * rng.standard_normal((n, m)) + 10 * np.arange(m)
    np.savetxt(path, raw, delimiter=',')
    return raw


def np_lstnet(p, x, a, m):
    """LSTNet's forward in numpy: conv (Ck x m), ReLU, GRU, skip-GRU, Linear, highway, sigmoid."""
    B, P = x.shape[0], a.window
    Ck, hidC, skip, hw = a.CNN_kernel, a.hidCNN, a.skip, a.highway_window
    L = P - Ck + 1
    w = p["conv1.weight"][:, 0]  # (hidC, Ck, m)
    c = np.stack([np.einsum("bkm,ckm->bc", x[:, t:t + Ck], w) for t in range(L)], axis=2) + p["conv1.bias"][:, None]
    c = np.maximum(c, 0)  # (B, hidC, L)
    g1 = {k[5:]: v for k, v in p.items() if k.startswith("GRU1.")}
    r = np_gru_last(c.transpose(2, 0, 1), g1, a.hidRNN)
    if skip > 0:
        pt = (P - Ck) // skip
        s = c[:, :, L - pt * skip:].reshape(B, hidC, pt, skip).transpose(2, 0, 3, 1).reshape(pt, B * skip, hidC)
        gs = {k[8:]: v for k, v in p.items() if k.startswith("GRUskip.")}
        s = np_gru_last(s, gs, a.hidSkip).reshape(B, skip * a.hidSkip)
        r = np.concatenate([r, s], 1)
    res = r @ p["linear1.weight"].T + p["linear1.bias"]
    if hw > 0:
        z = x[:, -hw:, :].transpose(0, 2, 1).reshape(-1, hw) @ p["highway.weight"].T + p["highway.bias"]
        res = res + z.reshape(-1, m)
    return {'sigmoid': np_sigmoid, 'tanh': np.tanh}.get(a.output_fun, lambda v: v)(res)


def test_lstnet_model_as_written_fails_at_the_float_pt_as_in_pytorch():
    args = lstnet_args()
    model = Model(args, argparse.Namespace(m=4))
    assert model.pt == 3.0 and isinstance(model.pt, float)
    with pytest.raises(TypeError, match="integers"):
        model(torch.randn(2, 12, 4))


def test_lstnet_data_utility_windows_scale_and_metrics(tmp_path):
    raw = made_up_csv(tmp_path / "ele.txt")
    data = Data_utility(str(tmp_path / "ele.txt"), 0.6, 0.2, False, 3, 12)
    scale = np.abs(raw).max(0)
    dat = raw / scale
    n = len(raw)
    train_set = range(12 + 3 - 1, int(0.6 * n))
    X, Y = data.train
    assert X.shape == (len(train_set), 12, 4) and X.dtype == torch.float32
    for i, idx in enumerate(train_set):
        np.testing.assert_allclose(arr(X[i]), dat[idx - 3 + 1 - 12: idx - 3 + 1], rtol=1e-6)
        np.testing.assert_allclose(arr(Y[i]), dat[idx], rtol=1e-6)
    np.testing.assert_allclose(arr(data.scale), scale, rtol=1e-6)
    test_y = dat[int(0.8 * n):] * scale
    # torch's std (n - 1, over all entries) times sqrt((rows - 1) / rows), len() counting rows
    rows = len(test_y)
    np.testing.assert_allclose(float(data.rse), test_y.std(ddof=1) * np.sqrt((rows - 1.) / rows), rtol=1e-5)
    np.testing.assert_allclose(float(data.rae), np.abs(test_y - test_y.mean()).mean(), rtol=1e-5)
    batches = list(data.get_batches(X, Y, 8, shuffle=False))
    assert [b[0].shape[0] for b in batches] == [8] * (len(X) // 8) + ([len(X) % 8] if len(X) % 8 else [])
    np.testing.assert_allclose(arr(batches[1][1]), arr(Y)[8:16])
    seen = np.concatenate([arr(b[1]) for b in data.get_batches(X, Y, 8, shuffle=True)])
    np.testing.assert_allclose(np.sort(seen, axis=0), np.sort(arr(Y), axis=0))


@pytest.mark.parametrize("kw", [{}, dict(output_fun='tanh', skip=4, highway_window=2), dict(output_fun='no')])
def test_lstnet_values_and_gradients_against_numpy(kw):
    torch.set_default_dtype(torch.float64)
    args = lstnet_args(**kw)
    model = FixedModel(args, argparse.Namespace(m=4))
    x = np.random.default_rng(1).standard_normal((3, 12, 4))
    y = np.random.default_rng(2).uniform(0, 1, (3, 4))
    out = model(torch.tensor(x))
    assert out.shape == (3, 4)
    np.testing.assert_allclose(arr(out), np_lstnet(params_of(model), x, args, 4), rtol=1e-10, atol=1e-12)

    def loss_np(p):
        return np.mean((np_lstnet(p, x, args, 4) - y) ** 2)

    def loss_lib():
        return F.mse_loss(model(torch.tensor(x)), torch.tensor(y))

    for k, name in enumerate(["conv1.weight", "GRU1.weight_hh_l0", "GRUskip.weight_ih_l0", "highway.weight",
                              "linear1.bias"]):
        check_grads(model, name, loss_np, loss_lib, seed=k)


def test_lstnet_optim_clips_to_max_grad_norm_and_decays_the_rate(capsys):
    w = nn.Parameter(torch.tensor([3.0, 4.0]))
    opt = Optim([w], 'sgd', 0.1, 1.0, lr_decay=0.5)
    (w * torch.tensor([30.0, 40.0])).sum().backward()
    norm = opt.step()
    assert norm == pytest.approx(50.0)
    np.testing.assert_allclose(arr(w), [3.0 - 0.1 * 0.6, 4.0 - 0.1 * 0.8], rtol=1e-6)  # grad scaled by 1/50
    opt.updateLearningRate(1.0, 1)
    opt.updateLearningRate(2.0, 2)  # worse: decays once
    assert opt.lr == pytest.approx(0.05) and "Decaying learning rate to 0.05" in capsys.readouterr().out
    with pytest.raises(RuntimeError, match="Invalid optim method"):
        Optim([w], 'rmsprop', 0.1, 1.0)


def test_lstnet_training_lowers_the_rescaled_loss(tmp_path):
    made_up_csv(tmp_path / "ele.txt")
    data = Data_utility(str(tmp_path / "ele.txt"), 0.6, 0.2, False, 3, 12)
    args = lstnet_args(dropout=0.2)
    model = FixedModel(args, data)
    criterion = nn.MSELoss(reduction='sum')
    optimizer = Optim(model.parameters(), 'adam', 0.01, 10.0)

    def evaluate(X, Y):
        model.eval()
        with torch.no_grad():
            out = model(X)
        scale = data.scale.expand(out.size(0), data.m)
        return float(criterion(out * scale, Y * scale).item())

    before = evaluate(*data.train)
    for epoch in range(12):
        model.train()
        for X, Y in data.get_batches(data.train[0], data.train[1], 16, True):
            model.zero_grad()
            output = model(X)
            scale = data.scale.expand(output.size(0), data.m)
            loss = criterion(output * scale, Y * scale)
            loss.backward()
            optimizer.step()
    after = evaluate(*data.train)
    assert after < 0.5 * before
    assert evaluate(*data.valid) < evaluate(*data.valid) + 1e-9  # deterministic in eval mode


# ==== 2. Zhenye-Na/DA-RNN: src/model.py ==========================================================================

class Encoder(nn.Module):
    """encoder in DA_RNN."""

    def __init__(self, T,
                 input_size,
                 encoder_num_hidden,
                 parallel=False):
        """Initialize an encoder in DA_RNN."""
        super(Encoder, self).__init__()
        self.encoder_num_hidden = encoder_num_hidden
        self.input_size = input_size
        self.parallel = parallel
        self.T = T

        # Fig 1. Temporal Attention Mechanism: Encoder is LSTM
        self.encoder_lstm = nn.LSTM(
            input_size=self.input_size,
            hidden_size=self.encoder_num_hidden,
            num_layers=1
        )

        # Construct Input Attention Mechanism via deterministic attention model
        # Eq. 8: W_e[h_{t-1}; s_{t-1}] + U_e * x^k
        self.encoder_attn = nn.Linear(
            in_features=2 * self.encoder_num_hidden + self.T - 1,
            out_features=1
        )

    def forward(self, X):
        """forward.

        Args:
            X: input data

        """
        X_tilde = Variable(X.new(  # differs: `X.data.new(` (.data is the numpy array, docs/pytorch.md)
            X.size(0), self.T - 1, self.input_size).zero_())
        X_encoded = Variable(X.new(  # differs: `X.data.new(` (as above)
            X.size(0), self.T - 1, self.encoder_num_hidden).zero_())

        # Eq. 8, parameters not in nn.Linear but to be learnt
        # v_e = torch.nn.Parameter(data=torch.empty(
        #     self.input_size, self.T).uniform_(0, 1), requires_grad=True)
        # U_e = torch.nn.Parameter(data=torch.empty(
        #     self.T, self.T).uniform_(0, 1), requires_grad=True)

        # h_n, s_n: initial states with dimention hidden_size
        h_n = self._init_states(X)
        s_n = self._init_states(X)

        for t in range(self.T - 1):
            # batch_size * input_size * (2 * hidden_size + T - 1)
            x = torch.cat((h_n.repeat(self.input_size, 1, 1).permute(1, 0, 2),
                           s_n.repeat(self.input_size, 1, 1).permute(1, 0, 2),
                           X.permute(0, 2, 1)), dim=2)

            x = self.encoder_attn(
                x.view(-1, self.encoder_num_hidden * 2 + self.T - 1))

            # get weights by softmax
            alpha = F.softmax(x.view(-1, self.input_size), dim=1)

            # get new input for LSTM
            x_tilde = torch.mul(alpha, X[:, t, :])

            # Fix the warning about non-contiguous memory
            # https://discuss.pytorch.org/t/dataparallel-issue-with-flatten-parameter/8282
            self.encoder_lstm.flatten_parameters()

            # encoder LSTM
            _, final_state = self.encoder_lstm(
                x_tilde.unsqueeze(0), (h_n, s_n))
            h_n = final_state[0]
            s_n = final_state[1]

            X_tilde[:, t, :] = x_tilde
            X_encoded[:, t, :] = h_n

        return X_tilde, X_encoded

    def _init_states(self, X):
        """Initialize all 0 hidden states and cell states for encoder."""
        # https://pytorch.org/docs/master/nn.html?#lstm
        # differs: `X.data.new(` (as above)
        return Variable(X.new(1, X.size(0), self.encoder_num_hidden).zero_())


class Decoder(nn.Module):
    """decoder in DA_RNN."""

    def __init__(self, T, decoder_num_hidden, encoder_num_hidden):
        """Initialize a decoder in DA_RNN."""
        super(Decoder, self).__init__()
        self.decoder_num_hidden = decoder_num_hidden
        self.encoder_num_hidden = encoder_num_hidden
        self.T = T

        self.attn_layer = nn.Sequential(
            nn.Linear(2 * decoder_num_hidden +
                      encoder_num_hidden, encoder_num_hidden),
            nn.Tanh(),
            nn.Linear(encoder_num_hidden, 1)
        )
        self.lstm_layer = nn.LSTM(
            input_size=1,
            hidden_size=decoder_num_hidden
        )
        self.fc = nn.Linear(encoder_num_hidden + 1, 1)
        self.fc_final = nn.Linear(decoder_num_hidden + encoder_num_hidden, 1)

        nn.init.normal_(self.fc.weight)  # differs: `self.fc.weight.data.normal_()` (docs/pytorch.md)

    def forward(self, X_encoded, y_prev):
        """forward."""
        d_n = self._init_states(X_encoded)
        c_n = self._init_states(X_encoded)

        for t in range(self.T - 1):

            x = torch.cat((d_n.repeat(self.T - 1, 1, 1).permute(1, 0, 2),
                           c_n.repeat(self.T - 1, 1, 1).permute(1, 0, 2),
                           X_encoded), dim=2)

            beta = F.softmax(self.attn_layer(
                x.view(-1, 2 * self.decoder_num_hidden + self.encoder_num_hidden)).view(-1, self.T - 1), dim=1)

            # Eqn. 14: compute context vector
            # batch_size * encoder_hidden_size
            context = torch.bmm(beta.unsqueeze(1), X_encoded)[:, 0, :]
            if t < self.T - 1:
                # Eqn. 15
                # batch_size * 1
                y_tilde = self.fc(
                    torch.cat((context, y_prev[:, t].unsqueeze(1)), dim=1))

                # Eqn. 16: LSTM
                self.lstm_layer.flatten_parameters()
                _, final_states = self.lstm_layer(
                    y_tilde.unsqueeze(0), (d_n, c_n))

                d_n = final_states[0]  # 1 * batch_size * decoder_num_hidden
                c_n = final_states[1]  # 1 * batch_size * decoder_num_hidden

        # Eqn. 22: final output
        y_pred = self.fc_final(torch.cat((d_n[0], context), dim=1))

        return y_pred

    def _init_states(self, X):
        """Initialize all 0 hidden states and cell states for encoder."""
        # hidden state and cell state [num_layers*num_directions, batch_size, hidden_size]
        # https://pytorch.org/docs/master/nn.html?#lstm
        # differs: `X.data.new(` (as above)
        return Variable(X.new(1, X.size(0), self.decoder_num_hidden).zero_())


class DA_RNN(nn.Module):
    """Dual-Stage Attention-Based Recurrent Neural Network."""

    def __init__(self, X, y, T,
                 encoder_num_hidden,
                 decoder_num_hidden,
                 batch_size,
                 learning_rate,
                 epochs,
                 parallel=False):
        """initialization."""
        super(DA_RNN, self).__init__()
        self.encoder_num_hidden = encoder_num_hidden
        self.decoder_num_hidden = decoder_num_hidden
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.parallel = parallel
        self.shuffle = False
        self.epochs = epochs
        self.T = T
        self.X = X
        self.y = y

        self.device = torch.device(
            'cuda:0' if torch.cuda.is_available() else 'cpu')
        print("==> Use accelerator: ", self.device)

        self.Encoder = Encoder(input_size=X.shape[1],
                               encoder_num_hidden=encoder_num_hidden,
                               T=T).to(self.device)
        self.Decoder = Decoder(encoder_num_hidden=encoder_num_hidden,
                               decoder_num_hidden=decoder_num_hidden,
                               T=T).to(self.device)

        # Loss function
        self.criterion = nn.MSELoss()

        if self.parallel:
            self.encoder = nn.DataParallel(self.encoder)
            self.decoder = nn.DataParallel(self.decoder)

        self.encoder_optimizer = optim.Adam(params=filter(lambda p: p.requires_grad,
                                                          self.Encoder.parameters()),
                                            lr=self.learning_rate)
        self.decoder_optimizer = optim.Adam(params=filter(lambda p: p.requires_grad,
                                                          self.Decoder.parameters()),
                                            lr=self.learning_rate)

        # Training set
        self.train_timesteps = int(self.X.shape[0] * 0.7)
        self.y = self.y - np.mean(self.y[:self.train_timesteps])
        self.input_size = self.X.shape[1]

    def train(self):
        """Training process."""
        iter_per_epoch = int(
            np.ceil(self.train_timesteps * 1. / self.batch_size))
        self.iter_losses = np.zeros(self.epochs * iter_per_epoch)
        self.epoch_losses = np.zeros(self.epochs)

        n_iter = 0

        for epoch in range(self.epochs):
            if self.shuffle:
                ref_idx = np.random.permutation(self.train_timesteps - self.T)
            else:
                ref_idx = np.array(range(self.train_timesteps - self.T))

            idx = 0

            while (idx < self.train_timesteps):
                # get the indices of X_train
                indices = ref_idx[idx:(idx + self.batch_size)]
                # x = np.zeros((self.T - 1, len(indices), self.input_size))
                x = np.zeros((len(indices), self.T - 1, self.input_size))
                y_prev = np.zeros((len(indices), self.T - 1))
                y_gt = self.y[indices + self.T]

                # format x into 3D tensor
                for bs in range(len(indices)):
                    x[bs, :, :] = self.X[indices[bs]:(
                        indices[bs] + self.T - 1), :]
                    y_prev[bs, :] = self.y[indices[bs]: (indices[bs] + self.T - 1)]

                loss = self.train_forward(x, y_prev, y_gt)
                self.iter_losses[int(
                    epoch * iter_per_epoch + idx / self.batch_size)] = loss

                idx += self.batch_size
                n_iter += 1

                if n_iter % 10000 == 0 and n_iter != 0:
                    for param_group in self.encoder_optimizer.param_groups:
                        param_group['lr'] = param_group['lr'] * 0.9
                    for param_group in self.decoder_optimizer.param_groups:
                        param_group['lr'] = param_group['lr'] * 0.9

                self.epoch_losses[epoch] = np.mean(self.iter_losses[range(
                    epoch * iter_per_epoch, (epoch + 1) * iter_per_epoch)])

            if epoch % 10 == 0:
                print("Epochs: ", epoch, " Iterations: ", n_iter,
                      " Loss: ", self.epoch_losses[epoch])

            if epoch % 10 == 0:
                y_train_pred = self.test(on_train=True)
                y_test_pred = self.test(on_train=False)
                np.concatenate((y_train_pred, y_test_pred))  # differs: `y_pred = ` dropped (never read; pyflakes)
                plt.ioff()
                plt.figure()
                plt.plot(range(1, 1 + len(self.y)), self.y, label="True")
                plt.plot(range(self.T, len(y_train_pred) + self.T),
                         y_train_pred, label='Predicted - Train')
                plt.plot(range(self.T + len(y_train_pred), len(self.y) + 1),
                         y_test_pred, label='Predicted - Test')
                plt.legend(loc='upper left')
                plt.show()

    def train_forward(self, X, y_prev, y_gt):
        """Forward pass."""
        # zero gradients
        self.encoder_optimizer.zero_grad()
        self.decoder_optimizer.zero_grad()

        input_weighted, input_encoded = self.Encoder(
            Variable(torch.from_numpy(X).type(torch.FloatTensor).to(self.device)))
        y_pred = self.Decoder(input_encoded, Variable(
            torch.from_numpy(y_prev).type(torch.FloatTensor).to(self.device)))

        y_true = Variable(torch.from_numpy(
            y_gt).type(torch.FloatTensor).to(self.device))

        y_true = y_true.view(-1, 1)
        loss = self.criterion(y_pred, y_true)
        loss.backward()

        self.encoder_optimizer.step()
        self.decoder_optimizer.step()

        return loss.item()

    def test(self, on_train=False):
        """Prediction."""

        if on_train:
            y_pred = np.zeros(self.train_timesteps - self.T + 1)
        else:
            y_pred = np.zeros(self.X.shape[0] - self.train_timesteps)

        i = 0
        while i < len(y_pred):
            batch_idx = np.array(range(len(y_pred)))[i: (i + self.batch_size)]
            X = np.zeros((len(batch_idx), self.T - 1, self.X.shape[1]))
            y_history = np.zeros((len(batch_idx), self.T - 1))

            for j in range(len(batch_idx)):
                if on_train:
                    X[j, :, :] = self.X[range(
                        batch_idx[j], batch_idx[j] + self.T - 1), :]
                    y_history[j, :] = self.y[range(
                        batch_idx[j], batch_idx[j] + self.T - 1)]
                else:
                    X[j, :, :] = self.X[range(
                        batch_idx[j] + self.train_timesteps - self.T, batch_idx[j] + self.train_timesteps - 1), :]
                    y_history[j, :] = self.y[range(
                        batch_idx[j] + self.train_timesteps - self.T, batch_idx[j] + self.train_timesteps - 1)]

            y_history = Variable(torch.from_numpy(
                y_history).type(torch.FloatTensor).to(self.device))
            _, input_encoded = self.Encoder(
                Variable(torch.from_numpy(X).type(torch.FloatTensor).to(self.device)))
            # differs: `.cpu().data.numpy()` (.data is the numpy array already, docs/pytorch.md)
            y_pred[i:(i + self.batch_size)] = self.Decoder(input_encoded,
                                                           y_history).cpu().detach().numpy()[:, 0]
            i += self.batch_size

        return y_pred


def np_lstm_params(p, prefix):
    return (p[prefix + "weight_ih_l0"], p[prefix + "weight_hh_l0"], p[prefix + "bias_ih_l0"],
            p[prefix + "bias_hh_l0"])


def np_darnn(pe, pd, X, y_prev, T):
    """DA-RNN in numpy: input attention + encoder LSTM, temporal attention + decoder LSTM, the final Linear."""
    B, _, n = X.shape
    He = pe["encoder_lstm.weight_hh_l0"].shape[1]
    Hd = pd["lstm_layer.weight_hh_l0"].shape[1]
    h, s = np.zeros((B, He)), np.zeros((B, He))
    enc = np.zeros((B, T - 1, He))
    for t in range(T - 1):
        feats = np.concatenate([np.repeat(h[:, None], n, 1), np.repeat(s[:, None], n, 1), X.transpose(0, 2, 1)], 2)
        e = (feats @ pe["encoder_attn.weight"].T + pe["encoder_attn.bias"])[..., 0]
        alpha = np_softmax(e, axis=1)
        h, s = np_lstm_cell(alpha * X[:, t], h, s, *np_lstm_params(pe, "encoder_lstm."))
        enc[:, t] = h
    d, c = np.zeros((B, Hd)), np.zeros((B, Hd))
    for t in range(T - 1):
        feats = np.concatenate([np.repeat(d[:, None], T - 1, 1), np.repeat(c[:, None], T - 1, 1), enc], 2)
        a1 = np.tanh(feats @ pd["attn_layer.0.weight"].T + pd["attn_layer.0.bias"])
        beta = np_softmax((a1 @ pd["attn_layer.2.weight"].T + pd["attn_layer.2.bias"])[..., 0], axis=1)
        context = np.einsum("bt,bth->bh", beta, enc)
        y_tilde = np.concatenate([context, y_prev[:, t:t + 1]], 1) @ pd["fc.weight"].T + pd["fc.bias"]
        d, c = np_lstm_cell(y_tilde, d, c, *np_lstm_params(pd, "lstm_layer."))
    return np.concatenate([d, context], 1) @ pd["fc_final.weight"].T + pd["fc_final.bias"]


def made_up_nasdaq(n=100, k=3, seed=0):
    """# differs: nasdaq100_padding.csv -- k driving series (random walks' increments smoothed) and a target that
    is a lagged linear mix of them plus noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)[:, None]
    X = np.sin(2 * np.pi * t / (7 + 3 * np.arange(k))) + 0.1 * rng.standard_normal((n, k))
    y = 2 * X[:, 0] - np.roll(X[:, 1], 1) + 0.5 * X[:, 2] + 0.05 * rng.standard_normal(n)
    return X, y


def test_darnn_values_and_gradients_against_numpy():
    torch.set_default_dtype(torch.float64)
    T, n, B = 6, 3, 4
    enc, dec = Encoder(T, n, 5), Decoder(T, 4, 5)
    rng = np.random.default_rng(3)
    X, y_prev, y = rng.standard_normal((B, T - 1, n)), rng.standard_normal((B, T - 1)), rng.standard_normal(B)
    X_tilde, X_encoded = enc(torch.tensor(X))
    assert X_tilde.shape == (B, T - 1, n) and X_encoded.shape == (B, T - 1, 5)
    out = dec(X_encoded, torch.tensor(y_prev))
    np.testing.assert_allclose(arr(out)[:, 0], np_darnn(params_of(enc), params_of(dec), X, y_prev, T)[:, 0],
                               rtol=1e-10, atol=1e-12)

    both = nn.ModuleDict({"enc": enc, "dec": dec})

    def loss_np(p):
        pe = {k[4:]: v for k, v in p.items() if k.startswith("enc.")}
        pd = {k[4:]: v for k, v in p.items() if k.startswith("dec.")}
        return np.mean((np_darnn(pe, pd, X, y_prev, T)[:, 0] - y) ** 2)

    def loss_lib():
        return nn.MSELoss()(dec(enc(torch.tensor(X))[1], torch.tensor(y_prev)), torch.tensor(y).view(-1, 1))

    for k, name in enumerate(["enc.encoder_attn.weight", "enc.encoder_lstm.weight_ih_l0", "dec.attn_layer.0.weight",
                              "dec.fc.weight", "dec.lstm_layer.weight_hh_l0"]):
        check_grads(both, name, loss_np, loss_lib, seed=k)


def test_darnn_input_attention_weights_sum_to_one_and_reweight_the_inputs():
    T, n = 5, 3
    enc = Encoder(T, n, 4)
    X = torch.randn(2, T - 1, n)
    X_tilde, _ = enc(X)
    ratio = arr(X_tilde) / arr(X)  # alpha_t per sample and series
    np.testing.assert_allclose(ratio.sum(-1), 1.0, rtol=1e-5)
    assert (ratio > 0).all()


def test_darnn_script_trains_and_predicts(capsys):
    X, y = made_up_nasdaq()
    model = DA_RNN(X, y, 10, 8, 8, 25, 0.01, 11)
    plt.calls.clear()
    model.train()
    out = capsys.readouterr().out
    assert "==> Use accelerator:  cpu" in out and "Epochs:  0  Iterations:  3" in out and "Epochs:  10" in out
    assert plt.calls.count("plot") == 6 and plt.calls.count("show") == 2
    assert model.iter_losses.shape == (33,) and np.isfinite(model.epoch_losses).all()
    assert model.epoch_losses[-1] < 0.3 * model.epoch_losses[0]
    y_train_pred = model.test(on_train=True)
    assert y_train_pred.shape == (61,)
    y_c = model.y
    # window j (rows j .. j+T-2) predicts y[j + T], as train() pairs them
    assert np.mean((y_train_pred - y_c[10:71]) ** 2) < 0.5 * np.var(y_c[10:71])


# ==== 3. lkulowski/LSTM_encoder_decoder: code/lstm_encoder_decoder.py ===========================================

class lstm_encoder(nn.Module):
    ''' Encodes time-series sequence '''

    def __init__(self, input_size, hidden_size, num_layers = 1):

        '''
        : param input_size:     the number of features in the input X
        : param hidden_size:    the number of features in the hidden state h
        : param num_layers:     number of recurrent layers (i.e., 2 means there are
        :                       2 stacked LSTMs)
        '''

        super(lstm_encoder, self).__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers

        # define LSTM layer
        self.lstm = nn.LSTM(input_size = input_size, hidden_size = hidden_size,
                            num_layers = num_layers)

    def forward(self, x_input):

        '''
        : param x_input:               input of shape (seq_len, # in batch, input_size)
        : return lstm_out, hidden:     lstm_out gives all the hidden states in the sequence;
        :                              hidden gives the hidden state and cell state for the last
        :                              element in the sequence
        '''

        lstm_out, self.hidden = self.lstm(x_input.view(x_input.shape[0], x_input.shape[1], self.input_size))

        return lstm_out, self.hidden

    def init_hidden(self, batch_size):

        '''
        initialize hidden state
        : param batch_size:    x_input.shape[1]
        : return:              zeroed hidden state and cell state
        '''

        return (torch.zeros(self.num_layers, batch_size, self.hidden_size),
                torch.zeros(self.num_layers, batch_size, self.hidden_size))


class lstm_decoder(nn.Module):
    ''' Decodes hidden state output by encoder '''

    def __init__(self, input_size, hidden_size, num_layers = 1):

        '''
        : param input_size:     the number of features in the input X
        : param hidden_size:    the number of features in the hidden state h
        : param num_layers:     number of recurrent layers (i.e., 2 means there are
        :                       2 stacked LSTMs)
        '''

        super(lstm_decoder, self).__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers

        self.lstm = nn.LSTM(input_size = input_size, hidden_size = hidden_size,
                            num_layers = num_layers)
        self.linear = nn.Linear(hidden_size, input_size)

    def forward(self, x_input, encoder_hidden_states):

        '''
        : param x_input:                    should be 2D (batch_size, input_size)
        : param encoder_hidden_states:      hidden states
        : return output, hidden:            output gives all the hidden states in the sequence;
        :                                   hidden gives the hidden state and cell state for the last
        :                                   element in the sequence

        '''

        lstm_out, self.hidden = self.lstm(x_input.unsqueeze(0), encoder_hidden_states)
        output = self.linear(lstm_out.squeeze(0))

        return output, self.hidden

class lstm_seq2seq(nn.Module):
    ''' train LSTM encoder-decoder and make predictions '''

    def __init__(self, input_size, hidden_size):

        '''
        : param input_size:     the number of expected features in the input X
        : param hidden_size:    the number of features in the hidden state h
        '''

        super(lstm_seq2seq, self).__init__()

        self.input_size = input_size
        self.hidden_size = hidden_size

        self.encoder = lstm_encoder(input_size = input_size, hidden_size = hidden_size)
        self.decoder = lstm_decoder(input_size = input_size, hidden_size = hidden_size)


    def train_model(self, input_tensor, target_tensor, n_epochs, target_len, batch_size, teacher_forcing_ratio,
                    learning_rate = 0.01, dynamic_tf = False):

        '''
        train lstm encoder-decoder

        : param input_tensor:              input data with shape (seq_len, # in batch, number features); PyTorch
        :                                  tensor
        : param target_tensor:             target data with shape (seq_len, # in batch, number features); PyTorch
        :                                  tensor
        : param n_epochs:                  number of epochs
        : param target_len:                number of values to predict
        : param batch_size:                number of samples per gradient update
        : param teacher_forcing_ratio:     float [0, 1) indicating how much teacher forcing;
        :                                  higher value means more teacher forcing
        : param learning_rate:             float >= 0; learning rate
        : param dynamic_tf:                use dynamic teacher forcing (True/False); dynamic teacher forcing
        :                                  reduces the amount of teacher forcing for each epoch
        : return losses, losses_tf,
        :        losses_no_tf:             array of total loss, teacher forcing loss, and no teacher forcing loss
        :                                  for each epoch
        '''

        # initialize array of losses
        losses = np.full(n_epochs, np.nan)
        losses_tf = np.full(n_epochs, np.nan)
        losses_no_tf = np.full(n_epochs, np.nan)

        optimizer = optim.Adam(self.parameters(), lr = learning_rate)
        criterion = nn.MSELoss()

        # calculate number of batch iterations
        n_batches = int(input_tensor.shape[1] / batch_size)

        with trange(n_epochs) as tr:
            for it in tr:

                batch_loss = 0.
                batch_loss_tf = 0.
                batch_loss_no_tf = 0.
                num_tf = 0
                num_no_tf = 0

                for b in range(n_batches):
                    # select data
                    input_batch = input_tensor[:, b: b + batch_size, :]
                    target_batch = target_tensor[:, b: b + batch_size, :]

                    # outputs tensor
                    outputs = torch.zeros(target_len, batch_size, input_batch.shape[2])

                    # initialize hidden state
                    encoder_hidden = self.encoder.init_hidden(batch_size)

                    # zero the gradient
                    optimizer.zero_grad()

                    # encoder outputs
                    encoder_output, encoder_hidden = self.encoder(input_batch)

                    # decoder with teacher forcing
                    decoder_input = input_batch[-1, :, :]   # shape: (batch_size, input_size)
                    decoder_hidden = encoder_hidden

                    use_teacher_forcing = ( random.random() < teacher_forcing_ratio )

                    if use_teacher_forcing:
                        # teacher forcing: feed the target as the next input
                        for t in range(target_len):
                            decoder_output, decoder_hidden = self.decoder(decoder_input, decoder_hidden)
                            outputs[t] = decoder_output
                            decoder_input = target_batch[t, :, :]

                    else:
                        # predict recursively
                        for t in range(target_len):
                            decoder_output, decoder_hidden = self.decoder(decoder_input, decoder_hidden)
                            outputs[t] = decoder_output
                            decoder_input = decoder_output

                    loss = criterion(outputs, target_batch)

                    batch_loss += loss.item()

                    if use_teacher_forcing:
                        num_tf += batch_size
                        batch_loss_tf += loss.item()
                    else:
                        num_no_tf += batch_size
                        batch_loss_no_tf += loss.item()

                    loss.backward()

                    optimizer.step()

                batch_loss /= n_batches
                losses[it] = batch_loss


                if num_no_tf != 0.:
                    batch_loss_no_tf /= num_no_tf
                    losses_no_tf[it] = batch_loss_no_tf

                if num_tf !=0:
                    batch_loss_tf /= num_tf
                    losses_tf[it] = batch_loss_tf

                if dynamic_tf and teacher_forcing_ratio > 0:
                    teacher_forcing_ratio = teacher_forcing_ratio - 0.02

                tr.set_postfix(loss="{0:.3f}".format(batch_loss))

        return losses, losses_tf, losses_no_tf

    def predict(self, input_tensor, target_len):

        '''
        : param input_tensor:      input data (seq_len, input_size); PyTorch tensor
        : param target_len:        number of target values to predict
        : return np_outputs:       np.array containing predicted values; prediction done recursively
        '''

        # encode input_tensor
        input_tensor = input_tensor.unsqueeze(1)     # add in batch size of 1
        encoder_output, encoder_hidden = self.encoder(input_tensor)

        # initialize tensor for predictions
        outputs = torch.zeros(target_len, input_tensor.shape[2])

        # decode input_tensor
        decoder_input = input_tensor[-1, :, :]
        decoder_hidden = encoder_hidden

        for t in range(target_len):
            decoder_output, decoder_hidden = self.decoder(decoder_input, decoder_hidden)
            outputs[t] = decoder_output.squeeze(0)
            decoder_input = decoder_output

        np_outputs = outputs.detach().numpy()

        return np_outputs


def np_seq2seq(p, xs, target, teacher):
    """The encoder LSTM over xs (S, B, F), then target_len decoder steps, fed the target or their own output."""
    enc = np_lstm_params(p, "encoder.lstm.")
    dec = np_lstm_params(p, "decoder.lstm.")
    H = enc[1].shape[1]
    h = c = np.zeros((xs.shape[1], H))
    for t in range(xs.shape[0]):
        h, c = np_lstm_cell(xs[t], h, c, *enc)
    inp, outs = xs[-1], []
    for t in range(target.shape[0]):
        h, c = np_lstm_cell(inp, h, c, *dec)
        out = h @ p["decoder.linear.weight"].T + p["decoder.linear.bias"]
        outs.append(out)
        inp = target[t] if teacher else out
    return np.stack(outs)


def windowed_sinusoid(n_windows=24, iw=10, ow=4, seed=0):
    """# differs: generate_dataset.py's synthetic series and windowed_dataset, made up: (iw, n, 1) and (ow, n, 1)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_windows + iw + ow) * 0.5
    series = np.sin(t) + 0.05 * rng.standard_normal(len(t))
    X = np.stack([series[k:k + iw] for k in range(n_windows)], 1)[..., None]
    Y = np.stack([series[k + iw:k + iw + ow] for k in range(n_windows)], 1)[..., None]
    return X, Y


@pytest.mark.parametrize("teacher", [True, False])
def test_seq2seq_values_and_gradients_against_numpy(teacher):
    torch.set_default_dtype(torch.float64)
    model = lstm_seq2seq(input_size=1, hidden_size=5)
    X, Y = windowed_sinusoid()
    xs, ys = X[:, :3], Y[:, :3]

    def loss_lib():
        outputs = torch.zeros(4, 3, 1)
        _, hidden = model.encoder(torch.tensor(xs))
        decoder_input = torch.tensor(xs)[-1, :, :]
        for t in range(4):
            decoder_output, hidden = model.decoder(decoder_input, hidden)
            outputs[t] = decoder_output
            decoder_input = torch.tensor(ys)[t, :, :] if teacher else decoder_output
        return nn.MSELoss()(outputs, torch.tensor(ys))

    def loss_np(p):
        return np.mean((np_seq2seq(p, xs, ys, teacher) - ys) ** 2)

    for k, name in enumerate(["encoder.lstm.weight_ih_l0", "encoder.lstm.weight_hh_l0", "decoder.lstm.bias_hh_l0",
                              "decoder.linear.weight"]):
        check_grads(model, name, loss_np, loss_lib, seed=k)
    pred = model.predict(torch.tensor(X[:, 0]), 4)
    np.testing.assert_allclose(pred, np_seq2seq(params_of(model), X[:, :1], Y[:, :1], False)[:, 0], rtol=1e-10)


@pytest.mark.parametrize("ratio,dynamic", [(0.6, False), (0.5, True)])
def test_seq2seq_train_model_mixed_teaching_lowers_the_loss(ratio, dynamic):
    X, Y = windowed_sinusoid()
    Xt, Yt = torch.from_numpy(X).float(), torch.from_numpy(Y).float()
    model = lstm_seq2seq(input_size=Xt.shape[2], hidden_size=12)
    before = np.mean((np.stack([model.predict(Xt[:, k], 4) for k in range(24)], 1) - Y) ** 2)
    losses, losses_tf, losses_no_tf = model.train_model(Xt, Yt, n_epochs=30, target_len=4, batch_size=6,
                                                        teacher_forcing_ratio=ratio, learning_rate=0.02,
                                                        dynamic_tf=dynamic)
    assert losses.shape == (30,) and np.isfinite(losses).all()
    assert np.isfinite(losses_tf).any() and np.isfinite(losses_no_tf).any()  # both branches were drawn
    after = np.mean((np.stack([model.predict(Xt[:, k], 4) for k in range(24)], 1) - Y) ** 2)
    assert losses[-5:].mean() < 0.3 * losses[:3].mean() and after < 0.3 * before


# ==== 4. zhykoties/TimeSeries (DeepAR): model/net.py =============================================================

logger = logging.getLogger('DeepAR.Net')


class Net(nn.Module):
    def __init__(self, params):
        '''
        We define a recurrent network that predicts the future values of a time-dependent variable based on
        past inputs and covariates.
        '''
        super(Net, self).__init__()
        self.params = params
        self.embedding = nn.Embedding(params.num_class, params.embedding_dim)

        self.lstm = nn.LSTM(input_size=1+params.cov_dim+params.embedding_dim,
                            hidden_size=params.lstm_hidden_dim,
                            num_layers=params.lstm_layers,
                            bias=True,
                            batch_first=False,
                            dropout=params.lstm_dropout)
        '''self.lstm = nn.LSTM(input_size=1 + params.cov_dim,
                            hidden_size=params.lstm_hidden_dim,
                            num_layers=params.lstm_layers,
                            bias=True,
                            batch_first=False,
                            dropout=params.lstm_dropout)'''
        # initialize LSTM forget gate bias to be 1 as recommanded by http://proceedings.mlr.press/v37/jozefowicz15.pdf
        # differs: `self.lstm._all_weights` (PyTorch's private per-layer name lists, missing here): the names
        for names in [[n for n, _ in self.lstm.named_parameters()]]:
            for name in filter(lambda n: "bias" in n, names):
                bias = getattr(self.lstm, name)
                n = bias.size(0)
                start, end = n // 4, n // 2
                with torch.no_grad():  # differs: `bias.data[start:end].fill_(1.)` (.data, docs/pytorch.md)
                    bias[start:end] = 1.

        self.relu = nn.ReLU()
        self.distribution_mu = nn.Linear(params.lstm_hidden_dim * params.lstm_layers, 1)
        self.distribution_presigma = nn.Linear(params.lstm_hidden_dim * params.lstm_layers, 1)
        self.distribution_sigma = nn.Softplus()

    def forward(self, x, idx, hidden, cell):
        '''
        Predict mu and sigma of the distribution for z_t.
        Args:
            x: ([batch_size, 1+cov_dim]): z_{t-1} + x_t, note that z_0 = 0
            idx ([batch_size]): one integer denoting the time series id
            hidden ([lstm_layers, batch_size, lstm_hidden_dim]): LSTM h from time step t-1
            cell ([lstm_layers, batch_size, lstm_hidden_dim]): LSTM c from time step t-1
        Returns:
            mu ([batch_size]): estimated mean of z_t
            sigma ([batch_size]): estimated standard deviation of z_t
            hidden ([lstm_layers, batch_size, lstm_hidden_dim]): LSTM h from time step t
            cell ([lstm_layers, batch_size, lstm_hidden_dim]): LSTM c from time step t
        '''
        onehot_embed = self.embedding(idx) #TODO: is it possible to do this only once per window instead of per step?
        lstm_input = torch.cat((x, onehot_embed), dim=2)
        output, (hidden, cell) = self.lstm(lstm_input, (hidden, cell))
        # use h from all three layers to calculate mu and sigma
        hidden_permute = hidden.permute(1, 2, 0).contiguous().view(hidden.shape[1], -1)
        pre_sigma = self.distribution_presigma(hidden_permute)
        mu = self.distribution_mu(hidden_permute)
        sigma = self.distribution_sigma(pre_sigma)  # softplus to make sure standard deviation is positive
        return torch.squeeze(mu), torch.squeeze(sigma), hidden, cell

    def init_hidden(self, input_size):
        return torch.zeros(self.params.lstm_layers, input_size, self.params.lstm_hidden_dim, device=self.params.device)

    def init_cell(self, input_size):
        return torch.zeros(self.params.lstm_layers, input_size, self.params.lstm_hidden_dim, device=self.params.device)

    def test(self, x, v_batch, id_batch, hidden, cell, sampling=False):
        batch_size = x.shape[1]
        if sampling:
            samples = torch.zeros(self.params.sample_times, batch_size, self.params.predict_steps,
                                       device=self.params.device)
            for j in range(self.params.sample_times):
                decoder_hidden = hidden
                decoder_cell = cell
                for t in range(self.params.predict_steps):
                    mu_de, sigma_de, decoder_hidden, decoder_cell = self(x[self.params.predict_start + t].unsqueeze(0),
                                                                         id_batch, decoder_hidden, decoder_cell)
                    gaussian = torch.distributions.normal.Normal(mu_de, sigma_de)
                    pred = gaussian.sample()  # not scaled
                    samples[j, :, t] = pred * v_batch[:, 0] + v_batch[:, 1]
                    if t < (self.params.predict_steps - 1):
                        x[self.params.predict_start + t + 1, :, 0] = mu_de

            sample_mu = torch.median(samples, dim=0)[0]
            sample_sigma = samples.std(dim=0)
            return samples, sample_mu, sample_sigma

        else:
            decoder_hidden = hidden
            decoder_cell = cell
            sample_mu = torch.zeros(batch_size, self.params.predict_steps, device=self.params.device)
            sample_sigma = torch.zeros(batch_size, self.params.predict_steps, device=self.params.device)
            for t in range(self.params.predict_steps):
                mu_de, sigma_de, decoder_hidden, decoder_cell = self(x[self.params.predict_start + t].unsqueeze(0),
                                                                     id_batch, decoder_hidden, decoder_cell)
                sample_mu[:, t] = mu_de * v_batch[:, 0] + v_batch[:, 1]
                sample_sigma[:, t] = sigma_de * v_batch[:, 0]
                if t < (self.params.predict_steps - 1):
                    x[self.params.predict_start + t + 1, :, 0] = mu_de
            return sample_mu, sample_sigma


def loss_fn(mu: Variable, sigma: Variable, labels: Variable):
    '''
    Compute using gaussian the log-likehood which needs to be maximized. Ignore time steps where labels are missing.
    Args:
        mu: (Variable) dimension [batch_size] - estimated mean at time step t
        sigma: (Variable) dimension [batch_size] - estimated standard deviation at time step t
        labels: (Variable) dimension [batch_size] z_t
    Returns:
        loss: (Variable) average log-likelihood loss across the batch
    '''
    zero_index = (labels != 0)
    distribution = torch.distributions.normal.Normal(mu[zero_index], sigma[zero_index])
    likelihood = distribution.log_prob(labels[zero_index])
    return -torch.mean(likelihood)


# if relative is set to True, metrics are not normalized by the scale of labels
def accuracy_ND(mu: torch.Tensor, labels: torch.Tensor, relative = False):
    zero_index = (labels != 0)
    if relative:
        diff = torch.mean(torch.abs(mu[zero_index] - labels[zero_index])).item()
        return [diff, 1]
    else:
        diff = torch.sum(torch.abs(mu[zero_index] - labels[zero_index])).item()
        summation = torch.sum(torch.abs(labels[zero_index])).item()
        return [diff, summation]


def accuracy_RMSE(mu: torch.Tensor, labels: torch.Tensor, relative = False):
    zero_index = (labels != 0)
    diff = torch.sum(torch.mul((mu[zero_index] - labels[zero_index]), (mu[zero_index] - labels[zero_index]))).item()
    if relative:
        return [diff, torch.sum(zero_index).item(), torch.sum(zero_index).item()]
    else:
        summation = torch.sum(torch.abs(labels[zero_index])).item()
        if summation == 0:
            logger.error('summation denominator error! ')
        return [diff, summation, torch.sum(zero_index).item()]


def deepar_params(**kw):
    a = dict(num_class=3, embedding_dim=2, cov_dim=2, lstm_hidden_dim=5, lstm_layers=2, lstm_dropout=0.0,
             device=torch.device('cpu'), sample_times=40, predict_steps=3, predict_start=6)
    a.update(kw)
    return argparse.Namespace(**a)


def np_deepar_step(p, x, idx, h, c):
    """One DeepAR step: [x; embedding] through the 2-layer LSTM, mu and softplus sigma on the layers' h."""
    inp = np.concatenate([x, p["embedding.weight"][idx]], -1)
    hs, cs = [], []
    for layer in range(h.shape[0]):
        w = [p["lstm.%s_l%d" % (k, layer)] for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        hn, cn = np_lstm_cell(inp, h[layer], c[layer], *w)
        hs.append(hn)
        cs.append(cn)
        inp = hn
    h, c = np.stack(hs), np.stack(cs)
    hp = h.transpose(1, 2, 0).reshape(h.shape[1], -1)
    mu = (hp @ p["distribution_mu.weight"].T + p["distribution_mu.bias"])[:, 0]
    sigma = np_softplus(hp @ p["distribution_presigma.weight"].T + p["distribution_presigma.bias"])[:, 0]
    return mu, sigma, h, c


def np_deepar_loss(p, xs, ids, labels, H):
    B = xs.shape[1]
    h = c = np.zeros((2, B, H))
    total = 0.0
    for t in range(xs.shape[0]):
        mu, sigma, h, c = np_deepar_step(p, xs[t], ids, h, c)
        keep = labels[t] != 0
        z = labels[t][keep]
        total += np.mean(0.5 * ((z - mu[keep]) / sigma[keep]) ** 2 + np.log(sigma[keep]) + 0.5 * np.log(2 * np.pi))
    return total


def made_up_electricity(B=6, T=9, seed=0):
    """# differs: preprocess_elect.py's windows -- z (scaled by v), two covariates, a series id; z_0 = 0 and a
    few missing (zero) labels."""
    rng = np.random.default_rng(seed)
    t = np.arange(T + 1)[:, None]
    ids = np.arange(B) % 3
    z = 1 + 0.5 * np.sin(2 * np.pi * (t + ids) / 4) + 0.05 * rng.standard_normal((T + 1, B))
    z[3, 1] = 0.0  # a missing reading
    cov = np.stack([np.sin(2 * np.pi * t[:, 0] / 4), t[:, 0] / T], 1)
    x = np.zeros((T, B, 3))
    x[:, :, 0] = z[:-1]
    x[0, :, 0] = 0.0
    x[:, :, 1:] = cov[1:, None, :]
    return x, ids, z[1:]


def test_deepar_forget_bias_is_one_and_values_against_numpy():
    torch.set_default_dtype(torch.float64)
    params = deepar_params()
    model = Net(params)
    for name in ["bias_ih_l0", "bias_hh_l0", "bias_ih_l1", "bias_hh_l1"]:
        np.testing.assert_array_equal(arr(getattr(model.lstm, name))[5:10], 1.0)
    x, ids, labels = made_up_electricity()
    hidden, cell = model.init_hidden(6), model.init_cell(6)
    assert hidden.shape == (2, 6, 5)
    mu, sigma, h, c = model(torch.tensor(x[:1]), torch.LongTensor(ids).unsqueeze(0), hidden, cell)
    emu, esig, eh, ec = np_deepar_step(params_of(model), x[0], ids, np.zeros((2, 6, 5)), np.zeros((2, 6, 5)))
    np.testing.assert_allclose(arr(mu), emu, rtol=1e-10)
    np.testing.assert_allclose(arr(sigma), esig, rtol=1e-10)
    np.testing.assert_allclose(arr(h), eh, rtol=1e-10)
    assert (arr(sigma) > 0).all()
    m, s, lab = np.array([0.5, 1.0, 2.0]), np.array([1.0, 0.5, 2.0]), np.array([0.0, 1.5, 1.0])
    want = -np.mean([-0.5 * ((lab[i] - m[i]) / s[i]) ** 2 - np.log(s[i]) - 0.5 * np.log(2 * np.pi) for i in (1, 2)])
    assert float(loss_fn(torch.tensor(m), torch.tensor(s), torch.tensor(lab))) == pytest.approx(want, rel=1e-12)
    assert accuracy_ND(torch.tensor(m), torch.tensor(lab)) == pytest.approx([1.5, 2.5])
    assert accuracy_RMSE(torch.tensor(m), torch.tensor(lab)) == pytest.approx([1.25, 2.5, 2])


def deepar_window_loss(model, x, ids, labels):
    B = x.shape[1]
    hidden, cell = model.init_hidden(B), model.init_cell(B)
    loss = torch.zeros(1)
    idx = torch.LongTensor(ids).unsqueeze(0)
    for t in range(x.shape[0]):
        mu, sigma, hidden, cell = model(x[t].unsqueeze(0), idx, hidden, cell)
        loss = loss + loss_fn(mu, sigma, labels[t])
    return loss


def test_deepar_gradients_against_numpy():
    torch.set_default_dtype(torch.float64)
    model = Net(deepar_params())
    x, ids, labels = made_up_electricity(B=4, T=5)

    def loss_lib():
        return deepar_window_loss(model, torch.tensor(x), ids, torch.tensor(labels))[0]

    def loss_np(p):
        return np_deepar_loss(p, x, ids, labels, 5)

    for k, name in enumerate(["embedding.weight", "lstm.weight_ih_l0", "lstm.weight_hh_l1", "distribution_mu.weight",
                              "distribution_presigma.bias"]):
        check_grads(model, name, loss_np, loss_lib, seed=k)


def test_deepar_training_and_recursive_and_sampled_forecasts():
    params = deepar_params()
    model = Net(params)
    x, ids, labels = made_up_electricity()
    xt, lt = torch.from_numpy(x).float(), torch.from_numpy(labels).float()
    opt = optim.Adam(model.parameters(), lr=0.02)
    first = None
    for step in range(60):
        opt.zero_grad()
        loss = deepar_window_loss(model, xt, ids, lt) / x.shape[0]
        loss.backward()
        opt.step()
        first = float(loss.item()) if first is None else first
    assert float(loss.item()) < first - 1.0
    # conditioning range: the first predict_start steps; then recursive means (test() with sampling=False)
    B, start = 6, params.predict_start
    idx = torch.LongTensor(ids).unsqueeze(0)
    v = torch.tensor(np.stack([np.full(B, 2.0), np.full(B, 0.5)], 1)).float()  # (scale, shift)
    with torch.no_grad():
        hidden, cell = model.init_hidden(B), model.init_cell(B)
        for t in range(start):
            _, _, hidden, cell = model(xt[t].unsqueeze(0), idx, hidden, cell)
        x_mean = xt.clone()
        sample_mu, sample_sigma = model.test(x_mean, v, idx, hidden, cell)
        # numpy: the same recursion from the trained parameters (float64)
        p = params_of(model)
        h, c = arr(hidden), arr(cell)
        xin = x.copy()
        for t in range(params.predict_steps):
            mu, sig, h, c = np_deepar_step(p, xin[start + t], ids, h, c)
            np.testing.assert_allclose(arr(sample_mu)[:, t], mu * 2.0 + 0.5, rtol=1e-4, atol=1e-5)
            np.testing.assert_allclose(arr(sample_sigma)[:, t], sig * 2.0, rtol=1e-4, atol=1e-5)
            if t < params.predict_steps - 1:
                xin[start + t + 1, :, 0] = mu
        np.testing.assert_allclose(arr(x_mean)[start + 1:start + 3, :, 0], xin[start + 1:start + 3, :, 0],
                                   rtol=1e-4, atol=1e-5)  # the source writes the means into x
        samples, s_mu, s_sigma = model.test(xt.clone(), v, idx, hidden, cell, sampling=True)
    assert samples.shape == (40, B, 3) and s_mu.shape == (B, 3) and s_sigma.shape == (B, 3)
    med = np.sort(arr(samples), 0)[19]  # PyTorch's median of an even count is the lower middle value
    np.testing.assert_allclose(arr(s_mu), med, rtol=1e-6)
    np.testing.assert_allclose(arr(s_sigma), arr(samples).std(0, ddof=1), rtol=1e-5)
    # the first step's draws are N(mu, sigma) scaled: their mean is within 4 standard errors of the mean forecast
    err = np.abs(arr(samples)[:, :, 0].mean(0) - arr(sample_mu)[:, 0])
    assert (err < 4 * arr(sample_sigma)[:, 0] / np.sqrt(40) + 1e-6).all()
