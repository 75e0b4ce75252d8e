"""Porting, round 55: MUSIC AND AUDIO SEQUENCE MODELS, as public PyTorch code writes them -- a character LSTM over
ABC folk tunes, a polyphonic piano-roll LSTM over packed batches, WaveRNN with mu-law companding, and SampleRNN's
tiers trained by truncated BPTT. Each is written as its author wrote it, with only the imports changed
(`# differs:` marks each other change and why):

1. aamini/introtodeeplearning (MIT 6.S191), lab1/solutions/PT_Part2_Music_Generation_Solution.ipynb
   (6e37ee8dbcd1473f2c93dee6cee77fe2b619863a), every code cell in order, as one function: the vocabulary of the
   joined songs, `vectorize_string`, `get_batch` (`np.random.choice` starts, `torch.tensor(list_of_arrays,
   dtype=torch.long)`), `LSTMModel` (Embedding, a batch-first LSTM, a Linear; `init_hidden`; `forward(x, state,
   return_state)`), the untrained model's `torch.multinomial(torch.softmax(pred_dummy[0], dim=-1), num_samples=1)`
   read through `idx2char[...]` (a numpy array indexed by a tensor), `compute_loss` (`view(-1)`, CrossEntropyLoss),
   `train_step` with Adam, the comet_ml experiment and the checkpoints, and `generate_text` (the LSTM state carried
   from one sampled character to the next). The songs are made-up ABC tunes; comet_ml's `Experiment` and the
   `mitdeeplearning` package (`PeriodicPlotter`, `extract_song_snippet`, `play_song`) are stand-ins written here.
2. warmspringwinds/pytorch-rnn-sequence-generation-classification (Daniil Pakhomov's piano-roll RNN), at
   11417b528f339027cea26cd7f6dd8ca5c26e7f8e: notebooks/music_generation_training_nottingham.ipynb
   (`pad_piano_roll`, `NotesGenerationDataset`, `post_process_sequence_batch`, the `RNN` -- a Linear note encoder, a
   two-layer LSTM over `pack_padded_sequence`, `pad_packed_sequence`, and the 88 logits l made two-class logits
   (l, 1 - l) for a CrossEntropyLoss whose -100 padding is ignored -- `validate` with `size_average=False`, the
   training cell with `clip_grad_norm`) and notebooks/music_sampling.ipynb (`sample_from_piano_rnn`: a softmax over
   the pairs at a temperature, `torch.multinomial` per note, the LSTM state carried). The notebooks are Python 2;
   the rolls are made up (midiread is not here).
3. pytorch/audio (torchaudio's WaveRNN and its training example): torchaudio/models/wavernn.py
   (05567d951d32498eaa0b3b1c9505cb4728938ad1: `ResBlock`, `MelResNet`, `Stretch2d` by `repeat_interleave`,
   `UpsampleNetwork`, `WaveRNN.forward` and `infer`, which samples with `torch.multinomial` and feeds each sample
   back through the GRUs' carried states); torchaudio/functional/functional.py
   (02107beb9d8bf355246c1364a55e116a66d2e377: `mu_law_encoding`, `mu_law_decoding` -- sign, log1p, abs, exp and a
   cast to int64) with torchaudio's `MuLawEncoding` module (a forward that calls it); examples/pipeline_wavernn:
   processing.py (1295d8ad3202677a4dab18f109c9388d6eaa47fe: `NormalizeDB`, `encode_waveform_into_bits`,
   `encode_bits_into_waveform`), utils.py (55f866baf79f77808b1facff5fc5606eabfc1d05: `MetricLogger`,
   `count_parameters`, `mulaw_encode`, `waveform_to_label`, `label_to_waveform`), datasets.py
   (1295d8ad3202677a4dab18f109c9388d6eaa47fe: `collate_factory`), losses.py
   (0df67b7238972cf8e824187c8f376ca251dd5849: `LongCrossEntropyLoss`) and main.py
   (0b944b49db284af73830da62fcb8e5c465cb0eca: `train_one_epoch` with `clip_grad_norm_`'s returned norm summed and
   logged, `evaluate`). The "LJSpeech" clips are made-up sums of sines with made-up spectrograms.
4. deepsound-project/samplernn-pytorch (SampleRNN), at 2e308fe8e90276a892637be1bfa174e673ebf414: model.py
   (`SampleRNN`, `FrameLevelRNN` -- a kernel-1 Conv1d, a GRU from a learned h0, `LearnedUpsampling1d` --,
   `SampleLevelMLP`, `Runner` with the hidden states detached between chunks, `Predictor`, `Generator` with
   `sample_dist.multinomial(1)`), nn.py (`LearnedUpsampling1d` over ConvTranspose1d, `lecun_uniform`,
   `concat_init`, `sequence_nll_loss_bits`), utils.py (`linear_quantize`, `linear_dequantize`, `q_zero`), optim.py
   (`gradient_clipping`: `hardtanh(p.grad, min, max, inplace=True)` inside a closure) and trainer/__init__.py
   (`Trainer`, `optimizer.step(closure)`); dataset.py (1f4136ee723a457e4f4f8bcc1e5cc328881b00d3: `FolderDataset`,
   the `DataLoader` subclass that cuts each batch into overlapping truncated-BPTT chunks with a `reset` flag). The
   "piano" clips are made-up waveforms (librosa's `load` and natsort are not installed).

Every source was read in the index at the commit named; none was written from memory.

What broke (fixed in this round's library change):
  - SampleRNN's gradient clipping did nothing: `hardtanh(p.grad, -1, 1, inplace=True)` returned a clipped tensor
    and left `p.grad` (a writable numpy array here) as it was, so Adam stepped with the unclipped gradient and no
    error was raised. PyTorch's in-place form writes into its input. The activations' `inplace=True` now writes the
    result into a numpy array it is given (a read-only array, a tensor's `.data`, is a ValueError); a tensor still
    keeps its value, as documented (microgradseq/functional/activations.py, docs/pytorch.md).
  - `sample_dist.multinomial(1)` (SampleRNN's Generator) raised AttributeError: `torch.multinomial` was here, its
    method was not. `probs.multinomial(n)` is now (microgradseq/creation.py).
  - `nn.init._calculate_correct_fan` (SampleRNN's `lecun_uniform`) and `nn.init._calculate_fan_in_and_fan_out`,
    PyTorch's private helpers that custom layers call, were missing; both are in microgradseq/nn/init.py now.
  - The memory SampleRNN's truncated training held grew by about 250 bytes a chunk (not a graph: it stopped at some
    hundreds of KB): the recurrent layers looked their weights up by a name made afresh at every call, and CPython's
    attribute cache, keyed by the name string's address, kept each copy. The names are interned now
    (microgradseq/nn/layers.py), and the held memory is flat to a few bytes over 64 chunks.

A gap left open then, closed since (tests/test_parity_fixes_33.py; the test below passes): `torch.tensor(a_tensor)`
copied without PyTorch's UserWarning ("To copy
construct from a tensor, it is recommended to use sourceTensor.clone().detach() ..."); the MIT lab's training cell
writes `torch.tensor(x_batch, dtype=torch.long)` of the tensors `get_batch` returns. The library's `tensor` is
called on tensors internally too, so the warning needs a look at those callers first.

Met and left as documented (docs/pytorch.md; the lines say `differs:`):
  - `.cuda()` raises here (no GPU); the sources' `.cuda()` calls and the lab's `assert torch.cuda.is_available()`
    are left out.
  - `.data` is the read-only numpy array: torchaudio's `conv.weight.data.fill_(...)` is `nn.init.constant_`,
    SampleRNN's `concat_init` writes into the parameter under `torch.no_grad()` and its generator's
    `.exp_().data` is `.exp_().detach()`; the piano-roll notebook's `loss.data[0]` (an IndexError in PyTorch from
    0.5 on, as here) is `loss.item()`.
  - `F.log_softmax(x)` without dim on SampleRNN's 2-d input takes the last axis, PyTorch's implicit choice there,
    without PyTorch's deprecation warning.
Met and as PyTorch: the deprecated `nn.init.kaiming_uniform`/`constant`/`uniform`/`orthogonal` and
`nn.utils.clip_grad_norm` (their FutureWarnings), `Variable(..., volatile=True)`'s warning, `size_average=False`'s
warning, `clip_grad_norm_` returning the total norm before clipping, `pack_padded_sequence` refusing a `map`.

Met and changed for reasons outside the library (marked): the notebooks' Python 2 (`xrange`, a `map` taken for a
list), shell lines and file paths (pytest's tmp_path), the datasets (made up), torchaudio/librosa/comet_ml stand-ins,
and sizes, steps and learning rates (smaller). SampleRNN's trainer calls `zero_grad(set_to_none=False)`: the 2017 code
relied on zeroed gradients, and with PyTorch 2's default (None, the library's too) h0, unused once a chunk carries the
state, has no gradient for the clipping's hardtanh (a TypeError in PyTorch 2 too; a test runs it as written).
datasets.py at 1295d8ad calls `label_to_waveform` and `waveform_to_label` without importing them (a NameError in
PyTorch too): the port takes them from utils.py (55f866ba), where that era of the example defines them.

Noticed and left alone (the sources', in PyTorch too):
  - The piano-roll RNN's second class is `1 - logits`, not `-logits`: the cross-entropy of (l, 1 - l) is
    BCE-with-logits of 1 - 2l, so the probability of a pressed note is sigmoid(1 - 2l) (a test checks the identity).
  - SampleRNN's `Predictor` keeps `hidden_states` keyed by module and detaches them after every chunk, so a
    sequence of thousands of samples trains in chunks of `seq_len` with memory flat in the length (tested).
  - losses.py's `MoLLoss` returns `log_sum_exp(...)`, but the file defines `_log_sum_exp` (a NameError when called);
    main.py's `evaluate` does not squeeze the channel axis `train_one_epoch` squeezes, so its cross-entropy gets
    targets of the wrong shape (an error here and in PyTorch, unless the window happens to be n_classes long).
  - MIT's `generate_text` feeds back `input_idx` of shape (L, 1) after a start string of L characters: with the
    lab's start string "X" (L = 1) it is right; a longer start string would change the batch size.

Expected values come from numpy written here in float64 (LSTM and GRU recurrences, the convolutions and upsampling,
mu-law, the losses, central differences of those), never from the library's own outputs.
"""

import collections
import gc
import heapq
import math
import os
import random
import re
import tracemalloc
import types
import warnings
from collections import defaultdict
from time import time
from typing import List, Optional, Tuple

import numpy as np
import pytest
from porting_references import (arr, central, np_gru_cell, np_log_softmax, np_lstm_cell, np_sigmoid, np_softmax,
                                params_of, quietly)
from tqdm import tqdm

import microgradseq as torch
import microgradseq.nn as nn
import microgradseq.nn.functional as F
from microgradseq import Tensor
from microgradseq.autograd import Variable
from microgradseq.nn import init
from microgradseq.optim import Adam
from microgradseq.utils.data import DataLoader as DataLoaderBase
from microgradseq.utils.data import Dataset


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)
    np.random.seed(0)
    random.seed(0)
    yield
    torch.set_default_dtype(torch.float32)


@pytest.fixture
def float64():
    torch.set_default_dtype(torch.float64)


# ---- numpy references (float64), written here ------------------------------------------------------------

def np_conv1d(x, w, b=None, padding=0):
    """Cross-correlation (N, C_in, L) * (C_out, C_in, K) -> (N, C_out, L + 2 padding - K + 1), plus b."""
    x = np.pad(x, ((0, 0), (0, 0), (padding, padding)))
    k = w.shape[2]
    out = np.stack([np.einsum("nck,ock->no", x[:, :, t:t + k], w) for t in range(x.shape[2] - k + 1)], axis=2)
    return out if b is None else out + b[None, :, None]


def np_ce(logits, target, ignore_index=-100):
    """Mean cross-entropy of rows of logits against integer targets, rows with ignore_index left out."""
    keep = target != ignore_index
    logp = np_log_softmax(logits[keep], axis=-1)
    return -np.mean(logp[np.arange(keep.sum()), target[keep]])


# ==== 1. aamini/introtodeeplearning: lab1/solutions/PT_Part2_Music_Generation_Solution.ipynb ========================

class _Experiment:
    """comet_ml's Experiment (stand-in): keeps what it is given."""

    def __init__(self, api_key=None, project_name=None):
        self.api_key, self.project_name = api_key, project_name
        self.parameters, self.metrics, self.assets, self.ended = {}, [], [], False

    def log_parameter(self, name, value):
        self.parameters[name] = value

    def log_metric(self, name, value, step=None):
        self.metrics.append((name, value, step))

    def log_asset(self, path):
        self.assets.append(path)

    def flush(self):
        pass

    def end(self):
        self.ended = True


comet_ml = types.SimpleNamespace(Experiment=_Experiment)


class _PeriodicPlotter:
    """mitdeeplearning's util.PeriodicPlotter (stand-in): keeps the last history it was asked to plot."""

    def __init__(self, sec, xlabel="", ylabel="", scale=None):
        self.sec, self.xlabel, self.ylabel, self.last = sec, xlabel, ylabel, None

    def plot(self, data):
        self.last = list(data)


def _extract_song_snippet(text):
    """mitdeeplearning's lab1.extract_song_snippet (stand-in): the songs between blank lines."""
    pattern = '(^|\n\n)(.*?)\n\n'
    search_results = re.findall(pattern, text, flags=re.DOTALL)
    return [song[1] for song in search_results]


mdl = types.SimpleNamespace(util=types.SimpleNamespace(PeriodicPlotter=_PeriodicPlotter),
                            lab1=types.SimpleNamespace(extract_song_snippet=_extract_song_snippet,
                                                       play_song=lambda song: None))   # (no abc2midi / timidity)

ABC_BARS = ["|:DFAd fdAF|GBdg fdAF|", "|:AFDF A2FA|dcBA GFED|", "|:dedB AFAB|d2fd e2dB|"]


def made_up_songs(n, seed):
    """Made-up ABC tunes in the lab's format (header lines, then a line of bars), from three bar patterns."""
    rng = np.random.default_rng(seed)
    songs = []
    for k in range(n):
        bars = "".join(ABC_BARS[int(i)] for i in rng.integers(0, len(ABC_BARS), 3))
        songs.append(f"X:{k % 9 + 1}\nT:Reel\nM:4/4\nK:D\n{bars}")
    return songs


def lab1_part2(songs, params, checkpoint_dir, generation_length=40):
    """The notebook's code cells, in order (shell lines and `display` left out)."""
    # !pip install comet_ml > /dev/null 2>&1    (differs: shell line; comet_ml is the stand-in above)
    # TODO: ENTER YOUR API KEY HERE!! instructions above
    COMET_API_KEY = "made-up"  # differs: a key, so the notebook's assert passes (the stand-in sends nothing)
    # !pip install mitdeeplearning --quiet / !apt-get install abcmidi timidity   (differs: shell lines; mdl above)
    # differs: `assert torch.cuda.is_available(), "Please enable GPU from runtime settings"` -- no GPU here
    assert COMET_API_KEY != "", "Please insert your Comet API Key"

    # Download the dataset
    # differs: `songs = mdl.lab1.load_training_data()` -- the made-up songs given

    # Print one of the songs to inspect it in greater detail!
    example_song = songs[0]
    print("\nExample song: ")
    print(example_song)

    # Convert the ABC notation to audio file and listen to it
    mdl.lab1.play_song(example_song)

    # Join our list of song strings into a single string containing all songs
    songs_joined = "\n\n".join(songs)

    # Find all unique characters in the joined string
    vocab = sorted(set(songs_joined))
    print("There are", len(vocab), "unique characters in the dataset")

    ### Define numerical representation of text ###
    char2idx = {u: i for i, u in enumerate(vocab)}
    idx2char = np.array(vocab)

    print('{')
    for char, _ in zip(char2idx, range(20)):
        print('  {:4s}: {:3d},'.format(repr(char), char2idx[char]))
    print('  ...\n}')

    ### Vectorize the songs string ###
    def vectorize_string(string):
        vectorized_output = np.array([char2idx[char] for char in string])
        return vectorized_output

    vectorized_songs = vectorize_string(songs_joined)

    print('{} ---- characters mapped to int ----> {}'.format(repr(songs_joined[:10]), vectorized_songs[:10]))
    # check that vectorized_songs is a numpy array
    assert isinstance(vectorized_songs, np.ndarray), "returned result should be a numpy array"

    ### Batch definition to create training examples ###
    def get_batch(vectorized_songs, seq_length, batch_size):
        # the length of the vectorized songs string
        n = vectorized_songs.shape[0] - 1
        # randomly choose the starting indices for the examples in the training batch
        idx = np.random.choice(n - seq_length, batch_size)

        '''TODO: construct a list of input sequences for the training batch'''
        input_batch = [vectorized_songs[i: i + seq_length] for i in idx]

        '''TODO: construct a list of output sequences for the training batch'''
        output_batch = [vectorized_songs[i + 1: i + seq_length + 1] for i in idx]

        # Convert the input and output batches to tensors
        x_batch = torch.tensor(input_batch, dtype=torch.long)
        y_batch = torch.tensor(output_batch, dtype=torch.long)

        return x_batch, y_batch

    # Perform some simple tests to make sure your batch function is working properly!
    test_args = (vectorized_songs, 10, 2)
    x_batch, y_batch = get_batch(*test_args)
    assert x_batch.shape == (2, 10), "x_batch shape is incorrect"
    assert y_batch.shape == (2, 10), "y_batch shape is incorrect"
    print("Batch function works correctly!")

    x_batch, y_batch = get_batch(vectorized_songs, seq_length=5, batch_size=1)

    for i, (input_idx, target_idx) in enumerate(zip(x_batch[0], y_batch[0])):
        print("Step {:3d}".format(i))
        print("  input: {} ({:s})".format(input_idx, repr(idx2char[input_idx.item()])))
        print("  expected output: {} ({:s})".format(target_idx, repr(idx2char[target_idx.item()])))

    class LSTMModel(nn.Module):
        def __init__(self, vocab_size, embedding_dim, hidden_size):
            super(LSTMModel, self).__init__()
            self.hidden_size = hidden_size

            # Define each of the network layers
            # Layer 1: Embedding layer to transform indices into dense vectors
            #   of a fixed embedding size
            self.embedding = nn.Embedding(vocab_size, embedding_dim)

            # Layer 2: LSTM with `rnn_units` number of units.
            self.lstm = nn.LSTM(embedding_dim, hidden_size, batch_first=True)

            # Layer 3: Dense (fully-connected) layer that transforms the LSTM output
            #   into the vocabulary size.
            self.fc = nn.Linear(hidden_size, vocab_size)

        def forward(self, x, state=None, return_state=False):
            x = self.embedding(x)

            if state is None:
                state = self.init_hidden(x.size(0), x.device)
            out, state = self.lstm(x, state)

            out = self.fc(out)
            return out if not return_state else (out, state)

        def init_hidden(self, batch_size, device):
            # Initialize hidden state and cell state with zeros
            return (torch.zeros(1, batch_size, self.hidden_size).to(device),
                    torch.zeros(1, batch_size, self.hidden_size).to(device))

    # Instantiate the model
    vocab_size = len(vocab)
    embedding_dim = params["embedding_dim"]  # differs: 256 in the notebook (sizes smaller)
    hidden_size = params["rnn_units"]        # differs: 1024 in the notebook
    batch_size = 8

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

    model = LSTMModel(vocab_size, embedding_dim, hidden_size).to(device)
    print(model)

    # Test the model with dummy data
    x_dummy, y_dummy = get_batch(vectorized_songs, seq_length=20, batch_size=4)  # differs: 100 and 32 there
    x_dummy = x_dummy.to(device)
    y_dummy = y_dummy.to(device)

    pred_dummy = model(x_dummy)
    print("Input shape:      ", x_dummy.shape, " # (batch_size, sequence_length)")
    print("Prediction shape: ", pred_dummy.shape, "# (batch_size, sequence_length, vocab_size)")

    sampled_indices = torch.multinomial(torch.softmax(pred_dummy[0], dim=-1), num_samples=1)
    sampled_indices = sampled_indices.squeeze(-1).cpu().numpy()

    print("Input: \n", repr("".join(idx2char[x_dummy[0].cpu()])))
    print()
    print("Next Char Predictions: \n", repr("".join(idx2char[sampled_indices])))

    ### Defining the loss function ###
    cross_entropy = nn.CrossEntropyLoss()

    def compute_loss(labels, logits):
        """
        Inputs:
          labels: (batch_size, sequence_length)
          logits: (batch_size, sequence_length, vocab_size)

        Output:
          loss: scalar cross entropy loss over the batch and sequence length
        """

        # Batch the labels (i.e., the shape of the labels should be (B * L,))
        batched_labels = labels.view(-1)

        # Batch the logits (i.e., the shape of the logits should be (B * L, V))
        batched_logits = logits.view(-1, logits.size(-1))

        # Compute the loss
        loss = cross_entropy(batched_logits, batched_labels)
        return loss

    example_batch_loss = compute_loss(y_dummy, pred_dummy)

    print(f"Prediction shape: {pred_dummy.shape} # (batch_size, sequence_length, vocab_size)")
    print(f"scalar_loss:      {example_batch_loss.mean().item()}")

    ### Hyperparameter setting and optimization ###
    # differs: `params` is given (3000 iterations, batch 8, length 100, lr 5e-3, 256 and 1024 units there)

    # Checkpoint location:
    # differs: './training_checkpoints' is pytest's tmp_path
    checkpoint_prefix = os.path.join(checkpoint_dir, "my_ckpt")
    os.makedirs(checkpoint_dir, exist_ok=True)

    ### Create a Comet experiment to track our training run ###
    def create_experiment():
        # end any prior experiments
        if 'experiment' in locals():
            experiment.end()  # noqa: F821 (the notebook's, never reached)

        # initiate the comet experiment for tracking
        experiment = comet_ml.Experiment(
                          api_key=COMET_API_KEY,
                          project_name="6S191_Lab1_Part2")
        # log our hyperparameters, defined above, to the experiment
        for param, value in params.items():
            experiment.log_parameter(param, value)
        experiment.flush()

        return experiment

    ### Define optimizer and training operation ###
    model = LSTMModel(vocab_size, params["embedding_dim"], params["rnn_units"])

    # Move the model to the GPU
    model.to(device)

    optimizer = torch.optim.Adam(model.parameters(), lr=params["learning_rate"])

    def train_step(x, y):
        model.train()
        optimizer.zero_grad()

        # Forward pass
        y_hat = model(x)

        loss = compute_loss(y, y_hat)

        # Backward pass
        loss.backward()
        optimizer.step()

        return loss

    ##################
    # Begin training!#
    ##################

    history = []
    plotter = mdl.util.PeriodicPlotter(sec=2, xlabel='Iterations', ylabel='Loss')
    experiment = create_experiment()

    if hasattr(tqdm, '_instances'): tqdm._instances.clear()  # clear if it exists  # noqa: E701
    for iter in tqdm(range(params["num_training_iterations"]), disable=True):  # differs: disable=True (quiet)

        # Grab a batch and propagate it through the network
        x_batch, y_batch = get_batch(vectorized_songs, params["seq_length"], params["batch_size"])

        # Convert numpy arrays to PyTorch tensors
        x_batch = torch.tensor(x_batch, dtype=torch.long).to(device)
        y_batch = torch.tensor(y_batch, dtype=torch.long).to(device)

        loss = train_step(x_batch, y_batch)

        # Log the loss to the Comet interface
        experiment.log_metric("loss", loss.item(), step=iter)

        # Update the progress bar and visualize within notebook
        history.append(loss.item())
        plotter.plot(history)

        # Save model checkpoint
        if iter % 100 == 0:
            torch.save(model.state_dict(), checkpoint_prefix)

    # Save the final trained model
    torch.save(model.state_dict(), checkpoint_prefix)
    experiment.flush()

    ### Prediction of a generated song ###
    def generate_text(model, start_string, generation_length=1000):
        # Evaluation step (generating ABC text using the learned RNN model)

        '''TODO: convert the start string to numbers (vectorize)'''
        input_idx = [char2idx[s] for s in start_string]
        input_idx = torch.tensor([input_idx], dtype=torch.long).to(device)

        # Initialize the hidden state
        state = model.init_hidden(input_idx.size(0), device)

        # Empty string to store our results
        text_generated = []
        tqdm._instances.clear()

        for i in tqdm(range(generation_length), disable=True):  # differs: disable=True (quiet)
            '''TODO: evaluate the inputs and generate the next character predictions'''
            predictions, state = model(input_idx, state, return_state=True)

            # Remove the batch dimension
            predictions = predictions.squeeze(0)

            '''TODO: use a multinomial distribution to sample over the probabilities'''
            input_idx = torch.multinomial(torch.softmax(predictions, dim=-1), num_samples=1)

            '''TODO: add the predicted character to the generated text!'''
            # Hint: consider what format the prediction is in vs. the output
            text_generated.append(idx2char[input_idx].item())

        return (start_string + ''.join(text_generated))

    generated_text = generate_text(model, start_string="X", generation_length=generation_length)

    ### Play back generated songs ###
    generated_songs = mdl.lab1.extract_song_snippet(generated_text)

    for i, song in enumerate(generated_songs):
        # Synthesize the waveform from a song
        waveform = mdl.lab1.play_song(song)

        # If its a valid song (correct syntax), lets play it!
        if waveform:
            print("Generated song", i)

    # when done, end the comet experiment
    experiment.end()
    return locals()


LAB_PARAMS = dict(num_training_iterations=120, batch_size=8, seq_length=24, learning_rate=1e-2, embedding_dim=8,
                  rnn_units=32)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    torch.manual_seed(0)
    np.random.seed(0)
    notebook, printed = quietly(lab1_part2, made_up_songs(12, 0), LAB_PARAMS, str(tmp_path_factory.mktemp("ckpt")))
    return notebook, printed


def np_lab_lstm(p, tokens, h, c):
    """The lab's LSTMModel in numpy: embedding, one LSTM layer over the tokens (B, L), the Linear; (logits, h, c)."""
    outs = []
    for t in range(tokens.shape[1]):
        h, c = np_lstm_cell(p["embedding.weight"][tokens[:, t]], h, c, p["lstm.weight_ih_l0"], p["lstm.weight_hh_l0"],
                            p["lstm.bias_ih_l0"], p["lstm.bias_hh_l0"])
        outs.append(h @ p["fc.weight"].T + p["fc.bias"])
    return np.stack(outs, axis=1), h, c


def test_lab_runs_top_to_bottom_and_its_training_loss_falls(lab):
    notebook, printed = lab
    history = notebook["history"]
    assert len(history) == LAB_PARAMS["num_training_iterations"]
    assert np.mean(history[-10:]) < 0.6 * np.mean(history[:5])
    assert "Batch function works correctly!" in printed and "There are" in printed
    experiment = notebook["experiment"]
    assert experiment.ended and experiment.parameters == LAB_PARAMS
    assert [m[2] for m in experiment.metrics] == list(range(LAB_PARAMS["num_training_iterations"]))
    assert os.path.exists(notebook["checkpoint_prefix"])
    assert len(notebook["generated_text"]) == 41 and notebook["generated_text"][0] == "X"
    assert set(notebook["generated_text"]) <= set(notebook["vocab"])


def test_lab_vectorize_and_get_batch_against_numpy(lab):
    notebook, _ = lab
    songs_joined, vocab = notebook["songs_joined"], notebook["vocab"]
    assert vocab == sorted(set(songs_joined))
    expected = np.array([vocab.index(ch) for ch in songs_joined])
    np.testing.assert_array_equal(notebook["vectorized_songs"], expected)
    np.random.seed(7)
    x, y = notebook["get_batch"](expected, 6, 3)
    np.random.seed(7)
    starts = np.random.choice(len(expected) - 1 - 6, 3)
    assert x.dtype == torch.int64 and x.shape == (3, 6)
    np.testing.assert_array_equal(arr(x), np.stack([expected[i:i + 6] for i in starts]))
    np.testing.assert_array_equal(arr(y), np.stack([expected[i + 1:i + 7] for i in starts]))


def test_lab_lstm_model_logits_and_returned_state_against_numpy(lab, float64):
    notebook, _ = lab
    model = notebook["LSTMModel"](9, 4, 5)
    tokens = np.array([[1, 4, 8, 0], [3, 3, 2, 7]])
    h0 = np.random.default_rng(1).normal(0, 0.5, (2, 5))
    c0 = np.random.default_rng(2).normal(0, 0.5, (2, 5))
    out, (h, c) = model(torch.tensor(tokens), (torch.tensor(h0[None]), torch.tensor(c0[None])), return_state=True)
    logits, h_np, c_np = np_lab_lstm(params_of(model), tokens, h0, c0)
    np.testing.assert_allclose(arr(out), logits, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(arr(h)[0], h_np, rtol=1e-10)
    np.testing.assert_allclose(arr(c)[0], c_np, rtol=1e-10)
    zero_state, _, _ = np_lab_lstm(params_of(model), tokens, np.zeros((2, 5)), np.zeros((2, 5)))
    np.testing.assert_allclose(arr(model(torch.tensor(tokens))), zero_state, rtol=1e-10, atol=1e-12)  # init_hidden


def test_lab_compute_loss_gradients_against_central_differences(lab, float64):
    notebook, _ = lab
    model = notebook["LSTMModel"](9, 3, 4)
    tokens = np.random.default_rng(3).integers(0, 9, (2, 5))
    labels = np.random.default_rng(4).integers(0, 9, (2, 5))
    cross_entropy_of = notebook["compute_loss"]

    def loss_np(p):
        logits, _, _ = np_lab_lstm(p, tokens, np.zeros((2, 4)), np.zeros((2, 4)))
        return np_ce(logits.reshape(-1, 9), labels.reshape(-1))

    model.zero_grad()
    loss = cross_entropy_of(torch.tensor(labels), model(torch.tensor(tokens)))
    loss.backward()
    base, params = params_of(model), dict(model.named_parameters())
    assert float(loss) == pytest.approx(loss_np(base), rel=1e-10)
    for name in ["lstm.weight_hh_l0", "lstm.weight_ih_l0", "embedding.weight", "fc.bias"]:
        size = base[name].size
        idx = [tuple(int(i) for i in np.unravel_index(k, base[name].shape)) for k in (0, size // 2, size - 1)]
        got = np.array([params[name].grad[i] for i in idx])
        np.testing.assert_allclose(got, central(lambda v, n=name: loss_np({**base, n: v}), base[name], idx),
                                   rtol=1e-6, atol=1e-9, err_msg=name)


def test_lab_generate_text_carries_the_lstm_state_from_character_to_character(lab):
    notebook, _ = lab
    units = LAB_PARAMS["rnn_units"]
    model = notebook["LSTMModel"](len(notebook["vocab"]), LAB_PARAMS["embedding_dim"], units)
    model.load_state_dict(notebook["model"].state_dict())      # the trained model, a copy
    with torch.no_grad():  # logits x 1000: each softmax all but one-hot, so the draws are the argmaxes
        model.fc.weight.mul_(1000.0)
        model.fc.bias.mul_(1000.0)
    text = notebook["generate_text"](model, start_string="X", generation_length=12)
    p, char2idx, vocab = params_of(model), notebook["char2idx"], notebook["vocab"]

    def np_generate(carry):
        h, c, token, out = np.zeros((1, units)), np.zeros((1, units)), char2idx["X"], "X"
        for _ in range(12):
            if not carry:
                h, c = np.zeros((1, units)), np.zeros((1, units))
            logits, h, c = np_lab_lstm(p, np.array([[token]]), h, c)
            token = int(np.argmax(logits[0, -1]))
            out += vocab[token]
        return out

    assert text == np_generate(carry=True)
    assert np_generate(carry=False) != text   # the state matters: without it the text would differ


def test_lab_multinomial_of_the_softmax_draws_by_its_probabilities_from_the_generator(lab):
    notebook, _ = lab
    probs = torch.softmax(torch.tensor([[0.5, -1.0, 2.0, 0.0]]).repeat(4000, 1), dim=-1)
    draws = torch.multinomial(probs, num_samples=1, generator=torch.Generator().manual_seed(5))
    again = torch.multinomial(probs, num_samples=1, generator=torch.Generator().manual_seed(5))
    np.testing.assert_array_equal(arr(draws), arr(again))
    assert draws.shape == (4000, 1) and draws.dtype == torch.int64
    counts = np.bincount(arr(draws).astype(int).ravel(), minlength=4) / 4000
    np.testing.assert_allclose(counts, np_softmax(np.array([0.5, -1.0, 2.0, 0.0])), atol=0.03)
    # the notebook reads the draws through the numpy vocabulary, indexed by a tensor
    idx2char = notebook["idx2char"]
    assert idx2char[torch.tensor([[2]])].item() == idx2char[2]
    assert "".join(idx2char[torch.tensor([0, 1])]) == idx2char[0] + idx2char[1]


def test_lab_torch_tensor_of_a_tensor_warns_as_pytorch():
    x_batch = torch.tensor([[1, 2], [3, 4]])
    with pytest.warns(UserWarning, match="To copy construct from a tensor"):
        torch.tensor(x_batch, dtype=torch.long)


# ==== 2. warmspringwinds/pytorch-rnn-sequence-generation-classification: the Nottingham piano-roll notebooks =========

def midiread(midi_filename, dt):
    """The LISA `midi` utils' midiread (stand-in): the made-up roll saved at that path, (time, 88) velocities."""
    return types.SimpleNamespace(piano_roll=np.load(midi_filename))


def midi_filename_to_piano_roll(midi_filename):

    midi_data = midiread(midi_filename, dt=0.3)

    piano_roll = midi_data.piano_roll.transpose()

    # Binarize the pressed notes
    piano_roll[piano_roll > 0] = 1

    return piano_roll


def pad_piano_roll(piano_roll, max_length=132333, pad_value=0):

    # We hardcode 128 -- because we will always use only
    # 128 pitches

    original_piano_roll_length = piano_roll.shape[1]

    padded_piano_roll = np.zeros((88, max_length))
    padded_piano_roll[:] = pad_value

    padded_piano_roll[:, :original_piano_roll_length] = piano_roll

    return padded_piano_roll


class NotesGenerationDataset(Dataset):

    def __init__(self, midi_folder_path, longest_sequence_length=1491):

        self.midi_folder_path = midi_folder_path

        midi_filenames = sorted(os.listdir(midi_folder_path))  # differs: sorted, so the made-up files keep an order

        self.longest_sequence_length = longest_sequence_length

        # differs: list(...): Python 2's map was a list (len() and indexing below need one)
        midi_full_filenames = list(map(lambda filename: os.path.join(midi_folder_path, filename),
                                       midi_filenames))

        self.midi_full_filenames = midi_full_filenames

        if longest_sequence_length is None:

            self.update_the_max_length()

    def update_the_max_length(self):
        """Recomputes the longest sequence constant of the dataset.

        Reads all the midi files from the midi folder and finds the max
        length.
        """

        sequences_lengths = map(lambda filename: midi_filename_to_piano_roll(filename).shape[1],
                                self.midi_full_filenames)

        max_length = max(sequences_lengths)

        self.longest_sequence_length = max_length

    def __len__(self):

        return len(self.midi_full_filenames)

    def __getitem__(self, index):

        midi_full_filename = self.midi_full_filenames[index]

        piano_roll = midi_filename_to_piano_roll(midi_full_filename)

        # -1 because we will shift it
        sequence_length = piano_roll.shape[1] - 1

        # Shifted by one time step
        input_sequence = piano_roll[:, :-1]
        ground_truth_sequence = piano_roll[:, 1:]

        # pad sequence so that all of them have the same lenght
        # Otherwise the batching won't work
        input_sequence_padded = pad_piano_roll(input_sequence, max_length=self.longest_sequence_length)

        ground_truth_sequence_padded = pad_piano_roll(ground_truth_sequence,
                                                      max_length=self.longest_sequence_length,
                                                      pad_value=-100)

        input_sequence_padded = input_sequence_padded.transpose()
        ground_truth_sequence_padded = ground_truth_sequence_padded.transpose()

        return (torch.FloatTensor(input_sequence_padded),
                torch.LongTensor(ground_truth_sequence_padded),
                torch.LongTensor([sequence_length]))


def post_process_sequence_batch(batch_tuple):

    input_sequences, output_sequences, lengths = batch_tuple

    splitted_input_sequence_batch = input_sequences.split(split_size=1)
    splitted_output_sequence_batch = output_sequences.split(split_size=1)
    splitted_lengths_batch = lengths.split(split_size=1)

    training_data_tuples = zip(splitted_input_sequence_batch,
                               splitted_output_sequence_batch,
                               splitted_lengths_batch)

    training_data_tuples_sorted = sorted(training_data_tuples,
                                         key=lambda p: int(p[2]),
                                         reverse=True)

    splitted_input_sequence_batch, splitted_output_sequence_batch, splitted_lengths_batch = \
        zip(*training_data_tuples_sorted)

    input_sequence_batch_sorted = torch.cat(splitted_input_sequence_batch)
    output_sequence_batch_sorted = torch.cat(splitted_output_sequence_batch)
    lengths_batch_sorted = torch.cat(splitted_lengths_batch)

    # Here we trim overall data matrix using the size of the longest sequence
    input_sequence_batch_sorted = input_sequence_batch_sorted[:, :lengths_batch_sorted[0, 0], :]
    output_sequence_batch_sorted = output_sequence_batch_sorted[:, :lengths_batch_sorted[0, 0], :]

    input_sequence_batch_transposed = input_sequence_batch_sorted.transpose(0, 1)

    # pytorch's api for rnns wants lenghts to be list of ints
    lengths_batch_sorted_list = list(lengths_batch_sorted)
    # differs: list(...): Python 2's map was a list (pack_padded_sequence refuses a map object, as PyTorch's)
    lengths_batch_sorted_list = list(map(lambda x: int(x), lengths_batch_sorted_list))

    return input_sequence_batch_transposed, output_sequence_batch_sorted, lengths_batch_sorted_list


class RNN(nn.Module):

    def __init__(self, input_size, hidden_size, num_classes, n_layers=2):

        super(RNN, self).__init__()

        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_classes = num_classes
        self.n_layers = n_layers

        self.notes_encoder = nn.Linear(in_features=input_size, out_features=hidden_size)

        self.lstm = nn.LSTM(hidden_size, hidden_size, n_layers)

        self.logits_fc = nn.Linear(hidden_size, num_classes)

    def forward(self, input_sequences, input_sequences_lengths, hidden=None):

        batch_size = input_sequences.shape[1]

        notes_encoded = self.notes_encoder(input_sequences)

        # Here we run rnns only on non-padded regions of the batch
        packed = torch.nn.utils.rnn.pack_padded_sequence(notes_encoded, input_sequences_lengths)
        outputs, hidden = self.lstm(packed, hidden)
        outputs, output_lengths = torch.nn.utils.rnn.pad_packed_sequence(outputs)  # unpack (back to padded)

        logits = self.logits_fc(outputs)

        logits = logits.transpose(0, 1).contiguous()

        neg_logits = (1 - logits)

        # Since the BCE loss doesn't support masking, we use the crossentropy
        binary_logits = torch.stack((logits, neg_logits), dim=3).contiguous()

        logits_flatten = binary_logits.view(-1, 2)

        return logits_flatten, hidden


def nottingham_training(train_dir, valid_dir, save_dir, hidden_size=16, epochs_number=12, learning_rate=0.02):
    """The training notebook's cells 2 to 8, in order (the matplotlib cell's VizList is a list here)."""
    trainset = NotesGenerationDataset(train_dir)

    trainset_loader = torch.utils.data.DataLoader(trainset, batch_size=4,  # differs: 120 there
                                                  shuffle=True, num_workers=4, drop_last=True)

    valset = NotesGenerationDataset(valid_dir, longest_sequence_length=None)

    valset_loader = torch.utils.data.DataLoader(valset, batch_size=30, shuffle=False, num_workers=4, drop_last=False)

    rnn = RNN(input_size=88, hidden_size=hidden_size, num_classes=88)  # differs: hidden_size=512 there
    # differs: `rnn = rnn.cuda()` and the criteria's `.cuda()` left out (no GPU here)

    criterion = nn.CrossEntropyLoss()

    criterion_val = nn.CrossEntropyLoss(size_average=False)

    optimizer = torch.optim.Adam(rnn.parameters(), lr=learning_rate)  # differs: lr 0.001 there

    # differs: VizList (pytorch-segmentation-detection's list bound to a plot) is a list here
    loss_list = []
    val_list = []

    def validate():

        full_val_loss = 0.0
        overall_sequence_length = 0.0

        for batch in valset_loader:

            post_processed_batch_tuple = post_process_sequence_batch(batch)

            input_sequences_batch, output_sequences_batch, sequences_lengths = post_processed_batch_tuple

            output_sequences_batch_var = Variable(output_sequences_batch.contiguous().view(-1))

            input_sequences_batch_var = Variable(input_sequences_batch)

            logits, _ = rnn(input_sequences_batch_var, sequences_lengths)

            loss = criterion_val(logits, output_sequences_batch_var)

            full_val_loss += loss.item()  # differs: `loss.data[0]` (a 0-d tensor's [0]: IndexError since 0.5)
            overall_sequence_length += sum(sequences_lengths)

        return full_val_loss / (overall_sequence_length * 88)

    first_val_loss = validate()  # (added: the loss before training, to compare)

    clip = 1.0
    sample_history = []
    best_val_loss = float("inf")

    for epoch_number in range(epochs_number):  # differs: xrange; 12000000 epochs there

        for batch in trainset_loader:

            post_processed_batch_tuple = post_process_sequence_batch(batch)

            input_sequences_batch, output_sequences_batch, sequences_lengths = post_processed_batch_tuple

            output_sequences_batch_var = Variable(output_sequences_batch.contiguous().view(-1))

            input_sequences_batch_var = Variable(input_sequences_batch)

            optimizer.zero_grad()

            logits, _ = rnn(input_sequences_batch_var, sequences_lengths)

            loss = criterion(logits, output_sequences_batch_var)
            loss_list.append(loss.item())  # differs: `loss.data[0]`
            loss.backward()

            torch.nn.utils.clip_grad_norm(rnn.parameters(), clip)

            optimizer.step()

        current_val_loss = validate()
        val_list.append(current_val_loss)

        if current_val_loss < best_val_loss:

            torch.save(rnn.state_dict(), os.path.join(save_dir, 'music_rnn.pth'))  # differs: the path
            best_val_loss = current_val_loss

    return locals()


def music_sampling(model_path, hidden_size=16, sample_length=200, temperature=0.7):
    """music_sampling.ipynb's cells: the model loaded, then `sample_from_piano_rnn` (midiwrite, imshow left out)."""
    rnn = RNN(input_size=88, hidden_size=hidden_size, num_classes=88)  # differs: hidden_size=512 there

    rnn.load_state_dict(torch.load(model_path))  # differs: the path

    def sample_from_piano_rnn(sample_length=4, temperature=1, starting_sequence=None):

        if starting_sequence is None:

            current_sequence_input = torch.zeros(1, 1, 88)
            current_sequence_input[0, 0, 40] = 1
            current_sequence_input[0, 0, 50] = 0
            current_sequence_input[0, 0, 56] = 0
            current_sequence_input = Variable(current_sequence_input)  # differs: `.cuda()` left out

        final_output_sequence = [current_sequence_input.data.squeeze(1)]

        hidden = None

        for i in range(sample_length):  # differs: xrange

            output, hidden = rnn(current_sequence_input, [1], hidden)

            probabilities = nn.functional.softmax(output.div(temperature), dim=1)

            current_sequence_input = torch.multinomial(probabilities.data, 1).squeeze().unsqueeze(0).unsqueeze(1)

            current_sequence_input = Variable(current_sequence_input.float())

            final_output_sequence.append(current_sequence_input.data.squeeze(1))

        sampled_sequence = torch.cat(final_output_sequence, dim=0).cpu().numpy()

        return sampled_sequence

    sample = sample_from_piano_rnn(sample_length=sample_length, temperature=temperature).transpose()
    return rnn, sample


PROGRESSION = [(39, 43, 46), (44, 48, 51), (46, 50, 53), (39, 43, 46)]   # made-up chords, as 88-key indices


def write_made_up_rolls(folder, lengths, seed):
    """Made-up pieces: each time step one chord of PROGRESSION, in turn from a random start, velocity 64."""
    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    for k, n in enumerate(lengths):
        roll, start = np.zeros((n, 88)), int(rng.integers(0, 4))
        for t in range(n):
            roll[t, list(PROGRESSION[(start + t) % 4])] = 64
        np.save(os.path.join(folder, f"piece_{k:02d}.npy"), roll)
    return folder


def np_piano_rnn(p, x, lengths, h=None):
    """The RNN in numpy: x (T, B, 88); each sequence runs the two-layer LSTM over its own length from h (or zeros),
    padding gives zero outputs; the (B * T * 88, 2) pairs (l, 1 - l), and the final (h, c) per layer."""
    T, B, _ = x.shape
    H = p["lstm.weight_hh_l0"].shape[1]
    enc = x @ p["notes_encoder.weight"].T + p["notes_encoder.bias"]
    out = np.zeros((T, B, H))
    state = [(np.zeros((B, H)), np.zeros((B, H))) for _ in range(2)] if h is None else h
    finals = [[None] * B, [None] * B]
    for b in range(B):
        hs = [(state[k][0][b:b + 1], state[k][1][b:b + 1]) for k in range(2)]
        for t in range(lengths[b]):
            inp = enc[t, b:b + 1]
            for k in range(2):
                hk, ck = np_lstm_cell(inp, hs[k][0], hs[k][1], p[f"lstm.weight_ih_l{k}"], p[f"lstm.weight_hh_l{k}"],
                                      p[f"lstm.bias_ih_l{k}"], p[f"lstm.bias_hh_l{k}"])
                hs[k], inp = (hk, ck), hk
            out[t, b] = inp[0]
        for k in range(2):
            finals[k][b] = hs[k]
    logits = (out @ p["logits_fc.weight"].T + p["logits_fc.bias"]).transpose(1, 0, 2)
    final = [(np.concatenate([f[0] for f in finals[k]]), np.concatenate([f[1] for f in finals[k]])) for k in range(2)]
    return np.stack([logits, 1 - logits], axis=3).reshape(-1, 2), final


@pytest.fixture(scope="module")
def piano(tmp_path_factory):
    root = tmp_path_factory.mktemp("nottingham")
    train = write_made_up_rolls(str(root / "train"), [9, 12, 10, 14, 11, 13, 9, 12], 0)
    valid = write_made_up_rolls(str(root / "valid"), [10, 13, 8], 1)
    torch.manual_seed(0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        notebook = nottingham_training(train, valid, str(root))
    return notebook, caught, train, valid, str(root)


def test_piano_dataset_item_is_the_roll_shifted_by_one_and_padded(piano):
    _, _, train, _, _ = piano
    data = NotesGenerationDataset(train, longest_sequence_length=16)
    roll = (np.load(os.path.join(train, "piece_01.npy")) > 0).astype(np.float64)       # 12 steps
    x, y, length = data[1]
    assert x.dtype == torch.float32 and y.dtype == torch.int64 and x.shape == y.shape == (16, 88)
    assert arr(length).tolist() == [11]
    np.testing.assert_array_equal(arr(x)[:11], roll[:-1])
    np.testing.assert_array_equal(arr(x)[11:], 0)
    np.testing.assert_array_equal(arr(y)[:11], roll[1:])
    np.testing.assert_array_equal(arr(y)[11:], -100)
    assert NotesGenerationDataset(train, longest_sequence_length=None).longest_sequence_length == 14


def test_piano_post_process_sorts_by_length_trims_and_transposes(piano):
    _, _, train, _, _ = piano
    data = NotesGenerationDataset(train, longest_sequence_length=16)
    items = [data[i] for i in (0, 3, 1)]                                   # lengths 8, 13, 11
    batch = tuple(torch.stack([item[k] for item in items]) for k in range(3))
    x, y, lengths = post_process_sequence_batch(batch)
    assert lengths == [13, 11, 8] and all(type(n) is int for n in lengths)
    assert x.shape == (13, 3, 88) and y.shape == (3, 13, 88)
    order = [1, 2, 0]
    np.testing.assert_array_equal(arr(x), np.stack([arr(items[i][0])[:13] for i in order], axis=1))
    np.testing.assert_array_equal(arr(y), np.stack([arr(items[i][1])[:13] for i in order]))
    with pytest.raises(TypeError, match="map"):   # the Python 2 notebook's map, refused as PyTorch's refuses it
        torch.nn.utils.rnn.pack_padded_sequence(x, map(int, lengths))


def test_piano_rnn_over_a_packed_batch_against_numpy(float64):
    rnn = RNN(input_size=88, hidden_size=5, num_classes=88)
    rng = np.random.default_rng(2)
    lengths = [6, 4, 3]
    x = (rng.random((6, 3, 88)) < 0.1).astype(np.float64)
    for b, n in enumerate(lengths):
        x[n:, b] = 0
    logits, (h, c) = rnn(torch.tensor(x), lengths)
    expected, final = np_piano_rnn(params_of(rnn), x, lengths)
    assert logits.shape == (3 * 6 * 88, 2)
    np.testing.assert_allclose(arr(logits), expected, rtol=1e-10, atol=1e-12)
    for k in range(2):   # the final state of each sequence is at its own length, as the packed LSTM gives it
        np.testing.assert_allclose(arr(h)[k], final[k][0], rtol=1e-10)
        np.testing.assert_allclose(arr(c)[k], final[k][1], rtol=1e-10)


def test_piano_two_class_loss_is_bce_with_logits_of_one_minus_two_l_and_its_gradients(float64):
    rnn = RNN(input_size=88, hidden_size=4, num_classes=88)
    rng = np.random.default_rng(3)
    lengths = [5, 3]
    x = (rng.random((5, 2, 88)) < 0.1).astype(np.float64)
    target = (rng.random((2, 5, 88)) < 0.1).astype(np.int64)
    target[1, 3:] = -100
    criterion = nn.CrossEntropyLoss()

    def loss_np(p):
        pairs, _ = np_piano_rnn(p, x, lengths)
        return np_ce(pairs, target.reshape(-1))

    rnn.zero_grad()
    logits, _ = rnn(torch.tensor(x), lengths)
    loss = criterion(logits, torch.tensor(target).view(-1))
    loss.backward()
    base, params = params_of(rnn), dict(rnn.named_parameters())
    assert float(loss) == pytest.approx(loss_np(base), rel=1e-10)
    # CE of (l, 1 - l) with target t = BCE-with-logits of 1 - 2l against t, over the unpadded entries
    l, t = arr(logits)[:, 0], target.reshape(-1)
    keep = t != -100
    bce = np.mean(np.logaddexp(0, 1 - 2 * l[keep]) - t[keep] * (1 - 2 * l[keep]))
    assert float(loss) == pytest.approx(bce, rel=1e-10)
    lib_bce = F.binary_cross_entropy_with_logits(torch.tensor(1 - 2 * l[keep]),
                                                 torch.tensor(t[keep], dtype=torch.float64))
    assert float(lib_bce) == pytest.approx(bce, rel=1e-10)
    for name in ["lstm.weight_hh_l1", "lstm.weight_ih_l0", "notes_encoder.weight", "logits_fc.bias"]:
        idx = [tuple(int(i) for i in np.unravel_index(k, base[name].shape)) for k in (1, base[name].size - 2)]
        got = np.array([params[name].grad[i] for i in idx])
        np.testing.assert_allclose(got, central(lambda v, n=name: loss_np({**base, n: v}), base[name], idx),
                                   rtol=1e-6, atol=1e-9, err_msg=name)


def test_piano_training_cell_lowers_the_validation_loss_and_keeps_the_best(piano):
    notebook, caught, _, _, root = piano
    assert notebook["val_list"][-1] < 0.5 * notebook["first_val_loss"]
    assert np.mean(notebook["loss_list"][-4:]) < 0.5 * np.mean(notebook["loss_list"][:2])
    assert notebook["best_val_loss"] == min(notebook["val_list"])
    messages = [str(w.message) for w in caught]
    assert any("clip_grad_norm" in m and "deprecated" in m for m in messages)       # as PyTorch's FutureWarning
    assert any("size_average" in m for m in messages)
    state = torch.load(os.path.join(root, "music_rnn.pth"))
    assert set(state) == {name for name, _ in notebook["rnn"].named_parameters()}


def test_piano_validate_sums_the_losses_over_notes_and_steps(piano, float64):
    notebook, _, _, valid, _ = piano
    rnn, validate = notebook["rnn"], notebook["validate"]
    data = NotesGenerationDataset(valid, longest_sequence_length=None)
    x, y, lengths = post_process_sequence_batch(tuple(torch.stack([data[i][k] for i in range(3)]) for k in range(3)))
    pairs, _ = np_piano_rnn(params_of(rnn), arr(x), lengths)
    t = arr(y).astype(np.int64).reshape(-1)
    keep = t != -100
    total = -np.sum(np_log_softmax(pairs[keep])[np.arange(keep.sum()), t[keep]])
    assert validate() == pytest.approx(total / (sum(lengths) * 88), rel=1e-5)


def test_piano_sampling_carries_the_lstm_state_and_follows_the_temperature(piano):
    notebook, _, _, _, root = piano
    torch.manual_seed(1)
    rnn, sample = music_sampling(os.path.join(root, "music_rnn.pth"), sample_length=12, temperature=0.01)
    assert sample.shape == (88, 13) and set(np.unique(sample)) <= {0.0, 1.0}
    p = params_of(rnn)
    frame, state, expected = np.zeros(88), None, []
    frame[40] = 1
    for _ in range(12):   # at T = 0.01 a note sounds where softmax((l, 1 - l) / T) picks class 1: 1 - l > l
        pairs, state = np_piano_rnn(p, frame[None, None], [1], state)
        frame = (pairs[:, 1] > pairs[:, 0]).astype(np.float64)
        expected.append(frame)
    np.testing.assert_array_equal(sample[:, 1:], np.stack(expected, axis=1))
    assert sample[40, 0] == 1 and sample[:, 0].sum() == 1
    # at T = 1, a note sounds with probability softmax((l, 1 - l))[1] = sigmoid(1 - 2l)
    output, _ = rnn(torch.tensor(frame[None, None], dtype=torch.float32), [1])
    probabilities = nn.functional.softmax(output.div(1.0), dim=1)
    draws = np.mean([arr(torch.multinomial(probabilities, 1)).ravel() for _ in range(300)], axis=0)
    np.testing.assert_allclose(draws, np_sigmoid(1 - 2 * arr(output)[:, 0]), atol=0.12)


# ==== 3. pytorch/audio: torchaudio's WaveRNN, mu-law, and examples/pipeline_wavernn ==================================

# -- torchaudio/functional/functional.py (02107beb) --

def mu_law_encoding(
        x: Tensor,
        quantization_channels: int
) -> Tensor:
    r"""Encode signal based on mu-law companding.  For more info see the
    `Wikipedia Entry <https://en.wikipedia.org/wiki/%CE%9C-law_algorithm>`_

    This algorithm assumes the signal has been scaled to between -1 and 1 and
    returns a signal encoded with values from 0 to quantization_channels - 1.

    Args:
        x (Tensor): Input tensor
        quantization_channels (int): Number of channels

    Returns:
        Tensor: Input after mu-law encoding
    """
    mu = quantization_channels - 1.0
    if not x.is_floating_point():
        x = x.to(torch.float)
    mu = torch.tensor(mu, dtype=x.dtype)
    x_mu = torch.sign(x) * torch.log1p(mu * torch.abs(x)) / torch.log1p(mu)
    x_mu = ((x_mu + 1) / 2 * mu + 0.5).to(torch.int64)
    return x_mu


def mu_law_decoding(
        x_mu: Tensor,
        quantization_channels: int
) -> Tensor:
    r"""Decode mu-law encoded signal.  For more info see the
    `Wikipedia Entry <https://en.wikipedia.org/wiki/%CE%9C-law_algorithm>`_

    This expects an input with values between 0 and quantization_channels - 1
    and returns a signal scaled between -1 and 1.

    Args:
        x_mu (Tensor): Input tensor
        quantization_channels (int): Number of channels

    Returns:
        Tensor: Input after mu-law decoding
    """
    mu = quantization_channels - 1.0
    if not x_mu.is_floating_point():
        x_mu = x_mu.to(torch.float)
    mu = torch.tensor(mu, dtype=x_mu.dtype)
    x = ((x_mu) / mu) * 2 - 1.0
    x = torch.sign(x) * (torch.exp(torch.abs(x) * torch.log1p(mu)) - 1.0) / mu
    return x


class MuLawEncoding(torch.nn.Module):
    r"""Encode signal based on mu-law companding.  For more info see the
    `Wikipedia Entry <https://en.wikipedia.org/wiki/%CE%9C-law_algorithm>`_

    This algorithm assumes the signal has been scaled to between -1 and 1 and
    returns a signal encoded with values from 0 to quantization_channels - 1

    Args:
        quantization_channels (int, optional): Number of channels. (Default: ``256``)
    """
    __constants__ = ['quantization_channels']

    def __init__(self, quantization_channels: int = 256) -> None:
        super(MuLawEncoding, self).__init__()
        self.quantization_channels = quantization_channels

    def forward(self, x: Tensor) -> Tensor:
        return mu_law_encoding(x, self.quantization_channels)  # (F.mu_law_encoding there)


# -- torchaudio/models/wavernn.py (05567d95) --

class ResBlock(nn.Module):
    r"""ResNet block based on *Efficient Neural Audio Synthesis* [:footcite:`kalchbrenner2018efficient`]."""

    def __init__(self, n_freq: int = 128) -> None:
        super().__init__()

        self.resblock_model = nn.Sequential(
            nn.Conv1d(in_channels=n_freq, out_channels=n_freq, kernel_size=1, bias=False),
            nn.BatchNorm1d(n_freq),
            nn.ReLU(inplace=True),
            nn.Conv1d(in_channels=n_freq, out_channels=n_freq, kernel_size=1, bias=False),
            nn.BatchNorm1d(n_freq)
        )

    def forward(self, specgram: Tensor) -> Tensor:
        return self.resblock_model(specgram) + specgram


class MelResNet(nn.Module):
    r"""MelResNet layer uses a stack of ResBlocks on spectrogram."""

    def __init__(self,
                 n_res_block: int = 10,
                 n_freq: int = 128,
                 n_hidden: int = 128,
                 n_output: int = 128,
                 kernel_size: int = 5) -> None:
        super().__init__()

        ResBlocks = [ResBlock(n_hidden) for _ in range(n_res_block)]

        self.melresnet_model = nn.Sequential(
            nn.Conv1d(in_channels=n_freq, out_channels=n_hidden, kernel_size=kernel_size, bias=False),
            nn.BatchNorm1d(n_hidden),
            nn.ReLU(inplace=True),
            *ResBlocks,
            nn.Conv1d(in_channels=n_hidden, out_channels=n_output, kernel_size=1)
        )

    def forward(self, specgram: Tensor) -> Tensor:
        return self.melresnet_model(specgram)


class Stretch2d(nn.Module):
    r"""Upscale the frequency and time dimensions of a spectrogram."""

    def __init__(self,
                 time_scale: int,
                 freq_scale: int) -> None:
        super().__init__()

        self.freq_scale = freq_scale
        self.time_scale = time_scale

    def forward(self, specgram: Tensor) -> Tensor:
        return specgram.repeat_interleave(self.freq_scale, -2).repeat_interleave(self.time_scale, -1)


class UpsampleNetwork(nn.Module):
    r"""Upscale the dimensions of a spectrogram."""

    def __init__(self,
                 upsample_scales: List[int],
                 n_res_block: int = 10,
                 n_freq: int = 128,
                 n_hidden: int = 128,
                 n_output: int = 128,
                 kernel_size: int = 5) -> None:
        super().__init__()

        total_scale = 1
        for upsample_scale in upsample_scales:
            total_scale *= upsample_scale
        self.total_scale: int = total_scale

        self.indent = (kernel_size - 1) // 2 * total_scale
        self.resnet = MelResNet(n_res_block, n_freq, n_hidden, n_output, kernel_size)
        self.resnet_stretch = Stretch2d(total_scale, 1)

        up_layers = []
        for scale in upsample_scales:
            stretch = Stretch2d(scale, 1)
            conv = nn.Conv2d(in_channels=1,
                             out_channels=1,
                             kernel_size=(1, scale * 2 + 1),
                             padding=(0, scale),
                             bias=False)
            # differs: `conv.weight.data.fill_(1. / (scale * 2 + 1))` -- `.data` is the read-only numpy array here
            nn.init.constant_(conv.weight, 1. / (scale * 2 + 1))
            up_layers.append(stretch)
            up_layers.append(conv)
        self.upsample_layers = nn.Sequential(*up_layers)

    def forward(self, specgram: Tensor) -> Tuple[Tensor, Tensor]:
        resnet_output = self.resnet(specgram).unsqueeze(1)
        resnet_output = self.resnet_stretch(resnet_output)
        resnet_output = resnet_output.squeeze(1)

        specgram = specgram.unsqueeze(1)
        upsampling_output = self.upsample_layers(specgram)
        upsampling_output = upsampling_output.squeeze(1)[:, :, self.indent:-self.indent]

        return upsampling_output, resnet_output


class WaveRNN(nn.Module):
    r"""WaveRNN model based on the implementation from `fatchord <https://github.com/fatchord/WaveRNN>`_."""

    def __init__(self,
                 upsample_scales: List[int],
                 n_classes: int,
                 hop_length: int,
                 n_res_block: int = 10,
                 n_rnn: int = 512,
                 n_fc: int = 512,
                 kernel_size: int = 5,
                 n_freq: int = 128,
                 n_hidden: int = 128,
                 n_output: int = 128) -> None:
        super().__init__()

        self.kernel_size = kernel_size
        self._pad = (kernel_size - 1 if kernel_size % 2 else kernel_size) // 2
        self.n_rnn = n_rnn
        self.n_aux = n_output // 4
        self.hop_length = hop_length
        self.n_classes = n_classes
        self.n_bits: int = int(math.log2(self.n_classes))

        total_scale = 1
        for upsample_scale in upsample_scales:
            total_scale *= upsample_scale
        if total_scale != self.hop_length:
            raise ValueError(f"Expected: total_scale == hop_length, but found {total_scale} != {hop_length}")

        self.upsample = UpsampleNetwork(upsample_scales,
                                        n_res_block,
                                        n_freq,
                                        n_hidden,
                                        n_output,
                                        kernel_size)
        self.fc = nn.Linear(n_freq + self.n_aux + 1, n_rnn)

        self.rnn1 = nn.GRU(n_rnn, n_rnn, batch_first=True)
        self.rnn2 = nn.GRU(n_rnn + self.n_aux, n_rnn, batch_first=True)

        self.relu1 = nn.ReLU(inplace=True)
        self.relu2 = nn.ReLU(inplace=True)

        self.fc1 = nn.Linear(n_rnn + self.n_aux, n_fc)
        self.fc2 = nn.Linear(n_fc + self.n_aux, n_fc)
        self.fc3 = nn.Linear(n_fc, self.n_classes)

    def forward(self, waveform: Tensor, specgram: Tensor) -> Tensor:
        assert waveform.size(1) == 1, 'Require the input channel of waveform is 1'
        assert specgram.size(1) == 1, 'Require the input channel of specgram is 1'
        # remove channel dimension until the end
        waveform, specgram = waveform.squeeze(1), specgram.squeeze(1)

        batch_size = waveform.size(0)
        h1 = torch.zeros(1, batch_size, self.n_rnn, dtype=waveform.dtype, device=waveform.device)
        h2 = torch.zeros(1, batch_size, self.n_rnn, dtype=waveform.dtype, device=waveform.device)
        # output of upsample:
        # specgram: (n_batch, n_freq, (n_time - kernel_size + 1) * total_scale)
        # aux: (n_batch, n_output, (n_time - kernel_size + 1) * total_scale)
        specgram, aux = self.upsample(specgram)
        specgram = specgram.transpose(1, 2)
        aux = aux.transpose(1, 2)

        aux_idx = [self.n_aux * i for i in range(5)]
        a1 = aux[:, :, aux_idx[0]:aux_idx[1]]
        a2 = aux[:, :, aux_idx[1]:aux_idx[2]]
        a3 = aux[:, :, aux_idx[2]:aux_idx[3]]
        a4 = aux[:, :, aux_idx[3]:aux_idx[4]]

        x = torch.cat([waveform.unsqueeze(-1), specgram, a1], dim=-1)
        x = self.fc(x)
        res = x
        x, _ = self.rnn1(x, h1)

        x = x + res
        res = x
        x = torch.cat([x, a2], dim=-1)
        x, _ = self.rnn2(x, h2)

        x = x + res
        x = torch.cat([x, a3], dim=-1)
        x = self.fc1(x)
        x = self.relu1(x)

        x = torch.cat([x, a4], dim=-1)
        x = self.fc2(x)
        x = self.relu2(x)
        x = self.fc3(x)

        # bring back channel dimension
        return x.unsqueeze(1)

    @torch.jit.export
    def infer(self, specgram: Tensor, lengths: Optional[Tensor] = None) -> Tuple[Tensor, Optional[Tensor]]:
        r"""Inference method of WaveRNN.

        This function currently only supports multinomial sampling, which assumes the
        network is trained on cross entropy loss.
        """

        device = specgram.device
        dtype = specgram.dtype

        specgram = torch.nn.functional.pad(specgram, (self._pad, self._pad))
        specgram, aux = self.upsample(specgram)
        if lengths is not None:
            lengths = lengths * self.upsample.total_scale

        output: List[Tensor] = []
        b_size, _, seq_len = specgram.size()

        h1 = torch.zeros((1, b_size, self.n_rnn), device=device, dtype=dtype)
        h2 = torch.zeros((1, b_size, self.n_rnn), device=device, dtype=dtype)
        x = torch.zeros((b_size, 1), device=device, dtype=dtype)

        aux_split = [aux[:, self.n_aux * i: self.n_aux * (i + 1), :] for i in range(4)]

        for i in range(seq_len):

            m_t = specgram[:, :, i]

            a1_t, a2_t, a3_t, a4_t = [a[:, :, i] for a in aux_split]

            x = torch.cat([x, m_t, a1_t], dim=1)
            x = self.fc(x)
            _, h1 = self.rnn1(x.unsqueeze(1), h1)

            x = x + h1[0]
            inp = torch.cat([x, a2_t], dim=1)
            _, h2 = self.rnn2(inp.unsqueeze(1), h2)

            x = x + h2[0]
            x = torch.cat([x, a3_t], dim=1)
            x = F.relu(self.fc1(x))

            x = torch.cat([x, a4_t], dim=1)
            x = F.relu(self.fc2(x))

            logits = self.fc3(x)

            posterior = F.softmax(logits, dim=1)

            x = torch.multinomial(posterior, 1).float()
            # Transform label [0, 2 ** n_bits - 1] to waveform [-1, 1]
            x = 2 * x / (2 ** self.n_bits - 1.0) - 1.0

            output.append(x)

        return torch.stack(output).permute(1, 2, 0), lengths


# -- examples/pipeline_wavernn/processing.py (1295d8ad) --

class NormalizeDB(nn.Module):
    r"""Normalize the spectrogram with a minimum db value
    """

    def __init__(self, min_level_db):
        super().__init__()
        self.min_level_db = min_level_db

    def forward(self, specgram):
        specgram = 20 * torch.log10(torch.clamp(specgram, min=1e-5))
        return torch.clamp((self.min_level_db - specgram) / self.min_level_db, min=0, max=1)


def encode_waveform_into_bits(waveform, bits):
    r"""Transform waveform [-1, 1] to label [0, 2 ** bits - 1]
    """

    assert abs(waveform).max() <= 1.0
    waveform = (waveform + 1.0) * (2 ** bits - 1) / 2
    return torch.clamp(waveform, 0, 2 ** bits - 1).int()


def encode_bits_into_waveform(label, bits):
    r"""Transform label [0, 2 ** bits - 1] to waveform [-1, 1]
    """

    return 2 * label / (2 ** bits - 1.0) - 1.0


# -- examples/pipeline_wavernn/utils.py (55f866ba) --

class MetricLogger:
    r"""Logger for metrics
    """

    def __init__(self, group, print_freq=1):
        self.print_freq = print_freq
        self._iter = 0
        self.data = defaultdict(lambda: collections.deque(maxlen=self.print_freq))
        self.data["group"].append(group)

    def __call__(self, key, value):
        self.data[key].append(value)

    def _get_last(self):
        return {k: v[-1] for k, v in self.data.items()}

    def __str__(self):
        return str(self._get_last())

    def print(self):
        self._iter = (self._iter + 1) % self.print_freq
        if not self._iter:
            print(self, flush=True)


def count_parameters(model):
    r"""Count the total parameters in the model
    """

    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def mulaw_encode(waveform, mu):
    r"""mulaw encode waveform
    """

    mu = mu - 1
    fx = (
        torch.sign(waveform)
        * torch.log(1 + mu * torch.abs(waveform))
        / torch.log(torch.as_tensor(1.0 + mu))
    )
    return torch.floor((fx + 1) / 2 * mu + 0.5).int()


def waveform_to_label(waveform, bits):
    r"""Transform waveform [-1, 1] to label [0, 2 ** bits - 1]
    """

    assert abs(waveform).max() <= 1.0
    waveform = (waveform + 1.0) * (2 ** bits - 1) / 2
    return torch.clamp(waveform, 0, 2 ** bits - 1).int()


def label_to_waveform(label, bits):
    r"""Transform label [0, 2 ** bits - 1] to waveform [-1, 1]
    """

    return 2 * label / (2 ** bits - 1.0) - 1.0


# -- examples/pipeline_wavernn/datasets.py (1295d8ad) --

def collate_factory(args):
    def raw_collate(batch):

        pad = (args.kernel_size - 1) // 2

        # input waveform length
        wave_length = args.hop_length * args.seq_len_factor
        # input spectrogram length
        spec_length = args.seq_len_factor + pad * 2

        # max start postion in spectrogram
        max_offsets = [x[1].shape[-1] - (spec_length + pad * 2) for x in batch]

        # random start postion in spectrogram
        spec_offsets = [random.randint(0, offset) for offset in max_offsets]
        # random start postion in waveform
        wave_offsets = [(offset + pad) * args.hop_length for offset in spec_offsets]

        waveform_combine = [
            x[0][wave_offsets[i]: wave_offsets[i] + wave_length + 1]
            for i, x in enumerate(batch)
        ]
        specgram = [
            x[1][:, spec_offsets[i]: spec_offsets[i] + spec_length]
            for i, x in enumerate(batch)
        ]

        specgram = torch.stack(specgram)
        waveform_combine = torch.stack(waveform_combine)

        waveform = waveform_combine[:, :wave_length]
        target = waveform_combine[:, 1:]

        # waveform: [-1, 1], target: [0, 2**bits-1] if mode = 'waveform'
        if args.mode == "waveform":

            if args.mulaw:
                mulaw_encode = MuLawEncoding(2 ** args.n_bits)
                waveform = mulaw_encode(waveform)
                target = mulaw_encode(target)

                # differs: label_to_waveform is not imported at this commit (a NameError in PyTorch too): utils.py's
                waveform = label_to_waveform(waveform, args.n_bits)

            else:
                target = waveform_to_label(target, args.n_bits)  # differs: from utils.py, as label_to_waveform

        return waveform.unsqueeze(1), specgram.unsqueeze(1), target.unsqueeze(1)

    return raw_collate


# -- examples/pipeline_wavernn/losses.py (0df67b72) --

class LongCrossEntropyLoss(torch.nn.Module):
    r""" CrossEntropy loss
    """

    def __init__(self):
        super(LongCrossEntropyLoss, self).__init__()

    def forward(self, output, target):
        output = output.transpose(1, 2)
        target = target.long()

        criterion = nn.CrossEntropyLoss()
        return criterion(output, target)


class MoLLoss(torch.nn.Module):
    r""" Discretized mixture of logistic distributions loss (the source's docstring shortened here)"""

    def __init__(self, num_classes=65536, log_scale_min=None, reduce=True):
        super(MoLLoss, self).__init__()
        self.num_classes = num_classes
        self.log_scale_min = log_scale_min
        self.reduce = reduce

    def forward(self, y_hat, y):
        y = y.unsqueeze(-1)

        if self.log_scale_min is None:
            self.log_scale_min = math.log(1e-14)

        assert y_hat.dim() == 3
        assert y_hat.size(-1) % 3 == 0

        nr_mix = y_hat.size(-1) // 3

        # unpack parameters (n_batch, n_time, num_mixtures) x 3
        logit_probs = y_hat[:, :, :nr_mix]
        means = y_hat[:, :, nr_mix: 2 * nr_mix]
        log_scales = torch.clamp(
            y_hat[:, :, 2 * nr_mix: 3 * nr_mix], min=self.log_scale_min
        )

        # (n_batch x n_time x 1) to (n_batch x n_time x num_mixtures)
        y = y.expand_as(means)

        centered_y = y - means
        inv_stdv = torch.exp(-log_scales)
        plus_in = inv_stdv * (centered_y + 1.0 / (self.num_classes - 1))
        cdf_plus = torch.sigmoid(plus_in)
        min_in = inv_stdv * (centered_y - 1.0 / (self.num_classes - 1))
        cdf_min = torch.sigmoid(min_in)

        # log probability for edge case of 0 (before scaling)
        # equivalent: torch.log(F.sigmoid(plus_in))
        log_cdf_plus = plus_in - F.softplus(plus_in)

        # log probability for edge case of 255 (before scaling)
        # equivalent: (1 - F.sigmoid(min_in)).log()
        log_one_minus_cdf_min = -F.softplus(min_in)

        # probability for all other cases
        cdf_delta = cdf_plus - cdf_min

        mid_in = inv_stdv * centered_y
        # log probability in the center of the bin, to be used in extreme cases
        log_pdf_mid = mid_in - log_scales - 2.0 * F.softplus(mid_in)

        inner_inner_cond = (cdf_delta > 1e-5).float()

        inner_inner_out = inner_inner_cond * torch.log(
            torch.clamp(cdf_delta, min=1e-12)
        ) + (1.0 - inner_inner_cond) * (
            log_pdf_mid - math.log((self.num_classes - 1) / 2)
        )
        inner_cond = (y > 0.999).float()
        inner_out = (
            inner_cond * log_one_minus_cdf_min + (1.0 - inner_cond) * inner_inner_out
        )
        cond = (y < -0.999).float()
        log_probs = cond * log_cdf_plus + (1.0 - cond) * inner_out

        log_probs = log_probs + F.log_softmax(logit_probs, -1)

        if self.reduce:
            return -torch.mean(log_sum_exp(log_probs))  # noqa: F821 (the source's name; it defines _log_sum_exp)
        else:
            return -log_sum_exp(log_probs).unsqueeze(-1)  # noqa: F821


def _log_sum_exp(x):
    r""" Numerically stable log_sum_exp implementation that prevents overflow
    """

    axis = len(x.size()) - 1
    m, _ = torch.max(x, dim=axis)
    m2, _ = torch.max(x, dim=axis, keepdim=True)
    return m + torch.log(torch.sum(torch.exp(x - m2), dim=axis))


# -- examples/pipeline_wavernn/main.py (0b944b49): train_one_epoch and evaluate --

def bg_iterator(iterable, maxsize):
    """torchaudio.datasets.utils.bg_iterator (stand-in): the same items, without the background thread."""
    yield from iterable


def pipeline_main(args):
    """main.py's train_one_epoch and evaluate, which read the script's global `args` (here the argument)."""

    def train_one_epoch(model, mode, criterion, optimizer, data_loader, device, epoch):

        model.train()

        sums = defaultdict(lambda: 0.0)
        start1 = time()

        metric = MetricLogger("train_iteration")
        metric("epoch", epoch)

        for waveform, specgram, target in bg_iterator(data_loader, maxsize=2):

            start2 = time()

            waveform = waveform.to(device)
            specgram = specgram.to(device)
            target = target.to(device)

            output = model(waveform, specgram)
            output, target = output.squeeze(1), target.squeeze(1)

            if mode == "waveform":
                output = output.transpose(1, 2)
                target = target.long()

            else:
                # use mol mode
                target = target.unsqueeze(-1)

            loss = criterion(output, target)
            loss_item = loss.item()
            sums["loss"] += loss_item
            metric("loss", loss_item)

            optimizer.zero_grad()
            loss.backward()

            if args.clip_grad > 0:
                gradient = torch.nn.utils.clip_grad_norm_(
                    model.parameters(), args.clip_grad
                )
                sums["gradient"] += gradient
                metric("gradient", gradient.item())

            optimizer.step()

            metric("iteration", sums["iteration"])
            metric("time", time() - start2)
            metric.print()
            sums["iteration"] += 1

        avg_loss = sums["loss"] / len(data_loader)

        metric = MetricLogger("train_epoch")
        metric("epoch", epoch)
        metric("loss", avg_loss)
        metric("gradient", sums["gradient"] / len(data_loader))
        metric("time", time() - start1)
        metric.print()
        return avg_loss  # (added: the epoch's loss, to test)

    def evaluate(model, mode, criterion, data_loader, device, epoch):

        with torch.no_grad():

            model.eval()
            sums = defaultdict(lambda: 0.0)
            start = time()

            for waveform, specgram, target in bg_iterator(data_loader, maxsize=2):

                waveform = waveform.to(device)
                specgram = specgram.to(device)
                target = target.to(device)

                output = model(waveform, specgram)

                if mode == "waveform":
                    output = output.transpose(1, 2)
                    target = target.long()

                else:
                    # use mol mode
                    target = target.unsqueeze(-1)

                loss = criterion(output, target)
                sums["loss"] += loss.item()

            avg_loss = sums["loss"] / len(data_loader)

            metric = MetricLogger("validation")
            metric("epoch", epoch)
            metric("loss", avg_loss)
            metric("time", time() - start)
            metric.print()

            return avg_loss

    return train_one_epoch, evaluate


def np_mu_law(x, q):
    mu = q - 1.0
    return ((np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu) + 1) / 2 * mu + 0.5).astype(np.int64)


def np_bn_eval(x, sd, prefix):
    """BatchNorm1d in eval mode over (N, C, L): (x - running_mean) / sqrt(running_var + 1e-5) * weight + bias."""
    g = lambda k: arr(sd[prefix + k])[None, :, None]  # noqa: E731
    return (x - g("running_mean")) / np.sqrt(g("running_var") + 1e-5) * g("weight") + g("bias")


def np_melresnet(sd, x, n_res_block):
    pre = "upsample.resnet.melresnet_model."
    x = np.maximum(np_bn_eval(np_conv1d(x, arr(sd[pre + "0.weight"])), sd, pre + "1."), 0)
    for r in range(n_res_block):
        blk = f"{pre}{3 + r}.resblock_model."
        y = np.maximum(np_bn_eval(np_conv1d(x, arr(sd[blk + "0.weight"])), sd, blk + "1."), 0)
        x = np_bn_eval(np_conv1d(y, arr(sd[blk + "3.weight"])), sd, blk + "4.") + x
    last = f"{pre}{3 + n_res_block}."
    return np_conv1d(x, arr(sd[last + "weight"]), arr(sd[last + "bias"]))


def np_upsample(sd, spec, scales, kernel_size, n_res_block):
    """UpsampleNetwork in numpy (eval mode): the stretched MelResNet output and the moving-averaged spectrogram."""
    total = int(np.prod(scales))
    aux = np.repeat(np_melresnet(sd, spec, n_res_block), total, axis=-1)
    up = spec
    for i, s in enumerate(scales):
        up = np.repeat(up, s, axis=-1)
        w = arr(sd[f"upsample.upsample_layers.{2 * i + 1}.weight"])[0, 0, 0]
        padded = np.pad(up, ((0, 0), (0, 0), (s, s)))
        up = sum(w[k] * padded[:, :, k:k + up.shape[-1]] for k in range(2 * s + 1))
    indent = (kernel_size - 1) // 2 * total
    return up[:, :, indent:-indent], aux


def np_wavernn_step(sd, x, m, a, h1, h2):
    """One time step of WaveRNN's body: fc, two GRUs with residuals, fc1, fc2, fc3 (the logits)."""
    W = lambda k: arr(sd[k])  # noqa: E731
    x = np.concatenate([x, m, a[0]], axis=1) @ W("fc.weight").T + W("fc.bias")
    h1 = np_gru_cell(x, h1, W("rnn1.weight_ih_l0"), W("rnn1.weight_hh_l0"), W("rnn1.bias_ih_l0"), W("rnn1.bias_hh_l0"))
    x = x + h1
    h2 = np_gru_cell(np.concatenate([x, a[1]], axis=1), h2, W("rnn2.weight_ih_l0"), W("rnn2.weight_hh_l0"),
                     W("rnn2.bias_ih_l0"), W("rnn2.bias_hh_l0"))
    x = x + h2
    x = np.maximum(np.concatenate([x, a[2]], axis=1) @ W("fc1.weight").T + W("fc1.bias"), 0)
    x = np.maximum(np.concatenate([x, a[3]], axis=1) @ W("fc2.weight").T + W("fc2.bias"), 0)
    return x @ W("fc3.weight").T + W("fc3.bias"), h1, h2


WAVERNN_SIZES = dict(upsample_scales=[2, 2], n_classes=16, hop_length=4, n_res_block=1, n_rnn=6, n_fc=6,
                     kernel_size=3, n_freq=4, n_hidden=4, n_output=8)


def small_wavernn():
    model = WaveRNN(**WAVERNN_SIZES)
    model.eval()
    return model


def test_mu_law_encoding_and_decoding_against_numpy(float64):
    x = np.concatenate([np.linspace(-1, 1, 41), [0.0, 1e-4, -0.37]])
    codes = mu_law_encoding(torch.tensor(x), 256)
    assert codes.dtype == torch.int64
    np.testing.assert_array_equal(arr(codes), np_mu_law(x, 256))
    decoded = mu_law_decoding(codes, 256)
    assert decoded.dtype == torch.float32           # int64 codes decode in the default float dtype: float here
    y = arr(codes) / 255 * 2 - 1
    expected = np.sign(y) * np.expm1(np.abs(y) * np.log1p(255.0)) / 255
    np.testing.assert_allclose(arr(decoded), expected, rtol=1e-6, atol=1e-7)
    assert np.max(np.abs(arr(decoded) - x)) < 0.02                                     # quantisation error
    # utils.py's mulaw_encode (floor, int32) agrees with torchaudio's (truncation, int64) on [-1, 1]
    ours = mulaw_encode(torch.tensor(x), 256)
    assert ours.dtype == torch.int32
    np.testing.assert_array_equal(arr(ours), np_mu_law(x, 256))
    # an integer input is converted first, as the source's `x.to(torch.float)`
    np.testing.assert_array_equal(arr(mu_law_encoding(torch.tensor([0, 1, -1]), 256)), [128, 255, 0])


def test_mu_law_companding_gradient_against_the_closed_form(float64):
    x = torch.tensor([-0.8, -0.05, 0.02, 0.3, 0.9], requires_grad=True)
    mu = torch.tensor(255.0)
    x_mu = torch.sign(x) * torch.log1p(mu * torch.abs(x)) / torch.log1p(mu)   # the source's line, before the cast
    x_mu.sum().backward()
    xs = arr(x)
    np.testing.assert_allclose(arr(x.grad), 255 / ((1 + 255 * np.abs(xs)) * np.log1p(255)), rtol=1e-10)
    f = lambda v: np.sum(np.sign(v) * np.log1p(255 * np.abs(v)) / np.log1p(255))  # noqa: E731
    np.testing.assert_allclose(arr(x.grad), central(f, xs, range(5)), rtol=1e-6)


def test_bits_and_normalize_db_against_numpy():
    wave = torch.tensor([-1.0, -0.5, 0.0, 0.26, 1.0])
    bits = encode_waveform_into_bits(wave, 4)
    assert bits.dtype == torch.int32
    np.testing.assert_array_equal(arr(bits), np.clip((arr(wave) + 1) * 15 / 2, 0, 15).astype(np.int32))
    np.testing.assert_allclose(arr(encode_bits_into_waveform(bits, 4)), 2 * arr(bits) / 15 - 1, rtol=1e-6)
    np.testing.assert_array_equal(arr(waveform_to_label(wave, 4)), arr(bits))
    with pytest.raises(AssertionError):
        encode_waveform_into_bits(torch.tensor([0.5, 1.5]), 4)      # the source's `assert abs(waveform).max() <= 1`
    spec = np.array([[1e-7, 0.01, 0.5], [1.0, 3.0, 1e-3]])
    db = 20 * np.log10(np.clip(spec, 1e-5, None))
    np.testing.assert_allclose(arr(NormalizeDB(-100)(torch.tensor(spec, dtype=torch.float32))),
                               np.clip((-100 - db) / -100, 0, 1), rtol=1e-5, atol=1e-6)


def test_wavernn_upsample_network_against_numpy(float64):
    model = small_wavernn()
    spec = np.random.default_rng(0).random((2, 4, 7))
    up, aux = model.upsample(torch.tensor(spec))
    up_np, aux_np = np_upsample(model.state_dict(), spec, [2, 2], 3, 1)
    assert up.shape == (2, 4, 20) and aux.shape == (2, 8, 20)     # (7 - 3 + 1) * 4 steps
    np.testing.assert_allclose(arr(up), up_np, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(arr(aux), aux_np, rtol=1e-10, atol=1e-12)
    stretched = Stretch2d(time_scale=3, freq_scale=2)(torch.tensor(spec))
    np.testing.assert_array_equal(arr(stretched), np.repeat(np.repeat(spec, 2, axis=-2), 3, axis=-1))
    with pytest.raises(ValueError, match="total_scale == hop_length"):
        WaveRNN(**{**WAVERNN_SIZES, "hop_length": 5})


def test_wavernn_forward_against_numpy(float64):
    model = small_wavernn()
    rng = np.random.default_rng(1)
    spec, wave = rng.random((2, 4, 7)), rng.uniform(-1, 1, (2, 20))
    out = model(torch.tensor(wave[:, None]), torch.tensor(spec[:, None]))
    assert out.shape == (2, 1, 20, 16)
    sd = model.state_dict()
    up, aux = np_upsample(sd, spec, [2, 2], 3, 1)
    a = [aux[:, 2 * k:2 * k + 2] for k in range(4)]
    h1, h2, logits = np.zeros((2, 6)), np.zeros((2, 6)), []
    for t in range(20):
        step, h1, h2 = np_wavernn_step(sd, wave[:, t:t + 1], up[:, :, t], [ak[:, :, t] for ak in a], h1, h2)
        logits.append(step)
    np.testing.assert_allclose(arr(out)[:, 0], np.stack(logits, axis=1), rtol=1e-9, atol=1e-11)


def test_wavernn_infer_feeds_each_sample_back_through_the_carried_states():
    model = small_wavernn()
    with torch.no_grad():  # logits x 1000: the softmax all but one-hot, so each multinomial draw is the argmax
        model.fc3.weight.mul_(1000.0)
        model.fc3.bias.mul_(1000.0)
    spec = np.random.default_rng(2).random((2, 4, 3)).astype(np.float32)
    out, lengths = model.infer(torch.tensor(spec), torch.tensor([3, 2]))
    assert out.shape == (2, 1, 12) and arr(lengths).tolist() == [12, 8]
    sd = {k: arr(v) for k, v in model.state_dict().items()}
    up, aux = np_upsample(sd, np.pad(spec.astype(np.float64), ((0, 0), (0, 0), (1, 1))), [2, 2], 3, 1)
    a = [aux[:, 2 * k:2 * k + 2] for k in range(4)]

    def np_infer(carry):
        x, h1, h2, samples = np.zeros((2, 1)), np.zeros((2, 6)), np.zeros((2, 6)), []
        for t in range(12):
            if not carry:
                h1, h2 = np.zeros((2, 6)), np.zeros((2, 6))
            logits, h1, h2 = np_wavernn_step(sd, x, up[:, :, t], [ak[:, :, t] for ak in a], h1, h2)
            x = 2 * np.argmax(logits, axis=1)[:, None] / 15.0 - 1.0
            samples.append(x[:, 0])
        return np.stack(samples, axis=1)

    np.testing.assert_allclose(arr(out)[:, 0], np_infer(carry=True), rtol=1e-6)
    assert not np.allclose(np_infer(carry=False), np_infer(carry=True))    # the carried states matter


def made_up_clips(n, length, n_freq, hop, seed):
    """Made-up clips: a sine whose frequency and amplitude change per clip, in [-1, 1], and a spectrogram-like
    (n_freq, length // hop) array of its frame energies at made-up bands."""
    rng = np.random.default_rng(seed)
    clips = []
    for _ in range(n):
        t = np.arange(length)
        wave = rng.uniform(0.4, 0.9) * np.sin(2 * np.pi * rng.uniform(0.02, 0.06) * t + rng.uniform(0, 6))
        frames = wave[: length // hop * hop].reshape(-1, hop)
        spec = np.stack([np.abs(frames).mean(1) * (k + 1) / n_freq for k in range(n_freq)])
        clips.append((torch.tensor(wave, dtype=torch.float32), torch.tensor(spec, dtype=torch.float32)))
    return clips


PIPELINE_ARGS = dict(kernel_size=3, hop_length=4, seq_len_factor=5, mode="waveform", mulaw=True, n_bits=4,
                     clip_grad=4.0)


def test_wavernn_collate_cuts_aligned_windows_and_mu_law_codes():
    args = types.SimpleNamespace(**PIPELINE_ARGS)
    clips = made_up_clips(3, 64, 4, 4, 3)
    random.seed(4)
    waveform, specgram, target = collate_factory(args)(clips)
    random.seed(4)
    offsets = [random.randint(0, 16 - (5 + 2 + 2)) for _ in clips]       # 16 frames, spec_length 7, pad 1
    assert waveform.shape == (3, 1, 20) and specgram.shape == (3, 1, 4, 7) and target.shape == (3, 1, 20)
    for i, (wave, spec) in enumerate(clips):
        start = (offsets[i] + 1) * 4
        window = arr(wave)[start:start + 21]
        np.testing.assert_array_equal(arr(target)[i, 0], np_mu_law(window[1:].astype(np.float32), 16))
        np.testing.assert_allclose(arr(waveform)[i, 0], 2 * np_mu_law(window[:-1].astype(np.float32), 16) / 15 - 1,
                                   rtol=1e-6)
        np.testing.assert_array_equal(arr(specgram)[i, 0], arr(spec)[:, offsets[i]:offsets[i] + 7])


def test_wavernn_long_cross_entropy_over_time_against_numpy(float64):
    output = np.random.default_rng(5).normal(size=(2, 6, 16))
    target = np.random.default_rng(6).integers(0, 16, (2, 6))
    loss = LongCrossEntropyLoss()(torch.tensor(output), torch.tensor(target, dtype=torch.int32))
    assert float(loss) == pytest.approx(np_ce(output.reshape(-1, 16), target.reshape(-1)), rel=1e-10)


def test_wavernn_train_one_epoch_lowers_the_loss_and_logs_the_norms_clip_grad_norm_returns(capsys):
    args = types.SimpleNamespace(**PIPELINE_ARGS)
    train_one_epoch, evaluate = pipeline_main(args)
    loader = DataLoaderBase(made_up_clips(8, 64, 4, 4, 7), batch_size=4, shuffle=True,
                            collate_fn=collate_factory(args), drop_last=False)
    model = WaveRNN(**WAVERNN_SIZES)
    optimizer = Adam(model.parameters(), lr=1e-2)
    losses = [train_one_epoch(model, "waveform", nn.CrossEntropyLoss(), optimizer, loader, "cpu", e)
              for e in range(25)]
    assert losses[0] > 2.0 and np.mean(losses[-3:]) < 0.6 * losses[0]
    printed = capsys.readouterr().out
    assert printed.count("'group': 'train_epoch'") == 25 and printed.count("'group': 'train_iteration'") == 50
    assert count_parameters(model) == sum(p.size for p in params_of(model).values())
    with pytest.raises(ValueError, match="target"):   # evaluate leaves the channel axis in: a shape error, as there
        evaluate(model, "waveform", nn.CrossEntropyLoss(), loader, "cpu", 0)


def test_clip_grad_norm_returns_the_total_norm_before_clipping(float64):
    model = WaveRNN(**WAVERNN_SIZES)
    rng = np.random.default_rng(8)
    out = model(torch.tensor(rng.uniform(-1, 1, (2, 1, 20))), torch.tensor(rng.random((2, 1, 4, 7))))
    (out ** 2).sum().backward()
    grads = {name: p.grad.copy() for name, p in model.named_parameters()}
    total = np.sqrt(sum(np.sum(g ** 2) for g in grads.values()))
    assert total > 4.0
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 4.0)
    assert float(norm) == pytest.approx(total, rel=1e-10)
    sums = defaultdict(lambda: 0.0)
    sums["gradient"] += norm                                   # main.py's running sum, a tensor from here on
    assert isinstance(sums["gradient"], Tensor) and float(sums["gradient"]) == pytest.approx(total)
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad, grads[name] * 4.0 / (total + 1e-6), rtol=1e-10, err_msg=name)


def test_mol_loss_as_written_calls_a_name_its_file_does_not_define():
    y_hat = torch.randn(2, 5, 6)
    with pytest.raises(NameError, match="log_sum_exp"):
        MoLLoss()(y_hat, torch.rand(2, 5) * 2 - 1)
    x = np.random.default_rng(9).normal(size=(2, 5, 3))     # the helper it defines is logsumexp over the last axis
    np.testing.assert_allclose(arr(_log_sum_exp(torch.tensor(x))), np.log(np.exp(x).sum(-1)), rtol=1e-5)


# ==== 4. deepsound-project/samplernn-pytorch: model.py, nn.py, utils.py, optim.py, trainer, dataset.py ===============
# differs (imports): the repo's own modules `nn` and `utils` are the namespaces `samplernn_nn` and `samplernn_utils`
# here (`nn` is microgradseq.nn, as torch.nn is inside nn.py itself).

# -- nn.py --

class LearnedUpsampling1d(nn.Module):

    def __init__(self, in_channels, out_channels, kernel_size, bias=True):
        super().__init__()

        self.conv_t = nn.ConvTranspose1d(
            in_channels=in_channels,
            out_channels=out_channels,
            kernel_size=kernel_size,
            stride=kernel_size,
            bias=False
        )

        if bias:
            self.bias = nn.Parameter(
                torch.FloatTensor(out_channels, kernel_size)
            )
        else:
            self.register_parameter('bias', None)

        self.reset_parameters()

    def reset_parameters(self):
        self.conv_t.reset_parameters()
        nn.init.constant(self.bias, 0)

    def forward(self, input):
        (batch_size, _, length) = input.size()
        (kernel_size,) = self.conv_t.kernel_size
        bias = self.bias.unsqueeze(0).unsqueeze(2).expand(
            batch_size, self.conv_t.out_channels,
            length, kernel_size
        ).contiguous().view(
            batch_size, self.conv_t.out_channels,
            length * kernel_size
        )
        return self.conv_t(input) + bias


def lecun_uniform(tensor):
    fan_in = nn.init._calculate_correct_fan(tensor, 'fan_in')
    nn.init.uniform(tensor, -math.sqrt(3 / fan_in), math.sqrt(3 / fan_in))


def concat_init(tensor, inits):
    # differs: `tensor = tensor.data` (in a try) is left out: `.data` is the read-only numpy array here, whose
    # `size` is a number; the parameter itself is written, under torch.no_grad() below
    (length, fan_out) = tensor.size()
    fan_in = length // len(inits)

    chunk = tensor.new(fan_in, fan_out)
    for (i, init) in enumerate(inits):
        init(chunk)
        with torch.no_grad():  # differs: (see above) PyTorch writes into `.data`, outside the graph
            tensor[i * fan_in: (i + 1) * fan_in, :] = chunk


def sequence_nll_loss_bits(input, target, *args, **kwargs):
    (_, _, n_classes) = input.size()
    return nn.functional.nll_loss(
        input.view(-1, n_classes), target.view(-1), *args, **kwargs
    ) * math.log(math.e, 2)


samplernn_nn = types.SimpleNamespace(LearnedUpsampling1d=LearnedUpsampling1d, lecun_uniform=lecun_uniform,
                                     concat_init=concat_init, sequence_nll_loss_bits=sequence_nll_loss_bits)


# -- utils.py --

EPSILON = 1e-5


def linear_quantize(samples, q_levels):
    samples = samples.clone()
    samples -= samples.min(dim=-1)[0].expand_as(samples)
    samples /= samples.max(dim=-1)[0].expand_as(samples)
    samples *= q_levels - EPSILON
    samples += EPSILON / 2
    return samples.long()


def linear_dequantize(samples, q_levels):
    return samples.float() / (q_levels / 2) - 1


def q_zero(q_levels):
    return q_levels // 2


samplernn_utils = types.SimpleNamespace(linear_quantize=linear_quantize, linear_dequantize=linear_dequantize,
                                        q_zero=q_zero)


# -- model.py --

class SampleRNN(torch.nn.Module):

    def __init__(self, frame_sizes, n_rnn, dim, learn_h0, q_levels):
        super().__init__()

        self.dim = dim
        self.q_levels = q_levels

        ns_frame_samples = map(int, np.cumprod(frame_sizes))
        self.frame_level_rnns = torch.nn.ModuleList([
            FrameLevelRNN(
                frame_size, n_frame_samples, n_rnn, dim, learn_h0
            )
            for (frame_size, n_frame_samples) in zip(
                frame_sizes, ns_frame_samples
            )
        ])

        self.sample_level_mlp = SampleLevelMLP(frame_sizes[0], dim, q_levels)

    @property
    def lookback(self):
        return self.frame_level_rnns[-1].n_frame_samples


class FrameLevelRNN(torch.nn.Module):

    def __init__(self, frame_size, n_frame_samples, n_rnn, dim,
                 learn_h0):
        super().__init__()

        self.frame_size = frame_size
        self.n_frame_samples = n_frame_samples
        self.dim = dim

        h0 = torch.zeros(n_rnn, dim)
        if learn_h0:
            self.h0 = torch.nn.Parameter(h0)
        else:
            self.register_buffer('h0', torch.autograd.Variable(h0))

        self.input_expand = torch.nn.Conv1d(
            in_channels=n_frame_samples,
            out_channels=dim,
            kernel_size=1
        )
        init.kaiming_uniform(self.input_expand.weight)
        init.constant(self.input_expand.bias, 0)

        self.rnn = torch.nn.GRU(
            input_size=dim,
            hidden_size=dim,
            num_layers=n_rnn,
            batch_first=True
        )
        for i in range(n_rnn):
            samplernn_nn.concat_init(
                getattr(self.rnn, 'weight_ih_l{}'.format(i)),
                [samplernn_nn.lecun_uniform, samplernn_nn.lecun_uniform, samplernn_nn.lecun_uniform]
            )
            init.constant(getattr(self.rnn, 'bias_ih_l{}'.format(i)), 0)

            samplernn_nn.concat_init(
                getattr(self.rnn, 'weight_hh_l{}'.format(i)),
                [samplernn_nn.lecun_uniform, samplernn_nn.lecun_uniform, init.orthogonal]
            )
            init.constant(getattr(self.rnn, 'bias_hh_l{}'.format(i)), 0)

        self.upsampling = samplernn_nn.LearnedUpsampling1d(
            in_channels=dim,
            out_channels=dim,
            kernel_size=frame_size
        )
        init.uniform(
            self.upsampling.conv_t.weight, -np.sqrt(6 / dim), np.sqrt(6 / dim)
        )
        init.constant(self.upsampling.bias, 0)

    def forward(self, prev_samples, upper_tier_conditioning, hidden):
        (batch_size, _, _) = prev_samples.size()

        input = self.input_expand(
          prev_samples.permute(0, 2, 1)
        ).permute(0, 2, 1)
        if upper_tier_conditioning is not None:
            input += upper_tier_conditioning

        reset = hidden is None  # noqa: F841 (the source's)

        if hidden is None:
            (n_rnn, _) = self.h0.size()
            hidden = self.h0.unsqueeze(1) \
                            .expand(n_rnn, batch_size, self.dim) \
                            .contiguous()

        (output, hidden) = self.rnn(input, hidden)

        output = self.upsampling(
            output.permute(0, 2, 1)
        ).permute(0, 2, 1)
        return (output, hidden)


class SampleLevelMLP(torch.nn.Module):

    def __init__(self, frame_size, dim, q_levels):
        super().__init__()

        self.q_levels = q_levels

        self.embedding = torch.nn.Embedding(
            self.q_levels,
            self.q_levels
        )

        self.input = torch.nn.Conv1d(
            in_channels=q_levels,
            out_channels=dim,
            kernel_size=frame_size,
            bias=False
        )
        init.kaiming_uniform(self.input.weight)

        self.hidden = torch.nn.Conv1d(
            in_channels=dim,
            out_channels=dim,
            kernel_size=1
        )
        init.kaiming_uniform(self.hidden.weight)
        init.constant(self.hidden.bias, 0)

        self.output = torch.nn.Conv1d(
            in_channels=dim,
            out_channels=q_levels,
            kernel_size=1
        )
        samplernn_nn.lecun_uniform(self.output.weight)
        init.constant(self.output.bias, 0)

    def forward(self, prev_samples, upper_tier_conditioning):
        (batch_size, _, _) = upper_tier_conditioning.size()

        prev_samples = self.embedding(
            prev_samples.contiguous().view(-1)
        ).view(
            batch_size, -1, self.q_levels
        )

        prev_samples = prev_samples.permute(0, 2, 1)
        upper_tier_conditioning = upper_tier_conditioning.permute(0, 2, 1)

        x = F.relu(self.input(prev_samples) + upper_tier_conditioning)
        x = F.relu(self.hidden(x))
        x = self.output(x).permute(0, 2, 1).contiguous()

        return F.log_softmax(x.view(-1, self.q_levels)) \
                .view(batch_size, -1, self.q_levels)


class Runner:

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.reset_hidden_states()

    def reset_hidden_states(self):
        self.hidden_states = {rnn: None for rnn in self.model.frame_level_rnns}

    def run_rnn(self, rnn, prev_samples, upper_tier_conditioning):
        (output, new_hidden) = rnn(
            prev_samples, upper_tier_conditioning, self.hidden_states[rnn]
        )
        self.hidden_states[rnn] = new_hidden.detach()
        return output


class Predictor(Runner, torch.nn.Module):

    def __init__(self, model):
        super().__init__(model)

    def forward(self, input_sequences, reset):
        if reset:
            self.reset_hidden_states()

        (batch_size, _) = input_sequences.size()

        upper_tier_conditioning = None
        for rnn in reversed(self.model.frame_level_rnns):
            from_index = self.model.lookback - rnn.n_frame_samples
            to_index = -rnn.n_frame_samples + 1
            prev_samples = 2 * samplernn_utils.linear_dequantize(
                input_sequences[:, from_index: to_index],
                self.model.q_levels
            )
            prev_samples = prev_samples.contiguous().view(
                batch_size, -1, rnn.n_frame_samples
            )

            upper_tier_conditioning = self.run_rnn(
                rnn, prev_samples, upper_tier_conditioning
            )

        bottom_frame_size = self.model.frame_level_rnns[0].frame_size
        mlp_input_sequences = input_sequences \
            [:, self.model.lookback - bottom_frame_size:]  # noqa: E211 (the source's layout)

        return self.model.sample_level_mlp(
            mlp_input_sequences, upper_tier_conditioning
        )


class Generator(Runner):

    def __init__(self, model, cuda=False):
        super().__init__(model)
        self.cuda = cuda

    def __call__(self, n_seqs, seq_len):
        # generation doesn't work with CUDNN for some reason
        torch.backends.cudnn.enabled = False

        self.reset_hidden_states()

        bottom_frame_size = self.model.frame_level_rnns[0].n_frame_samples
        sequences = torch.LongTensor(n_seqs, self.model.lookback + seq_len) \
                         .fill_(samplernn_utils.q_zero(self.model.q_levels))
        frame_level_outputs = [None for _ in self.model.frame_level_rnns]

        for i in range(self.model.lookback, self.model.lookback + seq_len):
            for (tier_index, rnn) in \
                    reversed(list(enumerate(self.model.frame_level_rnns))):
                if i % rnn.n_frame_samples != 0:
                    continue

                prev_samples = torch.autograd.Variable(
                    2 * samplernn_utils.linear_dequantize(
                        sequences[:, i - rnn.n_frame_samples: i],
                        self.model.q_levels
                    ).unsqueeze(1),
                    volatile=True
                )
                if self.cuda:
                    prev_samples = prev_samples.cuda()

                if tier_index == len(self.model.frame_level_rnns) - 1:
                    upper_tier_conditioning = None
                else:
                    frame_index = (i // rnn.n_frame_samples) % \
                        self.model.frame_level_rnns[tier_index + 1].frame_size
                    upper_tier_conditioning = \
                        frame_level_outputs[tier_index + 1][:, frame_index, :] \
                                           .unsqueeze(1)

                frame_level_outputs[tier_index] = self.run_rnn(
                    rnn, prev_samples, upper_tier_conditioning
                )

            prev_samples = torch.autograd.Variable(
                sequences[:, i - bottom_frame_size: i],
                volatile=True
            )
            if self.cuda:
                prev_samples = prev_samples.cuda()
            upper_tier_conditioning = \
                frame_level_outputs[0][:, i % bottom_frame_size, :] \
                                      .unsqueeze(1)
            sample_dist = self.model.sample_level_mlp(
                prev_samples, upper_tier_conditioning
            ).squeeze(1).exp_().detach()  # differs: `.data` (the read-only numpy array here) is `.detach()`
            sequences[:, i] = sample_dist.multinomial(1).squeeze(1)

        torch.backends.cudnn.enabled = True

        return sequences[:, self.model.lookback:]


# -- optim.py --

def gradient_clipping(optimizer, min=-1, max=1):

    class OptimizerWrapper(object):

        def step(self, closure):
            def closure_wrapper():
                loss = closure()
                for group in optimizer.param_groups:
                    for p in group['params']:
                        F.hardtanh(p.grad, min, max, inplace=True)  # (`from torch.nn.functional import hardtanh`)
                return loss

            return optimizer.step(closure_wrapper)

        def __getattr__(self, attr):
            return getattr(optimizer, attr)

    return OptimizerWrapper()


# -- trainer/__init__.py (plugins registered by train.py are left out; with none the queues stay empty) --

class Trainer(object):

    def __init__(self, model, criterion, optimizer, dataset, cuda=False):
        self.model = model
        self.criterion = criterion
        self.optimizer = optimizer
        self.dataset = dataset
        self.cuda = cuda
        self.iterations = 0
        self.epochs = 0
        self.stats = {}
        self.plugin_queues = {
            'iteration': [],
            'epoch': [],
            'batch': [],
            'update': [],
        }

    def register_plugin(self, plugin):
        plugin.register(self)

        intervals = plugin.trigger_interval
        if not isinstance(intervals, list):
            intervals = [intervals]
        for (duration, unit) in intervals:
            queue = self.plugin_queues[unit]
            queue.append((duration, len(queue), plugin))

    def call_plugins(self, queue_name, time, *args):
        args = (time,) + args
        queue = self.plugin_queues[queue_name]
        if len(queue) == 0:
            return
        while queue[0][0] <= time:
            plugin = queue[0][2]
            getattr(plugin, queue_name)(*args)
            for trigger in plugin.trigger_interval:
                if trigger[1] == queue_name:
                    interval = trigger[0]
            new_item = (time + interval, queue[0][1], plugin)
            heapq.heappushpop(queue, new_item)

    def run(self, epochs=1):
        for q in self.plugin_queues.values():
            heapq.heapify(q)

        for self.epochs in range(self.epochs + 1, self.epochs + epochs + 1):
            self.train()
            self.call_plugins('epoch', self.epochs)

    def train(self):
        for (self.iterations, data) in \
                enumerate(self.dataset, self.iterations + 1):
            batch_inputs = data[: -1]
            batch_target = data[-1]
            self.call_plugins(
                'batch', self.iterations, batch_inputs, batch_target
            )

            def wrap(input):
                if torch.is_tensor(input):
                    input = Variable(input)
                    if self.cuda:
                        input = input.cuda()
                return input
            batch_inputs = list(map(wrap, batch_inputs))

            batch_target = Variable(batch_target)
            if self.cuda:
                batch_target = batch_target.cuda()

            plugin_data = [None, None]

            def closure():
                batch_output = self.model(*batch_inputs)

                loss = self.criterion(batch_output, batch_target)
                loss.backward()

                if plugin_data[0] is None:
                    plugin_data[0] = batch_output.data
                    plugin_data[1] = loss.data

                return loss

            # differs: set_to_none=False. The 2017 code's zero_grad zeroed the gradients; PyTorch 2's (and the
            # library's) sets them to None, and h0, unused once a chunk carries the state, then has no gradient
            # for the clipping's hardtanh (a TypeError in PyTorch 2 too; a test below runs it as written)
            self.optimizer.zero_grad(set_to_none=False)
            self.optimizer.step(closure)
            self.call_plugins(
                'iteration', self.iterations, batch_inputs, batch_target,
                *plugin_data
            )
            self.call_plugins('update', self.iterations, self.model)


# -- dataset.py (1f4136ee) --

def load(path, sr=None, mono=True):
    """librosa.core.load (stand-in): the made-up waveform saved at that path, and its rate."""
    return np.load(path), 16000


class FolderDataset(Dataset):

    def __init__(self, path, overlap_len, q_levels, ratio_min=0, ratio_max=1):
        super().__init__()
        self.overlap_len = overlap_len
        self.q_levels = q_levels
        file_names = sorted(  # differs: natsort's natsorted (not installed); the made-up names sort alike
            [os.path.join(path, file_name) for file_name in os.listdir(path)]
        )
        self.file_names = file_names[
            int(ratio_min * len(file_names)): int(ratio_max * len(file_names))
        ]

    def __getitem__(self, index):
        (seq, _) = load(self.file_names[index], sr=None, mono=True)
        return torch.cat([
            torch.LongTensor(self.overlap_len)
                 .fill_(samplernn_utils.q_zero(self.q_levels)),
            samplernn_utils.linear_quantize(
                torch.from_numpy(seq), self.q_levels
            )
        ])

    def __len__(self):
        return len(self.file_names)


class DataLoader(DataLoaderBase):

    def __init__(self, dataset, batch_size, seq_len, overlap_len,
                 *args, **kwargs):
        super().__init__(dataset, batch_size, *args, **kwargs)
        self.seq_len = seq_len
        self.overlap_len = overlap_len

    def __iter__(self):
        for batch in super().__iter__():
            (batch_size, n_samples) = batch.size()

            reset = True

            for seq_begin in range(self.overlap_len, n_samples, self.seq_len):
                from_index = seq_begin - self.overlap_len
                to_index = seq_begin + self.seq_len
                sequences = batch[:, from_index: to_index]
                input_sequences = sequences[:, : -1]
                target_sequences = sequences[:, self.overlap_len:].contiguous()

                yield (input_sequences, reset, target_sequences)

                reset = False

    def __len__(self):
        raise NotImplementedError()


def np_frame_rnn(p, pre, prev, cond, h):
    """A FrameLevelRNN (one GRU layer) in numpy: prev (B, F, n) -> the upsampled (B, F k, dim), the final h."""
    x = prev @ p[pre + "input_expand.weight"][:, :, 0].T + p[pre + "input_expand.bias"]
    if cond is not None:
        x = x + cond
    h = np.broadcast_to(p[pre + "h0"][0], (prev.shape[0], x.shape[-1])) if h is None else h
    outs = []
    for f in range(x.shape[1]):
        h = np_gru_cell(x[:, f], h, p[pre + "rnn.weight_ih_l0"], p[pre + "rnn.weight_hh_l0"], p[pre + "rnn.bias_ih_l0"],
                        p[pre + "rnn.bias_hh_l0"])
        outs.append(h)
    outs = np.stack(outs, axis=1)
    w, bias = p[pre + "upsampling.conv_t.weight"], p[pre + "upsampling.bias"]      # (in, out, k), (out, k)
    up = np.einsum("bfc,cok->bfko", outs, w) + bias.T[None, None]
    return up.reshape(prev.shape[0], -1, w.shape[1]), h


def np_mlp(p, samples, cond, frame_size, q):
    """SampleLevelMLP in numpy: samples (B, L + frame_size - 1) ints, cond (B, L, dim) -> log-probabilities."""
    e = p["model.sample_level_mlp.embedding.weight"][samples].transpose(0, 2, 1)       # (B, q, L + fs - 1)
    x = np.maximum(np_conv1d(e, p["model.sample_level_mlp.input.weight"]) + cond.transpose(0, 2, 1), 0)
    x = np.maximum(np_conv1d(x, p["model.sample_level_mlp.hidden.weight"], p["model.sample_level_mlp.hidden.bias"]),
                   0)
    x = np_conv1d(x, p["model.sample_level_mlp.output.weight"], p["model.sample_level_mlp.output.bias"])
    return np_log_softmax(x.transpose(0, 2, 1), axis=-1)


def np_predictor(p, inputs, q, states=None):
    """The two-tier Predictor (frame sizes 2 and 2) in numpy; returns the log-probabilities and the final states."""
    lookback, cond, finals = 4, None, {}
    for tier, n in ((1, 4), (0, 2)):
        prev = 2 * (inputs[:, lookback - n: inputs.shape[1] - n + 1] / (q / 2) - 1)
        cond, finals[tier] = np_frame_rnn(p, f"model.frame_level_rnns.{tier}.", prev.reshape(len(inputs), -1, n),
                                          cond, None if states is None else states[tier])
    return np_mlp(p, inputs[:, lookback - 2:], cond, 2, q), finals


def small_sample_rnn(dim=4, q_levels=8):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)      # the deprecated init spellings, as PyTorch warns
        return SampleRNN(frame_sizes=[2, 2], n_rnn=1, dim=dim, learn_h0=True, q_levels=q_levels)


def write_made_up_clips(folder, lengths, seed, period=8):
    """Made-up waveforms: a sine of `period` samples with a random phase and amplitude."""
    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    for k, n in enumerate(lengths):
        wave = rng.uniform(0.5, 1.0) * np.sin(2 * np.pi * np.arange(n) / period + rng.uniform(0, 6))
        np.save(os.path.join(folder, f"clip_{k:02d}.npy"), wave.astype(np.float32))
    return folder


def test_samplernn_linear_quantize_and_dequantize_against_numpy():
    seq = np.random.default_rng(0).normal(size=50).astype(np.float32)
    codes = linear_quantize(torch.from_numpy(seq), 16)
    s = seq - seq.min()
    s = s / s.max()
    expected = (s * np.float32(16 - 1e-5) + np.float32(0.5e-5)).astype(np.int64)
    assert codes.dtype == torch.int64
    np.testing.assert_array_equal(arr(codes), expected)
    assert arr(codes).min() == 0 and arr(codes).max() == 15 and q_zero(16) == 8
    np.testing.assert_allclose(arr(linear_dequantize(codes, 16)), expected / 8.0 - 1, rtol=1e-6)


def test_samplernn_loader_cuts_each_batch_into_overlapping_chunks_with_a_reset_flag(tmp_path):
    folder = write_made_up_clips(str(tmp_path / "piano"), [32, 32, 32], 1)
    data = FolderDataset(folder, overlap_len=4, q_levels=16, ratio_max=2 / 3)
    assert len(data) == 2
    chunks = [chunk for chunk in DataLoader(data, batch_size=2, seq_len=8, overlap_len=4, shuffle=False)]
    with pytest.raises(NotImplementedError):
        len(DataLoader(data, batch_size=2, seq_len=8, overlap_len=4))
    full = np.stack([np.concatenate([[8] * 4, arr(linear_quantize(torch.from_numpy(np.load(f)), 16))])
                     for f in data.file_names])
    assert [reset for _, reset, _ in chunks] == [True, False, False, False]
    for k, (inputs, _, target) in enumerate(chunks):
        begin = 4 + 8 * k
        np.testing.assert_array_equal(arr(inputs), full[:, begin - 4:begin + 7])
        np.testing.assert_array_equal(arr(target), full[:, begin:begin + 8])


def test_samplernn_learned_upsampling_against_numpy(float64):
    with pytest.warns(FutureWarning, match="nn.init.constant` is now deprecated"):    # as PyTorch's
        up = LearnedUpsampling1d(3, 2, kernel_size=4)
    with torch.no_grad():
        up.bias.copy_(torch.tensor(np.random.default_rng(2).normal(size=(2, 4))))
    x = np.random.default_rng(3).normal(size=(2, 3, 5))
    w, bias = arr(up.conv_t.weight), arr(up.bias)
    expected = np.einsum("bcf,cok->bofk", x, w).reshape(2, 2, 20) + np.tile(bias, 5)[None]
    out = up(torch.tensor(x))
    assert out.shape == (2, 2, 20)
    np.testing.assert_allclose(arr(out), expected, rtol=1e-10)


def test_samplernn_initialisers_use_the_fan_in_and_an_orthogonal_block():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rnn = FrameLevelRNN(frame_size=2, n_frame_samples=4, n_rnn=1, dim=6, learn_h0=True)
    assert any(issubclass(w.category, FutureWarning) and "nn.init.kaiming_uniform" in str(w.message) for w in caught)
    w_hh, w_ih = arr(rnn.rnn.weight_hh_l0), arr(rnn.rnn.weight_ih_l0)
    bound = math.sqrt(3 / 6)                  # lecun_uniform of a (6, 6) chunk: fan_in 6
    assert np.abs(w_ih).max() <= bound and np.abs(w_hh[:12]).max() <= bound and np.abs(w_ih).max() > 0.6 * bound
    np.testing.assert_allclose(w_hh[12:] @ w_hh[12:].T, np.eye(6), atol=1e-5)   # init.orthogonal's block
    assert rnn.rnn.weight_hh_l0.is_leaf and rnn.rnn.weight_hh_l0.requires_grad
    np.testing.assert_array_equal(arr(rnn.rnn.bias_ih_l0), 0)
    assert np.abs(arr(rnn.upsampling.conv_t.weight)).max() <= math.sqrt(6 / 6)
    conv = torch.empty(5, 3, 2)
    assert nn.init._calculate_correct_fan(conv, 'fan_in') == 6 and nn.init._calculate_correct_fan(conv, 'FAN_OUT') == 10
    assert nn.init._calculate_fan_in_and_fan_out(conv) == (6, 10)
    with pytest.raises(ValueError, match="fan_in"):
        nn.init._calculate_correct_fan(conv, 'fan_avg')
    with pytest.raises(ValueError, match="2 axes"):
        nn.init._calculate_fan_in_and_fan_out(torch.empty(4))


def test_samplernn_predictor_against_numpy_with_gradients():
    model = small_sample_rnn()
    predictor = Predictor(model)
    inputs = np.random.default_rng(4).integers(0, 8, (2, 4 + 8 - 1))
    target = np.random.default_rng(5).integers(0, 8, (2, 8))
    predictor.zero_grad()
    out = predictor(torch.tensor(inputs), True)
    loss = sequence_nll_loss_bits(out, torch.tensor(target))
    loss.backward()
    base, params = params_of(predictor), dict(predictor.named_parameters())
    logp, _ = np_predictor(base, inputs, 8)
    np.testing.assert_allclose(arr(out), logp, rtol=1e-5, atol=1e-6)

    def loss_np(p):
        lp, _ = np_predictor(p, inputs, 8)
        return -np.mean(np.take_along_axis(lp, target[..., None], -1)) / np.log(2)

    assert float(loss) == pytest.approx(loss_np(base), rel=1e-5)
    names = ["model.frame_level_rnns.1.h0", "model.frame_level_rnns.1.rnn.weight_hh_l0",
             "model.frame_level_rnns.0.upsampling.bias", "model.frame_level_rnns.1.input_expand.weight",
             "model.sample_level_mlp.embedding.weight", "model.sample_level_mlp.input.weight"]
    for name in names:
        idx = [tuple(int(i) for i in np.unravel_index(k, base[name].shape)) for k in (0, base[name].size - 1)]
        got = np.array([params[name].grad[i] for i in idx])
        np.testing.assert_allclose(got, central(lambda v, n=name: loss_np({**base, n: v}), base[name], idx, eps=1e-5),
                                   rtol=2e-3, atol=2e-5, err_msg=name)


def test_samplernn_predictor_carries_detached_states_from_chunk_to_chunk():
    model = small_sample_rnn()
    predictor = Predictor(model)
    rng = np.random.default_rng(6)
    first, second = rng.integers(0, 8, (2, 11)), rng.integers(0, 8, (2, 11))
    predictor(torch.tensor(first), True)
    assert all(not h.requires_grad for h in predictor.hidden_states.values())
    assert list(predictor.hidden_states) == list(model.frame_level_rnns)          # keyed by the tier modules
    out = predictor(torch.tensor(second), False)
    p = params_of(predictor)
    _, states = np_predictor(p, first, 8)
    carried, _ = np_predictor(p, second, 8, states)
    fresh, _ = np_predictor(p, second, 8)
    np.testing.assert_allclose(arr(out), carried, rtol=1e-5, atol=1e-6)
    assert not np.allclose(carried, fresh, atol=1e-4)
    np.testing.assert_allclose(arr(predictor(torch.tensor(second), True)), fresh, rtol=1e-5, atol=1e-6)


def test_samplernn_gradient_clipping_clips_each_gradient_in_place_before_the_step():
    w = nn.Parameter(torch.tensor([0.5, -0.5, 0.1]))
    optimizer = gradient_clipping(Adam([w], lr=0.1))
    scales = [np.array([5.0, -0.2, -8.0]), np.array([0.3, 4.0, -0.6])]
    v, m, s = np.array([0.5, -0.5, 0.1]), np.zeros(3), np.zeros(3)
    for k, scale in enumerate(scales, 1):
        optimizer.zero_grad()
        optimizer.step(lambda: (w * torch.tensor(scale, dtype=torch.float32)).sum().backward())
        g = np.clip(scale, -1, 1)
        np.testing.assert_allclose(w.grad, g, rtol=1e-6)     # hardtanh(p.grad, -1, 1, inplace=True) wrote into it
        m, s = 0.9 * m + 0.1 * g, 0.999 * s + 0.001 * g * g
        v = v - 0.1 * (m / (1 - 0.9 ** k)) / (np.sqrt(s / (1 - 0.999 ** k)) + 1e-8)
        np.testing.assert_allclose(arr(w), v, rtol=1e-5)


def test_activations_inplace_write_into_a_gradient_array_but_not_into_a_tensor():
    p = nn.Parameter(torch.tensor([2.0, -3.0, 0.25]))
    (p * p).sum().backward()
    grad = p.grad
    out = F.hardtanh(grad, -1, 1, inplace=True)
    np.testing.assert_array_equal(grad, [1.0, -1.0, 0.5])
    np.testing.assert_array_equal(arr(out), [1.0, -1.0, 0.5])
    F.relu(grad, inplace=True)
    np.testing.assert_array_equal(p.grad, [1.0, 0.0, 0.5])
    t = torch.tensor([-1.0, 2.0])
    np.testing.assert_array_equal(arr(F.relu(t, inplace=True)), [0.0, 2.0])
    np.testing.assert_array_equal(arr(t), [-1.0, 2.0])                 # a tensor keeps its value (documented)
    with pytest.raises(ValueError, match="hardtanh: inplace=True cannot write into a read-only array"):
        F.hardtanh(p.data, inplace=True)
    np.testing.assert_array_equal(arr(p), [2.0, -3.0, 0.25])


def test_samplernn_trainer_lowers_the_loss_on_a_periodic_wave(tmp_path):
    folder = write_made_up_clips(str(tmp_path / "piano"), [256] * 4, 7)
    model = small_sample_rnn(dim=16, q_levels=16)
    predictor = Predictor(model)
    loader = DataLoader(FolderDataset(folder, model.lookback, 16), batch_size=2, seq_len=32,
                        overlap_len=model.lookback, shuffle=True, drop_last=True)

    def mean_loss():
        with torch.no_grad():
            return np.mean([float(sequence_nll_loss_bits(predictor(x, reset), y)) for x, reset, y in loader])

    before = mean_loss()
    trainer = Trainer(predictor, sequence_nll_loss_bits, gradient_clipping(Adam(predictor.parameters(), lr=1e-2)),
                      loader)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)          # F.log_softmax without dim (the source's)
        trainer.run(epochs=4)
    assert trainer.epochs == 4 and trainer.iterations == 4 * 2 * 8
    assert before > 3.5 and mean_loss() < 0.5 * before      # bits per sample, from about log2(16) = 4
    # the trainer's `optimizer.zero_grad()` as written: gradients set to None, so at the second chunk h0 (not used
    # once the state is carried) has none, and the clipping's hardtanh(None) fails, as in PyTorch 2
    wrapped = gradient_clipping(Adam(predictor.parameters(), lr=1e-2))
    chunks = iter(loader)
    for k in range(2):
        inputs, reset, target = next(chunks)
        wrapped.zero_grad()

        def closure():
            loss = sequence_nll_loss_bits(predictor(inputs, reset), target)
            loss.backward()
            return loss
        if k == 0:
            wrapped.step(closure)
    with pytest.raises(TypeError, match="hardtanh"):
        wrapped.step(closure)
    assert model.frame_level_rnns[0].h0.grad is None


class HeldMemory:
    """A trainer plugin (trainer/plugins.py's protocol: `register`, `trigger_interval`, a method per queue) that
    notes the memory held every 16 chunks, after a full garbage collection (CPython keeps freed small objects on
    free lists until one, which tracemalloc would count)."""

    trigger_interval = [(16, 'iteration')]

    def register(self, trainer):
        self.held = []

    def iteration(self, *args):
        gc.collect()
        self.held.append(tracemalloc.get_traced_memory()[0])


def test_samplernn_truncated_bptt_memory_is_flat_in_the_sequence_length(tmp_path):
    folder = write_made_up_clips(str(tmp_path / "long"), [2048, 2048], 8)
    model = small_sample_rnn(dim=8, q_levels=16)
    predictor = Predictor(model)
    loader = DataLoader(FolderDataset(folder, model.lookback, 16), batch_size=2, seq_len=32,
                        overlap_len=model.lookback, shuffle=False)
    trainer = Trainer(predictor, sequence_nll_loss_bits, gradient_clipping(Adam(predictor.parameters(), lr=1e-3)),
                      loader)
    probe = HeldMemory()
    trainer.register_plugin(probe)
    tracemalloc.start()
    try:
        trainer.run(epochs=1)
    finally:
        tracemalloc.stop()
    assert trainer.iterations == 64 and len(probe.held) == 4        # 2048 samples in chunks of 32, carried
    # what the run holds after 32 chunks and after 64: the same, to a few bytes (a graph kept from chunk to chunk
    # would add tens of KB a chunk, hundreds between two notes). The note after 16 chunks is a warm-up: in one
    # full-suite run ~5 KB were allocated once between the first note and the second and nothing after (notes
    # 125,155 / 130,067 / 130,099 / 130,131 bytes; the +32s are the probe's own list); alone, or with its file,
    # the test saw no such step, and what it was is not pinned down.
    assert max(probe.held[1:]) - min(probe.held[1:]) < 4096, probe.held


def test_samplernn_generator_draws_with_the_multinomial_method():
    model = small_sample_rnn(dim=4, q_levels=8)
    with torch.no_grad():                 # an MLP whose output is all but certain of class 3
        model.sample_level_mlp.output.weight.zero_()
        model.sample_level_mlp.output.bias.copy_(torch.tensor([0.0, 0, 0, 60.0, 0, 0, 0, 0]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # Variable(..., volatile=True) and log_softmax's implicit dim, as PyTorch
        sequences = Generator(model)(2, 10)
    assert sequences.shape == (2, 10) and sequences.dtype == torch.int64
    np.testing.assert_array_equal(arr(sequences), 3)
    assert torch.backends.cudnn.enabled
    fresh = small_sample_rnn(dim=4, q_levels=8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.manual_seed(11)
        first = Generator(fresh)(2, 12)
        torch.manual_seed(11)
        again = Generator(fresh)(2, 12)
    np.testing.assert_array_equal(arr(first), arr(again))
    assert arr(first).min() >= 0 and arr(first).max() < 8
    probs = torch.softmax(torch.tensor([[0.0, 1.0, 2.0]]), dim=1)
    np.testing.assert_array_equal(arr(probs.multinomial(5, True, generator=torch.Generator().manual_seed(3))),
                                  arr(torch.multinomial(probs, 5, True, generator=torch.Generator().manual_seed(3))))
