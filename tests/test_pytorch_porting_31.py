"""Porting, round 31: three recurrent training scripts, each written as its author wrote it with only the imports
changed (`# differs:` marks each other change and why); sizes and step counts are small and the data is made up:

1. pytorch/examples time_sequence_prediction: generate_sine_wave.py (at 2b456e809fe249f2153616578c116e4b2954ca18)
   and train.py (at 04b1f3cec923d40972d998a7ed3c00c1b37e765e, the revision that reads the sine waves with
   `input.split(1, dim=1)` and picks the device from `--device`): two stacked `nn.LSTMCell`s and a `Linear` in
   float64 (`.double()`), `optim.LBFGS(lr=0.8)` stepped with a closure over `nn.MSELoss`, and `future` steps fed
   back under `no_grad`. (tests/test_lbfgs.py ports an older train.py, with `input.chunk`; here the forward is
   also checked against numpy and its gradients against central differences.)
2. salesforce/awd-lstm-lm: model.py (`RNNModel`, at 1e24cc54eae5031c1cfd15ad84d0c334c579c6f4, whose forward returns
   the last layer's outputs for splitcross's criterion; the older 1b3294dd one decodes them itself), weight_drop.py
   (`WeightDrop`, at 15535c498bb73799017137492368aaa175ae4b8b, the version with `widget_demagnetizer_y2k_edition`
   that sets `torch.nn.Parameter(w)`; and its `_setweights` at acb04a5d86bff8d3867bc1343ce0e4b223b8d5be, which
   sets the dropped tensor `w` itself), locked_dropout.py (at 28683b20154fce8e5812aeb6403e35010348c3ea),
   embed_regularize.py (`embedded_dropout`, at ce6c2bf61f0fb6571e3c6c7af40da343feab48d0), utils.py and
   splitcross.py (at 457a422eb46e970a6aad659ca815a04b3d074d6c) and main.py (at
   f694c0dcef65b6b3db012005e54db7298994dd71): its argument parser, `train()` (the BPTT length drawn by
   `np.random`, the lr scaled by seq_len / bptt and put back, `repackage_hidden`, activation regularisation and
   temporal AR on the outputs, `clip_grad_norm_`), `evaluate()`, the epoch loop with its switch to ASGD, and the
   best model saved and reloaded. data.py's `Corpus` is a stand-in over a made-up text (not a port).
3. BlinkDL/ChatRWKV RWKV_in_150_lines.py (at 75a054655905d05daeb90439f29312001ed03d49; the index's other stored
   version, 18f12224, imports `channel_mixing` from an `rwkv_cpp` extension): RWKV-4 in its RNN mode, with
   made-up small weights saved by `torch.save` and loaded by its own loading code (no checkpoint), a character
   tokenizer standing in for `tokenizers.Tokenizer`, and its top-p sampling loop.

Every source was read from the index: none was written from memory. Lines longer than 120 characters
are wrapped.

What broke (gaps, fixed in this round; a test pins PyTorch's behaviour for each):

  G1. `nn.Embedding` has no `max_norm`, `norm_type`, `scale_grad_by_freq` or `sparse` attributes. PyTorch's
      `Embedding.__init__` keeps each of its arguments as an attribute, and awd-lstm-lm's `embedded_dropout`
      passes them on to `F.embedding` (`embed.max_norm, embed.norm_type, embed.scale_grad_by_freq,
      embed.sparse`): AttributeError here. The library accepts these options (at their defaults) but does not
      keep them.
  G2. `nn.Linear` checks an input's width against its `in_features`, not against its weight, so a weight tied
      from a module of another width cannot be used. PyTorch's `Linear.forward` is `F.linear(input, self.weight,
      self.bias)`: the weight decides. awd-lstm-lm ties `decoder = nn.Linear(nhid, ntoken)` to the
      (ntoken, emsize) embedding; model.py at 1b3294ddd85ed50a6d0632eeee6b55e95e659146 calls
      `self.decoder(output.view(...))` on emsize-wide outputs, with main.py's default sizes (nhid 1150, emsize
      400): "ValueError: Linear: expected input of shape (..., 1150), got (..., 400)". (The 1e24cc54 model.py
      ported here never calls the decoder module: the criterion reads `model.decoder.weight`.)

Met and left as documented in docs/pytorch.md, or as PyTorch itself behaves (the lines say `differs:`):

  - `t.data` is the read-only numpy array: `x.data.new(...)` (LockedDropout), `embed.weight.data.new()` and
    `next(self.parameters()).data` (`init_hidden`) are written without `.data`; `self.encoder.weight.data
    .uniform_(...)` and `.data.fill_(0)` are `uniform_`/`fill_` on the parameter under `torch.no_grad()`.
  - `torch.save([model, criterion, optimizer], f)` pickles modules: refused here, so main.py's `model_save` and
    `model_load` save the three `state_dict()`s and load the model's and the criterion's back (the cached
    `torch.save(corpus, fn)` is left out).
  - `F.softmax(out, dim=-1).numpy()` is a read-only view: RWKV's `sample_logits` writes into it, so `.copy()`.
  - `torch.nn.Parameter(w)` of a tensor with history is a new leaf in both libraries (PyTorch's
    `_make_subclass` detaches it): WeightDrop at 15535c49 therefore never trains `weight_hh_l0_raw` in PyTorch
    (fastai/fastai#2591 met the same), nor here; the tests say so. The acb04a5d `_setweights` sets the dropped
    tensor, so the raw weight trains (its gradient is checked against central differences), but in eval mode
    `F.dropout(raw_w, training=False)` is `raw_w` itself, a Parameter, which `setattr` registers as
    `weight_hh_l0`; the next training batch's plain tensor is then refused, "TypeError: cannot assign ... as
    parameter 'weight_hh_l0'", in PyTorch (salesforce/awd-lstm-lm#114, after the first epoch) and here alike.
  - main.py's own SGD (lr 5 to 30, clip 0.25) barely moves this small model off the unigram loss in 8 epochs;
    the training test uses main.py's `--optimizer adam`, and SGD is tested for its switch to "ASGD".
  - `F.embedding(..., padding_idx=-1, ...)` is the last row as padding, in both (PyTorch's `F.embedding` maps a
    negative padding_idx to `weight.size(0) + padding_idx`): `embedded_dropout` of an `Embedding` without
    padding gives the last word's row no gradient through the lookup (tested).

Names the library lacked (not gaps; written around, marked `differs:`): `torch.nn.RNNBase` (WeightDrop's check;
added since, and the check now runs as written), `Tensor.bernoulli_` (added since) and `Tensor.resize_` (the dropout masks are uniform draws compared with 1 - p), and `torch.jit`
(`ScriptModule` and `script_method`; RWKV's model is an `nn.Module`). `torch.maximum` and `torch.optim.ASGD`, which
the round also met missing, were added beside it (`ASGD` is still not used by main.py's switch: see there).

Expected values come from numpy written here (PyTorch's LSTM cell in gate order i, f, g, o; the awd model's
layers, tied decoder, cross-entropy and the two activation penalties; RWKV's time mixing in its parallel closed
form, wkv_t = (sum_{i<t} e^{(t-1-i) w + k_i} v_i + e^{u + k_t} v_t) / (the same sums of 1), rather than the
recurrence), central differences of that numpy in float64, and the data itself; never from the library.
"""

import argparse
import math
import sys
import time
import types
from collections import defaultdict

import numpy as np
import pytest
from porting_references import central, np_log_softmax, np_lstm_cell, np_sigmoid as sigmoid, quietly

import microgradseq as torch
import microgradseq.nn as nn
import microgradseq.nn.functional as F
import microgradseq.optim as optim
from microgradseq.autograd import Variable
from microgradseq.nn import Parameter


def arrays(module):
    return {name: np.array(p.data, dtype=np.float64) for name, p in module.named_parameters()}


def some_indices(shape, count=4, seed=0):
    rng = np.random.default_rng(seed)
    return [tuple(int(rng.integers(0, n)) for n in shape) for _ in range(count)]


# ---- 1. pytorch/examples time_sequence_prediction -----------------------------------------------------------------

def generate_sine_wave(path):
    np.random.seed(2)

    T = 20
    L = 40                                      # differs: 1000 in the source (a fast test)
    N = 8                                       # differs: 100 in the source

    x = np.empty((N, L), "int64")
    x[:] = np.array(range(L)) + np.random.randint(-4 * T, 4 * T, N).reshape(N, 1)
    data = np.sin(x / 1.0 / T).astype("float64")
    with open(path, "wb") as f:                 # differs: torch.save(data, open(...)), closed here
        torch.save(data, f)


HIDDEN = 6                                      # differs: 51 hidden units in the source (a fast test)


class Sequence(nn.Module):
    def __init__(self):
        super(Sequence, self).__init__()
        self.lstm1 = nn.LSTMCell(1, HIDDEN)
        self.lstm2 = nn.LSTMCell(HIDDEN, HIDDEN)
        self.linear = nn.Linear(HIDDEN, 1)
        self.dummy_param = nn.Parameter(torch.empty(0))

    def forward(self, input, future = 0):
        outputs = []
        device = self.dummy_param.device
        h_t = torch.zeros(input.size(0), HIDDEN, dtype=torch.double).to(device)
        c_t = torch.zeros(input.size(0), HIDDEN, dtype=torch.double).to(device)
        h_t2 = torch.zeros(input.size(0), HIDDEN, dtype=torch.double).to(device)
        c_t2 = torch.zeros(input.size(0), HIDDEN, dtype=torch.double).to(device)

        for input_t in input.split(1, dim=1):
            h_t, c_t = self.lstm1(input_t, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            output = self.linear(h_t2)
            outputs += [output]
        for i in range(future):# if we should predict the future
            h_t, c_t = self.lstm1(output, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            output = self.linear(h_t2)
            outputs += [output]
        outputs = torch.cat(outputs, dim=1)
        return outputs


def sine_train_main(argv, traindata_path):
    """train.py's `__main__` block; differs: a function of its arguments and the data file's path, and the
    matplotlib drawing of each step's predictions left out (matplotlib is not a dependency)."""
    parser = argparse.ArgumentParser()
    parser.add_argument('--steps', type=int, default=15, help='steps to run')
    parser.add_argument('--device', type=str, default='cuda', help='training device. cuda, mps, or cpu.')
    opt = parser.parse_args(argv)
    # training device
    device_name = opt.device
    if device_name == 'cuda' and not torch.cuda.is_available():
        print('cuda is not available')
        return None                             # differs: exit(-1) in the source
    elif device_name == 'mps' and not torch.backends.mps.is_available():
        print('mps is not available')
        return None                             # differs: exit(-1) in the source
    device = torch.device(device_name)
    # set random seed to 0
    np.random.seed(0)
    torch.manual_seed(0)
    # load data and make training set
    data = torch.from_numpy(torch.load(traindata_path)).to(device)    # differs: 'traindata.pt' in the cwd
    input = data[3:, :-1]
    target = data[3:, 1:]
    test_input = data[:3, :-1]
    test_target = data[:3, 1:]
    # build the model
    seq = Sequence().to(device).double()
    criterion = nn.MSELoss().to(device)
    # use LBFGS as optimizer since we can load the whole data to train
    optimizer = optim.LBFGS(seq.parameters(), lr=0.8)
    #begin to train
    for i in range(opt.steps):
        print('STEP: ', i)
        def closure():
            optimizer.zero_grad()
            out = seq(input)
            loss = criterion(out, target)
            print('loss:', loss.item())
            loss.backward()
            return loss
        optimizer.step(closure)
        # begin to predict, no need to track gradient here
        with torch.no_grad():
            future = 20                         # differs: 1000 in the source
            pred = seq(test_input, future=future)
            loss = criterion(pred[:, :-future], test_target)
            print('test loss:', loss.item())
            y = pred.cpu().detach().numpy()
    return seq, y                               # differs: (the plots are left out) what the tests read


def np_sequence(p, x, future=0):
    """Sequence.forward in numpy: x (B, T) -> (B, T + future)."""
    B = x.shape[0]
    h, c, h2, c2 = (np.zeros((B, HIDDEN)) for _ in range(4))
    cell1 = [p["lstm1." + n] for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    cell2 = [p["lstm2." + n] for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    outputs, inputs, output = [], [x[:, t:t + 1] for t in range(x.shape[1])], None
    for step in range(x.shape[1] + future):
        x_t = inputs[step] if step < len(inputs) else output
        h, c = np_lstm_cell(x_t, h, c, *cell1)
        h2, c2 = np_lstm_cell(h, h2, c2, *cell2)
        output = h2 @ p["linear.weight"].T + p["linear.bias"]
        outputs.append(output)
    return np.concatenate(outputs, axis=1)


@pytest.fixture
def sine_path(tmp_path):
    path = tmp_path / "traindata.pt"
    generate_sine_wave(path)
    return path


def test_generate_sine_wave_saves_shifted_sines_that_train_py_loads(sine_path):
    data = torch.load(sine_path)
    np.random.seed(2)
    shifts = np.random.randint(-80, 80, 8)
    assert isinstance(data, np.ndarray) and data.shape == (8, 40) and data.dtype == np.float64
    assert np.allclose(data, np.sin((np.arange(40)[None, :] + shifts[:, None]) / 20.0), rtol=0, atol=1e-15)


def test_sequence_forward_and_its_future_are_two_stacked_lstm_cells_in_float64(sine_path):
    torch.manual_seed(1)
    seq = Sequence().double()
    x = torch.load(sine_path)[:3, :10]
    out = seq(torch.from_numpy(x), future=4)
    assert out.dtype == np.float64 and out.shape == (3, 14)
    assert np.allclose(out.numpy(), np_sequence(arrays(seq), x, future=4), rtol=1e-12, atol=1e-13)


def test_sequence_gradients_match_central_differences(sine_path):
    torch.manual_seed(2)
    seq = Sequence().double()
    data = torch.load(sine_path)[3:6, :12]
    x, y = data[:, :-1], data[:, 1:]
    loss = nn.MSELoss()(seq(torch.from_numpy(x), future=2)[:, :-2], torch.from_numpy(y))
    loss.backward()
    p = arrays(seq)
    for name in ("lstm1.weight_ih", "lstm1.weight_hh", "lstm2.bias_hh", "linear.weight"):
        def f(value, name=name):
            q = dict(p, **{name: value})
            return np.mean((np_sequence(q, x, future=2)[:, :-2] - y) ** 2)
        indices = some_indices(p[name].shape)
        grad = dict(seq.named_parameters())[name].grad
        assert np.allclose([grad[i] for i in indices], central(f, p[name], indices), rtol=1e-6, atol=1e-9), name


def test_train_py_runs_lbfgs_steps_that_lower_the_loss_and_predicts_the_future(sine_path):
    assert quietly(sine_train_main, ["--steps", "1"], sine_path)[1] == "cuda is not available\n"
    (seq, y), printed = quietly(sine_train_main, ["--steps", "2", "--device", "cpu"], sine_path)
    losses = [float(line.split()[1]) for line in printed.splitlines() if line.startswith("loss:")]
    tests = [float(line.split()[2]) for line in printed.splitlines() if line.startswith("test loss:")]
    assert printed.count("STEP: ") == 2 and len(tests) == 2
    assert 2 < len(losses) <= 2 * 25                      # LBFGS's closure calls: max_eval = max_iter * 5 / 4
    assert losses[-1] < 0.2 * losses[0] and tests[-1] < 0.5 * tests[0]
    assert y.shape == (3, 39 + 20)
    data = torch.load(sine_path)
    assert np.allclose(y, np_sequence(arrays(seq), data[:3, :-1], future=20), rtol=1e-10, atol=1e-12)
    assert np.mean((y[:, :39] - data[:3, 1:]) ** 2) == pytest.approx(tests[-1], rel=1e-9)


# ---- 2. salesforce/awd-lstm-lm --------------------------------------------------------------------------------

# locked_dropout.py

class LockedDropout(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x, dropout=0.5):
        if not self.training or not dropout:
            return x
        # differs: m = x.data.new(1, x.size(1), x.size(2)).bernoulli_(1 - dropout): x.data is numpy here and
        # there is no bernoulli_; the same Bernoulli(1 - dropout) draw, made from a uniform one
        m = (torch.rand(1, x.size(1), x.size(2), dtype=x.dtype) < 1 - dropout).to(x.dtype)
        mask = Variable(m, requires_grad=False) / (1 - dropout)
        mask = mask.expand_as(x)
        return mask * x


# embed_regularize.py

def embedded_dropout(embed, words, dropout=0.1, scale=None):
    if dropout:
        # differs: embed.weight.data.new().resize_((embed.weight.size(0), 1)).bernoulli_(1 - dropout): .data is
        # numpy here and there is no resize_ or bernoulli_; the same draw, from a uniform one
        mask = (torch.rand(embed.weight.size(0), 1, dtype=embed.weight.dtype) < 1 - dropout).to(
            embed.weight.dtype).expand_as(embed.weight) / (1 - dropout)
        masked_embed_weight = mask * embed.weight
    else:
        masked_embed_weight = embed.weight
    if scale:
        masked_embed_weight = scale.expand_as(
            masked_embed_weight) * masked_embed_weight

    padding_idx = embed.padding_idx
    if padding_idx is None:
        padding_idx = -1

    X = F.embedding(
        words, masked_embed_weight,
        padding_idx, None,                      # differs: embed.max_norm (gap G1: no such attribute here)
        2.0,                                    # differs: embed.norm_type (gap G1)
        False, False                            # differs: embed.scale_grad_by_freq, embed.sparse (gap G1)
    )
    return X


# weight_drop.py (15535c49)

class WeightDrop(torch.nn.Module):
    def __init__(self, module, weights, dropout=0, variational=False):
        super(WeightDrop, self).__init__()
        self.module = module
        self.weights = weights
        self.dropout = dropout
        self.variational = variational
        self._setup()

    def widget_demagnetizer_y2k_edition(*args, **kwargs):
        # We need to replace flatten_parameters with a nothing function
        # It must be a function rather than a lambda as otherwise pickling explodes
        # We can't write boring code though, so ... WIDGET DEMAGNETIZER Y2K EDITION!
        # (╯°□°）╯︵ ┻━┻
        return

    def _setup(self):
        # Terrible temporary solution to an issue regarding compacting weights re: CUDNN RNN
        if issubclass(type(self.module), torch.nn.RNNBase):
            self.module.flatten_parameters = self.widget_demagnetizer_y2k_edition

        for name_w in self.weights:
            print('Applying weight drop of {} to {}'.format(self.dropout, name_w))
            w = getattr(self.module, name_w)
            del self.module._parameters[name_w]
            self.module.register_parameter(name_w + '_raw', Parameter(w.data))

    def _setweights(self):
        for name_w in self.weights:
            raw_w = getattr(self.module, name_w + '_raw')
            w = None
            if self.variational:
                mask = torch.autograd.Variable(torch.ones(raw_w.size(0), 1))
                if raw_w.is_cuda: mask = mask.cuda()
                mask = torch.nn.functional.dropout(mask, p=self.dropout, training=True)
                w = mask.expand_as(raw_w) * raw_w
            else:
                w = torch.nn.functional.dropout(raw_w, p=self.dropout, training=self.training)
            setattr(self.module, name_w, torch.nn.Parameter(w))

    def forward(self, *args):
        self._setweights()
        return self.module.forward(*args)


class WeightDropAcb04a5d(torch.nn.Module):
    """weight_drop.py at acb04a5d, whose class is also named WeightDrop (the tests put it in that name's place,
    as model.py imports it): no flatten_parameters stand-in, and `_setweights` sets the dropped tensor itself."""

    def __init__(self, module, weights, dropout=0, variational=False):
        super(WeightDrop, self).__init__()
        self.module = module
        self.weights = weights
        self.dropout = dropout
        self.variational = variational
        self._setup()

    def _setup(self):
        for name_w in self.weights:
            print('Applying weight drop of {} to {}'.format(self.dropout, name_w))
            w = getattr(self.module, name_w)
            del self.module._parameters[name_w]
            self.module.register_parameter(name_w + '_raw', Parameter(w.data))

    def _setweights(self):
        for name_w in self.weights:
            raw_w = getattr(self.module, name_w + '_raw')
            w = None
            if self.variational:
                mask = torch.autograd.Variable(torch.ones(raw_w.size(0), 1))
                if raw_w.is_cuda: mask = mask.cuda()
                mask = torch.nn.functional.dropout(mask, p=self.dropout, training=True)
                w = mask.expand_as(raw_w) * raw_w
            else:
                w = torch.nn.functional.dropout(raw_w, p=self.dropout, training=self.training)
            setattr(self.module, name_w, w)

    def forward(self, *args):
        self._setweights()
        return self.module.forward(*args)


# model.py (1e24cc54)

class RNNModel(nn.Module):
    """Container module with an encoder, a recurrent module, and a decoder."""

    def __init__(self, rnn_type, ntoken, ninp, nhid, nlayers, dropout=0.5, dropouth=0.5, dropouti=0.5, dropoute=0.1,
                 wdrop=0, tie_weights=False):
        super(RNNModel, self).__init__()
        self.lockdrop = LockedDropout()
        self.idrop = nn.Dropout(dropouti)
        self.hdrop = nn.Dropout(dropouth)
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(ntoken, ninp)
        assert rnn_type in ['LSTM', 'QRNN', 'GRU'], 'RNN type is not supported'
        if rnn_type == 'LSTM':
            self.rnns = [torch.nn.LSTM(ninp if l == 0 else nhid,
                                       nhid if l != nlayers - 1 else (ninp if tie_weights else nhid), 1, dropout=0)
                         for l in range(nlayers)]
            if wdrop:
                self.rnns = [WeightDrop(rnn, ['weight_hh_l0'], dropout=wdrop) for rnn in self.rnns]
        if rnn_type == 'GRU':
            self.rnns = [torch.nn.GRU(ninp if l == 0 else nhid, nhid if l != nlayers - 1 else ninp, 1, dropout=0)
                         for l in range(nlayers)]
            if wdrop:
                self.rnns = [WeightDrop(rnn, ['weight_hh_l0'], dropout=wdrop) for rnn in self.rnns]
        elif rnn_type == 'QRNN':
            raise NotImplementedError("QRNN")   # differs: torchqrnn's QRNNLayer (a CUDA extension) left out
        print(self.rnns)
        self.rnns = torch.nn.ModuleList(self.rnns)
        self.decoder = nn.Linear(nhid, ntoken)

        # Optionally tie weights as in:
        # "Using the Output Embedding to Improve Language Models" (Press & Wolf 2016)
        # https://arxiv.org/abs/1608.05859
        # and
        # "Tying Word Vectors and Word Classifiers: A Loss Framework for Language Modeling" (Inan et al. 2016)
        # https://arxiv.org/abs/1611.01462
        if tie_weights:
            #if nhid != ninp:
            #    raise ValueError('When using the tied flag, nhid must be equal to emsize')
            self.decoder.weight = self.encoder.weight

        self.init_weights()

        self.rnn_type = rnn_type
        self.ninp = ninp
        self.nhid = nhid
        self.nlayers = nlayers
        self.dropout = dropout
        self.dropouti = dropouti
        self.dropouth = dropouth
        self.dropoute = dropoute
        self.tie_weights = tie_weights

    def reset(self):
        if self.rnn_type == 'QRNN': [r.reset() for r in self.rnns]

    def init_weights(self):
        initrange = 0.1
        with torch.no_grad():                   # differs: `.data.uniform_`, `.data.fill_`: .data is numpy here
            self.encoder.weight.uniform_(-initrange, initrange)
            self.decoder.bias.fill_(0)
            self.decoder.weight.uniform_(-initrange, initrange)

    def forward(self, input, hidden, return_h=False):
        emb = embedded_dropout(self.encoder, input, dropout=self.dropoute if self.training else 0)
        #emb = self.idrop(emb)

        emb = self.lockdrop(emb, self.dropouti)

        raw_output = emb
        new_hidden = []
        #raw_output, hidden = self.rnn(emb, hidden)
        raw_outputs = []
        outputs = []
        for l, rnn in enumerate(self.rnns):
            # current_input = raw_output     # differs: commented out, never used (the file is pyflakes-clean)
            raw_output, new_h = rnn(raw_output, hidden[l])
            new_hidden.append(new_h)
            raw_outputs.append(raw_output)
            if l != self.nlayers - 1:
                #self.hdrop(raw_output)
                raw_output = self.lockdrop(raw_output, self.dropouth)
                outputs.append(raw_output)
        hidden = new_hidden

        output = self.lockdrop(raw_output, self.dropout)
        outputs.append(output)

        result = output.view(output.size(0)*output.size(1), output.size(2))
        if return_h:
            return result, hidden, raw_outputs, outputs
        return result, hidden

    def init_hidden(self, bsz):
        weight = next(self.parameters())        # differs: `.data` (numpy here, which has no `new`)
        if self.rnn_type == 'LSTM':
            return [(Variable(weight.new(1, bsz, self.nhid if l != self.nlayers - 1 else
                                         (self.ninp if self.tie_weights else self.nhid)).zero_()),
                    Variable(weight.new(1, bsz, self.nhid if l != self.nlayers - 1 else
                                        (self.ninp if self.tie_weights else self.nhid)).zero_()))
                    for l in range(self.nlayers)]
        elif self.rnn_type == 'QRNN' or self.rnn_type == 'GRU':
            return [Variable(weight.new(1, bsz, self.nhid if l != self.nlayers - 1 else
                                        (self.ninp if self.tie_weights else self.nhid)).zero_())
                    for l in range(self.nlayers)]


# utils.py

def repackage_hidden(h):
    """Wraps hidden states in new Tensors,
    to detach them from their history."""
    if isinstance(h, torch.Tensor):
        return h.detach()
    else:
        return tuple(repackage_hidden(v) for v in h)


def batchify(data, bsz, args):
    # Work out how cleanly we can divide the dataset into bsz parts.
    nbatch = data.size(0) // bsz
    # Trim off any extra elements that wouldn't cleanly fit (remainders).
    data = data.narrow(0, 0, nbatch * bsz)
    # Evenly divide the data across the bsz batches.
    data = data.view(bsz, -1).t().contiguous()
    if args.cuda:
        data = data.cuda()
    return data


def get_batch(source, i, args, seq_len=None, evaluation=False):
    seq_len = min(seq_len if seq_len else args.bptt, len(source) - 1 - i)
    data = source[i:i+seq_len]
    target = source[i+1:i+1+seq_len].view(-1)
    return data, target


# splitcross.py

class SplitCrossEntropyLoss(nn.Module):
    r'''SplitCrossEntropyLoss calculates an approximate softmax'''
    def __init__(self, hidden_size, splits, verbose=False):
        # We assume splits is [0, split1, split2, N] where N >= |V|
        # For example, a vocab of 1000 words may have splits [0] + [100, 500] + [inf]
        super(SplitCrossEntropyLoss, self).__init__()
        self.hidden_size = hidden_size
        self.splits = [0] + splits + [100 * 1000000]
        self.nsplits = len(self.splits) - 1
        self.stats = defaultdict(list)
        self.verbose = verbose
        # Each of the splits that aren't in the head require a pretend token, we'll call them tombstones
        # The probability given to this tombstone is the probability of selecting an item from the represented split
        if self.nsplits > 1:
            self.tail_vectors = nn.Parameter(torch.zeros(self.nsplits - 1, hidden_size))
            self.tail_bias = nn.Parameter(torch.zeros(self.nsplits - 1))

    def logprob(self, weight, bias, hiddens, splits=None, softmaxed_head_res=None, verbose=False):
        # First we perform the first softmax on the head vocabulary and the tombstones
        if softmaxed_head_res is None:
            start, end = self.splits[0], self.splits[1]
            head_weight = None if end - start == 0 else weight[start:end]
            head_bias = None if end - start == 0 else bias[start:end]
            # We only add the tombstones if we have more than one split
            if self.nsplits > 1:
                head_weight = self.tail_vectors if head_weight is None else torch.cat([head_weight, self.tail_vectors])
                head_bias = self.tail_bias if head_bias is None else torch.cat([head_bias, self.tail_bias])

            # Perform the softmax calculation for the word vectors in the head for all splits
            # We need to guard against empty splits as torch.cat does not like random lists
            head_res = torch.nn.functional.linear(hiddens, head_weight, bias=head_bias)
            softmaxed_head_res = torch.nn.functional.log_softmax(head_res, dim=-1)

        if splits is None:
            splits = list(range(self.nsplits))

        results = []
        # running_offset = 0             # differs: commented out, never used in logprob (pyflakes)
        for idx in splits:

            # For those targets in the head (idx == 0) we only need to return their loss
            if idx == 0:
                results.append(softmaxed_head_res[:, :-(self.nsplits - 1)])

            # If the target is in one of the splits, the probability is the p(tombstone) * p(word within tombstone)
            else:
                start, end = self.splits[idx], self.splits[idx + 1]
                tail_weight = weight[start:end]
                tail_bias = bias[start:end]

                # Calculate the softmax for the words in the tombstone
                tail_res = torch.nn.functional.linear(hiddens, tail_weight, bias=tail_bias)

                # Then we calculate p(tombstone) * p(word in tombstone)
                # Adding is equivalent to multiplication in log space
                head_entropy = (softmaxed_head_res[:, -idx]).contiguous()
                tail_entropy = torch.nn.functional.log_softmax(tail_res, dim=-1)
                results.append(head_entropy.view(-1, 1) + tail_entropy)

        if len(results) > 1:
            return torch.cat(results, dim=1)
        return results[0]

    def split_on_targets(self, hiddens, targets):
        # Split the targets into those in the head and in the tail
        split_targets = []
        split_hiddens = []

        # Determine to which split each element belongs (for each start split value, add 1 if equal or greater)
        # This method appears slower at least for WT-103 values for approx softmax
        #masks = [(targets >= self.splits[idx]).view(1, -1) for idx in range(1, self.nsplits)]
        #mask = torch.sum(torch.cat(masks, dim=0), dim=0)
        ###
        # This is equally fast for smaller splits as method below but scales linearly
        mask = None
        for idx in range(1, self.nsplits):
            partial_mask = targets >= self.splits[idx]
            mask = mask + partial_mask if mask is not None else partial_mask
        ###
        #masks = torch.stack([targets] * (self.nsplits - 1))
        #mask = torch.sum(masks >= self.split_starts, dim=0)
        for idx in range(self.nsplits):
            # If there are no splits, avoid costly masked select
            if self.nsplits == 1:
                split_targets, split_hiddens = [targets], [hiddens]
                continue
            # If all the words are covered by earlier targets, we have empties so later stages don't freak out
            if sum(len(t) for t in split_targets) == len(targets):
                split_targets.append([])
                split_hiddens.append([])
                continue
            # Are you in our split?
            tmp_mask = mask == idx
            split_targets.append(torch.masked_select(targets, tmp_mask))
            split_hiddens.append(hiddens.masked_select(tmp_mask.unsqueeze(1).expand_as(hiddens))
                                 .view(-1, hiddens.size(1)))
        return split_targets, split_hiddens

    def forward(self, weight, bias, hiddens, targets, verbose=False):
        if self.verbose or verbose:
            for idx in sorted(self.stats):
                print('{}: {}'.format(idx, int(np.mean(self.stats[idx]))), end=', ')
            print()

        total_loss = None
        if len(hiddens.size()) > 2: hiddens = hiddens.view(-1, hiddens.size(2))

        split_targets, split_hiddens = self.split_on_targets(hiddens, targets)

        # First we perform the first softmax on the head vocabulary and the tombstones
        start, end = self.splits[0], self.splits[1]
        head_weight = None if end - start == 0 else weight[start:end]
        head_bias = None if end - start == 0 else bias[start:end]

        # We only add the tombstones if we have more than one split
        if self.nsplits > 1:
            head_weight = self.tail_vectors if head_weight is None else torch.cat([head_weight, self.tail_vectors])
            head_bias = self.tail_bias if head_bias is None else torch.cat([head_bias, self.tail_bias])

        # Perform the softmax calculation for the word vectors in the head for all splits
        # We need to guard against empty splits as torch.cat does not like random lists
        combo = torch.cat([split_hiddens[i] for i in range(self.nsplits) if len(split_hiddens[i])])
        ###
        all_head_res = torch.nn.functional.linear(combo, head_weight, bias=head_bias)
        softmaxed_all_head_res = torch.nn.functional.log_softmax(all_head_res, dim=-1)
        if self.verbose or verbose:
            self.stats[0].append(combo.size()[0] * head_weight.size()[0])

        running_offset = 0
        for idx in range(self.nsplits):
            # If there are no targets for this split, continue
            if len(split_targets[idx]) == 0: continue

            # For those targets in the head (idx == 0) we only need to return their loss
            if idx == 0:
                softmaxed_head_res = softmaxed_all_head_res[running_offset:running_offset + len(split_hiddens[idx])]
                entropy = -torch.gather(softmaxed_head_res, dim=1, index=split_targets[idx].view(-1, 1))
            # If the target is in one of the splits, the probability is the p(tombstone) * p(word within tombstone)
            else:
                softmaxed_head_res = softmaxed_all_head_res[running_offset:running_offset + len(split_hiddens[idx])]

                if self.verbose or verbose:
                    start, end = self.splits[idx], self.splits[idx + 1]
                    tail_weight = weight[start:end]
                    self.stats[idx].append(split_hiddens[idx].size()[0] * tail_weight.size()[0])

                # Calculate the softmax for the words in the tombstone
                tail_res = self.logprob(weight, bias, split_hiddens[idx], splits=[idx],
                                        softmaxed_head_res=softmaxed_head_res)

                # Then we calculate p(tombstone) * p(word in tombstone)
                # Adding is equivalent to multiplication in log space
                head_entropy = softmaxed_head_res[:, -idx]
                # All indices are shifted - if the first split handles [0,...,499] then the 500th in the second split
                # will be 0 indexed
                indices = (split_targets[idx] - self.splits[idx]).view(-1, 1)
                # Warning: if you don't squeeze, you get an N x 1 return, which acts oddly with broadcasting
                tail_entropy = torch.gather(torch.nn.functional.log_softmax(tail_res, dim=-1), dim=1,
                                            index=indices).squeeze()
                entropy = -(head_entropy + tail_entropy)
            ###
            running_offset += len(split_hiddens[idx])
            total_loss = entropy.float().sum() if total_loss is None else total_loss + entropy.float().sum()

        return (total_loss / len(targets)).type_as(weight)


# data.py stand-in (not a port): a made-up corpus of short sentences, each word an id, '<eos>' after each line

WORDS = {"det": ["the", "a"], "noun": ["cat", "dog", "bird"], "verb": ["sees", "likes"], "adv": ["now", "again"]}


class Corpus:
    def __init__(self, seed=0, lines=(90, 12, 12)):
        rng = np.random.default_rng(seed)
        self.idx2word = ["<eos>"] + [w for group in WORDS.values() for w in group]
        self.dictionary = self.idx2word
        stoi = {w: i for i, w in enumerate(self.idx2word)}

        def text(count):
            ids = []
            for _ in range(count):
                words = [rng.choice(WORDS["det"]), rng.choice(WORDS["noun"]), rng.choice(WORDS["verb"]),
                         rng.choice(WORDS["det"]), rng.choice(WORDS["noun"]), rng.choice(WORDS["adv"])]
                ids += [stoi[w] for w in words] + [0]
            return torch.LongTensor(ids)

        self.train, self.valid, self.test = (text(n) for n in lines)


def awd_main(argv, corpus):
    """main.py, its module-level code in a function of its arguments and corpus (differs: so that the tests can
    run it; `model`, `criterion` and `optimizer` are this function's names rather than globals)."""
    parser = argparse.ArgumentParser(description='PyTorch PennTreeBank RNN/LSTM Language Model')
    parser.add_argument('--data', type=str, default='data/penn/',
                        help='location of the data corpus')
    parser.add_argument('--model', type=str, default='LSTM',
                        help='type of recurrent net (LSTM, QRNN, GRU)')
    parser.add_argument('--emsize', type=int, default=400,
                        help='size of word embeddings')
    parser.add_argument('--nhid', type=int, default=1150,
                        help='number of hidden units per layer')
    parser.add_argument('--nlayers', type=int, default=3,
                        help='number of layers')
    parser.add_argument('--lr', type=float, default=30,
                        help='initial learning rate')
    parser.add_argument('--clip', type=float, default=0.25,
                        help='gradient clipping')
    parser.add_argument('--epochs', type=int, default=8000,
                        help='upper epoch limit')
    parser.add_argument('--batch_size', type=int, default=80, metavar='N',
                        help='batch size')
    parser.add_argument('--bptt', type=int, default=70,
                        help='sequence length')
    parser.add_argument('--dropout', type=float, default=0.4,
                        help='dropout applied to layers (0 = no dropout)')
    parser.add_argument('--dropouth', type=float, default=0.3,
                        help='dropout for rnn layers (0 = no dropout)')
    parser.add_argument('--dropouti', type=float, default=0.65,
                        help='dropout for input embedding layers (0 = no dropout)')
    parser.add_argument('--dropoute', type=float, default=0.1,
                        help='dropout to remove words from embedding layer (0 = no dropout)')
    parser.add_argument('--wdrop', type=float, default=0.5,
                        help='amount of weight dropout to apply to the RNN hidden to hidden matrix')
    parser.add_argument('--seed', type=int, default=1111,
                        help='random seed')
    parser.add_argument('--nonmono', type=int, default=5,
                        help='random seed')
    parser.add_argument('--cuda', action='store_false',
                        help='use CUDA')
    parser.add_argument('--log-interval', type=int, default=200, metavar='N',
                        help='report interval')
    randomhash = ''.join(str(time.time()).split('.'))
    parser.add_argument('--save', type=str,  default=randomhash+'.pt',
                        help='path to save the final model')
    parser.add_argument('--alpha', type=float, default=2,
                        help='alpha L2 regularization on RNN activation (alpha = 0 means no regularization)')
    parser.add_argument('--beta', type=float, default=1,
                        help='beta slowness regularization applied on RNN activiation '
                             '(beta = 0 means no regularization)')
    parser.add_argument('--wdecay', type=float, default=1.2e-6,
                        help='weight decay applied to all weights')
    parser.add_argument('--resume', type=str,  default='',
                        help='path of model to resume')
    parser.add_argument('--optimizer', type=str,  default='sgd',
                        help='optimizer to use (sgd, adam)')
    parser.add_argument('--when', nargs="+", type=int, default=[-1],
                        help='When (which epochs) to divide the learning rate by 10 - accepts multiple')
    args = parser.parse_args(argv)
    args.tied = True

    # Set the random seed manually for reproducibility.
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    if torch.cuda.is_available():
        if not args.cuda:
            print("WARNING: You have a CUDA device, so you should probably run with --cuda")
        else:
            torch.cuda.manual_seed(args.seed)

    ###############################################################################
    # Load data
    ###############################################################################

    def model_save(fn):
        with open(fn, 'wb') as f:
            # differs: torch.save([model, criterion, optimizer], f): modules are not pickled here
            torch.save([model.state_dict(), criterion.state_dict(), optimizer.state_dict()], f)

    def model_load(fn):
        with open(fn, 'rb') as f:
            # differs: model, criterion, optimizer = torch.load(f) (see model_save)
            model_state, criterion_state, optimizer_state = torch.load(f)
        model.load_state_dict(model_state)
        criterion.load_state_dict(criterion_state)
        # (optimizer_state is not loaded back: after the switch to "ASGD" the optimizer holds model.parameters(),
        # which by then include the weight_hh_l0 Parameters WeightDrop registered, and main.py never steps it again)

    # differs: the corpus is given; main.py caches data.Corpus(args.data) by torch.save, which pickles it

    eval_batch_size = 10
    test_batch_size = 1
    train_data = batchify(corpus.train, args.batch_size, args)
    val_data = batchify(corpus.valid, eval_batch_size, args)
    test_data = batchify(corpus.test, test_batch_size, args)

    ###############################################################################
    # Build the model
    ###############################################################################

    criterion = None

    ntokens = len(corpus.dictionary)
    model = RNNModel(args.model, ntokens, args.emsize, args.nhid, args.nlayers, args.dropout, args.dropouth,
                     args.dropouti, args.dropoute, args.wdrop, args.tied)
    ###
    if args.resume:
        raise NotImplementedError("--resume")   # differs: resuming (model_load of a saved run) left out
    ###
    if not criterion:
        splits = []
        if ntokens > 500000:
            # One Billion
            # This produces fairly even matrix mults for the buckets:
            # 0: 11723136, 1: 10854630, 2: 11270961, 3: 11219422
            splits = [4200, 35000, 180000]
        elif ntokens > 75000:
            # WikiText-103
            splits = [2800, 20000, 76000]
        print('Using', splits)
        criterion = SplitCrossEntropyLoss(args.emsize, splits=splits, verbose=False)
    ###
    if args.cuda:
        model = model.cuda()
        criterion = criterion.cuda()
    ###
    params = list(model.parameters()) + list(criterion.parameters())
    total_params = sum(x.size()[0] * x.size()[1] if len(x.size()) > 1 else x.size()[0] for x in params if x.size())
    print('Args:', args)
    print('Model total parameters:', total_params)

    ###############################################################################
    # Training code
    ###############################################################################

    def evaluate(data_source, batch_size=10):
        # Turn on evaluation mode which disables dropout.
        model.eval()
        if args.model == 'QRNN': model.reset()
        total_loss = 0
        # ntokens = len(corpus.dictionary)   # differs: commented out, never used here (pyflakes)
        hidden = model.init_hidden(batch_size)
        for i in range(0, data_source.size(0) - 1, args.bptt):
            data, targets = get_batch(data_source, i, args, evaluation=True)
            output, hidden = model(data, hidden)
            total_loss += len(data) * criterion(model.decoder.weight, model.decoder.bias, output, targets).data
            hidden = repackage_hidden(hidden)
        return total_loss.item() / len(data_source)

    def train():
        # Turn on training mode which enables dropout.
        if args.model == 'QRNN': model.reset()
        total_loss = 0
        start_time = time.time()
        # ntokens = len(corpus.dictionary)   # differs: commented out, never used here (pyflakes)
        hidden = model.init_hidden(args.batch_size)
        batch, i = 0, 0
        while i < train_data.size(0) - 1 - 1:
            bptt = args.bptt if np.random.random() < 0.95 else args.bptt / 2.
            # Prevent excessively small or negative sequence lengths
            seq_len = max(5, int(np.random.normal(bptt, 5)))
            # There's a very small chance that it could select a very long sequence length resulting in OOM
            # seq_len = min(seq_len, args.bptt + 10)

            lr2 = optimizer.param_groups[0]['lr']
            optimizer.param_groups[0]['lr'] = lr2 * seq_len / args.bptt
            model.train()
            data, targets = get_batch(train_data, i, args, seq_len=seq_len)

            # Starting each batch, we detach the hidden state from how it was previously produced.
            # If we didn't, the model would try backpropagating all the way to start of the dataset.
            hidden = repackage_hidden(hidden)
            optimizer.zero_grad()

            output, hidden, rnn_hs, dropped_rnn_hs = model(data, hidden, return_h=True)
            raw_loss = criterion(model.decoder.weight, model.decoder.bias, output, targets)

            loss = raw_loss
            # Activiation Regularization
            if args.alpha: loss = loss + sum(args.alpha * dropped_rnn_h.pow(2).mean()
                                             for dropped_rnn_h in dropped_rnn_hs[-1:])
            # Temporal Activation Regularization (slowness)
            if args.beta: loss = loss + sum(args.beta * (rnn_h[1:] - rnn_h[:-1]).pow(2).mean()
                                            for rnn_h in rnn_hs[-1:])
            loss.backward()

            # `clip_grad_norm` helps prevent the exploding gradient problem in RNNs / LSTMs.
            if args.clip: torch.nn.utils.clip_grad_norm_(params, args.clip)
            optimizer.step()

            total_loss += raw_loss.data
            optimizer.param_groups[0]['lr'] = lr2
            if batch % args.log_interval == 0 and batch > 0:
                cur_loss = total_loss.item() / args.log_interval
                elapsed = time.time() - start_time
                print('| epoch {:3d} | {:5d}/{:5d} batches | lr {:05.5f} | ms/batch {:5.2f} | '
                        'loss {:5.2f} | ppl {:8.2f} | bpc {:8.3f}'.format(
                    epoch, batch, len(train_data) // args.bptt, optimizer.param_groups[0]['lr'],
                    elapsed * 1000 / args.log_interval, cur_loss, math.exp(cur_loss), cur_loss / math.log(2)))
                total_loss = 0
                start_time = time.time()
            ###
            batch += 1
            i += seq_len

    # Loop over epochs.
    # lr = args.lr                     # differs: commented out, never used (pyflakes)
    best_val_loss = []
    stored_loss = 100000000

    # At any point you can hit Ctrl + C to break out of training early.
    try:
        optimizer = None
        # Ensure the optimizer is optimizing params, which includes both the model's weights as well as the
        # criterion's weight (i.e. Adaptive Softmax)
        if args.optimizer == 'sgd':
            optimizer = torch.optim.SGD(params, lr=args.lr, weight_decay=args.wdecay)
        if args.optimizer == 'adam':
            optimizer = torch.optim.Adam(params, lr=args.lr, weight_decay=args.wdecay)
        for epoch in range(1, args.epochs+1):
            epoch_start_time = time.time()
            train()
            if 't0' in optimizer.param_groups[0]:
                tmp = {}
                for prm in model.parameters():
                    tmp[prm] = prm.data.clone()
                    prm.data = optimizer.state[prm]['ax'].clone()

                val_loss2 = evaluate(val_data)
                print('-' * 89)
                print('| end of epoch {:3d} | time: {:5.2f}s | valid loss {:5.2f} | '
                    'valid ppl {:8.2f} | valid bpc {:8.3f}'.format(
                        epoch, (time.time() - epoch_start_time), val_loss2, math.exp(val_loss2),
                        val_loss2 / math.log(2)))
                print('-' * 89)

                if val_loss2 < stored_loss:
                    model_save(args.save)
                    print('Saving Averaged!')
                    stored_loss = val_loss2

                for prm in model.parameters():
                    prm.data = tmp[prm].clone()

            else:
                val_loss = evaluate(val_data, eval_batch_size)
                print('-' * 89)
                print('| end of epoch {:3d} | time: {:5.2f}s | valid loss {:5.2f} | '
                    'valid ppl {:8.2f} | valid bpc {:8.3f}'.format(
                  epoch, (time.time() - epoch_start_time), val_loss, math.exp(val_loss), val_loss / math.log(2)))
                print('-' * 89)

                if val_loss < stored_loss:
                    model_save(args.save)
                    print('Saving model (new best validation)')
                    stored_loss = val_loss

                if args.optimizer == 'sgd' and 't0' not in optimizer.param_groups[0] and (
                        len(best_val_loss)>args.nonmono and val_loss > min(best_val_loss[:-args.nonmono])):
                    print('Switching to ASGD')
                    # differs: torch.optim.ASGD(model.parameters(), lr=args.lr, t0=0, lambd=0.,
                    # weight_decay=args.wdecay): with this WeightDrop, main.py's swap to the averaged weights
                    # would fail at the next epoch, in PyTorch too (KeyError 'ax': the weight_hh_l0 Parameter
                    # WeightDrop makes each forward never had an ASGD step), so SGD stands in
                    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, weight_decay=args.wdecay)

                if epoch in args.when:
                    print('Saving model before learning rate decreased')
                    model_save('{}.e{}'.format(args.save, epoch))
                    print('Dividing learning rate by 10')
                    optimizer.param_groups[0]['lr'] /= 10.

                best_val_loss.append(val_loss)

    except KeyboardInterrupt:
        print('-' * 89)
        print('Exiting from training early')

    # Load the best saved model.
    model_load(args.save)

    # Run on test data.
    test_loss = evaluate(test_data, test_batch_size)
    print('=' * 89)
    print('| End of training | test loss {:5.2f} | test ppl {:8.2f} | test bpc {:8.3f}'.format(
        test_loss, math.exp(test_loss), test_loss / math.log(2)))
    print('=' * 89)
    return model, best_val_loss, test_loss      # differs: what the tests read


def np_awd(p, words, ninp, nhid, nlayers, raw_names, emb=None):
    """RNNModel.forward without dropout in numpy: words (T, B) -> logits (T, B, V), the last layer's outputs.
    `emb` (optional) is the embedding read by the lookup, `p["encoder.weight"]` the tied decoder's."""
    emb = p["encoder.weight"] if emb is None else emb
    x = emb[words]
    T, B = words.shape
    for l in range(nlayers):
        size = nhid if l != nlayers - 1 else ninp
        q = {k[len(f"rnns.{l}."):]: v for k, v in p.items() if k.startswith(f"rnns.{l}.")}
        W_hh = q.get("module.weight_hh_l0_raw" if raw_names else "weight_hh_l0")
        W_ih, b_ih, b_hh = (q[("module." if raw_names else "") + n] for n in ("weight_ih_l0", "bias_ih_l0",
                                                                                "bias_hh_l0"))
        h, c, outs = np.zeros((B, size)), np.zeros((B, size)), []
        for t in range(T):
            h, c = np_lstm_cell(x[t], h, c, W_ih, W_hh, b_ih, b_hh)
            outs.append(h)
        x = np.stack(outs)
    return x @ p["encoder.weight"].T + p["decoder.bias"], x


def np_awd_loss(p, words, targets, ninp, nhid, nlayers, alpha, beta, raw_names=True, emb=None):
    logits, out = np_awd(p, words, ninp, nhid, nlayers, raw_names, emb)
    logp = np_log_softmax(logits.reshape(-1, logits.shape[-1]))
    raw = -logp[np.arange(len(targets)), targets].mean()
    return raw + alpha * np.mean(out ** 2) + beta * np.mean((out[1:] - out[:-1]) ** 2)


def small_awd(wdrop=0.0, dropouts=0.0, ninp=5, nhid=5, dtype=None):
    model, _ = quietly(RNNModel, "LSTM", 9, ninp, nhid, 3, dropouts, dropouts, dropouts, dropouts, wdrop, True)
    return model.to(dtype) if dtype is not None else model


def test_awd_forward_in_eval_mode_is_three_lstm_layers_and_a_tied_decoder():
    torch.manual_seed(3)
    model = small_awd(wdrop=0.5, dropouts=0.4, dtype=torch.float64)
    model.eval()
    words = torch.LongTensor(np.random.default_rng(0).integers(0, 9, (6, 2)))
    hidden = model.init_hidden(2)
    assert [h[0].shape for h in hidden] == [(1, 2, 5)] * 3 and hidden[0][0].dtype == np.float64
    names = [n for n, _ in model.named_parameters()]
    assert "rnns.0.module.weight_hh_l0_raw" in names and "rnns.0.module.weight_hh_l0" not in names
    result, new_hidden, raw_outputs, outputs = model(words, hidden, return_h=True)
    logits, out = np_awd(arrays(model), words.numpy(), 5, 5, 3, raw_names=True)
    assert result.shape == (12, 5) and np.allclose(result.numpy(), out.reshape(12, 5), rtol=1e-12, atol=1e-14)
    targets = np.random.default_rng(1).integers(0, 9, 12)
    loss = SplitCrossEntropyLoss(5, splits=[])(model.decoder.weight, model.decoder.bias, result,
                                               torch.LongTensor(targets))
    expected = -np_log_softmax(logits.reshape(12, 9))[np.arange(12), targets].mean()
    assert loss.dtype == np.float64 and loss.item() == pytest.approx(expected, rel=1e-6)     # (its .float())
    assert np.allclose(new_hidden[-1][0].numpy()[0], out[-1], rtol=1e-12, atol=1e-14)
    assert len(raw_outputs) == 3 and len(outputs) == 3
    assert model.decoder.weight is model.encoder.weight
    names = [n for n, _ in model.named_parameters()]        # setattr of a Parameter registers it, as PyTorch's
    assert "rnns.0.module.weight_hh_l0_raw" in names and "rnns.0.module.weight_hh_l0" in names


def test_awd_train_mode_dropouts_lock_their_masks_as_the_sources_intend():
    torch.manual_seed(4)
    x = torch.randn(6, 3, 40, dtype=torch.float64)
    dropped = LockedDropout()(x, 0.5).numpy()
    ratio = dropped / x.numpy()                        # one mask for every time step, entries 0 or 2
    assert np.allclose(ratio, ratio[:1]) and set(np.unique(np.round(ratio, 12))) == {0.0, 2.0}
    assert 0.3 < (ratio[0] == 0).mean() < 0.7
    lock = LockedDropout()
    lock.eval()
    assert lock(x, 0.5) is x
    embed = nn.Embedding(50, 4).double()
    words = torch.LongTensor(np.arange(50).reshape(5, 10))
    rows = embedded_dropout(embed, words, dropout=0.5).numpy().reshape(50, 4) / embed.weight.numpy()
    assert np.allclose(rows, rows[:, :1]) and set(np.unique(np.round(rows, 12))) == {0.0, 2.0}   # whole words


def test_embedded_dropout_gives_the_last_row_no_gradient_as_pytorchs_padding_idx_minus_one():
    torch.manual_seed(5)
    embed = nn.Embedding(4, 3).double()
    words = torch.LongTensor([[0, 3], [3, 1]])
    out = embedded_dropout(embed, words, dropout=0)
    assert np.array_equal(out.numpy(), embed.weight.numpy()[words.numpy()])
    out.sum().backward()
    assert np.array_equal(embed.weight.grad, np.array([[1.0] * 3, [1.0] * 3, [0.0] * 3, [0.0] * 3]))


def test_embedded_dropout_as_written_reads_the_embeddings_options():
    embed = nn.Embedding(4, 3)
    assert (embed.max_norm, embed.norm_type, embed.scale_grad_by_freq, embed.sparse) == (None, 2.0, False, False)
    out = F.embedding(torch.LongTensor([1, 2]), embed.weight, -1, embed.max_norm, embed.norm_type,
                      embed.scale_grad_by_freq, embed.sparse)
    assert np.array_equal(out.numpy(), embed.weight.numpy()[[1, 2]])


def test_awd_1b3294dd_decoder_tied_to_the_embedding_decodes_emsize_wide_outputs():
    """model.py at 1b3294dd decodes in forward, `decoded = self.decoder(output.view(...))`, with the decoder
    `nn.Linear(nhid, ntoken)` tied to the (ntoken, ninp) embedding and the last layer ninp wide; main.py's
    defaults are nhid 1150, emsize 400. PyTorch's Linear.forward is F.linear(input, self.weight, self.bias)."""
    torch.manual_seed(6)
    encoder = nn.Embedding(9, 4).double()
    decoder = nn.Linear(6, 9).double()
    decoder.weight = encoder.weight
    output = torch.randn(3, 2, 4, dtype=torch.float64)
    decoded = decoder(output.view(output.size(0)*output.size(1), output.size(2)))
    expected = output.numpy().reshape(6, 4) @ encoder.weight.numpy().T + decoder.bias.numpy()
    assert np.allclose(decoded.numpy(), expected, rtol=1e-12, atol=1e-14)


def test_weight_drop_main_blocks_runs_differ_after_the_first_step():
    """weight_drop.py's `__main__` (15535c49), on the CPU: `.cuda()` dropped, the rest as written."""
    torch.manual_seed(7)
    x = torch.autograd.Variable(torch.randn(2, 1, 10))
    h0 = None
    lin, printed = quietly(WeightDrop, torch.nn.Linear(10, 10), ['weight'], dropout=0.9)
    assert printed == "Applying weight drop of 0.9 to weight\n"
    run1 = [x.sum() for x in lin(x).data]
    run2 = [x.sum() for x in lin(x).data]
    assert run1[0] != run2[0]
    assert run1[1] != run2[1]
    wdrnn, _ = quietly(WeightDrop, torch.nn.LSTM(10, 10), ['weight_hh_l0'], dropout=0.9)
    run1 = [x.sum() for x in wdrnn(x, h0)[0].data]
    run2 = [x.sum() for x in wdrnn(x, h0)[0].data]
    # First time step, not influenced by hidden to hidden weights, should be equal
    assert run1[0] == run2[0]
    # Second step should not
    assert run1[1] != run2[1]


def test_weight_drop_15535c49_parameter_of_the_dropped_weight_is_a_new_leaf_so_raw_gets_no_gradient():
    """As in PyTorch (nn.Parameter(w) detaches w): the dropped copy gets the gradient, `_raw` none."""
    torch.manual_seed(8)
    wd, _ = quietly(WeightDrop, nn.LSTM(3, 4), ['weight_hh_l0'], dropout=0.5)
    out, _ = wd(torch.randn(5, 2, 3))
    out.pow(2).sum().backward()
    assert wd.module.weight_hh_l0_raw.grad is None
    assert wd.module.weight_hh_l0.grad is not None and wd.module.weight_hh_l0.is_leaf
    assert wd.module.flatten_parameters() is None      # the widget demagnetizer


def test_awd_gradients_through_weight_drop_acb04a5d_match_central_differences(monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "WeightDrop", WeightDropAcb04a5d)
    torch.manual_seed(9)
    model = small_awd(wdrop=0.3, dtype=torch.float64)  # dropouts 0: the weight drop's mask is at p = 0.3
    model.train()
    rng = np.random.default_rng(1)
    words, targets = rng.integers(0, 8, (5, 2)), rng.integers(0, 9, 10)    # word 8 (the last) only as a target
    crit = SplitCrossEntropyLoss(5, splits=[])
    for rnn in model.rnns:
        rnn.dropout = 0                                # differs: (a test) the mask at p = 0, for the differences
    output, hidden, rnn_hs, dropped_rnn_hs = model(torch.LongTensor(words), model.init_hidden(2), return_h=True)
    raw_loss = crit(model.decoder.weight, model.decoder.bias, output, torch.LongTensor(targets))
    loss = raw_loss + sum(2 * h.pow(2).mean() for h in dropped_rnn_hs[-1:])
    loss = loss + sum(1 * (h[1:] - h[:-1]).pow(2).mean() for h in rnn_hs[-1:])
    loss.backward()
    p = arrays(model)
    assert np.isclose(loss.item(), np_awd_loss(p, words, targets, 5, 5, 3, 2, 1), rtol=1e-6)  # (crit's .float())
    for name in ("rnns.0.module.weight_hh_l0_raw", "rnns.2.module.weight_ih_l0", "encoder.weight", "decoder.bias"):
        def f(value, name=name):
            return np_awd_loss(dict(p, **{name: value}), words, targets, 5, 5, 3, 2, 1)
        indices = some_indices(p[name].shape, count=5, seed=2)
        grad = dict(model.named_parameters())[name].grad
        assert np.allclose([grad[i] for i in indices], central(f, p[name], indices), rtol=1e-4, atol=1e-7), name


def test_awd_embedding_lookup_of_the_last_word_sends_it_no_gradient_only_the_tied_decoder_does():
    torch.manual_seed(10)
    model = small_awd(dtype=torch.float64)
    model.train()
    words, targets = np.array([[8, 1], [2, 8], [8, 0]]), np.array([1, 2, 3, 4, 5, 6])
    crit = SplitCrossEntropyLoss(5, splits=[])
    output, _ = model(torch.LongTensor(words), model.init_hidden(2))
    crit(model.decoder.weight, model.decoder.bias, output, torch.LongTensor(targets)).backward()
    p = arrays(model)
    E = p["encoder.weight"]

    def decoder_only(value):                           # the lookup reads the old rows, the decoder the new
        return np_awd_loss(dict(p, **{"encoder.weight": value}), words, targets, 5, 5, 3, 0, 0, raw_names=False,
                           emb=E)
    indices = [(8, j) for j in range(5)]
    assert np.allclose(model.encoder.weight.grad[8], central(decoder_only, E, indices), rtol=1e-4, atol=1e-8)


AWD_ARGV = ["--cuda", "--emsize", "8", "--nhid", "8", "--batch_size", "4", "--bptt", "8", "--log-interval", "5",
            "--seed", "1", "--dropouti", "0.1", "--dropouth", "0.1", "--dropout", "0.1", "--dropoute", "0.05",
            "--wdrop", "0.2"]


def test_awd_main_trains_with_variable_bptt_and_a_scaled_lr_and_reloads_the_best_model(tmp_path, monkeypatch):
    """main.py with `--optimizer adam` (its other choice; on this small model SGD at lr 5 to 30 with clip 0.25 stays
    near the unigram loss in 8 epochs), every regulariser on: the loss falls well below uniform guessing."""
    corpus = Corpus()
    steps = []
    real_step = torch.optim.Adam.step

    def recording_step(self, *args, **kwargs):         # the lr each step ran with
        steps.append(self.param_groups[0]["lr"])
        return real_step(self, *args, **kwargs)
    monkeypatch.setattr(torch.optim.Adam, "step", recording_step)
    argv = AWD_ARGV + ["--optimizer", "adam", "--lr", "0.03", "--epochs", "8", "--save", str(tmp_path / "awd.pt")]
    (model, val_losses, test_loss), printed = quietly(awd_main, argv, corpus)
    assert "Model total parameters: 1818" in printed and "| epoch   1 |     5/   19 batches | lr 0.03000" in printed
    assert printed.count("| end of epoch") == 8 and "| End of training | test loss" in printed
    uniform = math.log(len(corpus.dictionary))
    assert len(val_losses) == 8 and val_losses[-1] < 0.8 * val_losses[0] and min(val_losses) < 0.6 * uniform
    assert test_loss < 0.6 * uniform
    assert 5 / 8 * 0.03 <= min(steps) and len(set(steps)) > 2 and len(steps) > 8 * 10   # lr * seq_len / bptt
    assert all(math.isclose(s * 8 / 0.03, round(s * 8 / 0.03)) for s in steps)
    for rnn in model.rnns:                             # 15535c49: Parameter(w) is a new leaf, as in PyTorch
        assert rnn.module.weight_hh_l0_raw.grad is None


def test_awd_main_switches_to_asgd_when_validation_stops_improving(tmp_path):
    """SGD at lr 5: the validation loss rises past the best of all but the last `nonmono` epochs, so main.py
    switches; differs: to SGD over model.parameters() (see main.py's switch above)."""
    argv = AWD_ARGV + ["--lr", "5", "--epochs", "8", "--nonmono", "2", "--save", str(tmp_path / "awd.pt")]
    (model, val_losses, test_loss), printed = quietly(awd_main, argv, Corpus())
    switches = [e for e in range(4, 9) if val_losses[e - 1] > min(val_losses[:e - 1 - 2])]
    assert switches and printed.split("Switching to ASGD")[0].count("| end of epoch") == switches[0]
    # ASGD's param group has 't0', which stops further switches; the SGD standing in for it has none, so main.py
    # "switches" again at every epoch that meets the condition
    assert printed.count("Switching to ASGD") == len(switches)
    assert test_loss == pytest.approx(min(val_losses), rel=0.3)


def test_awd_main_with_weight_drop_acb04a5d_fails_after_its_first_evaluation_as_in_pytorch(tmp_path, monkeypatch):
    """In eval mode F.dropout(raw_w, training=False) is raw_w, a Parameter, which setattr registers as
    `weight_hh_l0`; the next training batch's tensor is then refused, PyTorch's "TypeError: cannot assign
    'torch.cuda.FloatTensor' as parameter 'weight_hh_l0'" of salesforce/awd-lstm-lm#114."""
    monkeypatch.setattr(sys.modules[__name__], "WeightDrop", WeightDropAcb04a5d)
    argv = AWD_ARGV + ["--epochs", "2", "--save", str(tmp_path / "awd.pt")]
    with pytest.raises(TypeError, match="cannot assign 'Tensor' as parameter 'weight_hh_l0'"):
        quietly(awd_main, argv, Corpus())


def test_awd_lr_scaled_step_is_sgd_with_weight_decay_after_clipping():
    """One batch of train()'s update in numpy: p - lr seq_len / bptt (clipped grad + wdecay p)."""
    torch.manual_seed(11)
    model = small_awd(dtype=torch.float64)
    crit = SplitCrossEntropyLoss(5, splits=[])
    params = list(model.parameters())
    optimizer = torch.optim.SGD(params, lr=30, weight_decay=1.2e-6)
    before = [p.numpy().copy() for p in params]
    words = torch.LongTensor(np.random.default_rng(3).integers(0, 9, (7, 2)))
    lr2 = optimizer.param_groups[0]['lr']
    optimizer.param_groups[0]['lr'] = lr2 * 7 / 70
    output, _ = model(words[:-1], model.init_hidden(2))
    crit(model.decoder.weight, model.decoder.bias, output, words[1:].reshape(-1)).backward()
    grads = [p.grad.copy() for p in params]
    norm = np.sqrt(sum((g ** 2).sum() for g in grads))
    assert torch.nn.utils.clip_grad_norm_(params, 0.25).item() == pytest.approx(norm, rel=1e-12)
    optimizer.step()
    optimizer.param_groups[0]['lr'] = lr2
    scale = min(1.0, 0.25 / (norm + 1e-6))
    for p, b, g in zip(params, before, grads):
        assert np.allclose(p.numpy(), b - 3.0 * (g * scale + 1.2e-6 * b), rtol=1e-12, atol=1e-15)
    assert optimizer.param_groups[0]['lr'] == 30


def test_split_cross_entropy_with_one_split_is_the_mean_cross_entropy_and_with_two_a_distribution():
    rng = np.random.default_rng(4)
    weight = torch.tensor(rng.normal(size=(8, 3)), requires_grad=True)
    bias = torch.tensor(rng.normal(size=8), requires_grad=True)
    hiddens, targets = torch.tensor(rng.normal(size=(10, 3))), torch.LongTensor(rng.integers(0, 8, 10))
    crit = SplitCrossEntropyLoss(3, splits=[])
    loss = crit(weight, bias, hiddens, targets)
    logp = np_log_softmax(hiddens.numpy() @ weight.numpy().T + bias.numpy())
    assert loss.dtype == np.float64
    assert loss.item() == pytest.approx(-logp[np.arange(10), targets.numpy()].mean(), rel=1e-6)   # (.float())
    two = SplitCrossEntropyLoss(3, splits=[4])
    with torch.no_grad():
        two.tail_vectors.copy_(torch.tensor(rng.normal(size=(1, 3))))
    logprob = two.logprob(weight, bias, hiddens)
    assert logprob.shape == (10, 8) and np.allclose(np.exp(logprob.numpy()).sum(1), 1, atol=1e-12)
    loss2 = two(weight, bias, hiddens, targets)
    expected = -logprob.numpy()[np.arange(10), targets.numpy()].mean()
    assert loss2.item() == pytest.approx(expected, rel=1e-6)


# ---- 3. BlinkDL/ChatRWKV RWKV_in_150_lines.py ---------------------------------------------------------------

VOCAB = "\nabcdefghijklmnopqrstuvwxyz .,"


class Tokenizer:
    """A stand-in for `tokenizers.Tokenizer` (the 20B tokenizer's file is not here): one id per character."""

    @staticmethod
    def from_file(path):
        return Tokenizer()

    def encode(self, text):
        return types.SimpleNamespace(ids=[VOCAB.index(ch) for ch in text])

    def decode(self, ids):
        return "".join(VOCAB[i] for i in ids)


tokenizer = Tokenizer.from_file("20B_tokenizer.json")


def made_up_rwkv_checkpoint(path, n_layer, n_embd, seed=0):
    """A state dict of RWKV-4's names and shapes (`time_*` as (1, 1, C), time_decay before -exp), small random
    values, saved with torch.save where the script loads its `.pth`."""
    rng = np.random.default_rng(seed)
    C, V = n_embd, len(VOCAB)

    def t(*shape, scale=0.4, shift=0.0):
        return torch.tensor((shift + scale * rng.standard_normal(shape)).astype(np.float32))
    w = {"emb.weight": t(V, C, scale=1.0), "blocks.0.ln0.weight": t(C, scale=0.1, shift=1.0),
         "blocks.0.ln0.bias": t(C, scale=0.1)}
    for i in range(n_layer):
        b = f"blocks.{i}."
        for ln in ("ln1", "ln2"):
            w[b + ln + ".weight"], w[b + ln + ".bias"] = t(C, scale=0.1, shift=1.0), t(C, scale=0.1)
        for name in ("att.time_mix_k", "att.time_mix_v", "att.time_mix_r", "ffn.time_mix_k", "ffn.time_mix_r"):
            w[b + name] = torch.tensor(rng.uniform(0.2, 0.9, (1, 1, C)).astype(np.float32))
        w[b + "att.time_decay"] = t(C, scale=0.5, shift=-0.5)
        w[b + "att.time_first"] = t(C, scale=0.5)
        for name in ("att.key", "att.value", "att.receptance", "att.output", "ffn.receptance"):
            w[b + name + ".weight"] = t(C, C)
        w[b + "ffn.key.weight"], w[b + "ffn.value.weight"] = t(4 * C, C), t(C, 4 * C, scale=0.2)
    w["ln_out.weight"], w["ln_out.bias"], w["head.weight"] = t(C, scale=0.1, shift=1.0), t(C, scale=0.1), t(V, C)
    torch.save(w, path)
    return {k: v.numpy().astype(np.float64) for k, v in w.items()}


class RWKV_RNN(torch.nn.Module):                 # differs: torch.jit.ScriptModule (the library has no torch.jit)
    def __init__(self, args):
        super().__init__()
        self.args = args
        self.eval() # set torch to inference mode

        w = torch.load(args.MODEL_NAME + '.pth', map_location='cpu')
        for k in w.keys():
            if      '.time_' in k: w[k] = w[k].squeeze()
            if '.time_decay' in k: w[k] = -torch.exp(w[k].float()) # the real time decay is like e^{-e^x}
            else: w[k] = w[k].float() # convert to f32 type

        self.w = types.SimpleNamespace() # set self.w from w
        self.w.blocks = {}
        for k in w.keys(): # example: "blocks.0.att.time_first" => self.w.blocks[0].att.time_first
            parts = k.split('.')
            last = parts.pop()
            here = self.w
            for p in parts:
                if p.isdigit():
                    p = int(p)
                    if p not in here: here[p] = types.SimpleNamespace()
                    here = here[p]
                else:
                    if not hasattr(here, p): setattr(here, p, types.SimpleNamespace())
                    here = getattr(here, p)
            setattr(here, last, w[k])

    def layer_norm(self, x, w):
        return F.layer_norm(x, (self.args.n_embd,), weight=w.weight, bias=w.bias)

    # differs: @torch.jit.script_method (no torch.jit)
    def channel_mixing(self, x, state, i:int, time_mix_k, time_mix_r, kw, vw, rw):
        xk = x * time_mix_k + state[5*i+0] * (1 - time_mix_k)
        xr = x * time_mix_r + state[5*i+0] * (1 - time_mix_r)
        state[5*i+0] = x
        r = torch.sigmoid(rw @ xr)
        k = torch.square(torch.relu(kw @ xk)) # square relu, primer paper
        return r * (vw @ k)

    # differs: @torch.jit.script_method (no torch.jit)
    def time_mixing(self, x, state, i:int, time_mix_k, time_mix_v, time_mix_r, time_first, time_decay,
                    kw, vw, rw, ow):
        xk = x * time_mix_k + state[5*i+1] * (1 - time_mix_k)
        xv = x * time_mix_v + state[5*i+1] * (1 - time_mix_v)
        xr = x * time_mix_r + state[5*i+1] * (1 - time_mix_r)
        state[5*i+1] = x
        r = torch.sigmoid(rw @ xr)
        k = kw @ xk
        v = vw @ xv

        aa = state[5*i+2]
        bb = state[5*i+3]
        pp = state[5*i+4]
        ww = time_first + k
        qq = torch.maximum(pp, ww)
        e1 = torch.exp(pp - qq)
        e2 = torch.exp(ww - qq)
        a = e1 * aa + e2 * v
        b = e1 * bb + e2
        wkv = a / b
        ww = pp + time_decay
        qq = torch.maximum(ww, k)
        e1 = torch.exp(ww - qq)
        e2 = torch.exp(k - qq)
        state[5*i+2] = e1 * aa + e2 * v
        state[5*i+3] = e1 * bb + e2
        state[5*i+4] = qq
        return ow @ (r * wkv)

    def forward(self, token, state):
        with torch.no_grad():
            if state == None:
                state = torch.zeros(self.args.n_layer * 5, self.args.n_embd)
                for i in range(self.args.n_layer): state[5*i+4] = -1e30 # -infinity

            x = self.w.emb.weight[token]
            x = self.layer_norm(x, self.w.blocks[0].ln0)
            for i in range(self.args.n_layer):
                att = self.w.blocks[i].att
                x = x + self.time_mixing(self.layer_norm(x, self.w.blocks[i].ln1), state, i,
                    att.time_mix_k, att.time_mix_v, att.time_mix_r, att.time_first, att.time_decay,
                    att.key.weight, att.value.weight, att.receptance.weight, att.output.weight)
                ffn = self.w.blocks[i].ffn
                x = x + self.channel_mixing(self.layer_norm(x, self.w.blocks[i].ln2), state, i,
                    ffn.time_mix_k, ffn.time_mix_r,
                    ffn.key.weight, ffn.value.weight, ffn.receptance.weight)

            x = self.w.head.weight @ self.layer_norm(x, self.w.ln_out)
            return x.float(), state


def sample_logits(out, temperature=1.0, top_p=0.8):
    probs = F.softmax(out, dim=-1).numpy().copy()   # differs: .copy(): .numpy() is a read-only view here
    sorted_probs = np.sort(probs)[::-1]
    cumulative_probs = np.cumsum(sorted_probs)
    cutoff = float(sorted_probs[np.argmax(cumulative_probs > top_p)])
    probs[probs < cutoff] = 0
    if temperature != 1.0:
        probs = probs.pow(1.0 / temperature)
    probs = probs / np.sum(probs)
    out = np.random.choice(a=len(probs), p=probs)
    return out


def rwkv_run(args, context, NUM_TRIALS, LENGTH_PER_TRIAL, TEMPERATURE, TOP_P):
    """The script's top-level loop; differs: a function of its settings, returning the trials' tokens."""
    print(f'\nUsing CPU. Loading {args.MODEL_NAME} ...')
    model = RWKV_RNN(args)

    print('\nPreprocessing context (slow version. see v2/rwkv/model.py for fast version)')   # differs: f'' (pyflakes)
    init_state = None
    for token in tokenizer.encode(context).ids:
        init_out, init_state = model.forward(token, init_state)

    trials = []
    for TRIAL in range(NUM_TRIALS):
        print(f'\n\n--[ Trial {TRIAL} ]-----------------', context, end="")
        all_tokens = []
        out_last = 0
        out, state = init_out.clone(), init_state.clone()
        for i in range(LENGTH_PER_TRIAL):
            token = sample_logits(out, TEMPERATURE, TOP_P)
            all_tokens += [token]
            tmp = tokenizer.decode(all_tokens[out_last:])
            if '\ufffd' not in tmp: # only print when we have a valid utf-8 string
                print(tmp, end="", flush=True)
                out_last = i + 1
            out, state = model.forward(token, state)
        trials.append(all_tokens)
    print('\n')
    return model, init_out, init_state, trials


def np_layer_norm(x, w, b, eps=1e-5):
    mu = x.mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(((x - mu) ** 2).mean(-1, keepdims=True) + eps) * w + b


def np_wkv(k, v, u, w):
    """The parallel form over a whole sequence k, v (T, C): wkv_t = (sum_{i<t} e^{(t-1-i) w + k_i} v_i +
    e^{u + k_t} v_t) / (sum_{i<t} e^{(t-1-i) w + k_i} + e^{u + k_t}), with w = -exp(time_decay)."""
    T = len(k)
    out = np.empty_like(v)
    for t in range(T):
        weights = [np.exp((t - 1 - i) * w + k[i]) for i in range(t)] + [np.exp(u + k[t])]
        out[t] = sum(wi * vi for wi, vi in zip(weights, v[:t + 1])) / sum(weights)
    return out


def np_rwkv_logits(p, tokens, n_layer, kvw=None):
    """RWKV-4 over a whole token sequence at once (the "GPT mode"), from the raw checkpoint arrays: logits (T, V).
    Each layer's time-mixing (k, v, w) is appended to the list `kvw` when one is given."""
    x = np_layer_norm(p["emb.weight"][tokens], p["blocks.0.ln0.weight"], p["blocks.0.ln0.bias"])

    def shifted(y):
        return np.concatenate([np.zeros_like(y[:1]), y[:-1]])
    for i in range(n_layer):
        b = f"blocks.{i}."
        m = {k[len(b):]: v.reshape(-1) if ".time_" in k else v for k, v in p.items() if k.startswith(b)}
        y = np_layer_norm(x, m["ln1.weight"], m["ln1.bias"])
        mix = {c: y * m[f"att.time_mix_{c}"] + shifted(y) * (1 - m[f"att.time_mix_{c}"]) for c in "kvr"}
        k, v = mix["k"] @ m["att.key.weight"].T, mix["v"] @ m["att.value.weight"].T
        r = sigmoid(mix["r"] @ m["att.receptance.weight"].T)
        wkv = np_wkv(k, v, m["att.time_first"], -np.exp(m["att.time_decay"]))
        if kvw is not None:
            kvw.append((k, v, -np.exp(m["att.time_decay"])))
        x = x + (r * wkv) @ m["att.output.weight"].T
        y = np_layer_norm(x, m["ln2.weight"], m["ln2.bias"])
        xk = y * m["ffn.time_mix_k"] + shifted(y) * (1 - m["ffn.time_mix_k"])
        xr = y * m["ffn.time_mix_r"] + shifted(y) * (1 - m["ffn.time_mix_r"])
        kk = np.maximum(xk @ m["ffn.key.weight"].T, 0) ** 2
        x = x + sigmoid(xr @ m["ffn.receptance.weight"].T) * (kk @ m["ffn.value.weight"].T)
    return np_layer_norm(x, p["ln_out.weight"], p["ln_out.bias"]) @ p["head.weight"].T


@pytest.fixture
def rwkv_args(tmp_path):
    args = types.SimpleNamespace()
    args.MODEL_NAME = str(tmp_path / "RWKV-4-made-up")     # differs: no checkpoint: made-up weights saved here
    args.n_layer = 2
    args.n_embd = 8
    args.raw = made_up_rwkv_checkpoint(args.MODEL_NAME + ".pth", args.n_layer, args.n_embd)
    return args


def test_rwkv_script_loads_its_weights_and_samples_three_trials(rwkv_args):
    np.random.seed(0)
    context = "\nin a shocking finding, a cat sat."
    (model, init_out, init_state, trials), printed = quietly(rwkv_run, rwkv_args, context, 3, 12, 1.0, 0.85)
    assert printed.count("--[ Trial ") == 3 and all(len(t) == 12 for t in trials)
    assert all(tokenizer.decode(t) in printed for t in trials)
    assert init_out.dtype == np.float32 and init_out.shape == (len(VOCAB),) and init_state.shape == (10, 8)
    assert np.allclose(model.w.blocks[1].att.time_decay.numpy(), -np.exp(rwkv_args.raw["blocks.1.att.time_decay"]))
    assert model.w.blocks[0].att.time_mix_k.shape == (8,)             # squeezed from (1, 1, C)
    tokens = tokenizer.encode(context).ids
    expected = np_rwkv_logits(rwkv_args.raw, tokens, 2)[-1]
    assert np.allclose(init_out.numpy(), expected, rtol=1e-4, atol=1e-4)


def test_rwkv_rnn_mode_logits_match_the_parallel_closed_form_at_every_token(rwkv_args):
    model, _ = quietly(RWKV_RNN, rwkv_args)
    tokens = tokenizer.encode("abc abc, the cat.")
    kvw = []
    expected, state, logits = np_rwkv_logits(rwkv_args.raw, tokens.ids, 2, kvw), None, []
    for token in tokens.ids:
        out, state = model.forward(token, state)
        logits.append(out.numpy())
    assert np.allclose(np.array(logits), expected, rtol=1e-4, atol=1e-4)
    # each layer's (aa, bb, pp): aa e^pp and bb e^pp are the closed form's sums over every token so far
    T = len(tokens.ids)
    for i, (k, v, w) in enumerate(kvw):
        aa, bb, pp = (state.numpy()[5 * i + j].astype(np.float64) for j in (2, 3, 4))
        decay = np.exp((T - 1 - np.arange(T))[:, None] * w + k)
        assert np.allclose(aa * np.exp(pp), (decay * v).sum(0), rtol=1e-4, atol=1e-6)
        assert np.allclose(bb * np.exp(pp), decay.sum(0), rtol=1e-4)


def test_rwkv_sample_logits_keeps_the_top_p_words():
    np.random.seed(1)
    out = torch.tensor(np.log(np.array([0.5, 0.3, 0.1, 0.06, 0.04])).astype(np.float32))
    draws = {sample_logits(out, 1.0, 0.7) for _ in range(200)}
    assert draws == {0, 1}                                  # 0.5 + 0.3 passes 0.7: the rest are cut


def time_mixing_sequence(model, xs, params, C):
    """time_mixing over a few steps, outside no_grad: the state written in place, float64."""
    state = torch.zeros(5, C, dtype=torch.float64)
    state[4] = -1e30
    outs = []
    for x in xs:
        outs.append(model.time_mixing(x, state, 0, *params))
    return torch.stack(outs), state


def np_time_mixing_sequence(xs, mk, mv, mr, u, w, kw, vw, rw, ow):
    prev = np.concatenate([np.zeros_like(xs[:1]), xs[:-1]])
    xk, xv, xr = (xs * m + prev * (1 - m) for m in (mk, mv, mr))
    k, v, r = xk @ kw.T, xv @ vw.T, sigmoid(xr @ rw.T)
    return (r * np_wkv(k, v, u, w)) @ ow.T


def test_rwkv_time_mixing_gradients_through_the_state_written_in_place_match_central_differences(rwkv_args):
    model, _ = quietly(RWKV_RNN, rwkv_args)
    rng = np.random.default_rng(5)
    C = 8
    raw = [rng.uniform(0.2, 0.9, C), rng.uniform(0.2, 0.9, C), rng.uniform(0.2, 0.9, C), rng.normal(size=C),
           -np.exp(rng.normal(size=C) - 0.5)] + [0.4 * rng.normal(size=(C, C)) for _ in range(4)]
    params = [torch.tensor(a, requires_grad=True) for a in raw]
    xs = rng.normal(size=(4, C))
    weights = rng.normal(size=(4, C))
    outs, state = time_mixing_sequence(model, [torch.tensor(x) for x in xs], params, C)
    assert np.allclose(outs.numpy(), np_time_mixing_sequence(xs, *raw), rtol=1e-12, atol=1e-12)
    (outs * torch.tensor(weights)).sum().backward()
    for position in (3, 4, 5, 6):                       # time_first, time_decay, key and value weights
        def f(value, position=position):
            args = list(raw)
            args[position] = value
            return (np_time_mixing_sequence(xs, *args) * weights).sum()
        indices = some_indices(raw[position].shape, count=4, seed=position)
        grad = params[position].grad
        assert np.allclose([grad[i] for i in indices], central(f, raw[position], indices), rtol=1e-6, atol=1e-9)


def rwkv_logits_with_grad(model, tokens):
    """RWKV_RNN.forward over `tokens`, recorded; differs: forward's body without its `with torch.no_grad()`
    (the script only samples), the state made once and the logits of every token kept."""
    args = model.args
    state = torch.zeros(args.n_layer * 5, args.n_embd)
    for i in range(args.n_layer): state[5*i+4] = -1e30
    logits = []
    for token in tokens:
        x = model.w.emb.weight[token]
        x = model.layer_norm(x, model.w.blocks[0].ln0)
        for i in range(args.n_layer):
            att = model.w.blocks[i].att
            x = x + model.time_mixing(model.layer_norm(x, model.w.blocks[i].ln1), state, i,
                att.time_mix_k, att.time_mix_v, att.time_mix_r, att.time_first, att.time_decay,
                att.key.weight, att.value.weight, att.receptance.weight, att.output.weight)
            ffn = model.w.blocks[i].ffn
            x = x + model.channel_mixing(model.layer_norm(x, model.w.blocks[i].ln2), state, i,
                ffn.time_mix_k, ffn.time_mix_r,
                ffn.key.weight, ffn.value.weight, ffn.receptance.weight)
        logits.append(model.w.head.weight @ model.layer_norm(x, model.w.ln_out))
    return torch.stack(logits)


def test_rwkv_rnn_mode_trains_on_next_character_prediction(rwkv_args):
    model, _ = quietly(RWKV_RNN, rwkv_args)
    leaves = []

    def collect(space):                                    # every weight but the decays, as leaves that train
        for name, value in sorted(vars(space).items()) if not isinstance(space, dict) else sorted(space.items()):
            if isinstance(value, torch.Tensor):
                if name != "time_decay":
                    leaves.append(value.requires_grad_())
            else:
                collect(value)
    collect(model.w)
    assert len(leaves) == 4 + 2 + 2 * 17
    text = tokenizer.encode("abcabcabcabc").ids
    optimizer = torch.optim.Adam(leaves, lr=0.05)
    losses = []
    for step in range(12):
        optimizer.zero_grad()
        loss = F.cross_entropy(rwkv_logits_with_grad(model, text[:-1]), torch.tensor(text[1:]))
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0]
    with torch.no_grad():
        state, predicted = None, []
        for token in text[:6]:
            out, state = model.forward(token, state)
            predicted.append(int(out.argmax()))
    assert predicted[2:] == text[3:7]                      # after two characters, the cycle is known
