"""Porting, round 23: two more courses' recurrent networks. Each script is written as its author wrote it, with
only its imports changed (`# differs:` marks each other change and why); sizes and step counts are small and the
data is made up:

1. aladdinpersson/Machine-Learning-Collection (Aladdin Persson's):
   - ML/Pytorch/Basics/pytorch_rnn_gru_lstm.py (at e6c7f42c46a6414f12b2d8820e00e4474be7bbd8): `RNN`, `RNN_GRU` and
     `RNN_LSTM` (two layers, `batch_first=True`, a zero h0 (and c0) made each call, every step's output flattened
     by `out.reshape(out.shape[0], -1)` into one `nn.Linear(hidden_size * sequence_length, num_classes)`), trained
     with Adam over a shuffled `DataLoader`, `check_accuracy` with `_, predictions = scores.max(1)`,
     `num_correct += (...).sum()` and `num_correct / num_samples`;
   - ML/Pytorch/Basics/pytorch_bidirectional_lstm.py (at 28bd89ea9c07db15ebaa232328a53e03614b1c88): `BRNN`, a
     two-layer bidirectional LSTM, `h0`/`c0` of `num_layers * 2`, `self.fc(out[:, -1, :])`;
   - ML/Pytorch/more_advanced/Seq2Seq/seq2seq.py (at 65b8c8049560b19ace11ef754cb4dbe5aa415296) with its utils.py
     (at 28bd89ea): an LSTM encoder-decoder of two layers with dropout, the decoder fed a word at a time, the
     outputs written into `torch.zeros(target_len, batch_size, vocab)` by `outputs[t] = output`, teacher forcing by
     `random.random()`, `CrossEntropyLoss(ignore_index=pad_idx)`, `clip_grad_norm_(max_norm=1)`, the checkpoint of
     model and optimizer saved every epoch, greedy `translate_sentence` under `no_grad`;
   - ML/Pytorch/more_advanced/Seq2Seq_attention/seq2seq_attention.py (at 65b8c804) with its utils.py (at 65b8c804):
     a bidirectional encoder whose two final states go through `fc_hidden`/`fc_cell`, additive attention
     (`hidden.repeat(sequence_length, 1, 1)`, `nn.ReLU`, `nn.Softmax(dim=0)`) and the context by
     `torch.einsum("snk,snl->knl", attention, encoder_states)`.
   Multi30k, spacy, torchtext's `Field`/`BucketIterator`/`bleu_score` and TensorBoard are replaced by a made-up
   parallel corpus (word-for-word "German" for short English sentences), a vocabulary class with torchtext's
   `stoi`/`itos`/`init_token`/`eos_token`, padded batches and an exact-match score; MNIST by made-up 28 x 28
   images of ten classes (a bright bar whose row says the digit), `(1, 28, 28)` as `transforms.ToTensor()` gives.
2. rasbt/stat453-deep-learning-ss21 (Sebastian Raschka's STAT 453):
   - L19/character-rnn/01_char-rnn_lstmcell-ver.ipynb (at 04c8b79962baccef10e8e99793b4045990281c24): a character
     RNN over `string.printable` with `nn.Embedding` and `nn.LSTMCell`, fed a character at a time, `loss = 0.`
     then `loss += F.cross_entropy(...)` and `loss /= TEXT_PORTION_SIZE`, sampling with `torch.multinomial` of
     `e^(logits / T)`;
   - L19/character-rnn/01_char-rnn_lstm-ver.ipynb.ipynb (at 04c8b799): the same with `nn.LSTM`, the state a
     `(h, c)` pair and `output.squeeze_(0)`;
   - L15/1_lstm.ipynb (at c78fec1985b4a02b90478d31bb441b59038abad2): the LSTM sentiment classifier on IMDB
     (`hidden.squeeze_(0)` then `self.fc(hidden)`, `compute_accuracy` with `torch.max(logits, 1)`,
     `torch.set_grad_enabled(False)`, `predict_sentiment` with `F.softmax(model(tensor), dim=1)`).
   covid19-faq.txt (read through `unidecode`) is replaced by a made-up FAQ text, IMDB and torchtext's
   `TabularDataset`/`BucketIterator` by made-up reviews, a vocabulary and padded (length, batch) batches that
   unpack as `(text, label)` as torchtext's do; matplotlib's plots are left out.

Every source was found in the index: none was skipped.

What broke, and what was done (pinned by tests at the end of this file):

  G1  `Tensor.squeeze_(dim)` (and `unsqueeze_`) were missing: the LSTM classifier's `hidden.squeeze_(0)` and the
      char-RNN's `output.squeeze_(0)` raised `AttributeError: 'Tensor' object has no attribute 'squeeze_'`.
      PyTorch 2.13 changes the tensor's shape in place (a (1, B, H) h_n becomes (B, H)) and keeps its history, so
      the gradient flows through it as through `squeeze(0)`. Now `squeeze_`, `unsqueeze_`, `t_` and `transpose_`
      do so here (ops/methods.py), and the ports call them as written.

Met and left as documented in docs/pytorch.md (the lines say `differs:`):

  - `_, predictions = scores.max(1)` (both of Aladdin Persson's classifiers' `check_accuracy`): here `t.max(1)`
    is numpy's values, so the pair unpacks the rows (`ValueError: too many values to unpack` for a batch of 64,
    and silently the two rows' maxima for a batch of exactly 2); written `scores.max(dim=1)`. Raschka's
    `torch.max(logits, 1)` ports as written (the function form gives the pair).
  - `x.data` is a numpy array: the char-RNN's `outputs.data.view(-1)` (numpy's `view` takes a dtype: `TypeError:
    Cannot interpret '-1' as a data type`) is `outputs.detach().view(-1)`.

Compared with PyTorch 2.13 (a scratch script, not a test: this file's ports, at the sizes the
tests use, run once with microgradseq and once with their imports pointed at torch, the same initial weights set on
both at the optimizer's construction, the same batch order and the same `random` draws for teacher forcing; Seq2Seq
with its dropout at 0, since the two libraries draw different masks):
  - float32: the first step's gradients (154,085 values over the nine runs) agree to 4.5e-8 at worst; whole runs
    (every gradient and parameter at every Adam step, and the losses: 29,152,528 values; 10, 10, 10, 30, 120, 240,
    60, 60 and 68 steps) to 1.0e-5 at worst (the LSTM classifier's embedding; 2.7e-6 or less for the others), the
    losses to 4.8e-7.
  - float64 (both default dtypes set to float64): the same values agree to 1.7e-14, the first step's gradients to
    1.8e-16.

Expected values in the tests come from numpy written here (the Elman, GRU and LSTM recurrences in PyTorch's gate
orders, both directions, the attention step), central finite differences (`torch.autograd.gradcheck` in float64,
and numpy's), the scripts' own tasks (the made-up digits' labels, translating the training sentences, the FAQ's
characters, the reviews' sentiment) and bounds from the data (uniform guessing, the characters' frequencies); never
from the library itself or from PyTorch at test time.
"""

import collections
import math
import os
import random
import re
import string
import warnings

import numpy as np
import pytest

import microgradseq as torch
import microgradseq.nn as nn
import microgradseq.nn.functional as F
import microgradseq.optim as optim
from microgradseq.utils.data import DataLoader, TensorDataset


# ---- made-up data -----------------------------------------------------------------------------------------------

def made_up_digits(count, seed):
    """(count, 1, 28, 28) images in [0, 1] as `transforms.ToTensor()` gives them, label k a bright bar on rows
    2k + 4 and 2k + 5 over noise, read row by row by the models; a TensorDataset, as `datasets.MNIST` indexes."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, count)
    images = rng.uniform(0, 0.3, (count, 1, 28, 28))
    for image, k in zip(images, labels):
        start = int(rng.integers(0, 10))
        image[0, 2 * k + 4:2 * k + 6, start:start + 18] = rng.uniform(0.7, 1.0)
    return TensorDataset(torch.tensor(images, dtype=torch.get_default_dtype()), torch.tensor(labels))


ENGLISH_GERMAN = {"a": "ein", "the": "der", "man": "mann", "woman": "frau", "dog": "hund", "cat": "katze",
                  "runs": "läuft", "sleeps": "schläft", "eats": "isst", "sees": "sieht", "big": "groß",
                  "small": "klein", "red": "rot", "old": "alt"}


def made_up_corpus():
    """Short English sentences and their word-for-word made-up German: (german, english) pairs."""
    pairs = []
    for det in ("a", "the"):
        for adjective in ("", "big", "small", "old"):
            for noun in ("man", "woman", "dog", "cat"):
                for verb in ("runs", "sleeps", "eats"):
                    english = " ".join(w for w in (det, adjective, noun, verb) if w) + " ."
                    pairs.append((" ".join(ENGLISH_GERMAN.get(w, w) for w in english.split()), english))
    return pairs


class Vocab:
    """torchtext's Field and its vocab, as far as the scripts use them: `stoi`, `itos`, `init_token`,
    `eos_token`, `<unk>` and `<pad>` first."""

    def __init__(self, sentences, init_token="<sos>", eos_token="<eos>"):
        self.init_token, self.eos_token = init_token, eos_token
        self.itos = ["<unk>", "<pad>", init_token, eos_token] + sorted({w for s in sentences for w in s.split()})
        self.stoi = collections.defaultdict(int, {w: i for i, w in enumerate(self.itos)})  # unknown: <unk>, 0
        self.vocab = self

    def __len__(self):
        return len(self.itos)

    def numericalize(self, sentences):
        """Padded (length, batch) indices with <sos> and <eos>, as torchtext's Field.process."""
        rows = [[self.stoi[self.init_token]] + [self.stoi.get(w, 0) for w in s.split()] + [self.stoi[self.eos_token]]
                for s in sentences]
        length = max(len(r) for r in rows)
        return torch.tensor([r + [self.stoi["<pad>"]] * (length - len(r)) for r in rows]).t()


class Batch:
    """A torchtext Batch: named fields, and unpacking as a (text, label) pair."""

    def __init__(self, **fields):
        self.__dict__.update(fields)
        self._order = list(fields)

    def __iter__(self):
        return iter([getattr(self, k) for k in self._order])


FAQ = ("Do I need a test? If you have symptoms of COVID-19, get a test at a campus testing site. "
       "Where can I get the vaccine? You can get the vaccine at University Health Services. "
       "Do students need to wear a mask? Yes, wear a mask in all campus buildings. "
       "How do I get my test result? Test results are sent to you by email within two days. ")


POSITIVE, NEGATIVE = ["great", "awesome", "wonderful", "love", "best"], ["awful", "boring", "worst", "hate", "bad"]
NEUTRAL = ["the", "movie", "was", "a", "plot", "actors", "and", "this", "film", "it", "I", "story", "with"]


def made_up_reviews(count, seed):
    """Reviews of neutral words with two sentiment words of one kind: (text, '1' positive or '0' negative)."""
    rng = random.Random(seed)
    reviews = []
    for _ in range(count):
        label = rng.choice("01")
        words = [rng.choice(NEUTRAL) for _ in range(rng.randint(5, 12))]
        for _ in range(2):
            words.insert(rng.randint(0, len(words)), rng.choice(POSITIVE if label == "1" else NEGATIVE))
        reviews.append((" ".join(words), label))
    return reviews


# ---- 1. aladdinpersson/Machine-Learning-Collection --------------------------------------------------------------

def rnn_gru_lstm(which="RNN_LSTM", num_epochs=3, hidden_size=256, train_count=60000, test_count=10000):
    # ML/Pytorch/Basics/pytorch_rnn_gru_lstm.py (at e6c7f42c46a6414f12b2d8820e00e4474be7bbd8)
    # differs: the script's module body is this function's; tqdm is left out (`enumerate(train_loader)`)

    # Set device
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

    # Hyperparameters
    input_size = 28
    # hidden_size = 256  # differs: an argument
    num_layers = 2
    num_classes = 10
    sequence_length = 28
    learning_rate = 0.005
    batch_size = 64
    # num_epochs = 3  # differs: an argument

    # Recurrent neural network (many-to-one)
    class RNN(nn.Module):
        def __init__(self, input_size, hidden_size, num_layers, num_classes):
            super(RNN, self).__init__()
            self.hidden_size = hidden_size
            self.num_layers = num_layers
            self.rnn = nn.RNN(input_size, hidden_size, num_layers, batch_first=True)
            self.fc = nn.Linear(hidden_size * sequence_length, num_classes)

        def forward(self, x):
            # Set initial hidden and cell states
            h0 = torch.zeros(self.num_layers, x.size(0), self.hidden_size).to(device)

            # Forward propagate LSTM
            out, _ = self.rnn(x, h0)
            out = out.reshape(out.shape[0], -1)

            # Decode the hidden state of the last time step
            out = self.fc(out)
            return out

    # Recurrent neural network with GRU (many-to-one)
    class RNN_GRU(nn.Module):
        def __init__(self, input_size, hidden_size, num_layers, num_classes):
            super(RNN_GRU, self).__init__()
            self.hidden_size = hidden_size
            self.num_layers = num_layers
            self.gru = nn.GRU(input_size, hidden_size, num_layers, batch_first=True)
            self.fc = nn.Linear(hidden_size * sequence_length, num_classes)

        def forward(self, x):
            # Set initial hidden and cell states
            h0 = torch.zeros(self.num_layers, x.size(0), self.hidden_size).to(device)

            # Forward propagate LSTM
            out, _ = self.gru(x, h0)
            out = out.reshape(out.shape[0], -1)

            # Decode the hidden state of the last time step
            out = self.fc(out)
            return out

    # Recurrent neural network with LSTM (many-to-one)
    class RNN_LSTM(nn.Module):
        def __init__(self, input_size, hidden_size, num_layers, num_classes):
            super(RNN_LSTM, self).__init__()
            self.hidden_size = hidden_size
            self.num_layers = num_layers
            self.lstm = nn.LSTM(input_size, hidden_size, num_layers, batch_first=True)
            self.fc = nn.Linear(hidden_size * sequence_length, num_classes)

        def forward(self, x):
            # Set initial hidden and cell states
            h0 = torch.zeros(self.num_layers, x.size(0), self.hidden_size).to(device)
            c0 = torch.zeros(self.num_layers, x.size(0), self.hidden_size).to(device)

            # Forward propagate LSTM
            out, _ = self.lstm(
                x, (h0, c0)
            )  # out: tensor of shape (batch_size, seq_length, hidden_size)
            out = out.reshape(out.shape[0], -1)

            # Decode the hidden state of the last time step
            out = self.fc(out)
            return out

    # Load Data
    train_dataset = made_up_digits(train_count, seed=1)  # differs: datasets.MNIST(root="dataset/", train=True, ...)
    test_dataset = made_up_digits(test_count, seed=2)  # differs: datasets.MNIST(root="dataset/", train=False, ...)
    train_loader = DataLoader(dataset=train_dataset, batch_size=batch_size, shuffle=True)
    test_loader = DataLoader(dataset=test_dataset, batch_size=batch_size, shuffle=True)

    # Initialize network (try out just using simple RNN, or GRU, and then compare with LSTM)
    model = {"RNN": RNN, "RNN_GRU": RNN_GRU, "RNN_LSTM": RNN_LSTM}[which](  # differs: RNN_LSTM(...) there
        input_size, hidden_size, num_layers, num_classes).to(device)

    # Loss and optimizer
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=learning_rate)

    losses = []  # differs: kept for the test
    # Train Network
    for epoch in range(num_epochs):
        for batch_idx, (data, targets) in enumerate(train_loader):  # differs: enumerate(tqdm(train_loader))
            # Get data to cuda if possible
            data = data.to(device=device).squeeze(1)
            targets = targets.to(device=device)

            # forward
            scores = model(data)
            loss = criterion(scores, targets)
            losses.append(loss.item())  # differs: kept for the test

            # backward
            optimizer.zero_grad()
            loss.backward()

            # gradient descent update step/adam step
            optimizer.step()

    # Check accuracy on training & test to see how good our model
    def check_accuracy(loader, model):
        num_correct = 0
        num_samples = 0

        # Set model to eval
        model.eval()

        with torch.no_grad():
            for x, y in loader:
                x = x.to(device=device).squeeze(1)
                y = y.to(device=device)

                scores = model(x)
                _, predictions = scores.max(dim=1)  # differs: scores.max(1) (numpy's values here: pytorch.md)
                num_correct += (predictions == y).sum()
                num_samples += predictions.size(0)

        # Toggle model back to train
        model.train()
        return num_correct / num_samples

    print(f"Accuracy on training set: {check_accuracy(train_loader, model)*100:2f}")
    print(f"Accuracy on test set: {check_accuracy(test_loader, model)*100:.2f}")
    return locals()


def bidirectional_lstm(num_epochs=2, hidden_size=256, train_count=60000, test_count=10000):
    # ML/Pytorch/Basics/pytorch_bidirectional_lstm.py (at 28bd89ea9c07db15ebaa232328a53e03614b1c88)
    # differs: the script's module body is this function's

    # Set device
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

    # Hyperparameters
    input_size = 28
    sequence_length = 28
    num_layers = 2
    # hidden_size = 256  # differs: an argument
    num_classes = 10
    learning_rate = 0.001
    batch_size = 64
    # num_epochs = 2  # differs: an argument

    # Create a bidirectional LSTM
    class BRNN(nn.Module):
        def __init__(self, input_size, hidden_size, num_layers, num_classes):
            super(BRNN, self).__init__()
            self.hidden_size = hidden_size
            self.num_layers = num_layers
            self.lstm = nn.LSTM(
                input_size, hidden_size, num_layers, batch_first=True, bidirectional=True
            )
            self.fc = nn.Linear(hidden_size * 2, num_classes)

        def forward(self, x):
            h0 = torch.zeros(self.num_layers * 2, x.size(0), self.hidden_size).to(device)
            c0 = torch.zeros(self.num_layers * 2, x.size(0), self.hidden_size).to(device)

            out, _ = self.lstm(x, (h0, c0))
            out = self.fc(out[:, -1, :])

            return out

    # Load Data
    train_dataset = made_up_digits(train_count, seed=1)  # differs: datasets.MNIST(root="dataset/", train=True, ...)
    test_dataset = made_up_digits(test_count, seed=2)  # differs: datasets.MNIST(root="dataset/", train=False, ...)
    train_dataset.train, test_dataset.train = True, False  # differs: MNIST's attribute, read by check_accuracy

    train_loader = DataLoader(dataset=train_dataset, batch_size=batch_size, shuffle=True)
    test_loader = DataLoader(dataset=test_dataset, batch_size=batch_size, shuffle=True)

    # Initialize network
    model = BRNN(input_size, hidden_size, num_layers, num_classes).to(device)

    # Loss and optimizer
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=learning_rate)

    losses = []  # differs: kept for the test
    # Train Network
    for epoch in range(num_epochs):
        for batch_idx, (data, targets) in enumerate(train_loader):
            # Get data to cuda if possible
            data = data.to(device=device).squeeze(1)
            targets = targets.to(device=device)

            # forward
            scores = model(data)
            loss = criterion(scores, targets)
            losses.append(loss.item())  # differs: kept for the test

            # backward
            optimizer.zero_grad()
            loss.backward()

            # gradient descent or adam step
            optimizer.step()

    # Check accuracy on training & test to see how good our model

    def check_accuracy(loader, model):
        if loader.dataset.train:
            print("Checking accuracy on training data")
        else:
            print("Checking accuracy on test data")

        num_correct = 0
        num_samples = 0
        model.eval()

        with torch.no_grad():
            for x, y in loader:
                x = x.to(device=device).squeeze(1)
                y = y.to(device=device)

                scores = model(x)
                _, predictions = scores.max(dim=1)  # differs: scores.max(1) (numpy's values here: pytorch.md)
                num_correct += (predictions == y).sum()
                num_samples += predictions.size(0)

            print(
                f"Got {num_correct} / {num_samples} with accuracy  \
                  {float(num_correct)/float(num_samples)*100:.2f}"
            )

        model.train()

    check_accuracy(train_loader, model)
    check_accuracy(test_loader, model)
    return locals()


def seq2seq(num_epochs=100, sizes=(300, 1024), dropout=0.5, checkpoint_dir="."):
    # ML/Pytorch/more_advanced/Seq2Seq/seq2seq.py (at 65b8c8049560b19ace11ef754cb4dbe5aa415296) and its utils.py
    # (at 28bd89ea9c07db15ebaa232328a53e03614b1c88)
    # differs: the script's module body is this function's; Multi30k, spacy and torchtext are made up above

    # utils.py
    def translate_sentence(model, sentence, german, english, device, max_length=50):
        # differs: spacy.load("de") left out: tokens split on spaces
        # Create tokens using spacy and everything in lower case (which is what our vocab is)
        if type(sentence) == str:
            tokens = [token.lower() for token in sentence.split()]  # differs: token.text ... spacy_ger(sentence)
        else:
            tokens = [token.lower() for token in sentence]

        # Add <SOS> and <EOS> in beginning and end respectively
        tokens.insert(0, german.init_token)
        tokens.append(german.eos_token)

        # Go through each german token and convert to an index
        text_to_indices = [german.vocab.stoi[token] for token in tokens]

        # Convert to Tensor
        sentence_tensor = torch.LongTensor(text_to_indices).unsqueeze(1).to(device)

        # Build encoder hidden, cell state
        with torch.no_grad():
            hidden, cell = model.encoder(sentence_tensor)

        outputs = [english.vocab.stoi["<sos>"]]

        for _ in range(max_length):
            previous_word = torch.LongTensor([outputs[-1]]).to(device)

            with torch.no_grad():
                output, hidden, cell = model.decoder(previous_word, hidden, cell)
                best_guess = output.argmax(1).item()

            outputs.append(best_guess)

            # Model predicts it's the end of the sentence
            if output.argmax(1).item() == english.vocab.stoi["<eos>"]:
                break

        translated_sentence = [english.vocab.itos[idx] for idx in outputs]

        # remove start token
        return translated_sentence[1:]

    def save_checkpoint(state, filename=os.path.join(checkpoint_dir, "my_checkpoint.pth.tar")):  # differs: a dir
        print("=> Saving checkpoint")
        torch.save(state, filename)

    def load_checkpoint(checkpoint, model, optimizer):
        print("=> Loading checkpoint")
        model.load_state_dict(checkpoint["state_dict"])
        optimizer.load_state_dict(checkpoint["optimizer"])

    # seq2seq.py
    pairs = made_up_corpus()  # differs: Multi30k.splits(exts=(".de", ".en"), fields=(german, english))
    german = Vocab([g for g, _ in pairs])  # differs: Field(...) and build_vocab(train_data, ...)
    english = Vocab([e for _, e in pairs])  # differs: likewise

    class Encoder(nn.Module):
        def __init__(self, input_size, embedding_size, hidden_size, num_layers, p):
            super(Encoder, self).__init__()
            self.dropout = nn.Dropout(p)
            self.hidden_size = hidden_size
            self.num_layers = num_layers

            self.embedding = nn.Embedding(input_size, embedding_size)
            self.rnn = nn.LSTM(embedding_size, hidden_size, num_layers, dropout=p)

        def forward(self, x):
            # x shape: (seq_length, N) where N is batch size

            embedding = self.dropout(self.embedding(x))
            # embedding shape: (seq_length, N, embedding_size)

            outputs, (hidden, cell) = self.rnn(embedding)
            # outputs shape: (seq_length, N, hidden_size)

            return hidden, cell

    class Decoder(nn.Module):
        def __init__(
            self, input_size, embedding_size, hidden_size, output_size, num_layers, p
        ):
            super(Decoder, self).__init__()
            self.dropout = nn.Dropout(p)
            self.hidden_size = hidden_size
            self.num_layers = num_layers

            self.embedding = nn.Embedding(input_size, embedding_size)
            self.rnn = nn.LSTM(embedding_size, hidden_size, num_layers, dropout=p)
            self.fc = nn.Linear(hidden_size, output_size)

        def forward(self, x, hidden, cell):
            # x shape: (N) where N is for batch size, we want it to be (1, N), seq_length
            # is 1 here because we are sending in a single word and not a sentence
            x = x.unsqueeze(0)

            embedding = self.dropout(self.embedding(x))
            # embedding shape: (1, N, embedding_size)

            outputs, (hidden, cell) = self.rnn(embedding, (hidden, cell))
            # outputs shape: (1, N, hidden_size)

            predictions = self.fc(outputs)

            # predictions shape: (1, N, length_target_vocabulary) to send it to
            # loss function we want it to be (N, length_target_vocabulary) so we're
            # just gonna remove the first dim
            predictions = predictions.squeeze(0)

            return predictions, hidden, cell

    class Seq2Seq(nn.Module):
        def __init__(self, encoder, decoder):
            super(Seq2Seq, self).__init__()
            self.encoder = encoder
            self.decoder = decoder

        def forward(self, source, target, teacher_force_ratio=0.5):
            batch_size = source.shape[1]
            target_len = target.shape[0]
            target_vocab_size = len(english.vocab)

            outputs = torch.zeros(target_len, batch_size, target_vocab_size).to(device)

            hidden, cell = self.encoder(source)

            # Grab the first input to the Decoder which will be <SOS> token
            x = target[0]

            for t in range(1, target_len):
                # Use previous hidden, cell as context from encoder at start
                output, hidden, cell = self.decoder(x, hidden, cell)

                # Store next output prediction
                outputs[t] = output

                # Get the best word the Decoder predicted (index in the vocabulary)
                best_guess = output.argmax(1)

                # With probability of teacher_force_ratio we take the actual next word
                # otherwise we take the word that the Decoder predicted it to be.
                x = target[t] if random.random() < teacher_force_ratio else best_guess

            return outputs

    ### We're ready to define everything we need for training our Seq2Seq model ###

    # Training hyperparameters
    # num_epochs = 100  # differs: an argument
    learning_rate = 0.001
    batch_size = 64

    # Model hyperparameters
    load_model = False
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    input_size_encoder = len(german.vocab)
    input_size_decoder = len(english.vocab)
    output_size = len(english.vocab)
    encoder_embedding_size = sizes[0]  # differs: 300
    decoder_embedding_size = sizes[0]  # differs: 300
    hidden_size = sizes[1]  # Needs to be the same for both RNN's  # differs: 1024
    num_layers = 2
    enc_dropout = dropout  # differs: 0.5, an argument
    dec_dropout = dropout  # differs: 0.5, an argument

    # differs: TensorBoard's SummaryWriter left out
    step = 0

    # differs: BucketIterator.splits(...): batches of pairs of similar length (sort_key=len(src)), shuffled
    order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0].split()))
    batches = [order[i:i + batch_size // 4] for i in range(0, len(order), batch_size // 4)]
    train_iterator = [Batch(src=german.numericalize([pairs[i][0] for i in b]),
                            trg=english.numericalize([pairs[i][1] for i in b])) for b in batches]

    encoder_net = Encoder(
        input_size_encoder, encoder_embedding_size, hidden_size, num_layers, enc_dropout
    ).to(device)

    decoder_net = Decoder(
        input_size_decoder,
        decoder_embedding_size,
        hidden_size,
        output_size,
        num_layers,
        dec_dropout,
    ).to(device)

    model = Seq2Seq(encoder_net, decoder_net).to(device)
    optimizer = optim.Adam(model.parameters(), lr=learning_rate)

    pad_idx = english.vocab.stoi["<pad>"]
    criterion = nn.CrossEntropyLoss(ignore_index=pad_idx)

    if load_model:
        load_checkpoint(torch.load("my_checkpoint.pth.tar"), model, optimizer)

    sentence = "ein groß mann läuft ."  # differs: "ein boot mit mehreren männern darauf wird von ..."

    losses = []  # differs: kept for the test
    for epoch in range(num_epochs):
        print(f"[Epoch {epoch} / {num_epochs}]")

        checkpoint = {"state_dict": model.state_dict(), "optimizer": optimizer.state_dict()}
        save_checkpoint(checkpoint)

        model.eval()

        translated_sentence = translate_sentence(
            model, sentence, german, english, device, max_length=50
        )

        print(f"Translated example sentence: \n {translated_sentence}")

        model.train()

        for batch_idx in random.sample(range(len(train_iterator)), len(train_iterator)):  # differs: shuffled
            batch = train_iterator[batch_idx]  # differs: enumerate(train_iterator)
            # Get input and targets and get to cuda
            inp_data = batch.src.to(device)
            target = batch.trg.to(device)

            # Forward prop
            output = model(inp_data, target)

            # Output is of shape (trg_len, batch_size, output_dim) but Cross Entropy Loss
            # doesn't take input in that form. [...] Let's also remove the start token while we're at it
            output = output[1:].reshape(-1, output.shape[2])
            target = target[1:].reshape(-1)

            optimizer.zero_grad()
            loss = criterion(output, target)
            losses.append(loss.item())  # differs: kept for the test

            # Back prop
            loss.backward()

            # Clip to avoid exploding gradient issues, makes sure grads are
            # within a healthy range
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1)

            # Gradient descent step
            optimizer.step()

            # differs: writer.add_scalar("Training loss", loss, global_step=step) left out
            step += 1

    model.eval()  # differs: score = bleu(test_data[1:100], ...): the share of training sentences translated
    score = np.mean([translate_sentence(model, g, german, english, device)[:-1] == e.split() for g, e in pairs])
    print(f"Bleu score {score*100:.2f}")
    return locals()


def seq2seq_attention(num_epochs=100, sizes=(300, 1024), checkpoint_dir="."):
    # ML/Pytorch/more_advanced/Seq2Seq_attention/seq2seq_attention.py (at 65b8c8049560b19ace11ef754cb4dbe5aa415296)
    # and its utils.py (at 65b8c804)
    # differs: the script's module body is this function's; Multi30k, spacy and torchtext are made up above

    # utils.py
    def translate_sentence(model, sentence, german, english, device, max_length=50):
        # differs: spacy.load("de") left out: tokens split on spaces
        # Create tokens using spacy and everything in lower case (which is what our vocab is)
        if type(sentence) == str:
            tokens = [token.lower() for token in sentence.split()]  # differs: token.text ... spacy_ger(sentence)
        else:
            tokens = [token.lower() for token in sentence]

        # Add <SOS> and <EOS> in beginning and end respectively
        tokens.insert(0, german.init_token)
        tokens.append(german.eos_token)

        # Go through each german token and convert to an index
        text_to_indices = [german.vocab.stoi[token] for token in tokens]

        # Convert to Tensor
        sentence_tensor = torch.LongTensor(text_to_indices).unsqueeze(1).to(device)

        # Build encoder hidden, cell state
        with torch.no_grad():
            outputs_encoder, hiddens, cells = model.encoder(sentence_tensor)

        outputs = [english.vocab.stoi["<sos>"]]

        for _ in range(max_length):
            previous_word = torch.LongTensor([outputs[-1]]).to(device)

            with torch.no_grad():
                output, hiddens, cells = model.decoder(
                    previous_word, outputs_encoder, hiddens, cells
                )
                best_guess = output.argmax(1).item()

            outputs.append(best_guess)

            # Model predicts it's the end of the sentence
            if output.argmax(1).item() == english.vocab.stoi["<eos>"]:
                break

        translated_sentence = [english.vocab.itos[idx] for idx in outputs]

        # remove start token
        return translated_sentence[1:]

    def save_checkpoint(state, filename=os.path.join(checkpoint_dir, "my_checkpoint.pth.tar")):  # differs: a dir
        print("=> Saving checkpoint")
        torch.save(state, filename)

    def load_checkpoint(checkpoint, model, optimizer):
        print("=> Loading checkpoint")
        model.load_state_dict(checkpoint["state_dict"])
        optimizer.load_state_dict(checkpoint["optimizer"])

    # seq2seq_attention.py
    pairs = made_up_corpus()  # differs: Multi30k.splits(exts=(".de", ".en"), fields=(german, english))
    german = Vocab([g for g, _ in pairs])  # differs: Field(...) and build_vocab(train_data, ...)
    english = Vocab([e for _, e in pairs])  # differs: likewise

    class Encoder(nn.Module):
        def __init__(self, input_size, embedding_size, hidden_size, num_layers, p):
            super(Encoder, self).__init__()
            self.hidden_size = hidden_size
            self.num_layers = num_layers

            self.embedding = nn.Embedding(input_size, embedding_size)
            self.rnn = nn.LSTM(embedding_size, hidden_size, num_layers, bidirectional=True)

            self.fc_hidden = nn.Linear(hidden_size * 2, hidden_size)
            self.fc_cell = nn.Linear(hidden_size * 2, hidden_size)
            self.dropout = nn.Dropout(p)

        def forward(self, x):
            # x: (seq_length, N) where N is batch size

            embedding = self.dropout(self.embedding(x))
            # embedding shape: (seq_length, N, embedding_size)

            encoder_states, (hidden, cell) = self.rnn(embedding)
            # outputs shape: (seq_length, N, hidden_size)

            # Use forward, backward cells and hidden through a linear layer
            # so that it can be input to the decoder which is not bidirectional
            # Also using index slicing ([idx:idx+1]) to keep the dimension
            hidden = self.fc_hidden(torch.cat((hidden[0:1], hidden[1:2]), dim=2))
            cell = self.fc_cell(torch.cat((cell[0:1], cell[1:2]), dim=2))

            return encoder_states, hidden, cell

    class Decoder(nn.Module):
        def __init__(
            self, input_size, embedding_size, hidden_size, output_size, num_layers, p
        ):
            super(Decoder, self).__init__()
            self.hidden_size = hidden_size
            self.num_layers = num_layers

            self.embedding = nn.Embedding(input_size, embedding_size)
            self.rnn = nn.LSTM(hidden_size * 2 + embedding_size, hidden_size, num_layers)

            self.energy = nn.Linear(hidden_size * 3, 1)
            self.fc = nn.Linear(hidden_size, output_size)
            self.dropout = nn.Dropout(p)
            self.softmax = nn.Softmax(dim=0)
            self.relu = nn.ReLU()

        def forward(self, x, encoder_states, hidden, cell):
            x = x.unsqueeze(0)
            # x: (1, N) where N is the batch size

            embedding = self.dropout(self.embedding(x))
            # embedding shape: (1, N, embedding_size)

            sequence_length = encoder_states.shape[0]
            h_reshaped = hidden.repeat(sequence_length, 1, 1)
            # h_reshaped: (seq_length, N, hidden_size*2)

            energy = self.relu(self.energy(torch.cat((h_reshaped, encoder_states), dim=2)))
            # energy: (seq_length, N, 1)

            attention = self.softmax(energy)
            # attention: (seq_length, N, 1)

            # attention: (seq_length, N, 1), snk
            # encoder_states: (seq_length, N, hidden_size*2), snl
            # we want context_vector: (1, N, hidden_size*2), i.e knl
            context_vector = torch.einsum("snk,snl->knl", attention, encoder_states)

            rnn_input = torch.cat((context_vector, embedding), dim=2)
            # rnn_input: (1, N, hidden_size*2 + embedding_size)

            outputs, (hidden, cell) = self.rnn(rnn_input, (hidden, cell))
            # outputs shape: (1, N, hidden_size)

            predictions = self.fc(outputs).squeeze(0)
            # predictions: (N, hidden_size)

            return predictions, hidden, cell

    class Seq2Seq(nn.Module):
        def __init__(self, encoder, decoder):
            super(Seq2Seq, self).__init__()
            self.encoder = encoder
            self.decoder = decoder

        def forward(self, source, target, teacher_force_ratio=0.5):
            batch_size = source.shape[1]
            target_len = target.shape[0]
            target_vocab_size = len(english.vocab)

            outputs = torch.zeros(target_len, batch_size, target_vocab_size).to(device)
            encoder_states, hidden, cell = self.encoder(source)

            # First input will be <SOS> token
            x = target[0]

            for t in range(1, target_len):
                # At every time step use encoder_states and update hidden, cell
                output, hidden, cell = self.decoder(x, encoder_states, hidden, cell)

                # Store prediction for current time step
                outputs[t] = output

                # Get the best word the Decoder predicted (index in the vocabulary)
                best_guess = output.argmax(1)

                # With probability of teacher_force_ratio we take the actual next word
                # otherwise we take the word that the Decoder predicted it to be.
                x = target[t] if random.random() < teacher_force_ratio else best_guess

            return outputs

    ### We're ready to define everything we need for training our Seq2Seq model ###
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    load_model = False
    save_model = True

    # Training hyperparameters
    # num_epochs = 100  # differs: an argument
    learning_rate = 3e-4 * 10  # differs: 3e-4 (a few epochs here, of a tiny corpus)
    batch_size = 32

    # Model hyperparameters
    input_size_encoder = len(german.vocab)
    input_size_decoder = len(english.vocab)
    output_size = len(english.vocab)
    encoder_embedding_size = sizes[0]  # differs: 300
    decoder_embedding_size = sizes[0]  # differs: 300
    hidden_size = sizes[1]  # differs: 1024
    num_layers = 1
    enc_dropout = 0.0
    dec_dropout = 0.0

    # differs: TensorBoard's SummaryWriter left out
    step = 0

    # differs: BucketIterator.splits(...): batches of pairs of similar length (sort_key=len(src)), shuffled
    order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0].split()))
    batches = [order[i:i + batch_size // 2] for i in range(0, len(order), batch_size // 2)]
    train_iterator = [Batch(src=german.numericalize([pairs[i][0] for i in b]),
                            trg=english.numericalize([pairs[i][1] for i in b])) for b in batches]

    encoder_net = Encoder(
        input_size_encoder, encoder_embedding_size, hidden_size, num_layers, enc_dropout
    ).to(device)

    decoder_net = Decoder(
        input_size_decoder,
        decoder_embedding_size,
        hidden_size,
        output_size,
        num_layers,
        dec_dropout,
    ).to(device)

    model = Seq2Seq(encoder_net, decoder_net).to(device)
    optimizer = optim.Adam(model.parameters(), lr=learning_rate)

    pad_idx = english.vocab.stoi["<pad>"]
    criterion = nn.CrossEntropyLoss(ignore_index=pad_idx)

    if load_model:
        load_checkpoint(torch.load("my_checkpoint.pth.tar"), model, optimizer)

    sentence = (
        "ein groß mann "  # differs: "ein boot mit mehreren männern darauf wird von einem großen"
        "läuft ."  # differs: "pferdegespann ans ufer gezogen."
    )

    losses = []  # differs: kept for the test
    for epoch in range(num_epochs):
        print(f"[Epoch {epoch} / {num_epochs}]")

        if save_model:
            checkpoint = {
                "state_dict": model.state_dict(),
                "optimizer": optimizer.state_dict(),
            }
            save_checkpoint(checkpoint)

        model.eval()

        translated_sentence = translate_sentence(
            model, sentence, german, english, device, max_length=50
        )

        print(f"Translated example sentence: \n {translated_sentence}")

        model.train()

        for batch_idx in random.sample(range(len(train_iterator)), len(train_iterator)):  # differs: shuffled
            batch = train_iterator[batch_idx]  # differs: enumerate(train_iterator)
            # Get input and targets and get to cuda
            inp_data = batch.src.to(device)
            target = batch.trg.to(device)

            # Forward prop
            output = model(inp_data, target)

            # Output is of shape (trg_len, batch_size, output_dim) but Cross Entropy Loss
            # doesn't take input in that form. [...] Let's also remove the start token while we're at it
            output = output[1:].reshape(-1, output.shape[2])
            target = target[1:].reshape(-1)

            optimizer.zero_grad()
            loss = criterion(output, target)
            losses.append(loss.item())  # differs: kept for the test

            # Back prop
            loss.backward()

            # Clip to avoid exploding gradient issues, makes sure grads are
            # within a healthy range
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1)

            # Gradient descent step
            optimizer.step()

            # differs: writer.add_scalar("Training loss", loss, global_step=step) left out
            step += 1

    # running on entire test data takes a while
    model.eval()  # differs: score = bleu(test_data[1:100], ...): the share of training sentences translated
    score = np.mean([translate_sentence(model, g, german, english, device)[:-1] == e.split() for g, e in pairs])
    print(f"Bleu score {score * 100:.2f}")
    return locals()


# ---- 2. rasbt/stat453-deep-learning-ss21 ------------------------------------------------------------------------

def char_rnn(version="lstmcell", NUM_ITER=5000, TEXT_PORTION_SIZE=200, sizes=None):
    # L19/character-rnn/01_char-rnn_lstmcell-ver.ipynb and 01_char-rnn_lstm-ver.ipynb.ipynb
    # (at 04c8b79962baccef10e8e99793b4045990281c24)
    # differs: the notebooks' cells are this function's body, `version` choosing the model cell; the plots,
    # watermark, time and unidecode are left out
    torch.backends.cudnn.deterministic = True

    RANDOM_SEED = 123
    torch.manual_seed(RANDOM_SEED)

    DEVICE = torch.device('cpu')

    # TEXT_PORTION_SIZE = 200  # differs: an argument

    # NUM_ITER = 5000  # differs: an argument
    LEARNING_RATE = 0.005
    EMBEDDING_DIM = 100
    HIDDEN_DIM = 128 if version == "lstmcell" else 100
    NUM_HIDDEN_LAYERS = 1
    if sizes is not None:  # differs: smaller sizes for the tests
        EMBEDDING_DIM, HIDDEN_DIM = sizes

    textfile = FAQ * 4  # differs: open('covid19-faq.txt').read(), unidecode.unidecode(textfile)

    # strip extra whitespaces
    textfile = re.sub(' +', ' ', textfile)

    TEXT_LENGTH = len(textfile)

    random.seed(RANDOM_SEED)

    def random_portion(textfile):
        start_index = random.randint(0, TEXT_LENGTH - TEXT_PORTION_SIZE)
        end_index = start_index + TEXT_PORTION_SIZE + 1
        return textfile[start_index:end_index]

    def char_to_tensor(text):
        lst = [string.printable.index(c) for c in text]
        tensor = torch.tensor(lst).long()
        return tensor

    print(char_to_tensor('abcDEF'))

    def draw_random_sample(textfile):
        text_long = char_to_tensor(random_portion(textfile))
        inputs = text_long[:-1]
        targets = text_long[1:]
        return inputs, targets

    if version == "lstmcell":
        class RNN(torch.nn.Module):
            def __init__(self, input_size, embed_size,
                         hidden_size, output_size):
                super().__init__()

                self.hidden_size = hidden_size

                self.embed = torch.nn.Embedding(num_embeddings=input_size,
                                                embedding_dim=embed_size)
                self.rnn = torch.nn.LSTMCell(input_size=embed_size,
                                             hidden_size=hidden_size)
                self.fc = torch.nn.Linear(hidden_size, output_size)

            def forward(self, character, hidden, cell_state):
                # expects character as size [batch_size, 1]

                # [batch size, embedding dim] = [1, embedding dim]
                embedded = self.embed(character)

                (hidden, cell_state) = self.rnn(embedded, (hidden, cell_state))
                # 1. output dim: [batch size, output_size] = [1, output_size]
                # 2. hidden dim: [batch size, hidden dim] = [1, hidden dim]
                # 3. cell dim: [batch size, hidden dim] = [1, hidden dim]

                output = self.fc(hidden)

                return output, hidden, cell_state

            def init_zero_state(self):
                init_hidden = torch.zeros(1, self.hidden_size).to(DEVICE)
                init_cell = torch.zeros(1, self.hidden_size).to(DEVICE)
                return (init_hidden, init_cell)

        torch.manual_seed(RANDOM_SEED)
        model = RNN(len(string.printable), EMBEDDING_DIM, HIDDEN_DIM, len(string.printable))
        model = model.to(DEVICE)
        optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)

        def evaluate(model, prime_str='A', predict_len=100, temperature=0.8):
            ## based on https://github.com/spro/practical-pytorch/
            ## blob/master/char-rnn-generation/char-rnn-generation.ipynb

            (hidden, cell_state) = model.init_zero_state()
            prime_input = char_to_tensor(prime_str)
            predicted = prime_str

            # Use priming string to "build up" hidden state
            for p in range(len(prime_str) - 1):
                inp = prime_input[p].unsqueeze(0)
                _, hidden, cell_state = model(inp.to(DEVICE), hidden, cell_state)
            inp = prime_input[-1].unsqueeze(0)

            for p in range(predict_len):

                outputs, hidden, cell_state = model(inp.to(DEVICE), hidden, cell_state)

                # Sample from the network as a multinomial distribution
                output_dist = outputs.detach().view(-1).div(temperature).exp() # e^{logits / T}  # differs: .data
                top_i = torch.multinomial(output_dist, 1)[0]

                # Add predicted character to string and use as next input
                predicted_char = string.printable[top_i]
                predicted += predicted_char
                inp = char_to_tensor(predicted_char)

            return predicted

        loss_list = []
        losses = []  # differs: kept for the test

        for iteration in range(NUM_ITER):

            hidden, cell_state = model.init_zero_state()
            optimizer.zero_grad()

            loss = 0.
            inputs, targets = draw_random_sample(textfile)
            inputs, targets = inputs.to(DEVICE), targets.to(DEVICE)

            for c in range(TEXT_PORTION_SIZE):
                outputs, hidden, cell_state = model(inputs[c].unsqueeze(0), hidden, cell_state)
                loss += torch.nn.functional.cross_entropy(outputs, targets[c].view(1))

            loss /= TEXT_PORTION_SIZE
            loss.backward()
            losses.append(loss.item())  # differs: kept for the test

            ### UPDATE MODEL PARAMETERS
            optimizer.step()

            ### LOGGING
            with torch.no_grad():
                if iteration % 200 == 0:
                    print(f'Iteration {iteration} | Loss {loss.item():.2f}\n\n')  # differs: time elapsed left out
                    print(evaluate(model, 'Th', 200), '\n')
                    print(50*'=')

                    loss_list.append(loss.item())
    else:
        class RNN(torch.nn.Module):
            def __init__(self, input_size, embed_size,
                         hidden_size, output_size, num_layers):
                super().__init__()

                self.hidden_size = hidden_size
                self.num_layers = num_layers

                self.embed = torch.nn.Embedding(num_embeddings=input_size,
                                                embedding_dim=embed_size)
                self.rnn = torch.nn.LSTM(input_size=embed_size,
                                         hidden_size=hidden_size,
                                         num_layers=num_layers)
                self.fc = torch.nn.Linear(hidden_size, output_size)

            def forward(self, features, hidden_and_cell_state):
                # text dim: [1] -> [[1]] (features = 1 character)
                features = features.view(1, -1)

                # embedded dim = [text length, batch size, embedding dim] = [1, 1, embedding dim]
                embedded = self.embed(features)

                output, hidden_and_cell_state = self.rnn(embedded, hidden_and_cell_state)
                # 1. output dim: [sentence length, batch size, hidden dim] = [1, 1, hidden dim]
                # 2. (last) hidden dim: [num layers, batch size, hidden dim] = [num layers, 1, hidden dim]
                # 3. cell dim: [num layers, batch size, hidden dim] = [num layers, 1, hidden dim]

                output.squeeze_(0)  # (G1, fixed)
                output = self.fc(output)
                return output, hidden_and_cell_state

            def init_zero_state(self):
                init_hidden = torch.zeros(self.num_layers, 1, self.hidden_size).to(DEVICE)
                init_cell = torch.zeros(self.num_layers, 1, self.hidden_size).to(DEVICE)
                return (init_hidden, init_cell)

        torch.manual_seed(RANDOM_SEED)
        model = RNN(len(string.printable), EMBEDDING_DIM, HIDDEN_DIM,
                    len(string.printable), NUM_HIDDEN_LAYERS)
        model = model.to(DEVICE)
        optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)

        def evaluate(model, prime_str='A', predict_len=100, temperature=0.8):
            ## based on https://github.com/spro/practical-pytorch/
            ## blob/master/char-rnn-generation/char-rnn-generation.ipynb

            hidden_and_cell_state = model.init_zero_state()
            prime_input = char_to_tensor(prime_str)
            predicted = prime_str

            # Use priming string to "build up" hidden state
            for p in range(len(prime_str) - 1):
                _, hidden_and_cell_state = model(prime_input[p].to(DEVICE), hidden_and_cell_state)
            inp = prime_input[-1]

            for p in range(predict_len):
                output, hidden_and_cell_state = model(inp.to(DEVICE), hidden_and_cell_state)

                # Sample from the network as a multinomial distribution
                output_dist = output.detach().view(-1).div(temperature).exp()  # differs: output.data.view(-1)
                top_i = torch.multinomial(output_dist, 1)[0]

                # Add predicted character to string and use as next input
                predicted_char = string.printable[top_i]
                predicted += predicted_char
                inp = char_to_tensor(predicted_char)

            return predicted

        loss_list = []
        losses = []  # differs: kept for the test

        for iteration in range(NUM_ITER):

            hidden_and_cell_state = model.init_zero_state()
            optimizer.zero_grad()

            loss = 0.
            inputs, targets = draw_random_sample(textfile)
            inputs, targets = inputs.to(DEVICE), targets.to(DEVICE)
            for c in range(TEXT_PORTION_SIZE):
                outputs, hidden_and_cell_state = model(inputs[c], hidden_and_cell_state)
                loss += torch.nn.functional.cross_entropy(outputs, targets[c].view(1))

            loss /= TEXT_PORTION_SIZE
            loss.backward()
            losses.append(loss.item())  # differs: kept for the test

            ### UPDATE MODEL PARAMETERS
            optimizer.step()

            ### LOGGING
            with torch.no_grad():
                if iteration % 200 == 0:
                    print(f'Iteration {iteration} | Loss {loss.item():.2f}\n\n')  # differs: time elapsed left out
                    print(evaluate(model, 'Th', 200), '\n')
                    print(50*'=')

                    loss_list.append(loss.item())
    return locals()


def lstm_classifier(NUM_EPOCHS=15, sizes=(128, 256), BATCH_SIZE=128, counts=(40000, 10000)):
    # L15/1_lstm.ipynb (at c78fec1985b4a02b90478d31bb441b59038abad2)
    # differs: the notebook's cells are this function's body; watermark, pandas, spacy and torchtext are left out
    torch.backends.cudnn.deterministic = True

    RANDOM_SEED = 123
    torch.manual_seed(RANDOM_SEED)

    VOCABULARY_SIZE = 20000
    LEARNING_RATE = 0.005
    # BATCH_SIZE = 128  # differs: an argument
    # NUM_EPOCHS = 15  # differs: an argument
    DEVICE = torch.device('cuda:1' if torch.cuda.is_available() else 'cpu')

    EMBEDDING_DIM = sizes[0]  # differs: 128
    HIDDEN_DIM = sizes[1]  # differs: 256
    NUM_CLASSES = 2

    # differs: the IMDB CSV, TabularDataset and dataset.split(...) are made-up reviews, split 80/20 then 85/15
    data = made_up_reviews(counts[0] + counts[1], seed=RANDOM_SEED)
    train_data, test_data = data[:counts[0]], data[counts[0]:]
    cut = int(0.85 * len(train_data))
    train_data, valid_data = train_data[:cut], train_data[cut:]
    print(f'Num Train: {len(train_data)}')
    print(f'Num Validation: {len(valid_data)}')

    # differs: TEXT.build_vocab(train_data, max_size=VOCABULARY_SIZE) and LABEL.build_vocab(train_data)
    counter = {}
    for text, _ in train_data:
        for w in text.split():
            counter[w] = counter.get(w, 0) + 1
    itos = ['<unk>', '<pad>'] + sorted(counter, key=lambda w: -counter[w])[:VOCABULARY_SIZE]
    TEXT = Batch(vocab=Batch(itos=itos, stoi=collections.defaultdict(int, {w: i for i, w in enumerate(itos)})))
    LABEL = Batch(vocab=Batch(stoi={'1': 0, '0': 1}))
    print(f'Vocabulary size: {len(TEXT.vocab.itos)}')  # differs: len(TEXT.vocab)
    print(f'Number of classes: {len(LABEL.vocab.stoi)}')  # differs: len(LABEL.vocab)

    def bucket_iterator(examples):  # differs: torchtext.legacy.data.BucketIterator.splits(...)
        batches = []
        for i in range(0, len(examples), BATCH_SIZE):
            chunk = examples[i:i + BATCH_SIZE]
            rows = [[TEXT.vocab.stoi[w] for w in text.split()] for text, _ in chunk]
            length = max(len(r) for r in rows)
            text = torch.tensor([r + [1] * (length - len(r)) for r in rows]).t()
            batches.append(Batch(TEXT_COLUMN_NAME=text,
                                 LABEL_COLUMN_NAME=torch.tensor([LABEL.vocab.stoi[y] for _, y in chunk])))
        return batches

    train_loader, valid_loader, test_loader = (bucket_iterator(d) for d in (train_data, valid_data, test_data))

    class RNN(torch.nn.Module):

        def __init__(self, input_dim, embedding_dim, hidden_dim, output_dim):
            super().__init__()

            self.embedding = torch.nn.Embedding(input_dim, embedding_dim)
            #self.rnn = torch.nn.RNN(embedding_dim,
            #                        hidden_dim,
            #                        nonlinearity='relu')
            self.rnn = torch.nn.LSTM(embedding_dim,
                                     hidden_dim)

            self.fc = torch.nn.Linear(hidden_dim, output_dim)

        def forward(self, text):
            # text dim: [sentence length, batch size]

            embedded = self.embedding(text)
            # embedded dim: [sentence length, batch size, embedding dim]

            output, (hidden, cell) = self.rnn(embedded)
            # output dim: [sentence length, batch size, hidden dim]
            # hidden dim: [1, batch size, hidden dim]

            hidden.squeeze_(0)  # (G1, fixed)
            # hidden dim: [batch size, hidden dim]

            output = self.fc(hidden)
            return output

    torch.manual_seed(RANDOM_SEED)
    model = RNN(input_dim=len(TEXT.vocab.itos),  # differs: len(TEXT.vocab)
                embedding_dim=EMBEDDING_DIM,
                hidden_dim=HIDDEN_DIM,
                output_dim=NUM_CLASSES # could use 1 for binary classification
    )

    model = model.to(DEVICE)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.005)

    def compute_accuracy(model, data_loader, device):

        with torch.no_grad():

            correct_pred, num_examples = 0, 0

            for i, (features, targets) in enumerate(data_loader):

                features = features.to(device)
                targets = targets.float().to(device)

                logits = model(features)
                _, predicted_labels = torch.max(logits, 1)

                num_examples += targets.size(0)
                correct_pred += (predicted_labels == targets).sum()
        return correct_pred.float()/num_examples * 100

    losses, accuracies = [], []  # differs: kept for the test
    for epoch in range(NUM_EPOCHS):
        model.train()
        for batch_idx, batch_data in enumerate(train_loader):

            text = batch_data.TEXT_COLUMN_NAME.to(DEVICE)
            labels = batch_data.LABEL_COLUMN_NAME.to(DEVICE)

            ### FORWARD AND BACK PROP
            logits = model(text)
            loss = F.cross_entropy(logits, labels)
            losses.append(loss.item())  # differs: kept for the test
            optimizer.zero_grad()

            loss.backward()

            ### UPDATE MODEL PARAMETERS
            optimizer.step()

            ### LOGGING
            if not batch_idx % 50:
                print (f'Epoch: {epoch+1:03d}/{NUM_EPOCHS:03d} | '
                       f'Batch {batch_idx:03d}/{len(train_loader):03d} | '
                       f'Loss: {loss:.4f}')

        with torch.set_grad_enabled(False):
            accuracies.append(compute_accuracy(model, valid_loader, DEVICE).item())  # differs: kept for the test
            print(f'training accuracy: '
                  f'{compute_accuracy(model, train_loader, DEVICE):.2f}%'
                  f'\nvalid accuracy: '
                  f'{compute_accuracy(model, valid_loader, DEVICE):.2f}%')

    print(f'Test accuracy: {compute_accuracy(model, test_loader, DEVICE):.2f}%')

    def predict_sentiment(model, sentence):

        model.eval()
        tokenized = sentence.split()  # differs: [tok.text for tok in nlp.tokenizer(sentence)], spacy.blank("en")
        indexed = [TEXT.vocab.stoi[t] for t in tokenized]
        length = [len(indexed)]
        tensor = torch.LongTensor(indexed).to(DEVICE)
        tensor = tensor.unsqueeze(1)
        length_tensor = torch.LongTensor(length)
        prediction = torch.nn.functional.softmax(model(tensor), dim=1)
        return prediction[0][0].item()

    print('Probability positive:')
    positive = predict_sentiment(model, "This is such an awesome movie, I really love it!")
    print(positive)  # differs: the notebook's cell shows the value
    return locals()


# ---- tests ------------------------------------------------------------------------------------------------------

def run(script, seed=0, **sizes):
    """One script run, quietly, after torch.manual_seed(seed) and random.seed(seed); its names."""
    torch.manual_seed(seed)
    random.seed(seed)
    import contextlib
    import io
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        names = script(**sizes)
    names["printed"] = printed.getvalue()
    return names


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Each script run once for the module's tests (several seconds in all)."""
    digits = dict(hidden_size=16, train_count=320, test_count=128)
    return {"RNN": run(rnn_gru_lstm, which="RNN", num_epochs=2, **digits),
            "RNN_GRU": run(rnn_gru_lstm, which="RNN_GRU", num_epochs=2, **digits),
            "RNN_LSTM": run(rnn_gru_lstm, which="RNN_LSTM", num_epochs=2, **digits),
            "brnn": run(bidirectional_lstm, num_epochs=6, hidden_size=32, train_count=320, test_count=128),
            "seq2seq": run(seq2seq, num_epochs=20, sizes=(16, 32), checkpoint_dir=str(tmp_path_factory.mktemp("s"))),
            "attention": run(seq2seq_attention, num_epochs=40, sizes=(16, 32),
                             checkpoint_dir=str(tmp_path_factory.mktemp("a"))),
            "lstmcell": run(char_rnn, version="lstmcell", NUM_ITER=60, TEXT_PORTION_SIZE=40, sizes=(16, 32)),
            "lstm": run(char_rnn, version="lstm", NUM_ITER=60, TEXT_PORTION_SIZE=40, sizes=(16, 32)),
            "classifier": run(lstm_classifier, NUM_EPOCHS=4, sizes=(16, 16), BATCH_SIZE=16, counts=(320, 80))}


def arrays(module):
    return {name: np.array(p.data, dtype=np.float64) for name, p in module.named_parameters()}


def sub(params, prefix):
    return {k[len(prefix):]: v for k, v in params.items() if k.startswith(prefix)}


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def np_log_softmax(z):
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def np_cross_entropy(logits, targets, ignore=None):
    logp = np_log_softmax(logits)
    keep = np.ones(len(targets), bool) if ignore is None else targets != ignore
    return -logp[np.arange(len(targets)), targets][keep].mean()


def np_layer(kind, X, p, suffix="_l0", state=None, reverse=False):
    """PyTorch's Elman, GRU (gates r, z, n) or LSTM (gates i, f, g, o) layer over X (T, B, I); `state` h (or
    (h, c)), zeros without; `reverse` runs from the last step to the first. The outputs (in input order) and the
    final state."""
    W_ih, W_hh, b_ih, b_hh = (p[k + suffix] for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
    H = W_hh.shape[1]
    h = np.zeros((X.shape[1], H)) if state is None else (state[0] if kind == "lstm" else state)
    c = np.zeros((X.shape[1], H)) if state is None or kind != "lstm" else state[1]
    outputs = [None] * len(X)
    for t in (reversed(range(len(X))) if reverse else range(len(X))):
        a, b = X[t] @ W_ih.T + b_ih, h @ W_hh.T + b_hh
        if kind == "rnn":
            h = np.tanh(a + b)
        elif kind == "gru":
            r, z = sigmoid(a[:, :H] + b[:, :H]), sigmoid(a[:, H:2 * H] + b[:, H:2 * H])
            n = np.tanh(a[:, 2 * H:] + r * b[:, 2 * H:])
            h = (1 - z) * n + z * h
        else:
            g = a + b
            i, f, gg, o = sigmoid(g[:, :H]), sigmoid(g[:, H:2 * H]), np.tanh(g[:, 2 * H:3 * H]), sigmoid(g[:, 3 * H:])
            c = f * c + i * gg
            h = o * np.tanh(c)
        outputs[t] = h
    return np.stack(outputs), ((h, c) if kind == "lstm" else h)


def falls(losses, head=3):
    return np.mean(losses[-head:]) < np.mean(losses[:head])


# 1. aladdinpersson/Machine-Learning-Collection

@pytest.mark.parametrize("which, kind, attribute", [("RNN", "rnn", "rnn"), ("RNN_GRU", "gru", "gru"),
                                                    ("RNN_LSTM", "lstm", "lstm")])
def test_rnn_gru_lstm_learn_the_digits_and_their_flattened_outputs_are_numpys(runs, which, kind, attribute):
    names = runs[which]
    assert abs(names["losses"][0] - math.log(10)) < 0.15                 # uniform guessing at the start
    assert falls(names["losses"])
    accuracy = float(names["printed"].splitlines()[-1].split(": ")[1]) / 100
    assert accuracy > 0.3                                                 # (chance: 0.1; 10 steps of Adam)
    model = names["model"]
    x = names["test_dataset"].tensors[0][:5].squeeze(1)                   # (5, 28, 28), batch first
    p = arrays(model)
    X = np.array(x.data, dtype=np.float64).transpose(1, 0, 2)
    out0, _ = np_layer(kind, X, sub(p, attribute + "."), "_l0")
    out1, _ = np_layer(kind, out0, sub(p, attribute + "."), "_l1")
    flat = out1.transpose(1, 0, 2).reshape(5, -1)                         # out.reshape(out.shape[0], -1)
    np.testing.assert_allclose(model(x).data, flat @ p["fc.weight"].T + p["fc.bias"], rtol=1e-4, atol=2e-5)


def test_rnn_gru_lstm_check_accuracy_counts_numpys_argmax(runs):
    names = runs["RNN_GRU"]
    images, labels = (t.numpy() for t in names["test_dataset"].tensors)
    with torch.no_grad():
        scores = names["model"](torch.tensor(images).squeeze(1)).numpy()
    expected = (scores.argmax(1) == labels).mean()
    assert abs(float(names["check_accuracy"](names["test_loader"], names["model"])) - expected) < 1e-6
    assert names["model"].training                                        # "Toggle model back to train"


def test_bidirectional_lstm_last_step_joins_both_directions_of_the_top_layer(runs):
    names = runs["brnn"]
    assert np.mean(names["losses"][-5:]) < np.mean(names["losses"][:5]) - 0.01
    assert names["printed"].splitlines()[0] == "Checking accuracy on training data"
    model = names["model"]
    x = names["test_dataset"].tensors[0][:4].squeeze(1)
    p = sub(arrays(model), "lstm.")
    X = np.array(x.data, dtype=np.float64).transpose(1, 0, 2)
    layer0 = np.concatenate([np_layer("lstm", X, p, "_l0")[0],
                             np_layer("lstm", X, p, "_l0_reverse", reverse=True)[0]], axis=2)
    forward, _ = np_layer("lstm", layer0, p, "_l1")
    backward, _ = np_layer("lstm", layer0, p, "_l1_reverse", reverse=True)
    last = np.concatenate([forward[-1], backward[-1]], axis=1)            # out[:, -1, :]: the reverse's first step
    fc = arrays(model.fc)
    np.testing.assert_allclose(model(x).data, last @ fc["weight"].T + fc["bias"], rtol=1e-4, atol=2e-5)


def test_seq2seq_learns_and_its_teacher_forced_forward_is_numpys(runs):
    names = runs["seq2seq"]
    assert names["losses"][0] > math.log(len(names["english"])) - 0.3 and falls(names["losses"], head=10)
    model = names["model"]
    model.eval()                                                          # no dropout
    batch = names["train_iterator"][3]
    src, trg = batch.src, batch.trg
    output = model(src, trg, teacher_force_ratio=1.0)                     # random.random() < 1: always the target
    p = arrays(model)
    emb_e, emb_d = p["encoder.embedding.weight"], p["decoder.embedding.weight"]
    enc = sub(p, "encoder.rnn.")
    out0, s0 = np_layer("lstm", emb_e[src.numpy()], enc, "_l0")
    _, s1 = np_layer("lstm", out0, enc, "_l1")
    dec = sub(p, "decoder.rnn.")
    logits = [np.zeros((src.shape[1], len(names["english"])))]            # outputs[0] stays zeros
    for t in range(1, trg.shape[0]):
        o0, s0 = np_layer("lstm", emb_d[trg.numpy()[t - 1]][None], dec, "_l0", s0)
        o1, s1 = np_layer("lstm", o0, dec, "_l1", s1)
        logits.append(o1[0] @ p["decoder.fc.weight"].T + p["decoder.fc.bias"])
    np.testing.assert_allclose(output.data, np.stack(logits), rtol=1e-4, atol=2e-5)
    loss = names["criterion"](output[1:].reshape(-1, output.shape[2]), trg[1:].reshape(-1))
    expected = np_cross_entropy(np.stack(logits)[1:].reshape(-1, output.shape[2]), trg.numpy()[1:].reshape(-1),
                                ignore=names["pad_idx"])
    assert abs(loss.item() - expected) < 1e-5
    model.train()


def test_seq2seq_checkpoint_saved_each_epoch_loads_back(runs):
    names = runs["seq2seq"]
    printed = names["printed"]
    assert printed.count("=> Saving checkpoint") == names["num_epochs"]
    checkpoint = torch.load(os.path.join(names["checkpoint_dir"], "my_checkpoint.pth.tar"))
    assert set(checkpoint) == {"state_dict", "optimizer"}
    torch.manual_seed(9)
    fresh = names["Seq2Seq"](names["Encoder"](len(names["german"]), 16, 32, 2, 0.5),
                             names["Decoder"](len(names["english"]), 16, 32, len(names["english"]), 2, 0.5))
    optimizer = optim.Adam(fresh.parameters(), lr=0.001)
    names["load_checkpoint"](checkpoint, fresh, optimizer)
    # the last epoch's checkpoint was saved before that epoch's steps: its weights are not the final ones, and
    # its optimizer state counts the steps before it
    steps_before = len(names["train_iterator"]) * (names["num_epochs"] - 1)
    assert optimizer.state_dict()["state"][0]["step"] == steps_before
    for name, value in fresh.state_dict().items():
        np.testing.assert_array_equal(value, checkpoint["state_dict"][name])


def np_attention_step(p, word, encoder_states, h, c):
    """The attention decoder's step in numpy (batch 1)."""
    H = h.shape[-1]
    energy = np.maximum(np.concatenate([np.repeat(h, len(encoder_states), 0), encoder_states], 2)
                        @ p["decoder.energy.weight"].T + p["decoder.energy.bias"], 0)      # (S, 1, 1)
    attention = np.exp(energy - energy.max(0)) / np.exp(energy - energy.max(0)).sum(0)
    context = (attention * encoder_states).sum(0, keepdims=True)                           # (1, 1, 2H)
    rnn_input = np.concatenate([context, p["decoder.embedding.weight"][[word]][None]], 2)
    out, (h, c) = np_layer("lstm", rnn_input, sub(p, "decoder.rnn."), "_l0", (h[0], c[0]))
    assert out.shape[-1] == H
    return out[0] @ p["decoder.fc.weight"].T + p["decoder.fc.bias"], h[None], c[None], attention


def test_seq2seq_attention_translates_and_its_greedy_decoding_is_numpys(runs):
    names = runs["attention"]
    assert falls(names["losses"], head=10)
    assert names["score"] > 0.8                                           # the training sentences, greedily
    assert names["translated_sentence"] == ["a", "big", "man", "runs", ".", "<eos>"]
    model, german, english = names["model"], names["german"], names["english"]
    p = arrays(model)
    src = [german.stoi[w] for w in ["<sos>"] + "der klein katze schläft .".split() + ["<eos>"]]
    X = p["encoder.embedding.weight"][src][:, None]
    enc = sub(p, "encoder.rnn.")
    fw, (hf, cf) = np_layer("lstm", X, enc, "_l0")
    bw, (hb, cb) = np_layer("lstm", X, enc, "_l0_reverse", reverse=True)
    states = np.concatenate([fw, bw], 2)
    h = np.concatenate([hf, hb], 1)[None] @ p["encoder.fc_hidden.weight"].T + p["encoder.fc_hidden.bias"]
    c = np.concatenate([cf, cb], 1)[None] @ p["encoder.fc_cell.weight"].T + p["encoder.fc_cell.bias"]
    words = [english.stoi["<sos>"]]
    for _ in range(10):
        logits, h, c, attention = np_attention_step(p, words[-1], states, h, c)
        assert abs(attention.sum() - 1) < 1e-9
        words.append(int(logits.argmax()))
        if words[-1] == english.stoi["<eos>"]:
            break
    expected = [english.itos[i] for i in words[1:]]
    assert names["translate_sentence"](model, "der klein katze schläft .", german, english, "cpu") == expected
    assert expected == ["the", "small", "cat", "sleeps", ".", "<eos>"]


def test_seq2seq_attention_decoder_step_gradient_by_gradcheck_in_float64(runs):
    names = runs["attention"]
    torch.manual_seed(3)
    decoder = names["Decoder"](len(names["english"]), 4, 3, len(names["english"]), 1, 0.0).double()
    states = torch.randn(5, 2, 6, dtype=torch.float64, requires_grad=True)
    h = torch.randn(1, 2, 3, dtype=torch.float64, requires_grad=True)
    c = torch.randn(1, 2, 3, dtype=torch.float64, requires_grad=True)
    word = torch.tensor([2, 5])
    assert torch.autograd.gradcheck(lambda s, h, c: decoder(word, s, h, c)[0], (states, h, c))
    # and the step's values are numpy's, for each sentence of the batch
    p = {"decoder." + k: v for k, v in arrays(decoder).items()}
    logits = decoder(word, states, h, c)[0].numpy()
    for n in range(2):
        expected = np_attention_step(p, int(word[n]), states.numpy()[:, n:n + 1], h.numpy()[:, n:n + 1],
                                     c.numpy()[:, n:n + 1])[0]
        np.testing.assert_allclose(logits[n], expected[0], rtol=1e-10)


# 2. rasbt/stat453-deep-learning-ss21

def test_char_rnn_learns_the_faq_below_its_character_frequencies(runs):
    text = re.sub(" +", " ", FAQ * 4)
    counts = np.array([text.count(ch) for ch in sorted(set(text))], dtype=float)
    unigram = -(counts / counts.sum() * np.log(counts / counts.sum())).sum()   # the best context-free loss
    for version in ("lstmcell", "lstm"):
        names = runs[version]
        assert abs(names["losses"][0] - math.log(len(string.printable))) < 0.1
        assert np.mean(names["losses"][-5:]) < unigram, (version, unigram, names["losses"][-5:])
        assert names["printed"].startswith("tensor([10, 11, 12, 39, 40, 41])\nIteration 0 | Loss 4.6")
        sample = names["evaluate"](names["model"], "Th", 30)
        assert sample.startswith("Th") and len(sample) == 32 and set(sample) <= set(string.printable)


def test_char_rnn_lstmcell_and_lstm_notebooks_are_the_same_network(runs):
    """The two notebooks' models, of the same sizes from the same seed, draw the same weights (the cell's
    weight_ih, weight_hh, bias_ih, bias_hh are the layer's *_l0) and so train alike."""
    cell, layer = runs["lstmcell"], runs["lstm"]
    np.testing.assert_allclose(cell["losses"], layer["losses"], rtol=1e-4)
    inputs, targets = cell["draw_random_sample"](cell["textfile"])
    p = arrays(cell["model"])
    X = p["embed.weight"][inputs.numpy()][:, None]
    out, _ = np_layer("lstm", X, {k + "_l0": v for k, v in sub(p, "rnn.").items()})
    logits = out[:, 0] @ p["fc.weight"].T + p["fc.bias"]
    hidden, cell_state = cell["model"].init_zero_state()
    loss = 0.
    for c in range(len(inputs)):
        outputs, hidden, cell_state = cell["model"](inputs[c].unsqueeze(0), hidden, cell_state)
        loss += F.cross_entropy(outputs, targets[c].view(1))
    loss /= len(inputs)
    assert abs(loss.item() - np_cross_entropy(logits, targets.numpy())) < 1e-5


def test_lstm_classifier_learns_the_reviews_and_its_logits_come_from_h_n(runs):
    names = runs["classifier"]
    assert abs(names["losses"][0] - math.log(2)) < 0.1 and falls(names["losses"])
    assert names["accuracies"][-1] > 90
    assert names["positive"] > 0.5
    assert names["printed"].splitlines()[:4] == ["Num Train: 272", "Num Validation: 48", "Vocabulary size: 25",
                                                 "Number of classes: 2"]
    model, batch = names["model"], names["test_loader"][0]
    text, labels = batch
    p = arrays(model)
    _, (h, _) = np_layer("lstm", p["embedding.weight"][text.numpy()], sub(p, "rnn."))
    logits = h @ p["fc.weight"].T + p["fc.bias"]
    with torch.no_grad():
        np.testing.assert_allclose(model(text).data, logits, rtol=1e-4, atol=2e-5)
    expected = (logits.argmax(1) == labels.numpy()).mean() * 100
    assert abs(names["compute_accuracy"](model, [batch], "cpu").item() - expected) < 1e-4


# ---- documented differences met, and the gaps, pinned -----------------------------------------------------------

def test_max_over_dim_by_keyword_is_pytorchs_pair_and_the_function_form_too():
    """Aladdin Persson's `_, predictions = scores.max(1)` is written `scores.max(dim=1)` here (docs/pytorch.md:
    `t.max(1)` is numpy's values); Raschka's `torch.max(logits, 1)` ports as written."""
    scores = np.random.default_rng(0).standard_normal((6, 10))
    for values, indices in (torch.tensor(scores).max(dim=1), torch.max(torch.tensor(scores), 1)):
        np.testing.assert_array_equal(indices.numpy(), scores.argmax(1))
        np.testing.assert_array_equal(values.numpy(), scores.max(1))


def test_squeeze_out_of_place_is_what_squeeze__would_give():
    h = np.random.default_rng(1).standard_normal((1, 3, 4))
    t = torch.tensor(h, requires_grad=True)
    s = t.squeeze(0)
    assert s.shape == (3, 4)
    (s * torch.tensor(np.arange(12.0).reshape(3, 4))).sum().backward()
    np.testing.assert_array_equal(t.grad, np.arange(12.0).reshape(1, 3, 4))


def test_g1_squeeze__changes_the_shape_in_place_and_keeps_the_history():
    """PyTorch 2.13: `hidden.squeeze_(0)` turns LSTM's (1, B, H) h_n into (B, H), returns the tensor itself, and the
    gradient flows back through it as through `squeeze(0)` (the LSTM classifier's forward)."""
    torch.manual_seed(0)
    lstm = nn.LSTM(3, 4)
    x = torch.randn(5, 2, 3)
    _, (hidden, _) = lstm(x)
    returned = hidden.squeeze_(0)
    assert returned is hidden and hidden.shape == (2, 4)
    hidden.sum().backward()
    # the same gradient as the out-of-place squeeze of a fresh forward pass
    grad = np.array(lstm.weight_hh_l0.grad)
    lstm.zero_grad()
    lstm(x)[1][0].squeeze(0).sum().backward()
    np.testing.assert_allclose(grad, lstm.weight_hh_l0.grad, rtol=1e-6)


def test_g1_unsqueeze__adds_the_axis_in_place():
    t = torch.tensor(np.arange(6.0).reshape(2, 3))
    assert t.unsqueeze_(1) is t and t.shape == (2, 1, 3)
    np.testing.assert_array_equal(t.numpy(), np.arange(6.0).reshape(2, 1, 3))


def test_g1_t__and_transpose__and_what_cannot_change_shape_in_place():
    """`t_()` and `transpose_(0, 2)` as PyTorch's; refused, as a RuntimeError naming the method, where the
    tensor's node would keep the old shape: a leaf that requires grad (PyTorch refuses it while recording too),
    a tensor with history under no_grad(); a part of another tensor changes its own shape, as PyTorch's view."""
    m = torch.tensor(np.arange(6.0).reshape(2, 3))
    assert m.t_() is m and m.shape == (3, 2)
    np.testing.assert_array_equal(m.numpy(), np.arange(6.0).reshape(2, 3).T)
    w = torch.tensor(np.arange(24.0).reshape(2, 3, 4), requires_grad=True)
    y = w * 2
    y.transpose_(0, 2)
    assert y.shape == (4, 3, 2)
    (y * torch.tensor(np.arange(24.0).reshape(4, 3, 2))).sum().backward()   # d/dw of sum(2 w^T c) = 2 c^T
    np.testing.assert_array_equal(w.grad, 2 * np.arange(24.0).reshape(4, 3, 2).transpose(2, 1, 0))
    with pytest.raises(RuntimeError, match=r"squeeze_: cannot change the shape of a leaf that requires grad"):
        torch.zeros(1, 3, requires_grad=True).squeeze_(0)
    base = torch.zeros(2, 3)
    row = base[0]
    row.unsqueeze_(0)               # a part changes its own shape and stays a part, as PyTorch's view (session 34)
    row[0, 1] = 4.0
    assert row.shape == (1, 3) and base.shape == (2, 3)
    np.testing.assert_array_equal(base.numpy(), [[0.0, 4.0, 0.0], [0.0, 0.0, 0.0]])
    v = torch.ones(2, 3, requires_grad=True) * 1
    with torch.no_grad(), pytest.raises(RuntimeError, match=r"t_: cannot change the shape of a tensor with history"):
        v.t_()
    assert v.shape == (2, 3)


def test_unpacking_or_int_indexing_a_positional_max_warns_where_pytorch_means_the_pair():
    """Aladdin Persson's `_, predictions = scores.max(1)`: here `t.max(1)` is numpy's values, so the pair
    unpacks the rows (for a batch of two, silently: two maxima instead of the indices), and fast.ai's
    `x.max(-1)[0]` is row 0. Both warn at the caller's line, naming `t.max(dim=1)`; what they compute is
    unchanged, and slices, arrays, `.values` and `.indices` do not warn."""
    scores = torch.tensor(np.array([[0.1, 0.9, 0.3], [0.8, 0.2, 0.5]]))
    with pytest.warns(UserWarning, match=r"t\.max\(d\) without dim= is the maxima along d.*iterating over it "
                                         r"\(as `values, indices = t\.max\(1\)` does\) gives its rows.*"
                                         r"write t\.max\(dim=d\) for it") as caught:
        first, second = scores.max(1)
    assert caught[0].filename == __file__
    assert (first.item(), second.item()) == (0.9, 0.8)            # the rows of the values, as before
    with pytest.warns(UserWarning, match=r"t\.min\(d\) .* and \[0\] is its row 0"):
        assert scores.min(-1)[0].item() == 0.1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, predictions = scores.max(dim=1)                        # the pair, as PyTorch's
        assert predictions.tolist() == [1, 0] and scores.max(1).indices.tolist() == [1, 0]
        assert scores.max(1)[:1].tolist() == [0.9] and scores.max(1).values.tolist() == [0.9, 0.8]
        values, indices = torch.max(scores, 1)                    # the function form is the pair
        assert indices.tolist() == [1, 0]


def test_in_place_shape_changes_take_pytorchs_keywords_and_a_cut_state_becomes_a_constant():
    """`squeeze_(dim=0)`, `unsqueeze_(dim=0)`, `transpose_(dim0=0, dim1=1)` as PyTorch's; a truncated state (a cut:
    no history, no gradient) changes shape under no_grad() too, and stays without history."""
    t = torch.zeros(1, 3)
    assert t.squeeze_(dim=0).shape == (3,) and t.unsqueeze_(dim=0).shape == (1, 3)
    assert t.transpose_(dim0=0, dim1=1).shape == (3, 1)
    cut = torch.bptt.truncate(torch.ones(1, 2, requires_grad=True) * 2)
    with torch.no_grad():
        cut.squeeze_(0)
    assert cut.shape == (2,) and not cut.requires_grad and cut.tolist() == [2.0, 2.0]
    assert "In place" in torch.Tensor.squeeze_.__doc__


def test_a_pickled_or_copied_min_still_warns_as_a_min():
    import copy
    import pickle
    m = torch.tensor(np.array([[3.0, 1.0], [0.5, 2.0]])).min(1)
    for again in (pickle.loads(pickle.dumps(m)), copy.deepcopy(m), copy.copy(m)):
        with pytest.warns(UserWarning, match=r"t\.min\(d\) without dim= is the minima along d"):
            assert again[1].item() == 0.5
        assert again.indices.tolist() == [1, 0]
