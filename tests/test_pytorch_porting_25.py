"""Porting, round 25: two course repositories' recurrent scripts, yunjey's "pytorch-tutorial" and Udacity's
"deep-learning-v2-pytorch". Each script is written as its author wrote it, with only its imports changed
(`# differs:` marks each other change and why); sizes and step counts are small and the data is made up:

1. yunjey/pytorch-tutorial, tutorials/02-intermediate/:
   recurrent_neural_network/main.py (at e217e42e600ece714d047a6c7bcb098728cfa3ae: a two-layer
   `nn.LSTM(batch_first=True)` reading 28 x 28 images row by row from zero `(h0, c0)`, `out[:, -1, :]`, Adam,
   `torch.max(outputs.data, 1)` in the test loop, `torch.save(model.state_dict(), 'model.ckpt')`; the index's
   other stored revision, 5873e4a8, uses `c0` without defining it and fails in PyTorch too),
   bidirectional_recurrent_neural_network/main.py (at 78c6afe681c4ff5095ef13662c02a7e369b1bcbd: the same with
   `bidirectional=True`, (2 * layers, B, H) states and `nn.Linear(hidden_size*2, ...)`), and
   language_model/main.py (at 401b9035df445bb87ebc5f893365657fe0794126) with data_utils.py (at
   78c6afe681c4ff5095ef13662c02a7e369b1bcbd): `Dictionary`/`Corpus` (`torch.LongTensor(tokens)` filled by item
   assignment, `ids.view(batch_size, -1)`), `RNNLM`, truncated BPTT by `states = detach(states)` (a list fed back
   as the LSTM's state), `clip_grad_norm_(model.parameters(), 0.5)`, and sampling under `no_grad` by
   `torch.multinomial(output.exp(), num_samples=1)` with `input.fill_(word_id)`, written to sample.txt.
   MNIST is made-up images (round 22's bars); Penn Treebank is 200 made-up "subject verb object ." lines.
2. udacity/deep-learning-v2-pytorch, recurrent-neural-networks/:
   char-rnn/Character_Level_RNN_Solution.ipynb (at 2f89884d017a6294355e6678c094b917220e893e; its code cells):
   numpy's `one_hot_encode` and `get_batches`, `CharRNN` (a two-layer LSTM with dropout, `init_hidden` by
   `weight.new(...).zero_()`), `train` with `h = tuple([each.data for each in h])` each batch, `clip_grad_norm_`
   and a validation loop, the checkpoint written to and read from open files, and `predict`/`sample` (top-k, then
   `np.random.choice`). Anna Karenina is 60 made-up lines.
   time-series/Simple_RNN.ipynb (at 360c309514f026deb73a779dcba9a51453e50f2e): an `nn.RNN` regressor on sine
   windows made by `torch.Tensor(data)` of numpy float64 arrays, `hidden = hidden.data` carried between steps.
   Each stored file named is the one read; the index keeps several versions of each and does not order them.

Every source was found in the index: none was written from memory.

Met and left as documented in docs/pytorch.md (the lines say `differs:`):

  - `torch.Tensor(ndarray)` keeps the array's dtype here, as `torch.tensor` does (the library's contract: float
    data keeps its dtype; Python numbers become the default float dtype), where PyTorch's legacy constructor
    gives float32 whatever it is given. Simple_RNN's `torch.Tensor(data)` of np.sin's float64 array would reach
    its float32 `nn.RNN`, which refuses it ("TypeError: RNN: expected input of dtype float32 (the module's), got
    float64: cast it or make the module with dtype=float64"); the port adds `.float()`, which PyTorch runs too.

  - `next(self.parameters()).data.new(...)` (CharRNN.init_hidden) and `F.softmax(out, dim=1).data` before
    `p.topk(top_k)` (predict): `.data` is the read-only numpy array, which has neither `new` nor `topk`
    ("AttributeError: 'numpy.ndarray' object has no attribute ..."); written `.detach()`. Simple_RNN's plotted
    `prediction.data.numpy()` is `prediction.detach().numpy()`.
  - `h = tuple([each.data for each in h])` and Simple_RNN's `hidden = hidden.data` port as written: the state
    becomes read-only numpy arrays without history, which the layers take as their (h_0, c_0) / h_0; the values
    are those of the detached tensors and the gradient stops at the batch, as the authors meant (tested below
    against numpy and central differences).

Compared with PyTorch 2.13 (a scratch script, not a test: each port run once with
microgradseq and once with its imports pointed at torch, the same initial weights set at the optimizer's
construction, no shuffling, the char-RNN's dropout at 0, the sizes of the tests below; every step's gradients and
parameters and every loss compared; Simple_RNN's float32 run with PyTorch's float32 inputs):
  - float64: 8.9e-16 at worst in the losses of all five; gradients 1.4e-15 and weights 2.7e-15 at worst, except
    recurrent_neural_network's, whose 48 Adam steps at lr 0.01 drift to 2.0e-10 (gradients) and 8.6e-12 (weights)
    from 1.4e-17 after the first step.
  - float32: the first five steps agree to 1.2e-7 (gradients), 2.0e-6 (weights), 4.8e-7 (losses) in all five;
    whole runs to 9.2e-6 (gradients), 7.8e-7 (weights), 4.8e-7 (losses), except recurrent_neural_network, whose
    float32 rounding is amplified by training (losses 1.2e-2 apart after 48 steps; 3.6e-11 in float64). The
    char-RNN's 100-character samples (numpy's draws, top 5) are the same strings.

Expected values in the tests come from numpy written here (PyTorch's LSTM, stacked and bidirectional, in gate
order i, f, g, o; the Elman RNN; the language model's and char-RNN's forward passes), central finite differences
in float64, the made-up data itself (tokens, batches, one-hots) and bounds from it (uniform guessing, the word
frequencies); never from the library itself or from PyTorch at test time.
"""

import contextlib
import io
import math
import os

import numpy as np
import pytest

import microgradseq as torch
import microgradseq.nn as nn
import microgradseq.nn.functional as F
from microgradseq.nn.utils import clip_grad_norm_
from test_pytorch_porting_22 import arrays, central, made_up_mnist, np_log_softmax, sigmoid, some_indices, sub
from test_pytorch_porting_24 import working_directory


# ---- made-up data -----------------------------------------------------------------------------------------------

def made_up_mnist_datasets(train_count, test_count):
    """MNIST's place: made-up 28 x 28 images of ten classes (round 22's bars, digit d a bright bar at rows
    2d + 1 .. 2d + 3), as torchvision's `MNIST(transform=transforms.ToTensor())` gives them: (1, 28, 28) float32
    in [0, 1] and an integer label."""
    datasets = []
    for count, seed in ((train_count, 1), (test_count, 2)):
        images, labels = made_up_mnist(count, seed)
        datasets.append(torch.utils.data.TensorDataset(
            torch.tensor((images / 255.0).astype(np.float32)[:, None]), torch.tensor(labels)))
    return datasets


SUBJECTS = ["the cat", "the dog", "a bird", "my friend", "the teacher", "a child"]
VERBS = ["sees", "likes", "follows", "finds"]
OBJECTS = ["the ball", "a tree", "the house", "a river", "the moon"]


def made_up_sentences(count, seed=0):
    """`count` made-up lines of 'subject verb object .' (Penn Treebank's place: the language model reads
    data/train.txt a line at a time)."""
    rng = np.random.default_rng(seed)
    return [f"{SUBJECTS[rng.integers(6)]} {VERBS[rng.integers(4)]} {OBJECTS[rng.integers(5)]} ."
            for _ in range(count)]


def made_up_text(count=60, seed=3):
    """Anna Karenina's place: made-up prose, a few sentences repeated in a random order, one a line."""
    rng = np.random.default_rng(seed)
    lines = ["Happy families are all alike.", "Every unhappy family is unhappy in its own way.",
             "Anna had a letter.", "Levin went out to the fields.", "The train was late again."]
    return "\n".join(lines[i] for i in rng.integers(0, len(lines), count)) + "\n"


# ---- 1. yunjey/pytorch-tutorial ---------------------------------------------------------------------------------

def recurrent_neural_network(sequence_length=28, input_size=28, hidden_size=128, num_layers=2, num_classes=10,
                             batch_size=100, num_epochs=2, learning_rate=0.01, train_count=60000,
                             test_count=10000, init=None):
    # tutorials/02-intermediate/recurrent_neural_network/main.py (at e217e42e600ece714d047a6c7bcb098728cfa3ae)
    # differs: the module body is this function's, run in a scratch directory (it saves model.ckpt); the
    # hyper-parameters are arguments; torchvision's MNIST is made-up images; `init` is the comparison's hook
    # import torchvision  # differs: torchvision is not a dependency: made-up images instead
    # import torchvision.transforms as transforms

    # Device configuration
    device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

    # Hyper-parameters  # differs: arguments
    # sequence_length = 28
    # input_size = 28
    # hidden_size = 128
    # num_layers = 2
    # num_classes = 10
    # batch_size = 100
    # num_epochs = 2
    # learning_rate = 0.01

    # MNIST dataset  # differs: torchvision.datasets.MNIST(root='../../data/', train=..., transform=ToTensor())
    train_dataset, test_dataset = made_up_mnist_datasets(train_count, test_count)

    # Data loader
    train_loader = torch.utils.data.DataLoader(dataset=train_dataset,
                                               batch_size=batch_size,
                                               shuffle=True)

    test_loader = torch.utils.data.DataLoader(dataset=test_dataset,
                                              batch_size=batch_size,
                                              shuffle=False)

    # Recurrent neural network (many-to-one)
    class RNN(nn.Module):
        def __init__(self, input_size, hidden_size, num_layers, num_classes):
            super(RNN, self).__init__()
            self.hidden_size = hidden_size
            self.num_layers = num_layers
            self.lstm = nn.LSTM(input_size, hidden_size, num_layers, batch_first=True)
            self.fc = nn.Linear(hidden_size, num_classes)

        def forward(self, x):
            # Set initial hidden and cell states
            h0 = torch.zeros(self.num_layers, x.size(0), self.hidden_size).to(device)
            c0 = torch.zeros(self.num_layers, x.size(0), self.hidden_size).to(device)

            # Forward propagate LSTM
            out, _ = self.lstm(x, (h0, c0))  # out: tensor of shape (batch_size, seq_length, hidden_size)

            # Decode the hidden state of the last time step
            out = self.fc(out[:, -1, :])
            return out

    model = RNN(input_size, hidden_size, num_layers, num_classes).to(device)
    if init is not None:  # differs: the comparison script's hook
        init(model)

    # Loss and optimizer
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)

    losses = []  # differs: kept for the test
    # Train the model
    total_step = len(train_loader)
    for epoch in range(num_epochs):
        for i, (images, labels) in enumerate(train_loader):
            images = images.reshape(-1, sequence_length, input_size).to(device)
            labels = labels.to(device)

            # Forward pass
            outputs = model(images)
            loss = criterion(outputs, labels)

            # Backward and optimize
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())  # differs: kept for the test

            if (i+1) % 100 == 0:
                print ('Epoch [{}/{}], Step [{}/{}], Loss: {:.4f}'
                       .format(epoch+1, num_epochs, i+1, total_step, loss.item()))

    # Test the model
    model.eval()
    with torch.no_grad():
        correct = 0
        total = 0
        for images, labels in test_loader:
            images = images.reshape(-1, sequence_length, input_size).to(device)
            labels = labels.to(device)
            outputs = model(images)
            _, predicted = torch.max(outputs.data, 1)
            total += labels.size(0)
            correct += (predicted == labels).sum().item()

        print('Test Accuracy of the model on the 10000 test images: {} %'.format(100 * correct / total))

    # Save the model checkpoint
    torch.save(model.state_dict(), 'model.ckpt')
    return locals()


def bidirectional_recurrent_neural_network(sequence_length=28, input_size=28, hidden_size=128, num_layers=2,
                                           num_classes=10, batch_size=100, num_epochs=2, learning_rate=0.003,
                                           train_count=60000, test_count=10000, init=None):
    # tutorials/02-intermediate/bidirectional_recurrent_neural_network/main.py (at
    # 78c6afe681c4ff5095ef13662c02a7e369b1bcbd)
    # differs: as recurrent_neural_network above (the module body a function, arguments, made-up images, `init`)
    # import torchvision  # differs: made-up images instead
    # import torchvision.transforms as transforms

    # Device configuration
    device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

    # Hyper-parameters  # differs: arguments
    # sequence_length = 28
    # input_size = 28
    # hidden_size = 128
    # num_layers = 2
    # num_classes = 10
    # batch_size = 100
    # num_epochs = 2
    # learning_rate = 0.003

    # MNIST dataset  # differs: torchvision.datasets.MNIST(root='../../data/', train=..., transform=ToTensor())
    train_dataset, test_dataset = made_up_mnist_datasets(train_count, test_count)

    # Data loader
    train_loader = torch.utils.data.DataLoader(dataset=train_dataset,
                                               batch_size=batch_size,
                                               shuffle=True)

    test_loader = torch.utils.data.DataLoader(dataset=test_dataset,
                                              batch_size=batch_size,
                                              shuffle=False)

    # Bidirectional recurrent neural network (many-to-one)
    class BiRNN(nn.Module):
        def __init__(self, input_size, hidden_size, num_layers, num_classes):
            super(BiRNN, self).__init__()
            self.hidden_size = hidden_size
            self.num_layers = num_layers
            self.lstm = nn.LSTM(input_size, hidden_size, num_layers, batch_first=True, bidirectional=True)
            self.fc = nn.Linear(hidden_size*2, num_classes)  # 2 for bidirection

        def forward(self, x):
            # Set initial states
            h0 = torch.zeros(self.num_layers*2, x.size(0), self.hidden_size).to(device) # 2 for bidirection
            c0 = torch.zeros(self.num_layers*2, x.size(0), self.hidden_size).to(device)

            # Forward propagate LSTM
            out, _ = self.lstm(x, (h0, c0))  # out: tensor of shape (batch_size, seq_length, hidden_size*2)

            # Decode the hidden state of the last time step
            out = self.fc(out[:, -1, :])
            return out

    model = BiRNN(input_size, hidden_size, num_layers, num_classes).to(device)
    if init is not None:  # differs: the comparison script's hook
        init(model)

    # Loss and optimizer
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)

    losses = []  # differs: kept for the test
    # Train the model
    total_step = len(train_loader)
    for epoch in range(num_epochs):
        for i, (images, labels) in enumerate(train_loader):
            images = images.reshape(-1, sequence_length, input_size).to(device)
            labels = labels.to(device)

            # Forward pass
            outputs = model(images)
            loss = criterion(outputs, labels)

            # Backward and optimize
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())  # differs: kept for the test

            if (i+1) % 100 == 0:
                print ('Epoch [{}/{}], Step [{}/{}], Loss: {:.4f}'
                       .format(epoch+1, num_epochs, i+1, total_step, loss.item()))

    # Test the model
    with torch.no_grad():
        correct = 0
        total = 0
        for images, labels in test_loader:
            images = images.reshape(-1, sequence_length, input_size).to(device)
            labels = labels.to(device)
            outputs = model(images)
            _, predicted = torch.max(outputs.data, 1)
            total += labels.size(0)
            correct += (predicted == labels).sum().item()

        print('Test Accuracy of the model on the 10000 test images: {} %'.format(100 * correct / total))

    # Save the model checkpoint
    torch.save(model.state_dict(), 'model.ckpt')
    return locals()


# tutorials/02-intermediate/language_model/data_utils.py (at 78c6afe681c4ff5095ef13662c02a7e369b1bcbd)
# differs: the module's two classes are here, above the script that imports them (its `import torch` is this file's)

class Dictionary(object):
    def __init__(self):
        self.word2idx = {}
        self.idx2word = {}
        self.idx = 0

    def add_word(self, word):
        if not word in self.word2idx:
            self.word2idx[word] = self.idx
            self.idx2word[self.idx] = word
            self.idx += 1

    def __len__(self):
        return len(self.word2idx)


class Corpus(object):
    def __init__(self):
        self.dictionary = Dictionary()

    def get_data(self, path, batch_size=20):
        # Add words to the dictionary
        with open(path, 'r') as f:
            tokens = 0
            for line in f:
                words = line.split() + ['<eos>']
                tokens += len(words)
                for word in words:
                    self.dictionary.add_word(word)

        # Tokenize the file content
        ids = torch.LongTensor(tokens)
        token = 0
        with open(path, 'r') as f:
            for line in f:
                words = line.split() + ['<eos>']
                for word in words:
                    ids[token] = self.dictionary.word2idx[word]
                    token += 1
        num_batches = ids.size(0) // batch_size
        ids = ids[:num_batches*batch_size]
        return ids.view(batch_size, -1)


def language_model(embed_size=128, hidden_size=1024, num_layers=1, num_epochs=5, num_samples=1000, batch_size=20,
                   seq_length=30, learning_rate=0.002, init=None):
    # tutorials/02-intermediate/language_model/main.py (at 401b9035df445bb87ebc5f893365657fe0794126)
    # differs: the module body is this function's, run in a directory holding a made-up data/train.txt (it writes
    # sample.txt and model.ckpt there); the hyper-parameters are arguments; `init` is the comparison's hook
    # Some part of the code was referenced from below.
    # https://github.com/pytorch/examples/tree/master/word_language_model
    # from data_utils import Dictionary, Corpus  # differs: data_utils.py's classes are this file's

    # Device configuration
    device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')

    # Hyper-parameters  # differs: arguments

    # Load "Penn Treebank" dataset
    corpus = Corpus()
    ids = corpus.get_data('data/train.txt', batch_size)
    vocab_size = len(corpus.dictionary)
    num_batches = ids.size(1) // seq_length


    # RNN based language model
    class RNNLM(nn.Module):
        def __init__(self, vocab_size, embed_size, hidden_size, num_layers):
            super(RNNLM, self).__init__()
            self.embed = nn.Embedding(vocab_size, embed_size)
            self.lstm = nn.LSTM(embed_size, hidden_size, num_layers, batch_first=True)
            self.linear = nn.Linear(hidden_size, vocab_size)

        def forward(self, x, h):
            # Embed word ids to vectors
            x = self.embed(x)

            # Forward propagate LSTM
            out, (h, c) = self.lstm(x, h)

            # Reshape output to (batch_size*sequence_length, hidden_size)
            out = out.reshape(out.size(0)*out.size(1), out.size(2))

            # Decode hidden states of all time steps
            out = self.linear(out)
            return out, (h, c)

    model = RNNLM(vocab_size, embed_size, hidden_size, num_layers).to(device)
    if init is not None:  # differs: the comparison script's hook
        init(model)

    # Loss and optimizer
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)

    # Truncated backpropagation
    def detach(states):
        return [state.detach() for state in states]

    losses = []  # differs: kept for the test
    # Train the model
    for epoch in range(num_epochs):
        # Set initial hidden and cell states
        states = (torch.zeros(num_layers, batch_size, hidden_size).to(device),
                  torch.zeros(num_layers, batch_size, hidden_size).to(device))

        for i in range(0, ids.size(1) - seq_length, seq_length):
            # Get mini-batch inputs and targets
            inputs = ids[:, i:i+seq_length].to(device)
            targets = ids[:, (i+1):(i+1)+seq_length].to(device)

            # Forward pass
            states = detach(states)
            outputs, states = model(inputs, states)
            loss = criterion(outputs, targets.reshape(-1))

            # Backward and optimize
            optimizer.zero_grad()
            loss.backward()
            clip_grad_norm_(model.parameters(), 0.5)
            optimizer.step()
            losses.append(loss.item())  # differs: kept for the test

            step = (i+1) // seq_length
            if step % 100 == 0:
                print ('Epoch [{}/{}], Step[{}/{}], Loss: {:.4f}, Perplexity: {:5.2f}'
                       .format(epoch+1, num_epochs, step, num_batches, loss.item(), np.exp(loss.item())))

    # Test the model
    with torch.no_grad():
        with open('sample.txt', 'w') as f:
            # Set intial hidden ane cell states
            state = (torch.zeros(num_layers, 1, hidden_size).to(device),
                     torch.zeros(num_layers, 1, hidden_size).to(device))

            # Select one word id randomly
            prob = torch.ones(vocab_size)
            input = torch.multinomial(prob, num_samples=1).unsqueeze(1).to(device)

            for i in range(num_samples):
                # Forward propagate RNN
                output, state = model(input, state)

                # Sample a word id
                prob = output.exp()
                word_id = torch.multinomial(prob, num_samples=1).item()

                # Fill input with sampled word id for the next time step
                input.fill_(word_id)

                # File write
                word = corpus.dictionary.idx2word[word_id]
                word = '\n' if word == '<eos>' else word + ' '
                f.write(word)

                if (i+1) % 100 == 0:
                    print('Sampled [{}/{}] words and save to {}'.format(i+1, num_samples, 'sample.txt'))

    # Save the model checkpoints
    torch.save(model.state_dict(), 'model.ckpt')
    return locals()


# ---- 2. udacity/deep-learning-v2-pytorch ------------------------------------------------------------------------

def character_level_rnn(n_hidden=512, n_layers=2, batch_size=128, seq_length=100, n_epochs=20, print_every=10,
                        drop_prob=0.5, sample_size=1000, init=None):
    # recurrent-neural-networks/char-rnn/Character_Level_RNN_Solution.ipynb (at
    # 2f89884d017a6294355e6678c094b917220e893e)
    # differs: the notebook's code cells are this function's body, run in a directory holding a made-up
    # data/anna.txt (it writes rnn_20_epoch.net there); the sizes are arguments (drop_prob too, 0.5 there, so
    # that the comparison can turn dropout off); `init` is the comparison's hook; the cells' displayed values
    # (`text[:100]`, `encoded[:100]`) are left out
    # import numpy as np  # differs: this file's imports
    # import torch
    # from torch import nn
    # import torch.nn.functional as F

    # open text file and read in data as `text`
    with open('data/anna.txt', 'r') as f:
        text = f.read()

    # encode the text and map each character to an integer and vice versa

    # we create two dictionaries:
    # 1. int2char, which maps integers to characters
    # 2. char2int, which maps characters to unique integers
    chars = tuple(sorted(set(text)))  # differs: sorted, the same order in every process (set order is hashed)
    int2char = dict(enumerate(chars))
    char2int = {ch: ii for ii, ch in int2char.items()}

    # encode the text
    encoded = np.array([char2int[ch] for ch in text])

    def one_hot_encode(arr, n_labels):

        # Initialize the the encoded array
        one_hot = np.zeros((arr.size, n_labels), dtype=np.float32)

        # Fill the appropriate elements with ones
        one_hot[np.arange(one_hot.shape[0]), arr.flatten()] = 1.

        # Finally reshape it to get back to the original array
        one_hot = one_hot.reshape((*arr.shape, n_labels))

        return one_hot

    # check that the function works as expected
    test_seq = np.array([[3, 5, 1]])
    one_hot = one_hot_encode(test_seq, 8)

    print(one_hot)

    def get_batches(arr, batch_size, seq_length):
        '''Create a generator that returns batches of size
           batch_size x seq_length from arr.

           Arguments
           ---------
           arr: Array you want to make batches from
           batch_size: Batch size, the number of sequences per batch
           seq_length: Number of encoded chars in a sequence
        '''

        batch_size_total = batch_size * seq_length
        # total number of batches we can make
        n_batches = len(arr)//batch_size_total

        # Keep only enough characters to make full batches
        arr = arr[:n_batches * batch_size_total]
        # Reshape into batch_size rows
        arr = arr.reshape((batch_size, -1))

        # iterate through the array, one sequence at a time
        for n in range(0, arr.shape[1], seq_length):
            # The features
            x = arr[:, n:n+seq_length]
            # The targets, shifted by one
            y = np.zeros_like(x)
            try:
                y[:, :-1], y[:, -1] = x[:, 1:], arr[:, n+seq_length]
            except IndexError:
                y[:, :-1], y[:, -1] = x[:, 1:], arr[:, 0]
            yield x, y

    batches = get_batches(encoded, 8, 50)
    x, y = next(batches)

    # printing out the first 10 items in a sequence
    print('x\n', x[:10, :10])
    print('\ny\n', y[:10, :10])

    # check if GPU is available
    train_on_gpu = torch.cuda.is_available()
    if(train_on_gpu):
        print('Training on GPU!')
    else:
        print('No GPU available, training on CPU; consider making n_epochs very small.')

    class CharRNN(nn.Module):

        def __init__(self, tokens, n_hidden=256, n_layers=2,
                                   drop_prob=0.5, lr=0.001):
            super().__init__()
            self.drop_prob = drop_prob
            self.n_layers = n_layers
            self.n_hidden = n_hidden
            self.lr = lr

            # creating character dictionaries
            self.chars = tokens
            self.int2char = dict(enumerate(self.chars))
            self.char2int = {ch: ii for ii, ch in self.int2char.items()}

            ## TODO: define the LSTM
            self.lstm = nn.LSTM(len(self.chars), n_hidden, n_layers,
                                dropout=drop_prob, batch_first=True)

            ## TODO: define a dropout layer
            self.dropout = nn.Dropout(drop_prob)

            ## TODO: define the final, fully-connected output layer
            self.fc = nn.Linear(n_hidden, len(self.chars))


        def forward(self, x, hidden):
            ''' Forward pass through the network.
                These inputs are x, and the hidden/cell state `hidden`. '''

            ## TODO: Get the outputs and the new hidden state from the lstm
            r_output, hidden = self.lstm(x, hidden)

            ## TODO: pass through a dropout layer
            out = self.dropout(r_output)

            # Stack up LSTM outputs using view
            # you may need to use contiguous to reshape the output
            out = out.contiguous().view(-1, self.n_hidden)

            ## TODO: put x through the fully-connected layer
            out = self.fc(out)

            # return the final output and the hidden state
            return out, hidden


        def init_hidden(self, batch_size):
            ''' Initializes hidden state '''
            # Create two new tensors with sizes n_layers x batch_size x n_hidden,
            # initialized to zero, for hidden state and cell state of LSTM
            weight = next(self.parameters()).detach()  # differs: .data is a numpy array here (docs/pytorch.md)

            if (train_on_gpu):
                hidden = (weight.new(self.n_layers, batch_size, self.n_hidden).zero_().cuda(),
                      weight.new(self.n_layers, batch_size, self.n_hidden).zero_().cuda())
            else:
                hidden = (weight.new(self.n_layers, batch_size, self.n_hidden).zero_(),
                          weight.new(self.n_layers, batch_size, self.n_hidden).zero_())

            return hidden

    history = []  # differs: kept for the test, (step, loss, val_loss) at each print

    def train(net, data, epochs=10, batch_size=10, seq_length=50, lr=0.001, clip=5, val_frac=0.1, print_every=10):
        ''' Training a network

            Arguments
            ---------

            net: CharRNN network
            data: text data to train the network
            epochs: Number of epochs to train
            batch_size: Number of mini-sequences per mini-batch, aka batch size
            seq_length: Number of character steps per mini-batch
            lr: learning rate
            clip: gradient clipping
            val_frac: Fraction of data to hold out for validation
            print_every: Number of steps for printing training and validation loss

        '''
        net.train()

        opt = torch.optim.Adam(net.parameters(), lr=lr)
        criterion = nn.CrossEntropyLoss()

        # create training and validation data
        val_idx = int(len(data)*(1-val_frac))
        data, val_data = data[:val_idx], data[val_idx:]

        if(train_on_gpu):
            net.cuda()

        counter = 0
        n_chars = len(net.chars)
        for e in range(epochs):
            # initialize hidden state
            h = net.init_hidden(batch_size)

            for x, y in get_batches(data, batch_size, seq_length):
                counter += 1

                # One-hot encode our data and make them Torch tensors
                x = one_hot_encode(x, n_chars)
                inputs, targets = torch.from_numpy(x), torch.from_numpy(y)

                if(train_on_gpu):
                    inputs, targets = inputs.cuda(), targets.cuda()

                # Creating new variables for the hidden state, otherwise
                # we'd backprop through the entire training history
                h = tuple([each.data for each in h])

                # zero accumulated gradients
                net.zero_grad()

                # get the output from the model
                output, h = net(inputs, h)

                # calculate the loss and perform backprop
                loss = criterion(output, targets.view(batch_size*seq_length).long())
                loss.backward()
                # `clip_grad_norm` helps prevent the exploding gradient problem in RNNs / LSTMs.
                nn.utils.clip_grad_norm_(net.parameters(), clip)
                opt.step()

                # loss stats
                if counter % print_every == 0:
                    # Get validation loss
                    val_h = net.init_hidden(batch_size)
                    val_losses = []
                    net.eval()
                    for x, y in get_batches(val_data, batch_size, seq_length):
                        # One-hot encode our data and make them Torch tensors
                        x = one_hot_encode(x, n_chars)
                        x, y = torch.from_numpy(x), torch.from_numpy(y)

                        # Creating new variables for the hidden state, otherwise
                        # we'd backprop through the entire training history
                        val_h = tuple([each.data for each in val_h])

                        inputs, targets = x, y
                        if(train_on_gpu):
                            inputs, targets = inputs.cuda(), targets.cuda()

                        output, val_h = net(inputs, val_h)
                        val_loss = criterion(output, targets.view(batch_size*seq_length).long())

                        val_losses.append(val_loss.item())

                    net.train() # reset to train mode after iterationg through validation data

                    print("Epoch: {}/{}...".format(e+1, epochs),
                          "Step: {}...".format(counter),
                          "Loss: {:.4f}...".format(loss.item()),
                          "Val Loss: {:.4f}".format(np.mean(val_losses)))
                    history.append((counter, loss.item(), np.mean(val_losses)))  # differs: kept for the test

    # define and print the net
    # n_hidden=512  # differs: arguments
    # n_layers=2

    net = CharRNN(chars, n_hidden, n_layers, drop_prob=drop_prob)  # differs: drop_prob given (its default there)
    print(net)
    if init is not None:  # differs: the comparison script's hook
        init(net)

    # batch_size = 128  # differs: arguments
    # seq_length = 100
    # n_epochs = 20 # start smaller if you are just testing initial behavior

    # train the model
    train(net, encoded, epochs=n_epochs, batch_size=batch_size, seq_length=seq_length, lr=0.001, print_every=print_every)  # differs: print_every an argument (10)

    # change the name, for saving multiple files
    model_name = 'rnn_20_epoch.net'

    checkpoint = {'n_hidden': net.n_hidden,
                  'n_layers': net.n_layers,
                  'state_dict': net.state_dict(),
                  'tokens': net.chars}

    with open(model_name, 'wb') as f:
        torch.save(checkpoint, f)

    def predict(net, char, h=None, top_k=None):
            ''' Given a character, predict the next character.
                Returns the predicted character and the hidden state.
            '''

            # tensor inputs
            x = np.array([[net.char2int[char]]])
            x = one_hot_encode(x, len(net.chars))
            inputs = torch.from_numpy(x)

            if(train_on_gpu):
                inputs = inputs.cuda()

            # detach hidden state from history
            h = tuple([each.data for each in h])
            # get the output of the model
            out, h = net(inputs, h)

            # get the character probabilities
            p = F.softmax(out, dim=1).detach()  # differs: .data is a numpy array here (docs/pytorch.md)
            if(train_on_gpu):
                p = p.cpu() # move to cpu

            # get top characters
            if top_k is None:
                top_ch = np.arange(len(net.chars))
            else:
                p, top_ch = p.topk(top_k)
                top_ch = top_ch.numpy().squeeze()

            # select the likely next character with some element of randomness
            p = p.numpy().squeeze()
            char = np.random.choice(top_ch, p=p/p.sum())

            # return the encoded value of the predicted char and the hidden state
            return net.int2char[char], h

    def sample(net, size, prime='The', top_k=None):

        if(train_on_gpu):
            net.cuda()
        else:
            net.cpu()

        net.eval() # eval mode

        # First off, run through the prime characters
        chars = [ch for ch in prime]
        h = net.init_hidden(1)
        for ch in prime:
            char, h = predict(net, ch, h, top_k=top_k)

        chars.append(char)

        # Now pass in the previous character and get a new one
        for ii in range(size):
            char, h = predict(net, chars[-1], h, top_k=top_k)
            chars.append(char)

        return ''.join(chars)

    print(sample(net, sample_size, prime='Anna', top_k=5))  # differs: sample_size an argument (1000)

    # Here we have loaded in a model that trained over 20 epochs `rnn_20_epoch.net`
    with open('rnn_20_epoch.net', 'rb') as f:
        checkpoint = torch.load(f)

    loaded = CharRNN(checkpoint['tokens'], n_hidden=checkpoint['n_hidden'], n_layers=checkpoint['n_layers'])
    loaded.load_state_dict(checkpoint['state_dict'])

    # Sample using a loaded model
    print(sample(loaded, 2 * sample_size, top_k=5, prime="And Levin said"))  # differs: 2000 there
    return locals()


def simple_rnn(seq_length=20, n_steps=75, print_every=15, init=None):
    # recurrent-neural-networks/time-series/Simple_RNN.ipynb (at 360c309514f026deb73a779dcba9a51453e50f2e)
    # differs: the notebook's code cells are this function's body; matplotlib is left out (what would be plotted
    # is kept in `plotted`); the sizes are arguments; `init` is the comparison's hook
    # import torch  # differs: this file's imports
    # from torch import nn
    # import numpy as np
    # import matplotlib.pyplot as plt  # differs: no matplotlib
    # %matplotlib inline
    plotted = []  # differs: plt.plot's points, kept

    # plt.figure(figsize=(8,5))  # differs: no matplotlib

    # how many time steps/data pts are in one batch of data
    # seq_length = 20  # differs: an argument

    # generate evenly spaced data pts
    time_steps = np.linspace(0, np.pi, seq_length + 1)
    data = np.sin(time_steps)
    data.resize((seq_length + 1, 1)) # size becomes (seq_length+1, 1), adds an input_size dimension

    x = data[:-1] # all but the last piece of data
    y = data[1:] # all but the first

    # display the data  # differs: plt.plot(time_steps[1:], x, 'r.', label='input, x'), the same for y
    plotted.append((time_steps[1:], x, y))

    class RNN(nn.Module):
        def __init__(self, input_size, output_size, hidden_dim, n_layers):
            super(RNN, self).__init__()

            self.hidden_dim=hidden_dim

            # define an RNN with specified parameters
            # batch_first means that the first dim of the input and output will be the batch_size
            self.rnn = nn.RNN(input_size, hidden_dim, n_layers, batch_first=True)

            # last, fully-connected layer
            self.fc = nn.Linear(hidden_dim, output_size)

        def forward(self, x, hidden):
            # x (batch_size, seq_length, input_size)
            # hidden (n_layers, batch_size, hidden_dim)
            # r_out (batch_size, time_step, hidden_size)
            batch_size = x.size(0)

            # get RNN outputs
            r_out, hidden = self.rnn(x, hidden)
            # shape output to be (batch_size*seq_length, hidden_dim)
            r_out = r_out.view(-1, self.hidden_dim)

            # get final output
            output = self.fc(r_out)

            return output, hidden

    # test that dimensions are as expected
    test_rnn = RNN(input_size=1, output_size=1, hidden_dim=10, n_layers=2)

    # generate evenly spaced, test data pts
    time_steps = np.linspace(0, np.pi, seq_length)
    data = np.sin(time_steps)
    data.resize((seq_length, 1))

    test_input = torch.Tensor(data).float().unsqueeze(0) # give it a batch_size of 1 as first dimension  # differs: .float(): numpy arrays keep their dtype
    print('Input size: ', test_input.size())

    # test out rnn sizes
    test_out, test_h = test_rnn(test_input, None)
    print('Output size: ', test_out.size())
    print('Hidden state size: ', test_h.size())

    # decide on hyperparameters
    input_size=1
    output_size=1
    hidden_dim=32
    n_layers=1

    # instantiate an RNN
    rnn = RNN(input_size, output_size, hidden_dim, n_layers)
    print(rnn)
    if init is not None:  # differs: the comparison script's hook
        init(rnn)

    # MSE loss and Adam optimizer with a learning rate of 0.01
    criterion = nn.MSELoss()
    optimizer = torch.optim.Adam(rnn.parameters(), lr=0.01)

    losses, hiddens = [], []  # differs: kept for the test

    # train the RNN
    def train(rnn, n_steps, print_every):

        # initialize the hidden state
        hidden = None

        for batch_i, step in enumerate(range(n_steps)):
            # defining the training data
            time_steps = np.linspace(step * np.pi, (step+1)*np.pi, seq_length + 1)
            data = np.sin(time_steps)
            data.resize((seq_length + 1, 1)) # input_size=1

            x = data[:-1]
            y = data[1:]

            # convert data into Tensors
            x_tensor = torch.Tensor(x).float().unsqueeze(0) # unsqueeze gives a 1, batch_size dimension  # differs: .float(), as above
            y_tensor = torch.Tensor(y).float()  # differs: .float(), as above

            # outputs from the rnn
            prediction, hidden = rnn(x_tensor, hidden)

            ## Representing Memory ##
            # make a new variable for hidden and detach the hidden state from its history
            # this way, we don't backpropagate through the entire history
            hidden = hidden.data
            hiddens.append(hidden)  # differs: kept for the test

            # calculate the loss
            loss = criterion(prediction, y_tensor)
            # zero gradients
            optimizer.zero_grad()
            # perform backprop and update weights
            loss.backward()
            optimizer.step()
            losses.append(loss.item())  # differs: kept for the test

            # display loss and predictions
            if batch_i%print_every == 0:
                print('Loss: ', loss.item())
                # differs: plt.plot(time_steps[1:], x, 'r.') and plt.plot(time_steps[1:],
                # prediction.data.numpy().flatten(), 'b.'): `.data` is a numpy array here (docs/pytorch.md)
                plotted.append((time_steps[1:], x, prediction.detach().numpy().flatten()))
                # plt.show()  # differs: no matplotlib

        return rnn

    # train the rnn and monitor results
    # n_steps = 75  # differs: arguments
    # print_every = 15

    trained_rnn = train(rnn, n_steps, print_every)
    return locals()


# ---- tests ------------------------------------------------------------------------------------------------------

def run(script, directory, seed=0, **sizes):
    """One script run, quietly, in `directory` (holding the made-up data), after torch.manual_seed(seed) and
    np.random.seed(seed) (the char-RNN samples with numpy); its names."""
    torch.manual_seed(seed)
    np.random.seed(seed)
    with working_directory(directory), contextlib.redirect_stdout(io.StringIO()) as printed:
        names = script(**sizes)
    names["printed"], names["directory"] = printed.getvalue(), str(directory)
    return names


def write_data(directory):
    os.makedirs(os.path.join(directory, "data"), exist_ok=True)
    with open(os.path.join(directory, "data", "train.txt"), "w") as f:
        f.write("\n".join(made_up_sentences(200)) + "\n")
    with open(os.path.join(directory, "data", "anna.txt"), "w") as f:
        f.write(made_up_text())


@pytest.fixture(scope="module")
def directory(tmp_path_factory):
    directory = tmp_path_factory.mktemp("course_rnns")
    write_data(str(directory))
    return directory


@pytest.fixture(scope="module")
def runs(directory, tmp_path_factory):
    # (the classifiers save model.ckpt, as the language model does: each in a directory of its own)
    return {"rnn": run(recurrent_neural_network, tmp_path_factory.mktemp("rnn"), hidden_size=32, batch_size=50,
                       num_epochs=3, train_count=800, test_count=200),
            "birnn": run(bidirectional_recurrent_neural_network, tmp_path_factory.mktemp("birnn"), hidden_size=24,
                         batch_size=50, num_epochs=4, train_count=800, test_count=200),
            "lm": run(language_model, directory, embed_size=16, hidden_size=32, num_epochs=3, num_samples=200,
                      batch_size=4, seq_length=10),
            "char": run(character_level_rnn, directory, n_hidden=32, n_layers=2, batch_size=4, seq_length=20,
                        n_epochs=10, print_every=20, sample_size=100)}


@contextlib.contextmanager
def default_float64():
    """The scripts make their states with torch.zeros (the default dtype): float64 checks set the default."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        torch.set_default_dtype(before)


def np_lstm_layer(X, p, suffix, h, c, reverse=False):
    """PyTorch's LSTM layer over X (T, B, I), gates i, f, g, o, from (h, c); `reverse` runs from the last step to
    the first (outputs in input order). The outputs and the last (h, c)."""
    W_ih, W_hh, b = p["weight_ih" + suffix], p["weight_hh" + suffix], p["bias_ih" + suffix] + p["bias_hh" + suffix]
    H = W_hh.shape[1]
    outputs = [None] * len(X)
    for t in (reversed(range(len(X))) if reverse else range(len(X))):
        gates = X[t] @ W_ih.T + h @ W_hh.T + b
        i, f, o = sigmoid(gates[:, :H]), sigmoid(gates[:, H:2 * H]), sigmoid(gates[:, 3 * H:])
        c = f * c + i * np.tanh(gates[:, 2 * H:3 * H])
        h = o * np.tanh(c)
        outputs[t] = h
    return np.stack(outputs), h, c


def np_lstm(X, p, layers, h0=None, c0=None, bidirectional=False):
    """PyTorch's nn.LSTM (time first): `layers` layers, each fed the one below's outputs (both directions'
    joined); (h0, c0) of shape (layers * directions, B, H), zeros if None. The outputs and (h_n, c_n)."""
    directions = 2 if bidirectional else 1
    H = p["weight_hh_l0"].shape[1]
    shape = (layers * directions, X.shape[1], H)
    h0 = np.zeros(shape) if h0 is None else h0
    c0 = np.zeros(shape) if c0 is None else c0
    hs, cs = [], []
    for layer in range(layers):
        outs = []
        for d, suffix in enumerate(["_l%d" % layer, "_l%d_reverse" % layer][:directions]):
            k = layer * directions + d
            out, h, c = np_lstm_layer(X, p, suffix, h0[k], c0[k], reverse=d == 1)
            outs.append(out)
            hs.append(h)
            cs.append(c)
        X = np.concatenate(outs, -1)
    return X, (np.stack(hs), np.stack(cs))


def np_cross_entropy(logits, targets):
    return -np_log_softmax(logits)[np.arange(len(targets)), targets].mean()


def falls(losses, head=5):
    return np.mean(losses[-head:]) < 0.6 * np.mean(losses[:head])


# 1. yunjey/pytorch-tutorial

def mnist_logits(p, images, layers, bidirectional=False):
    out, _ = np_lstm(images.transpose(1, 0, 2), sub(p, "lstm."), layers, bidirectional=bidirectional)
    return out[-1] @ p["fc.weight"].T + p["fc.bias"]


@pytest.mark.parametrize("name, bidirectional", [("rnn", False), ("birnn", True)])
def test_mnist_classifiers_learn_and_their_logits_are_numpys_lstm(runs, name, bidirectional):
    names = runs[name]
    assert falls(names["losses"]) and names["total"] == 200
    assert names["correct"] / names["total"] > 0.5                                 # chance: 0.1
    assert names["printed"].rstrip().endswith("Test Accuracy of the model on the 10000 test images: "
                                              f"{100 * names['correct'] / 200} %")
    model = names["model"]
    images = np.stack([names["test_dataset"][i][0].numpy()[0] for i in range(20)]).astype(np.float64)
    with torch.no_grad():
        got = model(torch.tensor(images.astype(np.float32)))
    np.testing.assert_allclose(got.numpy(), mnist_logits(arrays(model), images, 2, bidirectional),
                               rtol=1e-4, atol=2e-5)
    saved = torch.load(os.path.join(names["directory"], "model.ckpt"))
    assert set(saved) == set(model.state_dict()) and (saved["fc.bias"] == model.fc.bias.numpy()).all()


@pytest.mark.parametrize("name, cls, bidirectional", [("rnn", "RNN", False), ("birnn", "BiRNN", True)])
def test_mnist_classifiers_gradients_by_central_differences_in_float64(runs, name, cls, bidirectional):
    names = runs[name]
    rng = np.random.default_rng(4)
    images, labels = rng.random((3, 6, 5)), np.array([0, 2, 1])
    with default_float64():
        torch.manual_seed(3)
        model = names[cls](5, 4, 2, 3).double()          # input_size, hidden_size, num_layers, num_classes
        loss = names["criterion"](model(torch.tensor(images)), torch.tensor(labels))
        loss.backward()
    p = arrays(model)
    assert abs(loss.item() - np_cross_entropy(mnist_logits(p, images, 2, bidirectional), labels)) < 1e-12
    grads = {n: q.grad for n, q in model.named_parameters()}
    keys = ["lstm.weight_ih_l0", "lstm.weight_hh_l1", "lstm.bias_hh_l0", "fc.weight"]
    if bidirectional:
        keys += ["lstm.weight_hh_l0_reverse", "lstm.weight_ih_l1_reverse"]
    for key in keys:
        indices = some_indices(p[key].shape, seed=len(key))
        f = lambda v: np_cross_entropy(mnist_logits({**p, key: v}, images, 2, bidirectional), labels)
        np.testing.assert_allclose([grads[key][i] for i in indices], central(f, p[key], indices),
                                   rtol=1e-6, atol=1e-9)


def test_corpus_numbers_the_words_in_order_and_folds_the_ids_into_batch_rows(runs, directory):
    names = runs["lm"]
    corpus, ids = names["corpus"], names["ids"]
    words = [w for line in open(os.path.join(directory, "data", "train.txt")) for w in line.split() + ["<eos>"]]
    vocabulary = list(dict.fromkeys(words))                                     # first appearance order
    assert corpus.dictionary.idx2word == dict(enumerate(vocabulary)) and len(corpus.dictionary) == 20
    assert ids.dtype == np.int64 and ids.shape == (4, len(words) // 4)
    np.testing.assert_array_equal(ids.numpy(), np.array([vocabulary.index(w) for w in words])[
        :len(words) // 4 * 4].reshape(4, -1))
    assert names["num_batches"] == ids.size(1) // 10


def test_language_model_learns_below_the_word_frequencies_and_samples_words(runs, directory):
    names = runs["lm"]
    losses = names["losses"]
    assert abs(losses[0] - math.log(20)) < 0.3                                  # uniform guessing first
    counts = np.bincount(names["ids"].numpy().ravel())
    freq = counts / counts.sum()
    unigram = -(freq * np.log(freq)).sum()                                      # the best context-free loss
    assert np.mean(losses[-5:]) < unigram - 0.3, (unigram, losses[-5:])
    text = open(os.path.join(directory, "sample.txt")).read()
    vocabulary = set(names["corpus"].dictionary.word2idx)
    assert len(text.split()) + text.count("\n") == 200                         # num_samples words, <eos> a line
    assert set(text.split()) <= vocabulary
    assert names["printed"].count("Sampled [") == 2


def np_lm_loss(p, x, y, h0, c0):
    """RNNLM in numpy (batch first ids x, y): the mean cross entropy and the last (h, c)."""
    out, (h, c) = np_lstm(p["embed.weight"][x].transpose(1, 0, 2), sub(p, "lstm."), 1, h0, c0)
    logits = out.transpose(1, 0, 2).reshape(-1, out.shape[-1]) @ p["linear.weight"].T + p["linear.bias"]
    return np_cross_entropy(logits, y.reshape(-1)), h, c


def test_language_model_truncated_bptt_and_clipping_against_numpy_in_float64(runs):
    """`states = detach(states)`: the second window's gradient is its own loss's with (h, c) held at the first
    window's last state (central differences in numpy); `clip_grad_norm_` returns its norm and scales it by
    max_norm / (norm + 1e-6) when that is below 1, as PyTorch's."""
    names = runs["lm"]
    ids = names["ids"].numpy()
    with default_float64():
        torch.manual_seed(5)
        model = names["RNNLM"](20, 6, 5, 1).double()
        states = (torch.zeros(1, 4, 5), torch.zeros(1, 4, 5))
        for i in (0, 10):
            states = names["detach"](states)
            outputs, states = model(names["ids"][:, i:i + 10], states)
            loss = names["criterion"](outputs, names["ids"][:, i + 1:i + 11].reshape(-1))
        model.zero_grad()
        loss.backward()
    p = arrays(model)
    zeros = np.zeros((1, 4, 5))
    _, h1, c1 = np_lm_loss(p, ids[:, :10], ids[:, 1:11], zeros, zeros)
    expected, h2, c2 = np_lm_loss(p, ids[:, 10:20], ids[:, 11:21], h1, c1)
    assert abs(loss.item() - expected) < 1e-12
    np.testing.assert_allclose(states[0].numpy(), h2, rtol=1e-12)
    grads = {n: np.array(q.grad) for n, q in model.named_parameters()}
    for key in ("lstm.weight_hh_l0", "embed.weight", "linear.weight"):
        indices = some_indices(p[key].shape, seed=len(key))
        f = lambda v: np_lm_loss({**p, key: v}, ids[:, 10:20], ids[:, 11:21], h1, c1)[0]
        np.testing.assert_allclose([grads[key][i] for i in indices], central(f, p[key], indices),
                                   rtol=1e-6, atol=1e-9)
    norm = np.sqrt(sum((g ** 2).sum() for g in grads.values()))
    returned = clip_grad_norm_(model.parameters(), 0.5)                  # the script's: here a norm below 0.5
    assert abs(returned.item() - norm) < 1e-12 and 0.1 < norm < 0.5
    for n, q in model.named_parameters():
        np.testing.assert_array_equal(q.grad, grads[n])
    clip_grad_norm_(model.parameters(), 0.1)                             # scaled by 0.1 / (norm + 1e-6)
    for n, q in model.named_parameters():
        np.testing.assert_allclose(q.grad, grads[n] * 0.1 / (norm + 1e-6), rtol=1e-12)


def test_multinomial_sampling_of_exp_logits_draws_in_proportion():
    """The sampler's `torch.multinomial(output.exp(), num_samples=1).item()` of a (1, V) row: an index drawn with
    probability exp(z_i) / sum exp(z); a zero weight is never drawn."""
    torch.manual_seed(0)
    z = np.log(np.array([[0.5, 0.3, 0.2, 0.0]]) + 1e-300)
    prob = torch.tensor(z).exp()
    draws = np.bincount([torch.multinomial(prob, num_samples=1).item() for _ in range(3000)], minlength=4) / 3000
    np.testing.assert_allclose(draws, [0.5, 0.3, 0.2, 0.0], atol=0.04)
    assert draws[3] == 0
    first = torch.multinomial(torch.ones(20), num_samples=1).unsqueeze(1)
    assert first.shape == (1, 1) and first.dtype == np.int64 and 0 <= first.item() < 20


# 2. udacity/deep-learning-v2-pytorch

def test_char_rnn_one_hot_and_get_batches_are_the_notebooks(runs, directory):
    names = runs["char"]
    assert names["printed"].startswith("[[[0. 0. 0. 1. 0. 0. 0. 0.]\n  [0. 0. 0. 0. 0. 1. 0. 0.]\n"
                                       "  [0. 1. 0. 0. 0. 0. 0. 0.]]]\n")
    one_hot = names["one_hot_encode"](np.array([[2, 0], [1, 1]]), 3)
    assert one_hot.dtype == np.float32 and one_hot.shape == (2, 2, 3)
    np.testing.assert_array_equal(one_hot, np.eye(3)[[[2, 0], [1, 1]]])
    arr = np.arange(20)                                  # 2 rows of 9 kept (3 batches of 2 x 3), 2 left out
    batches = list(names["get_batches"](arr, 2, 3))
    rows = arr[:18].reshape(2, 9)
    assert len(batches) == 3
    for k, (x, y) in enumerate(batches):
        np.testing.assert_array_equal(x, rows[:, 3 * k:3 * k + 3])
        following = rows[:, 3 * k + 3] if k < 2 else rows[:, 0]              # the last wraps to the row's start
        np.testing.assert_array_equal(y, np.concatenate([rows[:, 3 * k + 1:3 * k + 3], following[:, None]], 1))
    text = open(os.path.join(directory, "data", "anna.txt")).read()
    assert "".join(names["int2char"][i] for i in names["encoded"]) == text


def test_char_rnn_training_and_validation_losses_fall(runs):
    names = runs["char"]
    history = names["history"]
    assert [h[0] for h in history] == list(range(20, 20 * len(history) + 1, 20)) and len(history) >= 8
    assert abs(history[0][2] - math.log(len(names["chars"]))) < 0.3              # uniform guessing first
    assert history[-1][2] < history[0][2] - 0.25                                 # (dropout 0.5, Adam at 1e-3)
    assert np.mean([h[1] for h in history[-3:]]) < history[0][1] - 0.15
    assert "Epoch: 10/10... Step: " in names["printed"]
    assert str(names["net"]).startswith(f"CharRNN(\n  (lstm): LSTM({len(names['chars'])}, 32, num_layers=2, "
                                        "batch_first=True, dropout=0.5)\n  (dropout): Dropout(p=0.5")


def np_char_rnn(p, x, h0, c0):
    """CharRNN without dropout in numpy: the (B * T, V) scores of one-hot x (B, T, V) and the last (h, c)."""
    out, state = np_lstm(x.transpose(1, 0, 2), sub(p, "lstm."), 2, h0, c0)
    return out.transpose(1, 0, 2).reshape(-1, out.shape[-1]) @ p["fc.weight"].T + p["fc.bias"], state


def test_char_rnn_state_passed_through_data_is_truncated_bptt_in_float64(runs):
    """`h = tuple([each.data for each in h])` each batch: here `.data` is the state's read-only numpy array (a
    Tensor without history in PyTorch); the LSTM takes the pair of arrays as its (h_0, c_0), with the same values,
    and the loss's gradient stops there (central differences in numpy with the state held), unlike full BPTT."""
    names = runs["char"]
    V = len(names["chars"])
    rng = np.random.default_rng(6)
    codes = rng.integers(0, V, (2, 8))
    xs = [names["one_hot_encode"](codes[:, :4], V).astype(np.float64),
          names["one_hot_encode"](codes[:, 4:], V).astype(np.float64)]
    target = rng.integers(0, V, 8)
    with default_float64():
        torch.manual_seed(7)
        net = names["CharRNN"](names["chars"], 5, 2, drop_prob=0.0).double()
        h = net.init_hidden(2)
        assert h[0].dtype == np.float64 and h[0].shape == (2, 2, 5) and not h[0].numpy().any()
        for x in xs:
            h = tuple([each.data for each in h])
            assert all(type(each) is np.ndarray and not each.flags.writeable for each in h)
            net.zero_grad()
            output, h = net(torch.from_numpy(x), h)
        loss = nn.CrossEntropyLoss()(output, torch.tensor(target))
        loss.backward()
    p = arrays(net)
    zeros = np.zeros((2, 2, 5))
    _, (h1, c1) = np_char_rnn(p, xs[0], zeros, zeros)
    scores, (h2, c2) = np_char_rnn(p, xs[1], h1, c1)
    np.testing.assert_allclose(output.numpy(), scores, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(h[1].numpy(), c2, rtol=1e-12, atol=1e-14)
    key = "lstm.weight_hh_l0"
    indices = some_indices(p[key].shape)
    truncated = central(lambda v: np_cross_entropy(np_char_rnn({**p, key: v}, xs[1], h1, c1)[0], target),
                        p[key], indices)
    got = [net.lstm.weight_hh_l0.grad[i] for i in indices]
    np.testing.assert_allclose(got, truncated, rtol=1e-6, atol=1e-9)

    def full(v):
        q = {**p, key: v}
        return np_cross_entropy(np_char_rnn(q, xs[1], *np_char_rnn(q, xs[0], zeros, zeros)[1])[0], target)

    assert np.abs(np.array(got) - central(full, p[key], indices)).max() > 1e-4


def test_char_rnn_sample_is_numpys_top_k_draw(runs):
    names = runs["char"]
    net = names["net"]
    assert names["printed"].count("\nAnna") == 1 and "\nAnd Levin said" in names["printed"]
    np.random.seed(11)
    sampled = names["sample"](net, 30, prime="Anna", top_k=5)
    assert not net.training
    p = arrays(net)
    char2int, V = names["char2int"], len(names["chars"])
    np.random.seed(11)
    h = c = np.zeros((2, 1, 32))
    chars = list("Anna")
    for k in range(len("Anna") + 30):
        scores, (h, c) = np_char_rnn(p, np.eye(V)[[[char2int[chars[min(k, len(chars) - 1)]]]]], h, c)
        probs = np.exp(np_log_softmax(scores[0]))
        top = np.argsort(-probs, kind="stable")[:5]
        draw = np.random.choice(top, p=probs[top] / probs[top].sum())
        if k >= len("Anna") - 1:
            chars.append(names["int2char"][draw])
    assert sampled == "".join(chars)


def test_char_rnn_checkpoint_loads_into_a_new_net(runs):
    names = runs["char"]
    checkpoint, loaded, net = names["checkpoint"], names["loaded"], names["net"]
    assert checkpoint["tokens"] == names["chars"] and (checkpoint["n_hidden"], checkpoint["n_layers"]) == (32, 2)
    for key, value in net.state_dict().items():
        np.testing.assert_array_equal(loaded.state_dict()[key], value)


def test_simple_rnn_predicts_the_next_sine_value_carrying_hidden_data(tmp_path):
    names = run(simple_rnn, tmp_path)
    assert names["printed"].startswith("Input size:  ")
    assert names["test_out"].shape == (20, 1) and names["test_h"].shape == (2, 1, 10)
    assert names["test_input"].dtype == np.float32                        # .float(): the layer's dtype
    losses = names["losses"]
    assert len(losses) == 75 and names["printed"].count("Loss:  ") == 5
    assert np.mean(losses[-10:]) < 0.1 * np.mean(losses[:5])
    assert all(type(h) is np.ndarray and h.shape == (1, 1, 32) for h in names["hiddens"])


def test_simple_rnn_step_with_hidden_data_against_numpy_in_float64(tmp_path):
    """`hidden = hidden.data` after each step: the next window starts from that state, and its gradient stops
    there (central differences in numpy)."""
    names = run(simple_rnn, tmp_path, n_steps=2)
    windows = [np.sin(np.linspace(k * np.pi, (k + 1) * np.pi, 21))[:, None] for k in (0, 1)]
    with default_float64():
        torch.manual_seed(8)
        rnn = names["RNN"](1, 1, 6, 1).double()
        hidden = None
        for w in windows:
            prediction, hidden = rnn(torch.Tensor(w[:-1]).unsqueeze(0), hidden)
            hidden = hidden.data
            loss = names["criterion"](prediction, torch.Tensor(w[1:]))
        rnn.zero_grad()
        loss.backward()
    p = arrays(rnn)

    def np_window(q, w, h):
        outs, h = np_rnn(w[:-1][:, None], sub(q, "rnn."), h)
        return np.mean((outs[:, 0] @ q["fc.weight"].T + q["fc.bias"] - w[1:]) ** 2), h

    h1 = np_window(p, windows[0], np.zeros((1, 6)))[1]
    assert abs(loss.item() - np_window(p, windows[1], h1)[0]) < 1e-12
    for key in ("rnn.weight_hh_l0", "rnn.weight_ih_l0", "fc.weight"):
        indices = some_indices(p[key].shape, count=4)
        expected = central(lambda v: np_window({**p, key: v}, windows[1], h1)[0], p[key], indices)
        np.testing.assert_allclose([dict(rnn.named_parameters())[key].grad[i] for i in indices], expected,
                                   rtol=1e-6, atol=1e-9)


def np_rnn(X, p, h):
    """PyTorch's Elman layer (tanh) over X (T, B, I) from h (B, H)."""
    outputs = []
    for x in X:
        h = np.tanh(x @ p["weight_ih_l0"].T + p["bias_ih_l0"] + h @ p["weight_hh_l0"].T + p["bias_hh_l0"])
        outputs.append(h)
    return np.stack(outputs), h


# ---- documented differences met ----------------------------------------------------------------------------------

def test_state_data_is_a_read_only_array_and_the_lstm_takes_it_with_no_history():
    """docs/pytorch.md, "Arrays are read-only": `each.data` of an LSTM state is its numpy array. Fed back as
    (h_0, c_0) it gives the same outputs as the detached tensors (PyTorch's `.data`), and no gradient reaches the
    previous batch."""
    torch.manual_seed(0)
    lstm = nn.LSTM(3, 4, 2, batch_first=True)
    x1, x2 = torch.randn(2, 5, 3), torch.randn(2, 5, 3)
    _, h = lstm(x1, None)
    assert h[0].grad_fn is not None
    through_data = tuple([each.data for each in h])
    assert all(type(each) is np.ndarray and not each.flags.writeable for each in through_data)
    out_data, _ = lstm(x2, through_data)
    out_detached, _ = lstm(x2, tuple(each.detach() for each in h))
    np.testing.assert_array_equal(out_data.numpy(), out_detached.numpy())
    lstm.zero_grad()
    out_data.sum().backward()
    from_data = np.array(lstm.weight_hh_l0.grad)
    lstm.zero_grad()
    out_detached.sum().backward()
    np.testing.assert_array_equal(lstm.weight_hh_l0.grad, from_data)


def test_new_through_data_and_topk_through_data_are_numpys_errors():
    """The char-RNN's `next(self.parameters()).data.new(...)` and `F.softmax(out, dim=1).data.topk(k)`: numpy's
    arrays have neither; `.detach()` gives the tensor without history that both lines meant (docs/pytorch.md)."""
    weight = nn.Linear(2, 3).weight
    with pytest.raises(AttributeError, match="'numpy.ndarray' object has no attribute 'new'"):
        weight.data.new(2, 1, 3)
    zeros = weight.detach().new(2, 1, 3).zero_()
    assert zeros.shape == (2, 1, 3) and zeros.dtype == np.float32 and not zeros.numpy().any()
    p = F.softmax(torch.tensor([[1.0, 3.0, 2.0]]), dim=1)
    with pytest.raises(AttributeError, match="'numpy.ndarray' object has no attribute 'topk'"):
        p.data.topk(2)
    values, indices = p.detach().topk(2)
    assert indices.tolist() == [[1, 2]]
    e = np.exp([1.0, 3.0, 2.0])
    np.testing.assert_allclose(values.numpy(), [[e[1] / e.sum(), e[2] / e.sum()]], rtol=1e-6)


def test_legacy_tensor_of_a_numpy_array_keeps_its_dtype_and_a_float32_layer_says_so():
    """`torch.Tensor(ndarray)` of floats keeps the array's dtype (PyTorch's legacy constructor makes float32); Python
    numbers and arrays of ints become the default float dtype in both. A float32 layer given the float64 tensor names
    itself, both dtypes and the two ways out, before it computes anything; `.float()` is the port."""
    a = np.sin(np.linspace(0, np.pi, 5))[:, None]                                # float64
    assert torch.Tensor(a).dtype == np.float64 and torch.Tensor(np.arange(3)).dtype == np.float32
    assert torch.Tensor(a.tolist()).dtype == np.float32 and torch.Tensor([1, 2]).dtype == np.float32
    layer = nn.RNN(1, 3, batch_first=True)
    with pytest.raises(TypeError, match=r"RNN: expected input of dtype float32 \(the module's\), got float64: "
                                        r"cast it or make the module with dtype=float64"):
        layer(torch.Tensor(a).unsqueeze(0), None)
    x = torch.Tensor(a).float()
    np.testing.assert_array_equal(x.numpy(), a.astype(np.float32))
    out, h = layer(x.unsqueeze(0), None)
    assert out.shape == (1, 5, 3) and out.dtype == np.float32 and h.shape == (1, 1, 3)
