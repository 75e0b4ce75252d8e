"""Porting, round 45: WIDELY READ BLOG AND TUTORIAL CODE for recurrent networks, the scripts people copy when they
first train an RNN, LSTM or GRU outside a course, the ones earlier rounds did not port (round 6 ported curiousily's
ECG anomaly-detection autoencoder, rounds 8 and 18 spro/char-rnn.pytorch, round 22 MorvanZhou's RNN classifier and
regressor). Each is written as its author wrote it, with only the imports changed (`# differs:` marks each other
change and why; lines over 120 characters are wrapped, and two long comments moved to their own line):

1. Jessica Yung's "LSTMs for time series in PyTorch", jessicayung/blog-code-snippets lstm-pytorch/lstm-baseline.py
   (b4e687e02eab29e30ab904e151d2ef8370ab26ec) with its data module lstm-pytorch/generate_data.py
   (ad0871c52449cf3ee721ceba0b159808fd4bcd66): an AR(20) series cut into windows (`ARData`, numpy), the windows
   `torch.from_numpy(...).type(torch.Tensor)` and `.view([input_size, -1, 1])`, a one-layer `nn.LSTM` and a
   `Linear` on `lstm_out[-1]`, `nn.MSELoss(size_average=False)`, Adam, and the loss history plotted.
2. curiousily (Venelin Valkov), "Time Series Forecasting with LSTMs for Daily Coronavirus Cases", Getting Things
   Done with PyTorch, manuscript/05.time-series-forecasting-covid-19.md (34af03c6d8241f45eefa350da568afd2daee0a84;
   the code cells of 05.time-series-forecasting-covid-19.ipynb at 4c5f64b51e74a91b17be202e18daa72fec396d15, whose
   first cells were read to match): cumulative counts summed over provinces and differenced, `MinMaxScaler` fitted on
   the training part, `create_sequences` (windows of 5), `CoronaVirusPredictor` (a 2-layer `nn.LSTM(dropout=0.5)`,
   a state reset per epoch, `sequences.view(len(sequences), self.seq_len, -1)`), `MSELoss(reduction='sum')`, Adam,
   `return model.eval(), ...`, and the forecasts fed back a day at a time (`torch.as_tensor(new_seq).view(1, 5, 1)`).
   JHU's csv is made up (pandas is not installed: each pandas call is numpy's spelling).
3. Gabriel Loye's FloydHub post "Sentiment Analysis with LSTM", gabrielloye/LSTM_Sentiment-Analysis main.ipynb
   (40d2ed0c92c14e1e3cfffa21279cd6b35d0bb58a): Amazon reviews cleaned with `re`, counted, a vocabulary with
   `_PAD`/`_UNK`, left-padded by `pad_input`, `TensorDataset`/`DataLoader`, `SentimentNet` (`nn.Embedding`, a
   2-layer `nn.LSTM(batch_first=True, dropout=0.5)`, `Dropout`, `Linear` and `Sigmoid` on every step, `out[:, -1]`),
   `init_hidden` by `weight.new(...).zero_().to(device)`, `h = tuple([e.data for e in h])`, `nn.BCELoss`,
   `clip_grad_norm_`, validation every `print_every` steps saving the best state dict, `load_state_dict(torch.load(
   ...))` and the test accuracy by `torch.round(...).eq(...)`. The reviews (bz2 files) are made up, nltk's tokenizer
   is a stand-in.
4. Keon Kim's seq2seq, keon/seq2seq model.py, train.py, logger.py and utils.py (all at
   10aab14de6c1a8e1c81721a41bc1194017190fe8): a bidirectional 2-layer GRU encoder whose two directions are summed,
   attention `v . W[h; e]` (`hidden.repeat(timestep, 1, 1).transpose(0, 1)`, `torch.bmm`, `F.softmax` without
   `dim`), a GRU decoder fed `[embedded; context]`, `F.log_softmax` without `dim`, teacher forcing by
   `random.random()`, `to_onehot` by `scatter_`, item assignment into `Variable(torch.zeros(...))`,
   `F.cross_entropy(..., ignore_index=pad)`, `clip_grad_norm`, Adam, `log_samples` and the best model saved with
   `torch.save`. IWSLT through torchtext and spacy is made up (a reversal task in BucketIterator's layout), Visdom
   is a stand-in.
5. Sagar Vinodababu's "a PyTorch Tutorial to Sequence Labeling" (LM-LSTM-CRF),
   sgrvinod/a-PyTorch-Tutorial-to-Sequence-Labeling utils.py, datasets.py and models.py
   (792591d09bda98dd8f9dd088ca9bdd16ec0004e5), inference.py (dd1dd618d662fe19806a35c6bc43ff411132b185) and train.py
   (4581f98ff90d92b0152e35b84a7733663ef15a63): CoNLL reading, word/char/tag maps, tags unrolled as `prev * n + cur`,
   GloVe loading by item assignment, forward and backward character LSTMs over `pack_padded_sequence`d characters
   read at the word ends by `torch.gather`, highway layers, a packed word BLSTM, the CRF's (prev, cur) scores, the
   `ViterbiLoss` (log-sum-exp forward algorithm written into `scores_upto_t[:batch_size_t]`), the `ViterbiDecoder`,
   the two language-model cross entropies, SGD with momentum, `clip_gradient`, `adjust_learning_rate`,
   `save_checkpoint` and a macro F1. CoNLL 2003 and GloVe are made up (files written to the test's directory);
   scikit-learn's `f1_score` is written out. The methods' `:param:` docstrings of models.py are left out.

Every source was read in the index at the commit named; none was written from memory.

What broke (fixed in the same change; the test is among section 1's):

  G1  `t.type(torch.Tensor)` (Jessica Yung's `torch.from_numpy(data.X_train).type(torch.Tensor)`): PyTorch's
      `torch.Tensor` is its default tensor type, so the result is float32 (`torch.FloatTensor`); here numpy reads
      the class `Tensor` as a dtype and gives an object-dtype tensor, silently (and `t.to(torch.Tensor)`, a
      TypeError in PyTorch, does the same). The script says `.type(torch.Tensor)` here (marked).

Met and left as documented (docs/pytorch.md, docs/api.md; the lines say `differs:`):
  - `.data` is the read-only numpy array: `next(self.parameters()).data` before `weight.new(...)`,
    `output.data.topk(1)`, `trg.data[t]`, `orig.data.cpu()`, `argmax.cpu().data` and `src.data` are `.detach()`;
    `self.v.data.uniform_(-stdv, stdv)` and `self.transition.data.zero_()` are `nn.init.uniform_`/`nn.init.zeros_`;
    `param.grad.data.clamp_(-c, c)` is `param.grad = np.clip(param.grad, -c, c)`. The sentiment notebook's
    `h = tuple([e.data for e in h])` runs as written (arrays taken as a state without history).
  - `torch.Tensor(n, n)` with sizes is refused: the CRF's transition matrix is `torch.FloatTensor(n, n)`.
  - `.cuda()`, `src.cuda()` and `Variable(...).cuda()` raise (no GPU): dropped; `torch.device("cuda" if
    torch.cuda.is_available() else "cpu")` runs as written.
  - `x.shape` is a plain tuple: the notebook's `print(sample_x.shape, sample_y.shape)` prints `(16, 20) (16,)`
    where PyTorch prints `torch.Size([16, 20]) torch.Size([16])`.

Met and changed for reasons outside the library (marked):
  - not installed: scikit-learn (`MinMaxScaler`, `f1_score`, an unused `train_test_split`), pandas, nltk,
    seaborn, matplotlib, tqdm, watermark, visdom, torchtext and spacy: stand-ins written here, each marked.
  - gone from the libraries the scripts were written for, in PyTorch too: `dataiter.next()` (the loader iterator
    has only `__next__`), `loss.data[0]` (a 0-d tensor since PyTorch 0.5), `x, _ = pack_padded_sequence(...)`
    (PackedSequence has had four fields since PyTorch 1.1: `.data`), and numpy 2's removed `np.Inf`.
  - LM-LSTM-CRF's `main()` is run as a function body (its `global` statement would write this file's names), and
    `epochs_since_improvement`, which train.py never sets (a NameError at its first epoch without improvement),
    starts at 0. Its unused `word_pad_len` in `decode` is deleted (pyflakes).
  - sizes, epochs and counts are smaller (each marked), so that the file stays fast.

Names the library lacks: none met.

Noticed and left alone (the sources', in PyTorch too):
  - lstm-baseline's `X_train.view([input_size, -1, 1])` reshapes the (80, 20) windows rather than transposing
    them, so a "time step" holds pieces of four windows and the LSTM learns the AR series slowly; its
    `init_hidden()` state is set but never passed to the LSTM.
  - the COVID notebook's `train_model` ignores its data arguments and trains on the global `X_train`/`y_train`
    (so "Use all data for training" trains on the first 27 days again); `sequences.view(len(sequences), seq_len,
    -1)` into a time-major LSTM makes the 21 windows the time axis and the 5 days the batch, and `lstm_out.view(
    seq_len, len(sequences), H)[-1]` is a reshape of that output; the forecasting loop carries `self.hidden` from
    call to call.
  - the sentiment notebook maps unknown words to 0, `_PAD`, not to `_UNK` (1), and `vocab_size` is one more than
    the vocabulary.
  - keon's loss includes the first row of `outputs`, the one-hot `<sos>` (a constant), and takes the decoder's
    log-probabilities as logits in `F.cross_entropy` (harmless: log_softmax of log-probabilities is themselves);
    its decoder GRU of one layer with dropout 0.5 warns, as in PyTorch.
  - `ViterbiDecoder.decode` appends `start_tag` where its comment says `<end>`s (train.py drops that step).

Expected values come from numpy written here in float64 (PyTorch's LSTM and GRU equations, the attention, the
highway and CRF formulas, BCE and squared errors), brute-force enumeration of every tag path (the CRF's log
partition function and best path), closed forms (windows, scaling, unrolled tags), and central differences; never
from the library's own outputs.
"""

import argparse
import codecs
import contextlib
import io
import itertools
import math
import os
import random
import re
import sys
import time
import types
import warnings
from collections import Counter
from functools import reduce

import numpy as np
import pytest
from porting_references import central, np_gru_cell, np_log_softmax, np_lstm_cell, np_sigmoid, np_softmax, some_indices

import microgradseq as torch
import microgradseq.nn as nn
import microgradseq.nn.functional as F
import microgradseq.optim as optim
from microgradseq.autograd import Variable
from microgradseq.nn.utils import clip_grad_norm
from microgradseq.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from microgradseq.utils.data import DataLoader, Dataset, TensorDataset


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)
    np.random.seed(0)
    random.seed(0)
    yield
    torch.set_default_dtype(torch.float32)


def quietly(fn, *args, **kwargs):
    """fn(*args, **kwargs) with what it prints kept, and the deprecation warnings PyTorch gives too
    (`size_average`, `clip_grad_norm`, `softmax` without `dim`) silenced: (result, printed text)."""
    with contextlib.redirect_stdout(io.StringIO()) as printed, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = fn(*args, **kwargs)
    return result, printed.getvalue()


# ---- numpy references (float64), written here ------------------------------------------------------------

def np_lstm_layer(x, h, c, w_ih, w_hh, b_ih, b_hh):
    """PyTorch's one-layer LSTM over time-major x (T, B, I): all h_t (T, B, H), h_T, c_T."""
    outs = []
    for t in range(x.shape[0]):
        h, c = np_lstm_cell(x[t], h, c, w_ih, w_hh, b_ih, b_hh)
        outs.append(h)
    return np.stack(outs), h, c


def np_lstm(x, p, prefix, layers, h0=None, c0=None):
    """A stacked LSTM (no dropout: eval mode) over time-major x; p the state dict as float64 arrays."""
    hs, cs = [], []
    for k in range(layers):
        w_ih = p[f"{prefix}weight_ih_l{k}"]
        hidden = w_ih.shape[0] // 4
        h = np.zeros((x.shape[1], hidden)) if h0 is None else h0[k]
        c = np.zeros((x.shape[1], hidden)) if c0 is None else c0[k]
        x, h, c = np_lstm_layer(x, h, c, w_ih, p[f"{prefix}weight_hh_l{k}"], p[f"{prefix}bias_ih_l{k}"],
                                p[f"{prefix}bias_hh_l{k}"])
        hs.append(h)
        cs.append(c)
    return x, np.stack(hs), np.stack(cs)


def np_bce(p, y):
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))


def params64(module):
    return {k: np.array(v, dtype=np.float64) for k, v in module.state_dict().items()}


def grads_match(model, key, np_loss_of, count=5, seed=0, rtol=1e-6, atol=1e-9):
    """The library's .grad of parameter `key` at a few entries against central differences of np_loss_of(key, value)."""
    value = params64(model)[key]
    idx = some_indices(value.shape, count, seed=seed)
    want = central(lambda v: np_loss_of(key, v), value, idx)
    got = np.asarray(dict(model.named_parameters())[key].grad, dtype=np.float64)[tuple(np.array(idx).T)]
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


class _Pyplot:  # differs: `import matplotlib.pyplot as plt` (and seaborn, rcParams): a stand-in keeping the lines
    def __init__(self):
        self.lines = []

    def plot(self, *args, label=None, **kwargs):
        self.lines.append((label, [np.asarray(a) for a in args]))

    def legend(self, *args, **kwargs):
        pass

    title = ylim = show = legend


# ==== 1. jessicayung/blog-code-snippets lstm-pytorch/generate_data.py (ad0871c5), as written =====================

"""
Code to generate autoregressive data.

Blog post: http://www.jessicayung.com/generating-autoregressive-data-for-experiments=

Author: Jessiac Yung
Sept 2018
"""
# from sklearn.model_selection import train_test_split  # differs: scikit-learn is not installed; the name is unused


class TimeSeriesData:
    def __init__(self, num_datapoints, test_size=0.2, max_t=20, num_prev=1,
                 noise_var=1):
        """
        Template class for generating time series data.
        :param test_size: in (0,1), data to be used in test set as a fraction of all data generated.
        """
        self.num_datapoints = num_datapoints
        self.test_size = test_size
        self.num_prev = num_prev
        self.max_t = max_t
        self.data = None
        self.noise_var = noise_var
        self.y = np.zeros(num_datapoints + num_prev*4) # TODO: check this
        self.bayes_preds = np.copy(self.y)

        # Generate data and reshape data
        self.create_data()

        # Split into training and test sets
        self.train_test_split()

    def create_data(self):
        self.generate_data()
        self.reshape_data()

    def generate_data(self):
        """Generates data in self.y, may take as implicit input timesteps self.t.
        May also generate Bayes predictions."""
        raise NotImplementedError("Generate data method not implemented.")

    def reshape_data(self):
        self.x = np.reshape([self.y[i:i + self.num_prev] for i in range(
            self.num_datapoints)], (-1, self.num_prev))
        self.y = np.copy(self.y[self.num_prev:])
        self.bayes_preds = np.copy(self.bayes_preds[self.num_prev:])

    def train_test_split(self):
        test_size = int(len(self.y) * self.test_size)
        self.data = [self.X_train, self.X_test, self.y_train,
                     self.y_test] = \
                    self.x[:-test_size], self.x[-test_size:], \
                    self.y[:-test_size], self.y[-test_size:]
        self.bayes_preds = [self.bayes_train_preds, self.bayes_test_preds] = \
            self.bayes_preds[:-test_size], self.bayes_preds[-test_size:]

    def return_data(self):
        return self.data

    def return_train_test(self):
        return self.X_train, self.y_train, self.X_test, self.y_test

class ARData(TimeSeriesData):
    """Class to generate autoregressive data."""

    def __init__(self, *args, coeffs=None, **kwargs):
        self.given_coeffs = coeffs
        super(ARData, self).__init__(*args, **kwargs)

        if coeffs is not None:
            self.num_prev = len(coeffs) - 1

    def generate_data(self):
        self.generate_coefficients()
        self.generate_initial_points()

        # + 3*self.num_prev because we want to cut first (3*self.num_prev) datapoints later
        # so dist is more stationary (else initial num_prev datapoints will stand out as diff dist)
        for i in range(self.num_datapoints+3*self.num_prev):
            # Generate y value if there was no noise
            # (equivalent to Bayes predictions: predictions from oracle that knows true parameters (coefficients))
            self.bayes_preds[i + self.num_prev] = np.dot(self.y[i:self.num_prev+i][::-1], self.coeffs)
            # Add noise
            self.y[i + self.num_prev] = self.bayes_preds[i + self.num_prev] + self.noise()

        # Cut first 20 points so dist is roughly stationary
        self.bayes_preds = self.bayes_preds[3*self.num_prev:]
        self.y = self.y[3*self.num_prev:]

    def generate_coefficients(self):
        if self.given_coeffs is not None:
            self.coeffs = self.given_coeffs
        else:
            filter_stable = False
            # Keep generating coefficients until we come across a set of coefficients
            # that correspond to stable poles
            while not filter_stable:
                true_theta = np.random.random(self.num_prev) - 0.5
                coefficients = np.append(1, -true_theta)
                # check if magnitude of all poles is less than one
                if np.max(np.abs(np.roots(coefficients))) < 1:
                    filter_stable = True
            self.coeffs = true_theta

    def generate_initial_points(self):
        # Initial datapoints distributed as N(0,1)
        self.y[:self.num_prev] = np.random.randn(self.num_prev)

    def noise(self):
        # Noise distributed as N(0, self.noise_var)
        return self.noise_var * np.random.randn()

# A set of coefficients that are stable (to produce replicable plots, experiments)
fixed_ar_coefficients = {2: [ 0.46152873, -0.29890739],
    5: [ 0.02519834, -0.24396899,  0.2785921,   0.14682383,  0.39390468],
                        10: [-0.10958935, -0.34564819,  0.3682048,   0.3134046,  -0.21553732,  0.34613629,
  0.41916508,  0.0165352,   0.14163503, -0.38844378],
                         20: [ 0.1937815,   0.01201026,  0.00464018, -0.21887467, -0.20113385, -0.02322278,
  0.34285319, -0.21069086,  0.06604683, -0.22377364,  0.11714593, -0.07122126,
 -0.16346554,  0.03174824,  0.308584,    0.06881604,  0.24840789, -0.32735569,
  0.21939492, 0.3996207 ]}

"""
Example of using fixed coefficients (consistency across tests of different models)

data = ARData(100, coeffs=fixed_ar_coefficients[5], num_prev=5)
plt.plot(data.y_train)
"""


# ==== 1. jessicayung/blog-code-snippets lstm-pytorch/lstm-baseline.py (b4e687e0), as written ======================

def lstm_baseline(record, epochs=500):
    plt = record.setdefault("plt", _Pyplot())   # differs: `import matplotlib.pyplot as plt` (the stand-in above)
    # from generate_data import *  (the module above)

    # data params
    noise_var = 0
    num_datapoints = 100
    test_size = 0.2
    num_train = int((1-test_size) * num_datapoints)

    # network params
    input_size = 20
    per_element = True
    if per_element:
        lstm_input_size = 1
    else:
        lstm_input_size = input_size
    h1 = 256
    D_out = 1
    learning_rate = 1e-2
    num_epochs = epochs  # differs: 500; the tests pass fewer (the file stays fast)
    dtype = torch.float

    # generate data
    # data = SineWaveData(num_datapoints, num_prev=input_size, test_size=test_size, max_t=100, amplitude=0.5, mean=0.5)

    data = ARData(num_datapoints, num_prev=input_size, test_size=test_size, noise_var=noise_var,
                  coeffs=fixed_ar_coefficients[input_size])

    # make training and test sets in torch
    X_train = torch.from_numpy(data.X_train).type(torch.Tensor)
    X_test = torch.from_numpy(data.X_test).type(torch.Tensor)
    y_train = torch.from_numpy(data.y_train).type(torch.Tensor).view(-1)
    y_test = torch.from_numpy(data.y_test).type(torch.Tensor).view(-1)

    X_train = X_train.view([input_size, -1, 1])
    X_test = X_test.view([input_size, -1, 1])

    # build model

    class RNN(nn.Module):

        def __init__(self, input_dim, hidden_dim, batch_size):
            super(RNN, self).__init__()
            self.input_dim = input_dim
            self.hidden_dim = hidden_dim
            self.batch_size = batch_size
            print("Batch size: ", batch_size)

            self.lstm = nn.LSTM(input_dim, hidden_dim)
            self.linear = nn.Linear(hidden_dim, 1)  # 1 here is output size

        def init_hidden(self):
            return (torch.zeros(1, 1, self.hidden_dim),
                    torch.zeros(1, 1, self.hidden_dim))

        def forward(self, input):
            lstm_out, self.hidden = self.lstm(input.view(len(input), self.batch_size, -1))
            y_pred = self.linear(lstm_out[-1].view(self.batch_size, -1))
            return y_pred.view(-1)

    model = RNN(1, 32, batch_size=num_train)
    """
    model = torch.nn.Sequential(
        torch.nn.LSTM(input_size=lstm_input_size, hidden_size=h1, num_layers=1, dropout=0),
        torch.nn.ReLU(),
        torch.nn.Linear(h1, out_features=D_out)
    )
    """

    loss_fn = torch.nn.MSELoss(size_average=False)

    optimiser = torch.optim.Adam(model.parameters(), lr=learning_rate)

    hist = np.zeros(num_epochs)
    # train model
    for t in range(num_epochs):
        model.zero_grad()
        model.hidden = model.init_hidden()
        # forward pass
        y_pred = model(X_train)

        loss = loss_fn(y_pred, y_train)
        if t % 100 == 0:
            print("Epoch ", t, "MSE: ", loss.item())
        hist[t] = loss.item()

        # Zero out gradient, else they will accumulate between epochs
        optimiser.zero_grad()

        # backward pass
        loss.backward()

        # update parameters
        optimiser.step()

    plt.plot(y_pred.detach().numpy(), label="Preds")
    plt.plot(y_train.detach().numpy(), label="Data")
    plt.legend()
    plt.show()

    plt.plot(hist, label="Training loss")
    plt.legend()
    plt.show()
    record.update(locals())
    return record


# ==== 2. curiousily/Getting-Things-Done-with-Pytorch manuscript/05.time-series-forecasting-covid-19.md (34af03c6) =

class MinMaxScaler:  # differs: `from sklearn.preprocessing import MinMaxScaler` (not installed): its three methods
    """scikit-learn's MinMaxScaler(feature_range=(0, 1)) on 2-d arrays: x' = (x - min) / (max - min) per column."""

    def fit(self, X):
        X = np.asarray(X, dtype=np.float64)
        self.data_min_, self.data_max_ = X.min(axis=0), X.max(axis=0)
        return self

    def transform(self, X):
        return (np.asarray(X, dtype=np.float64) - self.data_min_) / (self.data_max_ - self.data_min_)

    def inverse_transform(self, X):
        return np.asarray(X, dtype=np.float64) * (self.data_max_ - self.data_min_) + self.data_min_


def made_up_confirmed(provinces=6, days=41, seed=3):
    """JHU's time_series_19-covid-Confirmed.csv as the notebook reads it: per province 4 columns (Province/State,
    Country/Region, Lat, Long; numbers here) then cumulative counts over 41 days, logistic growth with a jump in
    the middle (the notebook's change of testing criteria)."""
    rng = np.random.default_rng(seed)
    t = np.arange(days)
    rows = []
    for _ in range(provinces):
        scale, mid = rng.uniform(200, 1000), rng.uniform(10, 16)
        counts = scale / (1 + np.exp(-(t - mid) / 3.0)) + np.where(t >= 22, scale * 0.3, 0.0)
        rows.append(np.concatenate([rng.uniform(-90, 90, 4), np.floor(counts)]))
    return np.array(rows)


def covid_forecasting(record, n_hidden=512):
    plt = record.setdefault("plt", _Pyplot())  # differs: matplotlib, seaborn, pylab's rcParams: the stand-in above
    # differs: `!pip install -Uq watermark`, `%watermark`, tqdm, `%matplotlib inline`, `sns.set(...)`,
    # `rcParams[...]` and `register_matplotlib_converters()` are left out (display only)

    RANDOM_SEED = 42
    np.random.seed(RANDOM_SEED)
    torch.manual_seed(RANDOM_SEED)

    df = made_up_confirmed()  # differs: `pd.read_csv('time_series_19-covid-Confirmed.csv')`: pandas is not
    # installed and the file not here; a made-up array of the same layout, and numpy's spelling of each pandas call

    df = df[:, 4:]  # differs: df.iloc[:, 4:]

    assert np.isnan(df).sum().sum() == 0  # differs: df.isnull().sum().sum()

    daily_cases = df.sum(axis=0)
    # differs: `daily_cases.index = pd.to_datetime(daily_cases.index)` (dates only label the plots)

    plt.plot(daily_cases)
    plt.title("Cumulative daily cases");

    # differs: daily_cases.diff().fillna(daily_cases[0]).astype(np.int64)
    daily_cases = np.concatenate([daily_cases[:1], np.diff(daily_cases)]).astype(np.int64)

    plt.plot(daily_cases)
    plt.title("Daily cases");

    test_data_size = 14

    train_data = daily_cases[:-test_data_size]
    test_data = daily_cases[-test_data_size:]

    scaler = MinMaxScaler()

    scaler = scaler.fit(np.expand_dims(train_data, axis=1))

    train_data = scaler.transform(np.expand_dims(train_data, axis=1))

    test_data = scaler.transform(np.expand_dims(test_data, axis=1))

    def create_sequences(data, seq_length):
        xs = []
        ys = []

        for i in range(len(data)-seq_length-1):
            x = data[i:(i+seq_length)]
            y = data[i+seq_length]
            xs.append(x)
            ys.append(y)

        return np.array(xs), np.array(ys)

    seq_length = 5
    X_train, y_train = create_sequences(train_data, seq_length)
    X_test, y_test = create_sequences(test_data, seq_length)

    X_train = torch.from_numpy(X_train).float()
    y_train = torch.from_numpy(y_train).float()

    X_test = torch.from_numpy(X_test).float()
    y_test = torch.from_numpy(y_test).float()

    class CoronaVirusPredictor(nn.Module):

      def __init__(self, n_features, n_hidden, seq_len, n_layers=2):
        super(CoronaVirusPredictor, self).__init__()

        self.n_hidden = n_hidden
        self.seq_len = seq_len
        self.n_layers = n_layers

        self.lstm = nn.LSTM(
          input_size=n_features,
          hidden_size=n_hidden,
          num_layers=n_layers,
          dropout=0.5
        )

        self.linear = nn.Linear(in_features=n_hidden, out_features=1)

      def reset_hidden_state(self):
        self.hidden = (
            torch.zeros(self.n_layers, self.seq_len, self.n_hidden),
            torch.zeros(self.n_layers, self.seq_len, self.n_hidden)
        )

      def forward(self, sequences):
        lstm_out, self.hidden = self.lstm(
          sequences.view(len(sequences), self.seq_len, -1),
          self.hidden
        )
        last_time_step = \
          lstm_out.view(self.seq_len, len(sequences), self.n_hidden)[-1]
        y_pred = self.linear(last_time_step)
        return y_pred

    def train_model(
      model,
      train_data,
      train_labels,
      test_data=None,
      test_labels=None
    ):
      loss_fn = torch.nn.MSELoss(reduction='sum')

      optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
      num_epochs = 60

      train_hist = np.zeros(num_epochs)
      test_hist = np.zeros(num_epochs)

      for t in range(num_epochs):
        model.reset_hidden_state()

        y_pred = model(X_train)

        loss = loss_fn(y_pred.float(), y_train)

        if test_data is not None:
          with torch.no_grad():
            y_test_pred = model(X_test)
            test_loss = loss_fn(y_test_pred.float(), y_test)
          test_hist[t] = test_loss.item()

          if t % 10 == 0:
            print(f'Epoch {t} train loss: {loss.item()} test loss: {test_loss.item()}')
        elif t % 10 == 0:
          print(f'Epoch {t} train loss: {loss.item()}')

        train_hist[t] = loss.item()

        optimiser.zero_grad()

        loss.backward()

        optimiser.step()

      return model.eval(), train_hist, test_hist

    record.update(CoronaVirusPredictor=CoronaVirusPredictor, daily_cases=daily_cases, X_train=X_train,
                  y_train=y_train, X_test=X_test)  # differs: kept for the tests
    if n_hidden is None:                               # differs: the tests that only need the class stop here
        return record

    model = CoronaVirusPredictor(
      n_features=1,
      n_hidden=n_hidden,  # differs: 512; the tests pass fewer (the file stays fast)
      seq_len=seq_length,
      n_layers=2
    )
    model, train_hist, test_hist = train_model(
      model,
      X_train,
      y_train,
      X_test,
      y_test
    )

    plt.plot(train_hist, label="Training loss")
    plt.plot(test_hist, label="Test loss")
    plt.ylim((0, 5))
    plt.legend();

    with torch.no_grad():
      test_seq = X_test[:1]
      preds = []
      for _ in range(len(X_test)):
        y_test_pred = model(test_seq)
        pred = torch.flatten(y_test_pred).item()
        preds.append(pred)
        new_seq = test_seq.numpy().flatten()
        new_seq = np.append(new_seq, [pred])
        new_seq = new_seq[1:]
        test_seq = torch.as_tensor(new_seq).view(1, seq_length, 1).float()

    true_cases = scaler.inverse_transform(
        np.expand_dims(y_test.flatten().numpy(), axis=0)
    ).flatten()

    predicted_cases = scaler.inverse_transform(
      np.expand_dims(preds, axis=0)
    ).flatten()

    day_index = np.arange(len(daily_cases))  # differs: `daily_cases.index` (dates): the day numbers
    plt.plot(
      day_index[:len(train_data)],
      scaler.inverse_transform(train_data).flatten(),
      label='Historical Daily Cases'
    )

    plt.plot(
      day_index[len(train_data):len(train_data) + len(true_cases)],
      true_cases,
      label='Real Daily Cases'
    )

    plt.plot(
      day_index[len(train_data):len(train_data) + len(true_cases)],
      predicted_cases,
      label='Predicted Daily Cases'
    )

    plt.legend();
    record.update(first=dict(train_hist=train_hist, test_hist=test_hist, preds=preds, true_cases=true_cases,
                             predicted_cases=predicted_cases, train_scaled=train_data))

    scaler = MinMaxScaler()

    scaler = scaler.fit(np.expand_dims(daily_cases, axis=1))

    all_data = scaler.transform(np.expand_dims(daily_cases, axis=1))

    all_data.shape

    X_all, y_all = create_sequences(all_data, seq_length)

    X_all = torch.from_numpy(X_all).float()
    y_all = torch.from_numpy(y_all).float()

    model = CoronaVirusPredictor(
      n_features=1,
      n_hidden=n_hidden,  # differs: 512 (as above)
      seq_len=seq_length,
      n_layers=2
    )
    model, train_hist, _ = train_model(model, X_all, y_all)

    DAYS_TO_PREDICT = 12

    with torch.no_grad():
      test_seq = X_all[:1]
      preds = []
      for _ in range(DAYS_TO_PREDICT):
        y_test_pred = model(test_seq)
        pred = torch.flatten(y_test_pred).item()
        preds.append(pred)
        new_seq = test_seq.numpy().flatten()
        new_seq = np.append(new_seq, [pred])
        new_seq = new_seq[1:]
        test_seq = torch.as_tensor(new_seq).view(1, seq_length, 1).float()

    predicted_cases = scaler.inverse_transform(
      np.expand_dims(preds, axis=0)
    ).flatten()

    # differs: `pd.date_range(start=daily_cases.index[-1], periods=DAYS_TO_PREDICT + 1, closed='right')` and
    # `pd.Series(data=predicted_cases, index=predicted_index)`: the next day numbers, and the array
    predicted_index = np.arange(len(daily_cases), len(daily_cases) + DAYS_TO_PREDICT)

    plt.plot(predicted_index, predicted_cases, label='Predicted Daily Cases')
    plt.legend();

    plt.plot(daily_cases, label='Historical Daily Cases')
    plt.plot(predicted_index, predicted_cases, label='Predicted Daily Cases')
    plt.legend();
    record.update(locals())
    return record


# ==== 3. gabrielloye/LSTM_Sentiment-Analysis main.ipynb (40d2ed0c), its code cells as written =====================

POSITIVE = ["great", "love", "excellent", "wonderful", "best", "recommend", "beautiful", "perfect"]
NEGATIVE = ["bad", "waste", "terrible", "broke", "worst", "disappointed", "boring", "poor"]
NEUTRAL = ["the", "this", "it", "product", "book", "was", "is", "and", "a", "i", "music", "game", "very", "really"]


def made_up_reviews(count, seed):
    """Amazon's train.ft.txt / test.ft.txt lines as `bz2.BZ2File(...).readlines()` gives them: bytes
    `__label__1 <text>\\n` (negative) or `__label__2 <text>\\n` (positive), with punctuation, digits and a url."""
    rng = np.random.default_rng(seed)
    lines = []
    for k in range(count):
        label = int(rng.integers(0, 2))
        words = list(rng.choice(NEUTRAL, size=int(rng.integers(4, 9))))
        for _ in range(int(rng.integers(1, 3))):
            words.insert(int(rng.integers(0, len(words) + 1)), str(rng.choice(POSITIVE if label else NEGATIVE)))
        text = " ".join(words).capitalize() + rng.choice([".", "!", ", see www.example.com", " 10 stars."])
        lines.append(f"__label__{label + 1} {text}\n".encode("utf-8"))
    return lines


class _BZ2File:  # differs: `import bz2`, `bz2.BZ2File('../input/amazon_reviews/train.ft.txt.bz2')`: made up
    def __init__(self, lines):
        self.lines = lines

    def readlines(self):
        return list(self.lines)


# differs: `import nltk` and `nltk.download('punkt')` (not installed): a tokenizer splitting words, numbers and
# punctuation as nltk.word_tokenize does on these made-up lines
nltk = types.SimpleNamespace(download=lambda name: True,
                             word_tokenize=lambda text: re.findall(r"<url>|\w+|[^\w\s]", text))


def sentiment_notebook(record, tmp_path, n_train=96, n_test=64, epochs=2, print_every=1000):
    # import bz2, Counter, re, nltk, numpy as np (at the top of this file)
    nltk.download('punkt')

    train_file = _BZ2File(made_up_reviews(n_train, seed=1))  # differs: bz2.BZ2File(...) (made-up reviews)
    test_file = _BZ2File(made_up_reviews(n_test, seed=2))    # differs: bz2.BZ2File(...) (made-up reviews)

    train_file = train_file.readlines()
    test_file = test_file.readlines()

    print("Number of training reivews: " + str(len(train_file)))
    print("Number of test reviews: " + str(len(test_file)))

    num_train = 800000 #We're training on the first 1 million reviews in the dataset
    num_test = 200000 #Using 100,000 reviews from test set

    train_file = [x.decode('utf-8') for x in train_file[:num_train]]
    test_file = [x.decode('utf-8') for x in test_file[:num_test]]

    print(train_file[0])

    # Extracting labels from sentences

    train_labels = [0 if x.split(' ')[0] == '__label__1' else 1 for x in train_file]
    train_sentences = [x.split(' ', 1)[1][:-1].lower() for x in train_file]


    test_labels = [0 if x.split(' ')[0] == '__label__1' else 1 for x in test_file]
    test_sentences = [x.split(' ', 1)[1][:-1].lower() for x in test_file]

    # Some simple cleaning of data
    # differs: '\d' is r'\d' below (the same pattern; Python 3.12 warns at the invalid escape)

    for i in range(len(train_sentences)):
        train_sentences[i] = re.sub(r'\d','0',train_sentences[i])

    for i in range(len(test_sentences)):
        test_sentences[i] = re.sub(r'\d','0',test_sentences[i])

    # Modify URLs to <url>

    for i in range(len(train_sentences)):
        if 'www.' in train_sentences[i] or 'http:' in train_sentences[i] or 'https:' in train_sentences[i] or \
                '.com' in train_sentences[i]:
            train_sentences[i] = re.sub(r"([^ ]+(?<=\.[a-z]{3}))", "<url>", train_sentences[i])

    for i in range(len(test_sentences)):
        if 'www.' in test_sentences[i] or 'http:' in test_sentences[i] or 'https:' in test_sentences[i] or \
                '.com' in test_sentences[i]:
            test_sentences[i] = re.sub(r"([^ ]+(?<=\.[a-z]{3}))", "<url>", test_sentences[i])

    del train_file, test_file

    words = Counter() #Dictionary that will map a word to the number of times it appeared in all the training sentences
    for i, sentence in enumerate(train_sentences):
        #The sentences will be stored as a list of words/tokens
        train_sentences[i] = []
        for word in nltk.word_tokenize(sentence): #Tokenizing the words
            words.update([word.lower()]) #Converting all the words to lower case
            train_sentences[i].append(word)
        if i%20000 == 0:
            print(str((i*100)/num_train) + "% done")
    print("100% done")

    # Removing the words that only appear once
    words = {k:v for k,v in words.items() if v>1}
    # Sorting the words according to the number of appearances, with the most common word being first
    words = sorted(words, key=words.get, reverse=True)
    # Adding padding and unknown to our vocabulary so that they will be assigned an index
    words = ['_PAD','_UNK'] + words
    # Dictionaries to store the word to index mappings and vice versa
    word2idx = {o:i for i,o in enumerate(words)}
    idx2word = {i:o for i,o in enumerate(words)}

    for i, sentence in enumerate(train_sentences):
        # Looking up the mapping dictionary and assigning the index to the respective words
        train_sentences[i] = [word2idx[word] if word in word2idx else 0 for word in sentence]

    for i, sentence in enumerate(test_sentences):
        # For test sentences, we have to tokenize the sentences as well
        test_sentences[i] = [word2idx[word.lower()] if word.lower() in word2idx else 0
                             for word in nltk.word_tokenize(sentence)]

    # Defining a function that either shortens sentences or pads sentences with 0 to a fixed length

    def pad_input(sentences, seq_len):
        features = np.zeros((len(sentences), seq_len),dtype=int)
        for ii, review in enumerate(sentences):
            if len(review) != 0:
                features[ii, -len(review):] = np.array(review)[:seq_len]
        return features

    seq_len = 20  # differs: 200; the made-up reviews are at most 14 tokens long

    train_sentences = pad_input(train_sentences, seq_len)
    test_sentences = pad_input(test_sentences, seq_len)

    # Converting our labels into numpy arrays
    train_labels = np.array(train_labels)
    test_labels = np.array(test_labels)

    test_sentences[0]

    split_frac = 0.5
    split_id = int(split_frac * len(test_sentences))
    val_sentences, test_sentences = test_sentences[:split_id], test_sentences[split_id:]
    val_labels, test_labels = test_labels[:split_id], test_labels[split_id:]

    # import torch; from torch.utils.data import TensorDataset, DataLoader (at the top of this file)

    train_data = TensorDataset(torch.from_numpy(train_sentences), torch.from_numpy(train_labels))
    val_data = TensorDataset(torch.from_numpy(val_sentences), torch.from_numpy(val_labels))
    test_data = TensorDataset(torch.from_numpy(test_sentences), torch.from_numpy(test_labels))

    batch_size = 16  # differs: 400 (the made-up sets are 96, 32 and 32 reviews: whole batches, as 800,000 is)

    train_loader = DataLoader(train_data, shuffle=True, batch_size=batch_size)
    val_loader = DataLoader(val_data, shuffle=True, batch_size=batch_size)
    test_loader = DataLoader(test_data, shuffle=True, batch_size=batch_size)

    # torch.cuda.is_available() checks and returns a Boolean True if a GPU is available, else it'll return False
    is_cuda = torch.cuda.is_available()

    # If we have a GPU available, we'll set our device to GPU. We'll use this device variable later in our code.
    if is_cuda:
        device = torch.device("cuda")
        print("GPU is available")
    else:
        device = torch.device("cpu")
        print("GPU not available, CPU used")

    dataiter = iter(train_loader)
    sample_x, sample_y = next(dataiter)  # differs: `dataiter.next()`, Python 2's spelling, which PyTorch's
    # loader iterators no longer have either (only `__next__`)

    print(sample_x.shape, sample_y.shape)

    # import torch.nn as nn (at the top of this file)

    class SentimentNet(nn.Module):
        def __init__(self, vocab_size, output_size, embedding_dim, hidden_dim, n_layers, drop_prob=0.5):
            super(SentimentNet, self).__init__()
            self.output_size = output_size
            self.n_layers = n_layers
            self.hidden_dim = hidden_dim

            self.embedding = nn.Embedding(vocab_size, embedding_dim)
            self.lstm = nn.LSTM(embedding_dim, hidden_dim, n_layers, dropout=drop_prob, batch_first=True)
            self.dropout = nn.Dropout(0.2)
            self.fc = nn.Linear(hidden_dim, output_size)
            self.sigmoid = nn.Sigmoid()

        def forward(self, x, hidden):
            batch_size = x.size(0)
            x = x.long()
            embeds = self.embedding(x)
            lstm_out, hidden = self.lstm(embeds, hidden)
            lstm_out = lstm_out.contiguous().view(-1, self.hidden_dim)

            out = self.dropout(lstm_out)
            out = self.fc(out)
            out = self.sigmoid(out)

            out = out.view(batch_size, -1)
            out = out[:,-1]
            return out, hidden

        def init_hidden(self, batch_size):
            weight = next(self.parameters()).detach()  # differs: `.data`, the read-only array here (docs/pytorch.md)
            hidden = (weight.new(self.n_layers, batch_size, self.hidden_dim).zero_().to(device),
                          weight.new(self.n_layers, batch_size, self.hidden_dim).zero_().to(device))
            return hidden

    record.update(SentimentNet=SentimentNet, word2idx=word2idx, idx2word=idx2word, pad_input=pad_input,
                  train_sentences=train_sentences, train_labels=train_labels)  # differs: kept for the tests
    if epochs is None:                                 # differs: the tests that only need the class stop here
        return record

    vocab_size = len(word2idx) + 1
    output_size = 1
    embedding_dim = 16  # differs: 400 (a vocabulary of about 40 words)
    hidden_dim = 16     # differs: 512
    n_layers = 2

    model = SentimentNet(vocab_size, output_size, embedding_dim, hidden_dim, n_layers)
    model.to(device)
    print(model)

    lr=0.005
    criterion = nn.BCELoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)

    epochs = epochs  # differs: 2; the tests pass how many
    counter = 0
    print_every = print_every  # differs: 1000; the made-up set has 6 batches an epoch: the tests pass fewer
    clip = 5
    valid_loss_min = np.inf  # differs: np.Inf (gone from numpy 2, which is installed here)
    history = []             # differs: the validation losses printed, kept for the tests
    state_dict_pt = os.path.join(tmp_path, 'state_dict.pt')  # differs: './state_dict.pt' (the test's directory)

    model.train()
    for i in range(epochs):
        h = model.init_hidden(batch_size)

        for inputs, labels in train_loader:
            counter += 1
            h = tuple([e.data for e in h])
            inputs, labels = inputs.to(device), labels.to(device)
            model.zero_grad()
            output, h = model(inputs, h)
            loss = criterion(output.squeeze(), labels.float())
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), clip)
            optimizer.step()

            if counter%print_every == 0:
                val_h = model.init_hidden(batch_size)
                val_losses = []
                model.eval()
                for inp, lab in val_loader:
                    val_h = tuple([each.data for each in val_h])
                    inp, lab = inp.to(device), lab.to(device)
                    out, val_h = model(inp, val_h)
                    val_loss = criterion(out.squeeze(), lab.float())
                    val_losses.append(val_loss.item())

                model.train()
                print("Epoch: {}/{}...".format(i+1, epochs),
                      "Step: {}...".format(counter),
                      "Loss: {:.6f}...".format(loss.item()),
                      "Val Loss: {:.6f}".format(np.mean(val_losses)))
                history.append(np.mean(val_losses))
                if np.mean(val_losses) <= valid_loss_min:
                    torch.save(model.state_dict(), state_dict_pt)
                    print('Validation loss decreased ({:.6f} --> {:.6f}).  Saving model ...'.format(
                        valid_loss_min,np.mean(val_losses)))
                    valid_loss_min = np.mean(val_losses)

    model.load_state_dict(torch.load(state_dict_pt))

    test_losses = []
    num_correct = 0
    h = model.init_hidden(batch_size)

    model.eval()
    for inputs, labels in test_loader:
        h = tuple([each.data for each in h])
        inputs, labels = inputs.to(device), labels.to(device)
        output, h = model(inputs, h)
        test_loss = criterion(output.squeeze(), labels.float())
        test_losses.append(test_loss.item())
        pred = torch.round(output.squeeze()) #rounds the output to 0/1
        correct_tensor = pred.eq(labels.float().view_as(pred))
        correct = np.squeeze(correct_tensor.cpu().numpy())
        num_correct += np.sum(correct)

    print("Test loss: {:.3f}".format(np.mean(test_losses)))
    test_acc = num_correct/len(test_loader.dataset)
    print("Test accuracy: {:.3f}".format(test_acc))
    record.update(locals())
    return record


# ==== 4. keon/seq2seq model.py (10aab14d), as written ============================================================

class Encoder(nn.Module):
    def __init__(self, input_size, embed_size, hidden_size,
                 n_layers=1, dropout=0.5):
        super(Encoder, self).__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.embed_size = embed_size
        self.embed = nn.Embedding(input_size, embed_size)
        self.gru = nn.GRU(embed_size, hidden_size, n_layers,
                          dropout=dropout, bidirectional=True)

    def forward(self, src, hidden=None):
        embedded = self.embed(src)
        outputs, hidden = self.gru(embedded, hidden)
        # sum bidirectional outputs
        outputs = (outputs[:, :, :self.hidden_size] +
                   outputs[:, :, self.hidden_size:])
        return outputs, hidden


class Attention(nn.Module):
    def __init__(self, hidden_size):
        super(Attention, self).__init__()
        self.hidden_size = hidden_size
        self.attn = nn.Linear(self.hidden_size * 2, hidden_size)
        self.v = nn.Parameter(torch.rand(hidden_size))
        stdv = 1. / math.sqrt(self.v.size(0))
        nn.init.uniform_(self.v, -stdv, stdv)  # differs: self.v.data.uniform_(...): `.data` is read-only here

    def forward(self, hidden, encoder_outputs):
        timestep = encoder_outputs.size(0)
        batch_size = encoder_outputs.size(1)
        attn_energies = Variable(torch.zeros(batch_size, timestep))  # differs: `.cuda()`: no GPU here
        H = hidden.repeat(timestep, 1, 1).transpose(0, 1)
        encoder_outputs = encoder_outputs.transpose(0, 1)  # [B*T*H]
        attn_energies = self.score(H, encoder_outputs)
        return F.softmax(attn_energies).unsqueeze(1)

    def score(self, hidden, encoder_outputs):
        # [B*T*2H]->[B*T*H]
        energy = self.attn(torch.cat([hidden, encoder_outputs], 2))
        energy = energy.transpose(1, 2)  # [B*H*T]
        v = self.v.repeat(encoder_outputs.size(0), 1).unsqueeze(1)  # [B*1*H]
        energy = torch.bmm(v, energy)  # [B*1*T]
        return energy.squeeze(1)  # [B*T]


class Decoder(nn.Module):
    def __init__(self, embed_size, hidden_size, output_size,
                 n_layers=1, dropout=0.2):
        super(Decoder, self).__init__()
        self.embed_size = embed_size
        self.hidden_size = hidden_size
        self.output_size = output_size
        self.n_layers = n_layers

        self.embed = nn.Embedding(output_size, embed_size)
        self.dropout = nn.Dropout(dropout)
        self.attention = Attention(hidden_size)
        self.gru = nn.GRU(hidden_size + embed_size, hidden_size,
                          n_layers, dropout=dropout)
        self.out = nn.Linear(hidden_size * 2, output_size)

    def forward(self, input, last_hidden, encoder_outputs):
        # Get the embedding of the current input word (last output word)
        # (1,B,N)
        embedded = self.embed(input).view(1, input.data.shape[0], -1)
        embedded = self.dropout(embedded)
        # Calculate attention weights and apply to encoder outputs
        attn_weights = self.attention(last_hidden[-1], encoder_outputs)
        # (B,1,N)
        context = attn_weights.bmm(encoder_outputs.transpose(0, 1))
        context = context.transpose(0, 1)  # (1,B,N)
        # Combine embedded input word and attended context, run through RNN
        rnn_input = torch.cat([embedded, context], 2)
        output, hidden = self.gru(rnn_input, last_hidden)
        output = output.squeeze(0)  # (1,B,N) -> (B,N)
        context = context.squeeze(0)
        output = F.log_softmax(self.out(torch.cat([output, context], 1)))
        return output, hidden, attn_weights


class Seq2Seq(nn.Module):
    def __init__(self, encoder, decoder):
        super(Seq2Seq, self).__init__()
        self.encoder = encoder
        self.decoder = decoder

    def forward(self, src, trg=None, teacher_forcing_ratio=0.5):
        batch_size = src.size(1)
        max_len = trg.size(0)
        vocab_size = self.decoder.output_size
        outputs = Variable(torch.zeros(max_len, batch_size, vocab_size))  # differs: `.cuda()`

        encoder_output, hidden = self.encoder(src)
        hidden = hidden[:self.decoder.n_layers]
        output = Variable(trg.detach()[0, :])  # differs: `trg.data[0, :]` (`.data` is the array here) and `.cuda()`
        outputs[0] = to_onehot(output, vocab_size)
        for t in range(1, len(trg)):
            output, hidden, attn_weights = self.decoder(
                    output, hidden, encoder_output)
            outputs[t] = output
            is_teacher = random.random() < teacher_forcing_ratio
            output = output.detach().topk(1)[1].squeeze()  # differs: `output.data.topk(1)` (docs/pytorch.md)
            output = Variable(trg.detach()[t] if is_teacher else output)  # differs: `trg.data[t]`, `.cuda()`
        return outputs


def to_onehot(orig, vocab_size):
    batch_size = orig.size(0)
    onehot = torch.FloatTensor(batch_size, vocab_size).zero_()
    onehot.scatter_(1, orig.detach().cpu().unsqueeze(1), 1)  # differs: `orig.data.cpu()` (docs/pytorch.md)
    return onehot


# ---- keon/seq2seq logger.py (10aab14d): visdom is not installed ---------------------------------------------------

class VisdomWriter(object):  # differs: the Visdom server's window: a stand-in keeping the points it is sent
    def __init__(self, title, xlabel='Epoch', ylabel='Loss'):
        self.title, self.xlabel, self.ylabel, self.x, self.points = title, xlabel, ylabel, 0, []

    def update(self, y):
        """Update loss (X: Step (Epoch) / Y: loss)"""
        self.x += 1
        self.points.append((self.x, y))


def log_samples(file_path, samples, EN, is_sample=True):
    if is_sample:
        _, argmax = torch.max(samples, 2)
        samples = argmax.cpu().detach()  # differs: `.data` (the read-only array here; numpy has no `.t()`)
    samples = samples.t()
    decoded_samples = []
    for i in range(len(samples)):
        decoded = ' '.join([EN.vocab.itos[s] for s in samples[i]])
        decoded_samples.append(decoded)
    with open(file_path, 'w+') as f:
        for sample in decoded_samples:
            f.write(sample + '\n')


# ---- keon/seq2seq utils.py (10aab14d): IWSLT through torchtext and spacy, made up -------------------------------

class _Vocab:
    def __init__(self, words):
        self.itos = ['<unk>', '<pad>', '<sos>', '<eos>'] + list(words)
        self.stoi = {w: i for i, w in enumerate(self.itos)}

    def __len__(self):
        return len(self.itos)


class _Field:
    """What train.py reads of a torchtext `Field` after `build_vocab`: `len(DE.vocab)`, `vocab.stoi`, `vocab.itos`
    (torchtext's order: <unk> 0, <pad> 1, then init and eos tokens)."""

    def __init__(self, words):
        self.vocab = _Vocab(words)


def load_dataset(batch_size):  # differs: spacy, torchtext's Field/BucketIterator and IWSLT are not here: made-up
    """German-to-English pairs, here the task of writing a source of 2-5 "German" words as the same words in
    "English", reversed; batches as BucketIterator(sort_within_batch=True, include_lengths=True) lays them out:
    `batch.src` = ((T, B) int64 with <sos> ... <eos> <pad>..., lengths in descending order), `batch.trg` the same."""
    DE = _Field([f"de{k}" for k in range(8)])
    EN = _Field([f"en{k}" for k in range(8)])
    rng = np.random.default_rng(7)

    def batches(count):
        out = []
        for _ in range(count):
            lengths = sorted(rng.integers(2, 6, size=batch_size), reverse=True)
            pairs = [rng.integers(0, 8, size=n) for n in lengths]
            src = [[2] + [DE.vocab.stoi[f"de{k}"] for k in p] + [3] for p in pairs]
            trg = [[2] + [EN.vocab.stoi[f"en{k}"] for k in p[::-1]] + [3] for p in pairs]

            def field(rows):
                width = max(len(r) for r in rows)
                data = np.array([r + [1] * (width - len(r)) for r in rows], dtype=np.int64).T
                return torch.from_numpy(data), torch.tensor([len(r) for r in rows])
            out.append(types.SimpleNamespace(src=field(src), trg=field(trg)))
        return out

    return batches(6), batches(2), batches(2), DE, EN


# ---- keon/seq2seq train.py (10aab14d), as written -----------------------------------------------------------------




def parse_arguments():
    p = argparse.ArgumentParser(description='Hyperparams')
    p.add_argument('-epochs', type=int, default=100,
                   help='number of epochs for train')
    p.add_argument('-batch_size', type=int, default=4,
                   help='number of epochs for train')
    p.add_argument('-lr', type=float, default=0.0001,
                   help='initial learning rate')
    p.add_argument('-grad_clip', type=float, default=10.0,
                   help='initial learning rate')
    return p.parse_args()


def evaluate(model, val_iter, vocab_size, DE, EN):
    model.eval()
    pad = EN.vocab.stoi['<pad>']
    total_loss = 0
    for b, batch in enumerate(val_iter):
        src, len_src = batch.src
        trg, len_trg = batch.trg
        src, trg = src, trg  # differs: `.cuda()`: no GPU here
        output = model(src, trg)
        loss = F.cross_entropy(output.view(-1, vocab_size),
                               trg.contiguous().view(-1), ignore_index=pad)
        total_loss += loss.item()  # differs: `loss.data[0]`, an error since PyTorch 0.5 (0-d tensor) too
    return total_loss / len(val_iter)


def train(e, model, optimizer, train_iter, vocab_size, grad_clip, vis, DE, EN):
    model.train()
    losses = 0
    pad = EN.vocab.stoi['<pad>']
    for b, batch in enumerate(train_iter):
        src, len_src = batch.src
        trg, len_trg = batch.trg
        src, trg = src, trg  # differs: `.cuda()`
        optimizer.zero_grad()
        output = model(src, trg)
        loss = F.cross_entropy(output.view(-1, vocab_size),
                               trg.contiguous().view(-1), ignore_index=pad)
        loss.backward()
        clip_grad_norm(model.parameters(), grad_clip)
        optimizer.step()
        loss = loss.item()  # differs: `loss.data[0]` (as above)
        losses += loss

        if b % 100 == 0 and b != 0:
            losses = losses / 100
            print("[%d][loss:%5.2f][pp:%5.2f]" % (b, losses, math.exp(losses)))
            vis.update(loss)
            losses = 0
    if not os.path.isdir(".samples"):
        os.makedirs(".samples")
    log_samples('./.samples/de-%d.txt' % e, src.detach(), DE, is_sample=False)  # differs: `src.data`
    log_samples('./.samples/en-%d.txt' % e, output, EN)


def main(hidden_size=1024, embed_size=512):
    args = parse_arguments()
    hidden_size = hidden_size  # differs: 1024 and 512 (below); the tests pass smaller sizes
    embed_size = embed_size
    # differs: `assert torch.cuda.is_available()`: no GPU here

    # visdom for plotting
    vis_train = VisdomWriter("Training Loss", xlabel='Batch', ylabel='Loss')
    vis_val = VisdomWriter("Validation Loss", xlabel='Epoch', ylabel='Loss')

    print("[!] preparing dataset...")
    train_iter, val_iter, test_iter, DE, EN = load_dataset(args.batch_size)
    de_size, en_size = len(DE.vocab), len(EN.vocab)
    print("de_vocab_size: %d en_vocab_size: %d" % (de_size, en_size))

    print("[!] Instantiating models...")
    encoder = Encoder(de_size, embed_size, hidden_size,
                      n_layers=2, dropout=0.5)
    decoder = Decoder(embed_size, hidden_size, en_size,
                      n_layers=1, dropout=0.5)
    seq2seq = Seq2Seq(encoder, decoder)  # differs: `.cuda()`
    optimizer = optim.Adam(seq2seq.parameters(), lr=args.lr)
    print(seq2seq)

    best_val_loss = None
    for e in range(1, args.epochs+1):
        train(e, seq2seq, optimizer, train_iter,
              en_size, args.grad_clip, vis_train, DE, EN)
        val_loss = evaluate(seq2seq, val_iter, en_size, DE, EN)
        vis_val.update(val_loss)
        print("[Epoch:%d] val_loss:%5.3f | val_pp:%5.2fS"
              % (e, val_loss, math.exp(val_loss)))

        # Save the model if the validation loss is the best we've seen so far.
        if not best_val_loss or val_loss < best_val_loss:
            print("[!] saving model...")
            if not os.path.isdir(".save"):
                os.makedirs(".save")
            torch.save(seq2seq.state_dict(), './.save/seq2seq_%d.pt' % (e))
            best_val_loss = val_loss
    return dict(seq2seq=seq2seq, vis_val=vis_val, EN=EN, DE=DE, val_iter=val_iter)  # differs: kept for the tests


# ==== 5. sgrvinod/a-PyTorch-Tutorial-to-Sequence-Labeling utils.py (792591d0), as written ==========================

def read_words_tags(file, tag_ind, caseless=True):
    """
    Reads raw data in the CoNLL 2003 format and returns word and tag sequences.

    :param file: file with raw data in the CoNLL 2003 format
    :param tag_ind: column index of tag
    :param caseless: lowercase words?
    :return: word, tag sequences
    """
    with codecs.open(file, 'r', 'utf-8') as f:
        lines = f.readlines()
    words = []
    tags = []
    temp_w = []
    temp_t = []
    for line in lines:
        if not (line.isspace() or (len(line) > 10 and line[0:10] == '-DOCSTART-')):
            feats = line.rstrip('\n').split()
            temp_w.append(feats[0].lower() if caseless else feats[0])
            temp_t.append(feats[tag_ind])
        elif len(temp_w) > 0:
            assert len(temp_w) == len(temp_t)
            words.append(temp_w)
            tags.append(temp_t)
            temp_w = []
            temp_t = []
    # last sentence
    if len(temp_w) > 0:
        assert len(temp_w) == len(temp_t)
        words.append(temp_w)
        tags.append(temp_t)

    # Sanity check
    assert len(words) == len(tags)

    return words, tags


def create_maps(words, tags, min_word_freq=5, min_char_freq=1):
    """
    Creates word, char, tag maps.

    :param words: word sequences
    :param tags: tag sequences
    :param min_word_freq: words that occur fewer times than this threshold are binned as <unk>s
    :param min_char_freq: characters that occur fewer times than this threshold are binned as <unk>s
    :return: word, char, tag maps
    """
    word_freq = Counter()
    char_freq = Counter()
    tag_map = set()
    for w, t in zip(words, tags):
        word_freq.update(w)
        char_freq.update(list(reduce(lambda x, y: list(x) + [' '] + list(y), w)))
        tag_map.update(t)

    word_map = {k: v + 1 for v, k in enumerate([w for w in word_freq.keys() if word_freq[w] > min_word_freq])}
    char_map = {k: v + 1 for v, k in enumerate([c for c in char_freq.keys() if char_freq[c] > min_char_freq])}
    tag_map = {k: v + 1 for v, k in enumerate(tag_map)}

    word_map['<pad>'] = 0
    word_map['<end>'] = len(word_map)
    word_map['<unk>'] = len(word_map)
    char_map['<pad>'] = 0
    char_map['<end>'] = len(char_map)
    char_map['<unk>'] = len(char_map)
    tag_map['<pad>'] = 0
    tag_map['<start>'] = len(tag_map)
    tag_map['<end>'] = len(tag_map)

    return word_map, char_map, tag_map


def create_input_tensors(words, tags, word_map, char_map, tag_map):
    """
    Creates input tensors that will be used to create a PyTorch Dataset.

    :param words: word sequences
    :param tags: tag sequences
    :param word_map: word map
    :param char_map: character map
    :param tag_map: tag map
    :return: padded encoded words, padded encoded forward chars, padded encoded backward chars,
            padded forward character markers, padded backward character markers, padded encoded tags,
            word sequence lengths, char sequence lengths
    """
    # Encode sentences into word maps with <end> at the end
    # [['dunston', 'checks', 'in', '<end>']] -> [[4670, 4670, 185, 4669]]
    wmaps = list(map(lambda s: list(map(lambda w: word_map.get(w, word_map['<unk>']), s)) + [word_map['<end>']], words))

    # Forward and backward character streams
    # [['d', 'u', 'n', 's', 't', 'o', 'n', ' ', 'c', 'h', 'e', 'c', 'k', 's', ' ', 'i', 'n', ' ']]
    chars_f = list(map(lambda s: list(reduce(lambda x, y: list(x) + [' '] + list(y), s)) + [' '], words))
    # [['n', 'i', ' ', 's', 'k', 'c', 'e', 'h', 'c', ' ', 'n', 'o', 't', 's', 'n', 'u', 'd', ' ']]
    chars_b = list(
        map(lambda s: list(reversed([' '] + list(reduce(lambda x, y: list(x) + [' '] + list(y), s)))), words))

    # Encode streams into forward and backward character maps with <end> at the end
    # [[29, 2, 12, 8, 7, 14, 12, 3, 6, 18, 1, 6, 21, 8, 3, 17, 12, 3, 60]]
    cmaps_f = list(
        map(lambda s: list(map(lambda c: char_map.get(c, char_map['<unk>']), s)) + [char_map['<end>']], chars_f))
    # [[12, 17, 3, 8, 21, 6, 1, 18, 6, 3, 12, 14, 7, 8, 12, 2, 29, 3, 60]]
    cmaps_b = list(
        map(lambda s: list(map(lambda c: char_map.get(c, char_map['<unk>']), s)) + [char_map['<end>']], chars_b))

    # Positions of spaces and <end> character
    # Words are predicted or encoded at these places in the language and tagging models respectively
    # [[7, 14, 17, 18]] are points after '...dunston', '...checks', '...in', '...<end>' respectively
    cmarkers_f = list(map(lambda s: [ind for ind in range(len(s)) if s[ind] == char_map[' ']] + [len(s) - 1], cmaps_f))
    # Reverse the markers for the backward stream before adding <end>, so the words of the f and b markers coincide
    # i.e., [[17, 9, 2, 18]] are points after '...notsnud', '...skcehc', '...ni', '...<end>' respectively
    cmarkers_b = list(
        map(lambda s: list(reversed([ind for ind in range(len(s)) if s[ind] == char_map[' ']])) + [len(s) - 1],
            cmaps_b))

    # Encode tags into tag maps with <end> at the end
    tmaps = list(map(lambda s: list(map(lambda t: tag_map[t], s)) + [tag_map['<end>']], tags))
    # Since we're using CRF scores of size (prev_tags, cur_tags), find indices of target sequence in the unrolled scores
    # This will be row_index (i.e. prev_tag) * n_columns (i.e. tagset_size) + column_index (i.e. cur_tag)
    tmaps = list(map(lambda s: [tag_map['<start>'] * len(tag_map) + s[0]] + [s[i - 1] * len(tag_map) + s[i] for i in
                                                                             range(1, len(s))], tmaps))
    # Note - the actual tag indices can be recovered with tmaps % len(tag_map)

    # Pad, because need fixed length to be passed around by DataLoaders and other layers
    word_pad_len = max(list(map(lambda s: len(s), wmaps)))
    char_pad_len = max(list(map(lambda s: len(s), cmaps_f)))

    # Sanity check
    assert word_pad_len == max(list(map(lambda s: len(s), tmaps)))

    padded_wmaps = []
    padded_cmaps_f = []
    padded_cmaps_b = []
    padded_cmarkers_f = []
    padded_cmarkers_b = []
    padded_tmaps = []
    wmap_lengths = []
    cmap_lengths = []

    for w, cf, cb, cmf, cmb, t in zip(wmaps, cmaps_f, cmaps_b, cmarkers_f, cmarkers_b, tmaps):
        # Sanity  checks
        assert len(w) == len(cmf) == len(cmb) == len(t)
        assert len(cmaps_f) == len(cmaps_b)

        # Pad
        # A note -  it doesn't really matter what we pad with, as long as it's a valid index
        # i.e., we'll extract output at those pad points (to extract equal lengths), but never use them

        padded_wmaps.append(w + [word_map['<pad>']] * (word_pad_len - len(w)))
        padded_cmaps_f.append(cf + [char_map['<pad>']] * (char_pad_len - len(cf)))
        padded_cmaps_b.append(cb + [char_map['<pad>']] * (char_pad_len - len(cb)))

        # 0 is always a valid index to pad markers with (-1 is too but torch.gather has some issues with it)
        padded_cmarkers_f.append(cmf + [0] * (word_pad_len - len(w)))
        padded_cmarkers_b.append(cmb + [0] * (word_pad_len - len(w)))

        padded_tmaps.append(t + [tag_map['<pad>']] * (word_pad_len - len(t)))

        wmap_lengths.append(len(w))
        cmap_lengths.append(len(cf))

        # Sanity check
        assert len(padded_wmaps[-1]) == len(padded_tmaps[-1]) == len(padded_cmarkers_f[-1]) == len(
            padded_cmarkers_b[-1]) == word_pad_len
        assert len(padded_cmaps_f[-1]) == len(padded_cmaps_b[-1]) == char_pad_len

    padded_wmaps = torch.LongTensor(padded_wmaps)
    padded_cmaps_f = torch.LongTensor(padded_cmaps_f)
    padded_cmaps_b = torch.LongTensor(padded_cmaps_b)
    padded_cmarkers_f = torch.LongTensor(padded_cmarkers_f)
    padded_cmarkers_b = torch.LongTensor(padded_cmarkers_b)
    padded_tmaps = torch.LongTensor(padded_tmaps)
    wmap_lengths = torch.LongTensor(wmap_lengths)
    cmap_lengths = torch.LongTensor(cmap_lengths)

    return padded_wmaps, padded_cmaps_f, padded_cmaps_b, padded_cmarkers_f, padded_cmarkers_b, padded_tmaps, \
           wmap_lengths, cmap_lengths


def init_embedding(input_embedding):
    """
    Initialize embedding tensor with values from the uniform distribution.

    :param input_embedding: embedding tensor
    :return:
    """
    bias = np.sqrt(3.0 / input_embedding.size(1))
    nn.init.uniform_(input_embedding, -bias, bias)


def load_embeddings(emb_file, word_map, expand_vocab=True):
    """
    Load pre-trained embeddings for words in the word map.

    :param emb_file: file with pre-trained embeddings (in the GloVe format)
    :param word_map: word map
    :param expand_vocab: expand vocabulary of word map to vocabulary of pre-trained embeddings?
    :return: embeddings for words in word map, (possibly expanded) word map,
            number of words in word map that are in-corpus (subject to word frequency threshold)
    """
    with open(emb_file, 'r') as f:
        emb_len = len(f.readline().split(' ')) - 1

    print("Embedding length is %d." % emb_len)

    # Create tensor to hold embeddings for words that are in-corpus
    ic_embs = torch.FloatTensor(len(word_map), emb_len)
    init_embedding(ic_embs)

    if expand_vocab:
        print("You have elected to include embeddings that are out-of-corpus.")
        ooc_words = []
        ooc_embs = []
    else:
        print("You have elected NOT to include embeddings that are out-of-corpus.")

    # Read embedding file
    print("\nLoading embeddings...")
    for line in open(emb_file, 'r'):
        line = line.split(' ')

        emb_word = line[0]
        embedding = list(map(lambda t: float(t), filter(lambda n: n and not n.isspace(), line[1:])))

        if not expand_vocab and emb_word not in word_map:
            continue

        # If word is in train_vocab, store at the correct index (as in the word_map)
        if emb_word in word_map:
            ic_embs[word_map[emb_word]] = torch.FloatTensor(embedding)

        # If word is in dev or test vocab, store it and its embedding into lists
        elif expand_vocab:
            ooc_words.append(emb_word)
            ooc_embs.append(embedding)

    lm_vocab_size = len(word_map)  # keep track of lang. model's output vocab size (no out-of-corpus words)

    if expand_vocab:
        print("'word_map' is being updated accordingly.")
        for word in ooc_words:
            word_map[word] = len(word_map)
        ooc_embs = torch.FloatTensor(np.asarray(ooc_embs))
        embeddings = torch.cat([ic_embs, ooc_embs], 0)

    else:
        embeddings = ic_embs

    # Sanity check
    assert embeddings.size(0) == len(word_map)

    print("\nDone.\n Embedding vocabulary: %d\n Language Model vocabulary: %d.\n" % (len(word_map), lm_vocab_size))

    return embeddings, word_map, lm_vocab_size


def clip_gradient(optimizer, grad_clip):
    """
    Clip gradients computed during backpropagation to prevent gradient explosion.

    :param optimizer: optimized with the gradients to be clipped
    :param grad_clip: gradient clip value
    """
    for group in optimizer.param_groups:
        for param in group['params']:
            if param.grad is not None:
                # differs: `param.grad.data.clamp_(-grad_clip, grad_clip)`: `.grad` is a read-only array here
                param.grad = np.clip(param.grad, -grad_clip, grad_clip)


def save_checkpoint(epoch, model, optimizer, val_f1, word_map, char_map, tag_map, lm_vocab_size, is_best):
    """
    Save model checkpoint.

    :param epoch: epoch number
    :param model: model
    :param optimizer: optimized
    :param val_f1: validation F1 score
    :param word_map: word map
    :param char_map: char map
    :param tag_map: tag map
    :param lm_vocab_size: number of words in-corpus, i.e. size of output vocabulary of linear model
    :param is_best: is this checkpoint the best so far?
    :return:
    """
    state = {'epoch': epoch,
             'f1': val_f1,
             'model_state': model.state_dict(),
             'optimizer_state': optimizer.state_dict(),
             'word_map': word_map,
             'tag_map': tag_map,
             'char_map': char_map,
             'lm_vocab_size': lm_vocab_size}
    filename = 'checkpoint_lm_lstm_crf.pth.tar'
    torch.save(state, filename)
    # If checkpoint is the best so far, create a copy to avoid being overwritten by a subsequent worse checkpoint
    if is_best:
        torch.save(state, 'BEST_' + filename)


class AverageMeter(object):
    """
    Keeps track of most recent, average, sum, and count of a metric.
    """

    def __init__(self):
        self.reset()

    def reset(self):
        self.val = 0
        self.avg = 0
        self.sum = 0
        self.count = 0

    def update(self, val, n=1):
        self.val = val
        self.sum += val * n
        self.count += n
        self.avg = self.sum / self.count


def adjust_learning_rate(optimizer, new_lr):
    """
    Shrinks learning rate by a specified factor.

    :param optimizer: optimizer whose learning rates must be decayed
    :param new_lr: new learning rate
    """

    print("\nDECAYING learning rate.")
    for param_group in optimizer.param_groups:
        param_group['lr'] = new_lr
    print("The new learning rate is %f\n" % (optimizer.param_groups[0]['lr'],))


def log_sum_exp(tensor, dim):
    """
    Calculates the log-sum-exponent of a tensor's dimension in a numerically stable way.

    :param tensor: tensor
    :param dim: dimension to calculate log-sum-exp of
    :return: log-sum-exp
    """
    m, _ = torch.max(tensor, dim)
    m_expanded = m.unsqueeze(dim).expand_as(tensor)
    return m + torch.log(torch.sum(torch.exp(tensor - m_expanded), dim))


# ---- datasets.py (792591d0), as written ----------------------------------------------------------------------------

class WCDataset(Dataset):
    """
    PyTorch Dataset for the LM-LSTM-CRF model. To be used by a PyTorch DataLoader to feed batches to the model.
    """

    def __init__(self, wmaps, cmaps_f, cmaps_b, cmarkers_f, cmarkers_b, tmaps, wmap_lengths, cmap_lengths):
        self.wmaps = wmaps
        self.cmaps_f = cmaps_f
        self.cmaps_b = cmaps_b
        self.cmarkers_f = cmarkers_f
        self.cmarkers_b = cmarkers_b
        self.tmaps = tmaps
        self.wmap_lengths = wmap_lengths
        self.cmap_lengths = cmap_lengths

        self.data_size = self.wmaps.size(0)

    def __getitem__(self, i):
        return self.wmaps[i], self.cmaps_f[i], self.cmaps_b[i], self.cmarkers_f[i], self.cmarkers_b[i], self.tmaps[i], \
               self.wmap_lengths[i], self.cmap_lengths[i]

    def __len__(self):
        return self.data_size


# ---- models.py (792591d0), as written ------------------------------------------------------------------------------

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")


class Highway(nn.Module):
    """
    Highway Network.
    """

    def __init__(self, size, num_layers=1, dropout=0.5):
        super(Highway, self).__init__()
        self.size = size
        self.num_layers = num_layers
        self.transform = nn.ModuleList()  # list of transform layers
        self.gate = nn.ModuleList()  # list of gate layers
        self.dropout = nn.Dropout(p=dropout)

        for i in range(num_layers):
            transform = nn.Linear(size, size)
            gate = nn.Linear(size, size)
            self.transform.append(transform)
            self.gate.append(gate)

    def forward(self, x):
        transformed = nn.functional.relu(self.transform[0](x))  # transform input
        g = nn.functional.sigmoid(self.gate[0](x))  # calculate how much of the transformed input to keep

        out = g * transformed + (1 - g) * x  # combine input and transformed input in this ratio

        # If there are additional layers
        for i in range(1, self.num_layers):
            out = self.dropout(out)
            transformed = nn.functional.relu(self.transform[i](out))
            g = nn.functional.sigmoid(self.gate[i](out))

            out = g * transformed + (1 - g) * out

        return out


class CRF(nn.Module):
    """
    Conditional Random Field.
    """

    def __init__(self, hidden_dim, tagset_size):
        super(CRF, self).__init__()
        self.tagset_size = tagset_size
        self.emission = nn.Linear(hidden_dim, self.tagset_size)
        # differs: `torch.Tensor(n, n)`, sizes to the class, is refused here (docs/pytorch.md): FloatTensor(n, n)
        self.transition = nn.Parameter(torch.FloatTensor(self.tagset_size, self.tagset_size))
        nn.init.zeros_(self.transition)  # differs: `self.transition.data.zero_()` (`.data` is read-only here)

    def forward(self, feats):
        self.batch_size = feats.size(0)
        self.timesteps = feats.size(1)

        emission_scores = self.emission(feats)  # (batch_size, timesteps, tagset_size)
        emission_scores = emission_scores.unsqueeze(2).expand(self.batch_size, self.timesteps, self.tagset_size,
                                                              self.tagset_size)
        # (batch_size, timesteps, tagset_size, tagset_size)

        crf_scores = emission_scores + self.transition.unsqueeze(0).unsqueeze(
            0)  # (batch_size, timesteps, tagset_size, tagset_size)
        return crf_scores


class LM_LSTM_CRF(nn.Module):
    """
    The encompassing LM-LSTM-CRF model.
    """

    def __init__(self, tagset_size, charset_size, char_emb_dim, char_rnn_dim, char_rnn_layers, vocab_size,
                 lm_vocab_size, word_emb_dim, word_rnn_dim, word_rnn_layers, dropout, highway_layers=1):
        super(LM_LSTM_CRF, self).__init__()

        self.tagset_size = tagset_size  # this is the size of the output vocab of the tagging model

        self.charset_size = charset_size
        self.char_emb_dim = char_emb_dim
        self.char_rnn_dim = char_rnn_dim
        self.char_rnn_layers = char_rnn_layers

        self.wordset_size = vocab_size  # this is the size of the input vocab (embedding layer) of the tagging model
        self.lm_vocab_size = lm_vocab_size  # this is the size of the output vocab of the language model
        self.word_emb_dim = word_emb_dim
        self.word_rnn_dim = word_rnn_dim
        self.word_rnn_layers = word_rnn_layers

        self.highway_layers = highway_layers

        self.dropout = nn.Dropout(p=dropout)

        self.char_embeds = nn.Embedding(self.charset_size, self.char_emb_dim)  # character embedding layer
        self.forw_char_lstm = nn.LSTM(self.char_emb_dim, self.char_rnn_dim, num_layers=self.char_rnn_layers,
                                      bidirectional=False, dropout=dropout)  # forward character LSTM
        self.back_char_lstm = nn.LSTM(self.char_emb_dim, self.char_rnn_dim, num_layers=self.char_rnn_layers,
                                      bidirectional=False, dropout=dropout)  # backward character LSTM

        self.word_embeds = nn.Embedding(self.wordset_size, self.word_emb_dim)  # word embedding layer
        self.word_blstm = nn.LSTM(self.word_emb_dim + self.char_rnn_dim * 2, self.word_rnn_dim // 2,
                                  num_layers=self.word_rnn_layers, bidirectional=True, dropout=dropout)  # word BLSTM

        self.crf = CRF((self.word_rnn_dim // 2) * 2, self.tagset_size)  # conditional random field

        self.forw_lm_hw = Highway(self.char_rnn_dim, num_layers=self.highway_layers,
                                  dropout=dropout)
        # highway to transform forward char LSTM output for the forward language model
        self.back_lm_hw = Highway(self.char_rnn_dim, num_layers=self.highway_layers,
                                  dropout=dropout)
        # highway to transform backward char LSTM output for the backward language model
        self.subword_hw = Highway(2 * self.char_rnn_dim, num_layers=self.highway_layers,
                                  dropout=dropout)
        # highway to transform combined forward and backward char LSTM outputs for use in the word BLSTM

        self.forw_lm_out = nn.Linear(self.char_rnn_dim,
                                     self.lm_vocab_size)
        # linear layer to find vocabulary scores for the forward language model
        self.back_lm_out = nn.Linear(self.char_rnn_dim,
                                     self.lm_vocab_size)
        # linear layer to find vocabulary scores for the backward language model

    def init_word_embeddings(self, embeddings):
        self.word_embeds.weight = nn.Parameter(embeddings)

    def fine_tune_word_embeddings(self, fine_tune=False):
        for p in self.word_embeds.parameters():
            p.requires_grad = fine_tune

    def forward(self, cmaps_f, cmaps_b, cmarkers_f, cmarkers_b, wmaps, tmaps, wmap_lengths, cmap_lengths):
        self.batch_size = cmaps_f.size(0)
        self.word_pad_len = wmaps.size(1)

        # Sort by decreasing true char. sequence length
        cmap_lengths, char_sort_ind = cmap_lengths.sort(dim=0, descending=True)
        cmaps_f = cmaps_f[char_sort_ind]
        cmaps_b = cmaps_b[char_sort_ind]
        cmarkers_f = cmarkers_f[char_sort_ind]
        cmarkers_b = cmarkers_b[char_sort_ind]
        wmaps = wmaps[char_sort_ind]
        tmaps = tmaps[char_sort_ind]
        wmap_lengths = wmap_lengths[char_sort_ind]

        # Embedding look-up for characters
        cf = self.char_embeds(cmaps_f)  # (batch_size, char_pad_len, char_emb_dim)
        cb = self.char_embeds(cmaps_b)

        # Dropout
        cf = self.dropout(cf)  # (batch_size, char_pad_len, char_emb_dim)
        cb = self.dropout(cb)

        # Pack padded sequence
        cf = pack_padded_sequence(cf, cmap_lengths.tolist(),
                                  batch_first=True)  # packed sequence of char_emb_dim, with real sequence lengths
        cb = pack_padded_sequence(cb, cmap_lengths.tolist(), batch_first=True)

        # LSTM
        cf, _ = self.forw_char_lstm(cf)  # packed sequence of char_rnn_dim, with real sequence lengths
        cb, _ = self.back_char_lstm(cb)

        # Unpack packed sequence
        cf, _ = pad_packed_sequence(cf, batch_first=True)  # (batch_size, max_char_len_in_batch, char_rnn_dim)
        cb, _ = pad_packed_sequence(cb, batch_first=True)

        # Sanity check
        assert cf.size(1) == max(cmap_lengths.tolist()) == list(cmap_lengths)[0]

        # Select RNN outputs only at marker points (spaces in the character sequence)
        cmarkers_f = cmarkers_f.unsqueeze(2).expand(self.batch_size, self.word_pad_len, self.char_rnn_dim)
        cmarkers_b = cmarkers_b.unsqueeze(2).expand(self.batch_size, self.word_pad_len, self.char_rnn_dim)
        cf_selected = torch.gather(cf, 1, cmarkers_f)  # (batch_size, word_pad_len, char_rnn_dim)

        cb_selected = torch.gather(cb, 1, cmarkers_b)

        # Only for co-training, not useful for tagging after model is trained
        if self.training:
            lm_f = self.forw_lm_hw(self.dropout(cf_selected))  # (batch_size, word_pad_len, char_rnn_dim)
            lm_b = self.back_lm_hw(self.dropout(cb_selected))
            lm_f_scores = self.forw_lm_out(self.dropout(lm_f))  # (batch_size, word_pad_len, lm_vocab_size)
            lm_b_scores = self.back_lm_out(self.dropout(lm_b))

        # Sort by decreasing true word sequence length
        wmap_lengths, word_sort_ind = wmap_lengths.sort(dim=0, descending=True)
        wmaps = wmaps[word_sort_ind]
        tmaps = tmaps[word_sort_ind]
        cf_selected = cf_selected[word_sort_ind]  # for language model
        cb_selected = cb_selected[word_sort_ind]
        if self.training:
            lm_f_scores = lm_f_scores[word_sort_ind]
            lm_b_scores = lm_b_scores[word_sort_ind]

        # Embedding look-up for words
        w = self.word_embeds(wmaps)  # (batch_size, word_pad_len, word_emb_dim)
        w = self.dropout(w)

        # Sub-word information at each word
        subword = self.subword_hw(self.dropout(
            torch.cat((cf_selected, cb_selected), dim=2)))  # (batch_size, word_pad_len, 2 * char_rnn_dim)
        subword = self.dropout(subword)

        # Concatenate word embeddings and sub-word features
        w = torch.cat((w, subword), dim=2)  # (batch_size, word_pad_len, word_emb_dim + 2 * char_rnn_dim)

        # Pack padded sequence
        w = pack_padded_sequence(w, list(wmap_lengths),
                                 batch_first=True)
        # packed sequence of word_emb_dim + 2 * char_rnn_dim, with real sequence lengths

        # LSTM
        w, _ = self.word_blstm(w)  # packed sequence of word_rnn_dim, with real sequence lengths

        # Unpack packed sequence
        w, _ = pad_packed_sequence(w, batch_first=True)  # (batch_size, max_word_len_in_batch, word_rnn_dim)
        w = self.dropout(w)

        crf_scores = self.crf(w)  # (batch_size, max_word_len_in_batch, tagset_size, tagset_size)

        if self.training:
            return crf_scores, lm_f_scores, lm_b_scores, wmaps, tmaps, wmap_lengths, word_sort_ind, char_sort_ind
        else:
            return crf_scores, wmaps, tmaps, wmap_lengths, word_sort_ind, char_sort_ind  # sort inds to reorder, if req.


class ViterbiLoss(nn.Module):
    """
    Viterbi Loss.
    """

    def __init__(self, tag_map):
        super(ViterbiLoss, self).__init__()
        self.tagset_size = len(tag_map)
        self.start_tag = tag_map['<start>']
        self.end_tag = tag_map['<end>']

    def forward(self, scores, targets, lengths):
        batch_size = scores.size(0)
        word_pad_len = scores.size(1)

        # Gold score

        targets = targets.unsqueeze(2)
        scores_at_targets = torch.gather(scores.view(batch_size, word_pad_len, -1), 2, targets).squeeze(
            2)  # (batch_size, word_pad_len)

        # Everything is already sorted by lengths
        # differs: `scores_at_targets, _ = pack_padded_sequence(...)`: written for PyTorch 0.4, whose PackedSequence
        # had two fields; since 1.1 it has four (here too) and the unpacking fails in PyTorch too: `.data`
        scores_at_targets = pack_padded_sequence(scores_at_targets, lengths, batch_first=True).data
        gold_score = scores_at_targets.sum()

        # All paths' scores

        # Create a tensor to hold accumulated sequence scores at each current tag
        scores_upto_t = torch.zeros(batch_size, self.tagset_size).to(device)

        for t in range(max(lengths)):
            batch_size_t = sum([l > t for l in lengths])  # effective batch size (sans pads) at this timestep
            if t == 0:
                scores_upto_t[:batch_size_t] = scores[:batch_size_t, t, self.start_tag, :]  # (batch_size, tagset_size)
            else:
                # We add scores at current timestep to scores accumulated up to previous timestep, and log-sum-exp
                # Remember, the cur_tag of the previous timestep is the prev_tag of this timestep
                # So, broadcast prev. timestep's cur_tag scores along cur. timestep's cur_tag dimension
                scores_upto_t[:batch_size_t] = log_sum_exp(
                    scores[:batch_size_t, t, :, :] + scores_upto_t[:batch_size_t].unsqueeze(2),
                    dim=1)  # (batch_size, tagset_size)

        # We only need the final accumulated scores at the <end> tag
        all_paths_scores = scores_upto_t[:, self.end_tag].sum()

        viterbi_loss = all_paths_scores - gold_score
        viterbi_loss = viterbi_loss / batch_size

        return viterbi_loss


# ---- inference.py (dd1dd618), as written ---------------------------------------------------------------------------

class ViterbiDecoder():
    """
    Viterbi Decoder.
    """

    def __init__(self, tag_map):
        self.tagset_size = len(tag_map)
        self.start_tag = tag_map['<start>']
        self.end_tag = tag_map['<end>']

    def decode(self, scores, lengths):
        batch_size = scores.size(0)
        word_pad_len = scores.size(1)
        del word_pad_len  # differs: unused in the source; deleted so that pyflakes passes the file

        # Create a tensor to hold accumulated sequence scores at each current tag
        scores_upto_t = torch.zeros(batch_size, self.tagset_size)

        # Create a tensor to hold back-pointers
        # i.e., indices of the previous_tag that corresponds to maximum accumulated score at current tag
        # Let pads be the <end> tag index, since that was the last tag in the decoded sequence
        backpointers = torch.ones((batch_size, max(lengths), self.tagset_size), dtype=torch.long) * self.end_tag

        for t in range(max(lengths)):
            batch_size_t = sum([l > t for l in lengths])  # effective batch size (sans pads) at this timestep
            if t == 0:
                scores_upto_t[:batch_size_t] = scores[:batch_size_t, t, self.start_tag, :]  # (batch_size, tagset_size)
                backpointers[:batch_size_t, t, :] = torch.ones((batch_size_t, self.tagset_size),
                                                               dtype=torch.long) * self.start_tag
            else:
                # We add scores at current timestep to scores accumulated up to previous timestep, and
                # choose the previous timestep that corresponds to the max. accumulated score for each current timestep
                scores_upto_t[:batch_size_t], backpointers[:batch_size_t, t, :] = torch.max(
                    scores[:batch_size_t, t, :, :] + scores_upto_t[:batch_size_t].unsqueeze(2),
                    dim=1)  # (batch_size, tagset_size)

        # Decode/trace best path backwards
        decoded = torch.zeros((batch_size, backpointers.size(1)), dtype=torch.long)
        pointer = torch.ones((batch_size, 1),
                             dtype=torch.long) * self.end_tag  # the pointers at the ends are all <end> tags

        for t in list(reversed(range(backpointers.size(1)))):
            decoded[:, t] = torch.gather(backpointers[:, t, :], 1, pointer).squeeze(1)
            pointer = decoded[:, t].unsqueeze(1)  # (batch_size, 1)

        # Sanity check
        assert torch.equal(decoded[:, 0], torch.ones((batch_size), dtype=torch.long) * self.start_tag)

        # Remove the <starts> at the beginning, and append with <ends> (to compare to targets, if any)
        decoded = torch.cat([decoded[:, 1:], torch.ones((batch_size, 1), dtype=torch.long) * self.start_tag],
                            dim=1)

        return decoded


# ---- train.py (4581f98f): its settings, main()'s body, train() and validate(), as written -------------------------

def f1_score(y_true, y_pred, average='macro'):  # differs: `from sklearn.metrics import f1_score` (not installed)
    """scikit-learn's macro F1: the mean over the labels in y_true or y_pred of 2 tp / (2 tp + fp + fn)."""
    assert average == 'macro'
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    scores = []
    for label in np.union1d(y_true, y_pred):
        tp = np.sum((y_true == label) & (y_pred == label))
        fp, fn = np.sum((y_true != label) & (y_pred == label)), np.sum((y_true == label) & (y_pred != label))
        scores.append(2 * tp / (2 * tp + fp + fn))
    return float(np.mean(scores))


NAMES, PLACES = ["john", "mary", "peter", "anna"], ["paris", "london", "rome", "berlin"]
VERBS, FILLER = ["lives", "works", "stays", "travels"], ["in", "near", "today", "often", "and", "happily"]


def write_made_up_conll(path, count, seed):
    """CoNLL 2003 as read_words_tags reads it: `-DOCSTART-`, then one `word POS CHUNK NER` line a word and a
    blank line between sentences; names are B-PER, places B-LOC, the rest O."""
    rng = np.random.default_rng(seed)
    lines = ["-DOCSTART- -X- -X- O", ""]
    for _ in range(count):
        sentence = [(str(rng.choice(NAMES)).capitalize(), "B-PER"), (str(rng.choice(VERBS)), "O")]
        sentence += [(str(rng.choice(FILLER)), "O") for _ in range(int(rng.integers(0, 2)))]
        sentence += [("in", "O"), (str(rng.choice(PLACES)).capitalize(), "B-LOC")]
        lines += [f"{w} NN I-NP {t}" for w, t in sentence] + [""]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def write_made_up_glove(path, words, dim=6, seed=5):
    """glove.6B.100d.txt's format, `word v1 ... vd` a line, for the corpus's words and two out of it."""
    rng = np.random.default_rng(seed)
    with open(path, "w") as f:
        for word in list(words) + ["unseen", "other"]:
            f.write(word + " " + " ".join(f"{v:.5f}" for v in rng.normal(0, 0.3, dim)) + "\n")


def lm_lstm_crf(record, tmp_path, epochs=200, n_train=40, n_val=20):
    # Data parameters
    task = 'ner'  # tagging task, to choose column in CoNLL 2003 dataset
    train_file = os.path.join(tmp_path, 'eng.train')  # differs: './datasets/eng.train' etc., made up (above)
    val_file = os.path.join(tmp_path, 'eng.testa')
    emb_file = os.path.join(tmp_path, 'glove.6B.100d.txt')
    write_made_up_conll(train_file, n_train, seed=11)  # differs: the files are made up here
    write_made_up_conll(val_file, n_val, seed=12)
    write_made_up_glove(emb_file, NAMES + PLACES + VERBS + FILLER)
    min_word_freq = 5  # threshold for word frequency
    min_char_freq = 1  # threshold for character frequency
    caseless = True  # lowercase everything?
    expand_vocab = True  # expand model's input vocabulary to the pre-trained embeddings' vocabulary?

    # Model parameters
    char_emb_dim = 8  # differs: 30 (this and the sizes below are smaller: the file stays fast)
    with open(emb_file, 'r') as f:
        word_emb_dim = len(f.readline().split(' ')) - 1  # word embedding size
    word_rnn_dim = 16  # differs: 300
    char_rnn_dim = 8  # differs: 300
    char_rnn_layers = 1  # number of layers in character RNN
    word_rnn_layers = 1  # number of layers in word RNN
    highway_layers = 1  # number of layers in highway network
    dropout = 0.5  # dropout
    fine_tune_word_embeddings = False  # fine-tune pre-trained word embeddings?

    # Training parameters
    start_epoch = 0  # start at this epoch
    batch_size = 10  # batch size
    lr = 0.015  # learning rate
    lr_decay = 0.05  # decay learning rate by this amount
    momentum = 0.9  # momentum
    workers = 1  # number of workers for loading data in the DataLoader
    epochs = epochs  # differs: 200; the tests pass fewer
    grad_clip = 5.  # clip gradients at this value
    print_freq = 100  # print training or validation status every __ batches
    best_f1 = 0.  # F1 score to start with

    tag_ind = 1 if task == 'pos' else 3  # choose column in CoNLL 2003 dataset

    # differs: main()'s body, run here in the function (its `global` statement would write this file's names);
    # its `if checkpoint is not None:` branch is left out (no checkpoint is given: the else branch runs)
    train_words, train_tags = read_words_tags(train_file, tag_ind, caseless)
    val_words, val_tags = read_words_tags(val_file, tag_ind, caseless)

    word_map, char_map, tag_map = create_maps(train_words + val_words, train_tags + val_tags, min_word_freq,
                                              min_char_freq)  # create word, char, tag maps
    embeddings, word_map, lm_vocab_size = load_embeddings(emb_file, word_map,
                                                          expand_vocab)  # load pre-trained embeddings

    model = LM_LSTM_CRF(tagset_size=len(tag_map),
                        charset_size=len(char_map),
                        char_emb_dim=char_emb_dim,
                        char_rnn_dim=char_rnn_dim,
                        char_rnn_layers=char_rnn_layers,
                        vocab_size=len(word_map),
                        lm_vocab_size=lm_vocab_size,
                        word_emb_dim=word_emb_dim,
                        word_rnn_dim=word_rnn_dim,
                        word_rnn_layers=word_rnn_layers,
                        dropout=dropout,
                        highway_layers=highway_layers).to(device)
    model.init_word_embeddings(embeddings.to(device))  # initialize embedding layer with pre-trained embeddings
    model.fine_tune_word_embeddings(fine_tune_word_embeddings)  # fine-tune
    optimizer = optim.SGD(params=filter(lambda p: p.requires_grad, model.parameters()), lr=lr, momentum=momentum)

    # Loss functions
    lm_criterion = nn.CrossEntropyLoss().to(device)
    crf_criterion = ViterbiLoss(tag_map).to(device)

    temp_word_map = {k: v for k, v in word_map.items() if v <= word_map['<unk>']}
    train_inputs = create_input_tensors(train_words, train_tags, temp_word_map, char_map,
                                        tag_map)
    val_inputs = create_input_tensors(val_words, val_tags, temp_word_map, char_map, tag_map)

    # DataLoaders
    train_loader = torch.utils.data.DataLoader(WCDataset(*train_inputs), batch_size=batch_size, shuffle=True,
                                               num_workers=workers, pin_memory=False)
    val_loader = torch.utils.data.DataLoader(WCDataset(*val_inputs), batch_size=batch_size, shuffle=True,
                                             num_workers=workers, pin_memory=False)

    # Viterbi decoder (to find accuracy during validation)
    vb_decoder = ViterbiDecoder(tag_map)
    history = []  # differs: the epochs' losses and F1 scores, kept for the tests

    def train(train_loader, model, lm_criterion, crf_criterion, optimizer, epoch, vb_decoder):
        model.train()  # training mode enables dropout

        batch_time = AverageMeter()  # forward prop. + back prop. time per batch
        data_time = AverageMeter()  # data loading time per batch
        ce_losses = AverageMeter()  # cross entropy loss
        vb_losses = AverageMeter()  # viterbi loss
        f1s = AverageMeter()  # f1 score

        start = time.time()

        # Batches
        for i, (wmaps, cmaps_f, cmaps_b, cmarkers_f, cmarkers_b, tmaps, wmap_lengths, cmap_lengths) in enumerate(
                train_loader):

            data_time.update(time.time() - start)

            max_word_len = max(wmap_lengths.tolist())
            max_char_len = max(cmap_lengths.tolist())

            # Reduce batch's padded length to maximum in-batch sequence
            # This saves some compute on nn.Linear layers (RNNs are unaffected, since they don't compute over the pads)
            wmaps = wmaps[:, :max_word_len].to(device)
            cmaps_f = cmaps_f[:, :max_char_len].to(device)
            cmaps_b = cmaps_b[:, :max_char_len].to(device)
            cmarkers_f = cmarkers_f[:, :max_word_len].to(device)
            cmarkers_b = cmarkers_b[:, :max_word_len].to(device)
            tmaps = tmaps[:, :max_word_len].to(device)
            wmap_lengths = wmap_lengths.to(device)
            cmap_lengths = cmap_lengths.to(device)

            # Forward prop.
            crf_scores, lm_f_scores, lm_b_scores, wmaps_sorted, tmaps_sorted, wmap_lengths_sorted, _, __ = model(
                cmaps_f,
                cmaps_b,
                cmarkers_f,
                cmarkers_b,
                wmaps,
                tmaps,
                wmap_lengths,
                cmap_lengths)

            # LM loss

            # We don't predict the next word at the pads or <end> tokens
            # We will only predict at [dunston, checks, in] among [dunston, checks, in, <end>, <pad>, <pad>, ...]
            # So, prediction lengths are word sequence lengths - 1
            lm_lengths = wmap_lengths_sorted - 1
            lm_lengths = lm_lengths.tolist()

            # Remove scores at timesteps we won't predict at
            # pack_padded_sequence is a good trick to do this (see dynamic_rnn.py, where we explore this)
            # differs: `x, _ = pack_padded_sequence(...)` here and below is `.data` (see ViterbiLoss)
            lm_f_scores = pack_padded_sequence(lm_f_scores, lm_lengths, batch_first=True).data
            lm_b_scores = pack_padded_sequence(lm_b_scores, lm_lengths, batch_first=True).data

            # For the forward sequence, targets are from the second word onwards, up to <end>
            # (timestep -> target) ...dunston -> checks, ...checks -> in, ...in -> <end>
            lm_f_targets = wmaps_sorted[:, 1:]
            lm_f_targets = pack_padded_sequence(lm_f_targets, lm_lengths, batch_first=True).data

            # For the backward sequence, targets are <end> followed by all words except the last word
            # ...notsnud -> <end>, ...skcehc -> dunston, ...ni -> checks
            lm_b_targets = torch.cat(
                [torch.LongTensor([word_map['<end>']] * wmaps_sorted.size(0)).unsqueeze(1).to(device), wmaps_sorted],
                dim=1)
            lm_b_targets = pack_padded_sequence(lm_b_targets, lm_lengths, batch_first=True).data

            # Calculate loss
            ce_loss = lm_criterion(lm_f_scores, lm_f_targets) + lm_criterion(lm_b_scores, lm_b_targets)
            vb_loss = crf_criterion(crf_scores, tmaps_sorted, wmap_lengths_sorted)
            loss = ce_loss + vb_loss

            # Back prop.
            optimizer.zero_grad()
            loss.backward()

            if grad_clip is not None:
                clip_gradient(optimizer, grad_clip)

            optimizer.step()

            # Viterbi decode to find accuracy / f1
            decoded = vb_decoder.decode(crf_scores.to("cpu"), wmap_lengths_sorted.to("cpu"))

            # Remove timesteps we won't predict at, and also <end> tags, because to predict them would be cheating
            decoded = pack_padded_sequence(decoded, lm_lengths, batch_first=True).data
            tmaps_sorted = tmaps_sorted % vb_decoder.tagset_size  # actual target indices (see create_input_tensors())
            tmaps_sorted = pack_padded_sequence(tmaps_sorted, lm_lengths, batch_first=True).data

            # F1
            f1 = f1_score(tmaps_sorted.to("cpu").numpy(), decoded.numpy(), average='macro')

            # Keep track of metrics
            ce_losses.update(ce_loss.item(), sum(lm_lengths))
            vb_losses.update(vb_loss.item(), crf_scores.size(0))
            batch_time.update(time.time() - start)
            f1s.update(f1, sum(lm_lengths))

            start = time.time()

            # Print training status
            if i % print_freq == 0:
                print('Epoch: [{0}][{1}/{2}]\t'
                      'Batch Time {batch_time.val:.3f} ({batch_time.avg:.3f})\t'
                      'Data Load Time {data_time.val:.3f} ({data_time.avg:.3f})\t'
                      'CE Loss {ce_loss.val:.4f} ({ce_loss.avg:.4f})\t'
                      'VB Loss {vb_loss.val:.4f} ({vb_loss.avg:.4f})\t'
                      'F1 {f1.val:.3f} ({f1.avg:.3f})'.format(epoch, i, len(train_loader),
                                                              batch_time=batch_time,
                                                              data_time=data_time, ce_loss=ce_losses,
                                                              vb_loss=vb_losses, f1=f1s))
        history.append(dict(ce=ce_losses.avg, vb=vb_losses.avg, f1=f1s.avg))  # differs: kept for the tests

    def validate(val_loader, model, crf_criterion, vb_decoder):
        model.eval()

        batch_time = AverageMeter()
        vb_losses = AverageMeter()
        f1s = AverageMeter()

        start = time.time()

        for i, (wmaps, cmaps_f, cmaps_b, cmarkers_f, cmarkers_b, tmaps, wmap_lengths, cmap_lengths) in enumerate(
                val_loader):

            max_word_len = max(wmap_lengths.tolist())
            max_char_len = max(cmap_lengths.tolist())

            # Reduce batch's padded length to maximum in-batch sequence
            # This saves some compute on nn.Linear layers (RNNs are unaffected, since they don't compute over the pads)
            wmaps = wmaps[:, :max_word_len].to(device)
            cmaps_f = cmaps_f[:, :max_char_len].to(device)
            cmaps_b = cmaps_b[:, :max_char_len].to(device)
            cmarkers_f = cmarkers_f[:, :max_word_len].to(device)
            cmarkers_b = cmarkers_b[:, :max_word_len].to(device)
            tmaps = tmaps[:, :max_word_len].to(device)
            wmap_lengths = wmap_lengths.to(device)
            cmap_lengths = cmap_lengths.to(device)

            # Forward prop.
            crf_scores, wmaps_sorted, tmaps_sorted, wmap_lengths_sorted, _, __ = model(cmaps_f,
                                                                                       cmaps_b,
                                                                                       cmarkers_f,
                                                                                       cmarkers_b,
                                                                                       wmaps,
                                                                                       tmaps,
                                                                                       wmap_lengths,
                                                                                       cmap_lengths)

            # Viterbi / CRF layer loss
            vb_loss = crf_criterion(crf_scores, tmaps_sorted, wmap_lengths_sorted)

            # Viterbi decode to find accuracy / f1
            decoded = vb_decoder.decode(crf_scores.to("cpu"), wmap_lengths_sorted.to("cpu"))

            # Remove timesteps we won't predict at, and also <end> tags, because to predict them would be cheating
            decoded = pack_padded_sequence(decoded, (wmap_lengths_sorted - 1).tolist(), batch_first=True).data
            tmaps_sorted = tmaps_sorted % vb_decoder.tagset_size  # actual target indices (see create_input_tensors())
            tmaps_sorted = pack_padded_sequence(tmaps_sorted, (wmap_lengths_sorted - 1).tolist(), batch_first=True).data

            # f1
            f1 = f1_score(tmaps_sorted.to("cpu").numpy(), decoded.numpy(), average='macro')

            # Keep track of metrics
            vb_losses.update(vb_loss.item(), crf_scores.size(0))
            f1s.update(f1, sum((wmap_lengths_sorted - 1).tolist()))
            batch_time.update(time.time() - start)

            start = time.time()

            if i % print_freq == 0:
                print('Validation: [{0}/{1}]\t'
                      'Batch Time {batch_time.val:.3f} ({batch_time.avg:.3f})\t'
                      'VB Loss {vb_loss.val:.4f} ({vb_loss.avg:.4f})\t'
                      'F1 Score {f1.val:.3f} ({f1.avg:.3f})\t'.format(i, len(val_loader), batch_time=batch_time,
                                                                      vb_loss=vb_losses, f1=f1s))

        print(
            '\n * LOSS - {vb_loss.avg:.3f}, F1 SCORE - {f1.avg:.3f}\n'.format(vb_loss=vb_losses,
                                                                              f1=f1s))

        return f1s.avg

    # Epochs
    epochs_since_improvement = 0  # differs: never set in train.py (its first epoch without improvement would
    # raise NameError there); set here
    val_f1s = []  # differs: kept for the tests
    for epoch in range(start_epoch, epochs):

        # One epoch's training
        train(train_loader=train_loader,
              model=model,
              lm_criterion=lm_criterion,
              crf_criterion=crf_criterion,
              optimizer=optimizer,
              epoch=epoch,
              vb_decoder=vb_decoder)

        # One epoch's validation
        val_f1 = validate(val_loader=val_loader,
                          model=model,
                          crf_criterion=crf_criterion,
                          vb_decoder=vb_decoder)
        val_f1s.append(val_f1)

        # Did validation F1 score improve?
        is_best = val_f1 > best_f1
        best_f1 = max(val_f1, best_f1)
        if not is_best:
            epochs_since_improvement += 1
            print("\nEpochs since improvement: %d\n" % (epochs_since_improvement,))
        else:
            epochs_since_improvement = 0

        # Save checkpoint
        save_checkpoint(epoch, model, optimizer, val_f1, word_map, char_map, tag_map, lm_vocab_size, is_best)

        # Decay learning rate every epoch
        adjust_learning_rate(optimizer, lr / (1 + (epoch + 1) * lr_decay))
    record.update(locals())
    return record


# =================================================================================================================
# Tests
# =================================================================================================================

# ---- 1. jessicayung's LSTM baseline -----------------------------------------------------------------------------

def test_ar_data_is_the_ar_recursion_on_windows_of_twenty_without_noise():
    data = ARData(100, num_prev=20, test_size=0.2, noise_var=0, coeffs=fixed_ar_coefficients[20])
    assert data.X_train.shape == (80, 20) and data.X_test.shape == (20, 20)
    assert data.y_train.shape == (80,) and data.y_test.shape == (20,)
    x = np.concatenate([data.X_train, data.X_test])
    y = np.concatenate([data.y_train, data.y_test])
    # each target is the AR(20) recursion of its window (newest value first against the coefficients)
    np.testing.assert_allclose(y, x[:, ::-1] @ np.array(fixed_ar_coefficients[20]), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(x[1:, -1], y[:-1])           # windows slide by one: the next target is inside


def test_lstm_baseline_runs_as_written_and_reshapes_rather_than_transposes_the_windows():
    record, printed = quietly(lstm_baseline, {}, epochs=3)
    assert "Batch size:  80" in printed and "Epoch  0 MSE: " in printed
    data = record["data"]
    # `X_train.view([input_size, -1, 1])` of the (80, 20) windows: a reshape (as in PyTorch), not windows in time
    np.testing.assert_allclose(np.asarray(record["X_train"].numpy(), np.float64),
                               data.X_train.reshape(20, 80, 1), rtol=1e-6)
    assert record["X_train"].dtype == torch.float32 and record["y_pred"].shape == (80,)
    assert [label for label, _ in record["plt"].lines] == ["Preds", "Data", "Training loss"]
    np.testing.assert_allclose(record["hist"][0], float(((record["y_train"].numpy()) ** 2).sum()), rtol=0.5)


def test_lstm_baseline_prediction_summed_loss_and_gradients_match_numpy_and_central_differences():
    record, _ = quietly(lstm_baseline, {}, epochs=1)
    torch.set_default_dtype(torch.float64)
    model, _ = quietly(record["RNN"], 1, 5, batch_size=6)
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(4, 6, 1)), rng.normal(size=6)
    y_pred = model(torch.from_numpy(x))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                       # size_average is deprecated (as in PyTorch)
        loss = torch.nn.MSELoss(size_average=False)(y_pred, torch.from_numpy(y))
    loss.backward()

    def np_loss(key=None, value=None):
        p = params64(model)
        if key is not None:
            p[key] = value
        out, _, _ = np_lstm(x, p, "lstm.", 1)
        pred = (out[-1] @ p["linear.weight"].T + p["linear.bias"]).reshape(-1)
        return ((pred - y) ** 2).sum(), pred

    want_loss, want_pred = np_loss()
    np.testing.assert_allclose(np.asarray(y_pred.detach().numpy()), want_pred, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(loss.item(), want_loss, rtol=1e-10)
    for seed, key in enumerate(("lstm.weight_hh_l0", "lstm.weight_ih_l0", "lstm.bias_hh_l0", "linear.weight")):
        grads_match(model, key, lambda k, v: np_loss(k, v)[0], seed=seed)


def test_lstm_baseline_adam_lowers_the_summed_squared_error():
    record, printed = quietly(lstm_baseline, {}, epochs=150)
    hist = record["hist"]
    # slowly: the reshaped windows (above) are not the series in time order, as in PyTorch
    assert np.mean(hist[-10:]) < 0.88 * hist[0] and np.all(np.isfinite(hist))
    assert "Epoch  100 MSE: " in printed


def test_gap_type_of_torch_tensor_is_the_default_tensor_type():
    # jessicayung's `torch.from_numpy(data.X_train).type(torch.Tensor)`: PyTorch's `torch.Tensor` is the default
    # tensor type (torch.FloatTensor), so the float64 windows become float32
    x = torch.from_numpy(np.arange(6.0).reshape(2, 3)).type(torch.Tensor)
    assert x.dtype == torch.float32
    np.testing.assert_array_equal(x.numpy(), np.arange(6.0).reshape(2, 3))
    # and the name PyTorch also takes, 'torch.FloatTensor'; `to(torch.Tensor)` is PyTorch's TypeError
    assert torch.ones(2, dtype=torch.float64).type("torch.FloatTensor").dtype == torch.float32
    assert torch.ones(2).type("torch.LongTensor").dtype == torch.int64
    with pytest.raises(TypeError, match=r"^to: expected a dtype, a device or a tensor, got the class 'Tensor'"):
        torch.ones(2).to(torch.Tensor)


# ---- 2. curiousily's COVID-19 forecaster -------------------------------------------------------------------------

def test_covid_preprocessing_undoes_the_accumulation_scales_and_slides_windows_of_five():
    record, _ = quietly(covid_forecasting, {}, n_hidden=None)
    raw = made_up_confirmed()[:, 4:].sum(axis=0)
    daily = record["daily_cases"]
    np.testing.assert_array_equal(np.cumsum(daily), raw)             # diff with the first value kept
    train = daily[:-14].astype(np.float64)
    scaled = (train - train.min()) / (train.max() - train.min())
    X, y = record["X_train"].numpy(), record["y_train"].numpy()
    assert X.shape == (21, 5, 1) and y.shape == (21, 1) and record["X_test"].shape == (8, 5, 1)
    for i in range(21):
        np.testing.assert_allclose(X[i, :, 0], scaled[i:i + 5], rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(y[i, 0], scaled[i + 5], rtol=1e-6, atol=1e-7)


def test_covid_notebook_runs_as_written_and_forecasts_in_cases():
    record, printed = quietly(covid_forecasting, {}, n_hidden=16)
    assert "Epoch 0 train loss: " in printed and " test loss: " in printed and "Epoch 50 train loss: " in printed
    first = record["first"]
    assert len(first["preds"]) == 8 and len(record["preds"]) == 12
    train = record["daily_cases"][:-14]
    # the scaler's inverse gives back the training counts (the historical line of the plot)
    np.testing.assert_allclose(record["plt"].lines[4][1][1], train, rtol=1e-12)
    lo, hi = train.min(), train.max()
    np.testing.assert_allclose(first["predicted_cases"], np.array(first["preds"]) * (hi - lo) + lo, rtol=1e-12)
    np.testing.assert_allclose(first["true_cases"], record["daily_cases"][-14:][5:13], rtol=1e-5, atol=1e-4)
    assert np.all(np.isfinite(record["predicted_cases"])) and record["predicted_index"][0] == 41


def test_covid_predictor_output_state_and_gradients_match_numpy_with_its_batch_as_time():
    record, _ = quietly(covid_forecasting, {}, n_hidden=None)
    torch.set_default_dtype(torch.float64)
    model = record["CoronaVirusPredictor"](n_features=1, n_hidden=4, seq_len=5, n_layers=2)
    model.eval()                                       # dropout between the layers off: the numpy has none
    rng = np.random.default_rng(5)
    x, y = rng.uniform(size=(7, 5, 1)), rng.uniform(size=(7, 1))
    model.reset_hidden_state()
    y_pred = model(torch.from_numpy(x))
    loss = torch.nn.MSELoss(reduction='sum')(y_pred, torch.from_numpy(y))
    loss.backward()

    def np_loss(key=None, value=None):
        p = params64(model)
        if key is not None:
            p[key] = value
        # `sequences.view(len(sequences), seq_len, -1)` into a time-major LSTM: the 7 windows are the time axis and
        # the 5 days the batch; `lstm_out.view(seq_len, len(sequences), H)[-1]` is a reshape of that output
        out, h, c = np_lstm(x.reshape(7, 5, 1), p, "lstm.", 2)
        last = out.reshape(5, 7, 4)[-1]
        pred = last @ p["linear.weight"].T + p["linear.bias"]
        return ((pred - y) ** 2).sum(), pred, h, c

    want_loss, want_pred, h, c = np_loss()
    np.testing.assert_allclose(np.asarray(y_pred.detach().numpy()), want_pred, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(loss.item(), want_loss, rtol=1e-10)
    np.testing.assert_allclose(np.asarray(model.hidden[0].detach().numpy()), h, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.asarray(model.hidden[1].detach().numpy()), c, rtol=1e-10, atol=1e-12)
    for seed, key in enumerate(("lstm.weight_hh_l1", "lstm.weight_ih_l0", "lstm.bias_ih_l1", "linear.weight")):
        grads_match(model, key, lambda k, v: np_loss(k, v)[0], seed=seed)


def test_covid_training_lowers_the_summed_squared_error():
    record, _ = quietly(covid_forecasting, {}, n_hidden=16)
    hist = record["first"]["train_hist"]
    assert np.mean(hist[-5:]) < 0.6 * hist[0]
    assert record["model"].training is False                # train_model returns `model.eval()`


# ---- 3. gabrielloye's LSTM sentiment notebook --------------------------------------------------------------------

def test_sentiment_preprocessing_cleans_counts_and_left_pads_as_the_notebook_says(tmp_path):
    record, printed = quietly(sentiment_notebook, {}, tmp_path, epochs=None)
    assert "Number of training reivews: 96" in printed and "100% done" in printed
    word2idx = record["word2idx"]
    assert word2idx["_PAD"] == 0 and word2idx["_UNK"] == 1 and "<url>" in word2idx
    assert not any(ch.isdigit() and ch != "0" for w in word2idx for ch in w)      # digits became 0
    lines = [x.decode("utf-8") for x in made_up_reviews(96, seed=1)]
    assert list(record["train_labels"]) == [int(x.startswith("__label__2")) for x in lines]
    rows = record["train_sentences"]
    assert rows.shape == (96, 20) and rows.dtype.kind == "i"
    for line, row in zip(lines[:10], rows[:10]):
        text = re.sub(r"\d", "0", line.split(" ", 1)[1][:-1].lower())
        if ".com" in text:
            text = re.sub(r"([^ ]+(?<=\.[a-z]{3}))", "<url>", text)
        ids = [word2idx.get(w, 0) for w in nltk.word_tokenize(text)]    # unknown words are 0, the pad index
        np.testing.assert_array_equal(row, [0] * (20 - len(ids)) + ids)


def test_sentiment_notebook_runs_as_written_and_prints_its_cells(tmp_path):
    record, printed = quietly(sentiment_notebook, {}, tmp_path, epochs=1, print_every=3)
    assert "GPU not available, CPU used" in printed
    assert "(16, 20) (16,)" in printed        # PyTorch prints torch.Size([16, 20]) torch.Size([16]) (docs/api.md)
    assert "LSTM(16, 16, num_layers=2, batch_first=True, dropout=0.5)" in printed
    assert "Val Loss: " in printed and "Saving model ..." in printed and "Test accuracy: " in printed
    assert os.path.exists(tmp_path / "state_dict.pt") and len(record["history"]) == 2
    assert record["test_acc"] == record["num_correct"] / 32


def test_sentiment_net_output_state_and_gradients_match_numpy(tmp_path):
    record, _ = quietly(sentiment_notebook, {}, tmp_path, epochs=None)
    torch.set_default_dtype(torch.float64)
    model = record["SentimentNet"](12, 1, 5, 4, 2)
    model.eval()
    rng = np.random.default_rng(6)
    x, labels = rng.integers(0, 12, size=(3, 6)), np.array([1.0, 0.0, 1.0])
    h = model.init_hidden(3)
    h = tuple([e.data for e in h])
    out, (h_n, c_n) = model(torch.from_numpy(x), h)
    loss = nn.BCELoss()(out.squeeze(), torch.from_numpy(labels))
    loss.backward()

    def np_loss(key=None, value=None):
        p = params64(model)
        if key is not None:
            p[key] = value
        emb = p["embedding.weight"][x]                              # (B, T, E), batch first
        seq, hn, cn = np_lstm(emb.transpose(1, 0, 2), p, "lstm.", 2)
        prob = np_sigmoid(seq @ p["fc.weight"].T + p["fc.bias"])   # every step, then the last one
        pred = prob.transpose(1, 0, 2).reshape(3, -1)[:, -1]
        return np_bce(pred, labels), pred, hn, cn

    want_loss, want_out, hn, cn = np_loss()
    np.testing.assert_allclose(np.asarray(out.detach().numpy()), want_out, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(loss.item(), want_loss, rtol=1e-10)
    np.testing.assert_allclose(np.asarray(h_n.detach().numpy()), hn, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.asarray(c_n.detach().numpy()), cn, rtol=1e-10, atol=1e-12)
    for seed, key in enumerate(("lstm.weight_hh_l1", "lstm.weight_ih_l0", "embedding.weight", "fc.weight")):
        grads_match(model, key, lambda k, v: np_loss(k, v)[0], seed=seed)


def test_sentiment_training_lowers_the_validation_loss_and_classifies_the_made_up_reviews(tmp_path):
    record, _ = quietly(sentiment_notebook, {}, tmp_path, epochs=12, print_every=6)   # one validation an epoch
    history = record["history"]
    assert min(history) < history[0] - 0.25 and record["valid_loss_min"] == min(history)
    # the test set is read with the weights saved at the lowest validation loss, as the notebook does
    assert record["test_acc"] >= 0.7                    # 32 reviews of two balanced classes: chance is 0.5


# ---- 4. keon's seq2seq with Bahdanau-style attention -------------------------------------------------------------

def np_bigru(x, p, prefix):
    """A one-layer bidirectional GRU over time-major x: the forward and the backward outputs (T, B, H) each."""
    def run(seq, suffix):
        h, outs = np.zeros((seq.shape[1], p[f"{prefix}weight_hh_l0{suffix}"].shape[1])), []
        for t in range(seq.shape[0]):
            h = np_gru_cell(seq[t], h, p[f"{prefix}weight_ih_l0{suffix}"], p[f"{prefix}weight_hh_l0{suffix}"],
                            p[f"{prefix}bias_ih_l0{suffix}"], p[f"{prefix}bias_hh_l0{suffix}"])
            outs.append(h)
        return np.stack(outs)
    return run(x, ""), run(x[::-1], "_reverse")[::-1]


def test_keon_encoder_sums_the_two_directions_of_its_gru():
    torch.set_default_dtype(torch.float64)
    encoder = Encoder(9, 4, 3, n_layers=1, dropout=0.0)
    src = np.random.default_rng(8).integers(0, 9, size=(5, 2))
    outputs, hidden = encoder(torch.from_numpy(src))
    p = params64(encoder)
    fwd, bwd = np_bigru(p["embed.weight"][src], p, "gru.")
    np.testing.assert_allclose(np.asarray(outputs.detach().numpy()), fwd + bwd, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.asarray(hidden.detach().numpy()), np.stack([fwd[-1], bwd[0]]), rtol=1e-10)


def test_keon_decoder_step_attention_and_gradients_match_numpy():
    torch.set_default_dtype(torch.float64)
    decoder = Decoder(4, 3, 7, n_layers=1, dropout=0.0)
    decoder.eval()
    rng = np.random.default_rng(9)
    enc, h0 = rng.normal(size=(5, 2, 3)), rng.normal(size=(1, 2, 3))
    inp, target = np.array([2, 5]), np.array([1, 6])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                   # softmax without dim: deprecated in PyTorch too
        out, hidden, attn = decoder(torch.from_numpy(inp), torch.from_numpy(h0), torch.from_numpy(enc))
    loss = F.nll_loss(out, torch.from_numpy(target))
    loss.backward()

    def np_step(key=None, value=None):
        p = params64(decoder)
        if key is not None:
            p[key] = value
        emb = p["embed.weight"][inp]                                       # (B, N)
        hid = h0[-1]                                                       # (B, H)
        keys = enc.transpose(1, 0, 2)                                      # (B, T, H)
        both = np.concatenate([np.repeat(hid[:, None], 5, 1), keys], 2)   # [hidden; encoder output]
        energy = both @ p["attention.attn.weight"].T + p["attention.attn.bias"]
        weights = np_softmax(energy @ p["attention.v"], axis=1)           # v . energy over the 5 steps
        context = np.einsum("bt,bth->bh", weights, keys)
        h1 = np_gru_cell(np.concatenate([emb, context], 1), hid, p["gru.weight_ih_l0"], p["gru.weight_hh_l0"],
                         p["gru.bias_ih_l0"], p["gru.bias_hh_l0"])
        logp = np_log_softmax(np.concatenate([h1, context], 1) @ p["out.weight"].T + p["out.bias"])
        return -logp[np.arange(2), target].mean(), logp, h1, weights

    want_loss, logp, h1, weights = np_step()
    np.testing.assert_allclose(np.asarray(out.detach().numpy()), logp, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.asarray(hidden.detach().numpy())[0], h1, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.asarray(attn.detach().numpy())[:, 0], weights, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(loss.item(), want_loss, rtol=1e-10)
    for seed, key in enumerate(("attention.v", "attention.attn.weight", "gru.weight_hh_l0", "out.weight",
                                "embed.weight")):
        grads_match(decoder, key, lambda k, v: np_step(k, v)[0], seed=seed)


def test_keon_seq2seq_forward_is_one_hot_then_log_probabilities_and_cross_entropy_reads_them_as_logits():
    src = torch.from_numpy(np.random.default_rng(1).integers(4, 12, size=(5, 3)))
    trg = torch.from_numpy(np.array([[2, 2, 2], [5, 6, 7], [8, 9, 3], [3, 3, 1]]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")       # a GRU of one layer with dropout, softmax without dim: as PyTorch
        encoder, decoder = Encoder(12, 4, 6, n_layers=2, dropout=0.5), Decoder(4, 6, 12, n_layers=1, dropout=0.5)
        model = Seq2Seq(encoder, decoder)
        model.eval()
        outputs = np.asarray(model(src, trg, teacher_forcing_ratio=1.0).detach().numpy(), dtype=np.float64)
    assert outputs.shape == (4, 3, 12)
    np.testing.assert_array_equal(outputs[0], np.eye(12)[[2, 2, 2]])          # to_onehot of the <sos> row
    np.testing.assert_allclose(np.log(np.exp(outputs[1:]).sum(-1)), 0.0, atol=1e-5)    # log-probabilities
    # train.py's F.cross_entropy takes them as logits: log_softmax of log-probabilities is themselves, so after the
    # first row the loss is the NLL of the decoder's output
    flat, target = torch.from_numpy(outputs[1:].reshape(-1, 12)), trg[1:].reshape(-1)
    ce = F.cross_entropy(flat, target, ignore_index=1).item()
    keep = trg[1:].reshape(-1).numpy() != 1
    want = -outputs[1:].reshape(-1, 12)[np.arange(9), trg[1:].reshape(-1).numpy()][keep].mean()
    np.testing.assert_allclose(ce, want, rtol=1e-6)


def test_keon_train_py_runs_as_written_saves_and_lowers_the_validation_loss(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["train.py", "-epochs", "6", "-lr", "0.01"])
    record, printed = quietly(main, hidden_size=16, embed_size=8)
    assert "de_vocab_size: 12 en_vocab_size: 12" in printed and "[Epoch:1] val_loss:" in printed
    assert (tmp_path / ".save" / "seq2seq_1.pt").exists()
    samples = (tmp_path / ".samples" / "de-6.txt").read_text().splitlines()
    assert len(samples) == 4 and all(s.split()[0] == "<sos>" for s in samples)
    losses = [y for _, y in record["vis_val"].points]
    assert losses[-1] < losses[0] - 0.2 and np.all(np.isfinite(losses))
    state = torch.load(str(tmp_path / ".save" / "seq2seq_1.pt"))
    assert set(state) == set(record["seq2seq"].state_dict())


# ---- 5. sgrvinod's LM-LSTM-CRF -----------------------------------------------------------------------------------

def brute_force_crf(scores, lengths, start, end):
    """For each sequence b of length L: log of the sum over tag paths y_0..y_{L-1} ending in <end> of
    exp(sum_t scores[b, t, y_{t-1}, y_t]) with y_{-1} = <start>, and the best such path."""
    n = scores.shape[-1]
    log_z, best = [], []
    for b, length in enumerate(lengths):
        totals, paths = [], []
        for head in itertools.product(range(n), repeat=length - 1):
            path = list(head) + [end]
            prev, total = start, 0.0
            for t, tag in enumerate(path):
                total += scores[b, t, prev, tag]
                prev = tag
            totals.append(total)
            paths.append(path)
        totals = np.array(totals)
        log_z.append(totals.max() + np.log(np.exp(totals - totals.max()).sum()))
        best.append(paths[int(np.argmax(totals))])
    return np.array(log_z), best


def _crf_batch(seed=0, n_tags=5, lengths=(4, 3, 2)):
    rng = np.random.default_rng(seed)
    tag_map = {"<pad>": 0, "A": 1, "B": 2, "<start>": 3, "<end>": 4}
    scores = rng.normal(size=(len(lengths), max(lengths), n_tags, n_tags))
    tags = [list(rng.integers(1, 3, size=L - 1)) + [4] for L in lengths]
    targets = np.zeros((len(lengths), max(lengths)), dtype=np.int64)
    for b, seq in enumerate(tags):
        prev = 3
        for t, tag in enumerate(seq):
            targets[b, t] = prev * n_tags + tag                 # create_input_tensors' unrolled index
            prev = tag
    return tag_map, scores, targets, tags, list(lengths)


def test_crf_input_tensors_unroll_tags_and_mark_word_ends(tmp_path):
    write_made_up_conll(tmp_path / "eng.train", 12, seed=3)
    words, tags = read_words_tags(str(tmp_path / "eng.train"), 3, True)
    assert len(words) == 12 and all(t[0] == "B-PER" for t in tags) and words[0][0].islower()
    word_map, char_map, tag_map = create_maps(words, tags, 1, 0)
    wmaps, cmaps_f, cmaps_b, cmarkers_f, cmarkers_b, tmaps, wl, cl = create_input_tensors(
        words, tags, word_map, char_map, tag_map)
    n = len(tag_map)
    for b, (w, t) in enumerate(zip(words, tags)):
        L = len(w) + 1
        assert int(wl[b]) == L and int(wmaps[b, L - 1]) == word_map["<end>"]
        seq = [tag_map[x] for x in t] + [tag_map["<end>"]]
        np.testing.assert_array_equal(tmaps[b, :L].numpy() % n, seq)
        np.testing.assert_array_equal(tmaps[b, :L].numpy() // n, [tag_map["<start>"]] + seq[:-1])
        chars = " ".join(w) + " "
        spaces = [i for i, ch in enumerate(chars) if ch == " "]
        np.testing.assert_array_equal(cmarkers_f[b, :L].numpy(), spaces + [len(chars)])
        assert int(cl[b]) == len(chars) + 1 and int(cmaps_f[b, len(chars)]) == char_map["<end>"]


def test_viterbi_loss_is_the_crf_negative_log_likelihood_and_its_gradient_matches_central_differences():
    torch.set_default_dtype(torch.float64)
    tag_map, scores, targets, tags, lengths = _crf_batch()
    s = torch.tensor(scores, requires_grad=True)
    loss = ViterbiLoss(tag_map)(s, torch.from_numpy(targets), torch.tensor(lengths))
    loss.backward()

    def np_loss(value):
        log_z, _ = brute_force_crf(value, lengths, 3, 4)
        gold = sum(value[b, t, targets[b, t] // 5, targets[b, t] % 5] for b in range(3) for t in range(lengths[b]))
        return (log_z.sum() - gold) / 3

    np.testing.assert_allclose(loss.item(), np_loss(scores), rtol=1e-10)
    idx = some_indices(scores.shape, 12, seed=2) + [(0, 0, 3, 1), (1, 2, 2, 4), (2, 1, 1, 4)]
    np.testing.assert_allclose(np.asarray(s.grad)[tuple(np.array(idx).T)], central(np_loss, scores, idx),
                               rtol=1e-6, atol=1e-9)
    # padded steps get no gradient
    assert np.all(np.asarray(s.grad)[2, 2:] == 0) and np.all(np.asarray(s.grad)[1, 3:] == 0)


def test_viterbi_decoder_finds_the_brute_force_best_path():
    tag_map, scores, _, _, lengths = _crf_batch(seed=4)
    decoded = ViterbiDecoder(tag_map).decode(torch.tensor(scores, dtype=torch.float32), torch.tensor(lengths))
    _, best = brute_force_crf(scores, lengths, 3, 4)
    for b, L in enumerate(lengths):
        np.testing.assert_array_equal(decoded[b, :L - 1].numpy(), best[b][:-1])   # the path before its <end>
        # after it: <end> where the batch is longer (the back-pointers' padding), `start_tag` where the sequence
        # fills the batch (decode appends start_tag, though its comment says <end>; train.py drops that step)
        assert int(decoded[b, L - 1]) == (4 if L < max(lengths) else 3)


def test_highway_crf_scores_and_log_sum_exp_match_their_formulas():
    torch.set_default_dtype(torch.float64)
    hw = Highway(4, num_layers=1)
    x = np.random.default_rng(2).normal(size=(2, 3, 4))
    p = params64(hw)
    g = np_sigmoid(x @ p["gate.0.weight"].T + p["gate.0.bias"])
    want = g * np.maximum(x @ p["transform.0.weight"].T + p["transform.0.bias"], 0) + (1 - g) * x
    np.testing.assert_allclose(np.asarray(hw(torch.from_numpy(x)).detach().numpy()), want, rtol=1e-12)
    crf = CRF(4, 5)
    nn.init.normal_(crf.transition)
    scores = np.asarray(crf(torch.from_numpy(x)).detach().numpy())
    q = params64(crf)
    emission = x @ q["emission.weight"].T + q["emission.bias"]
    np.testing.assert_allclose(scores, emission[:, :, None, :] + q["transition"][None, None], rtol=1e-12)
    z = np.random.default_rng(3).normal(size=(3, 5, 5)) * 30
    want = z.max(1) + np.log(np.exp(z - z.max(1, keepdims=True)).sum(1))
    np.testing.assert_allclose(np.asarray(log_sum_exp(torch.from_numpy(z), 1).numpy()), want, rtol=1e-12)


def test_lm_lstm_crf_train_py_runs_as_written_and_learns_to_tag(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    record, printed = quietly(lm_lstm_crf, {}, tmp_path, epochs=6)
    assert "Embedding length is 6." in printed and "Epoch: [0][0/4]" in printed and "F1 SCORE - " in printed
    assert (tmp_path / "checkpoint_lm_lstm_crf.pth.tar").exists()
    assert (tmp_path / "BEST_checkpoint_lm_lstm_crf.pth.tar").exists()
    model = record["model"]
    assert model.word_embeds.weight.requires_grad is False                   # fine_tune_word_embeddings(False)
    assert model.word_embeds.weight.shape == (len(record["word_map"]), 6)     # expanded by the two GloVe words
    history = record["history"]
    assert history[-1]["vb"] < 0.5 * history[0]["vb"] and history[-1]["ce"] < history[0]["ce"]
    assert max(record["val_f1s"]) > record["val_f1s"][0] and max(record["val_f1s"]) > 0.6
    assert record["optimizer"].param_groups[0]["lr"] == pytest.approx(0.015 / (1 + 6 * 0.05))
