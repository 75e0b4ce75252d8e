"""Porting, round 6: five more public PyTorch scripts about sequences, each with only its imports
changed, its data made synthetic and small, and the documented real differences marked where they
are unavoidable (`# difference: ...`):

- PyTorch's tutorial "NLP From Scratch: Classifying Names with a Character-Level RNN"
  (pytorch/tutorials, intermediate_source/char_rnn_classification_tutorial.py, the current version:
  a `Dataset` subclass, `random_split` with a `torch.Generator`, `nn.RNN`, clipping, SGD);
- bentrevett/pytorch-seq2seq, "4 - Packed Padded Sequences, Masking, Inference and BLEU" (a packed
  bidirectional GRU encoder, attention masked with `masked_fill`, `torch.bmm`, teacher forcing);
- yunjey/pytorch-tutorial, 02-intermediate/bidirectional_recurrent_neural_network (a many-to-one
  bidirectional LSTM reading an image row by row);
- curiousily's "Time Series Anomaly Detection using LSTM Autoencoders with PyTorch" (an LSTM
  autoencoder, `nn.L1Loss(reduction='sum')`, the best weights kept with `copy.deepcopy`);
- yunjey/pytorch-tutorial, 02-intermediate/language_model (an LSTM language model with detached
  states, `clip_grad_norm_`, sampling with `torch.multinomial` and `input.fill_`), on characters.

Each test checks behaviour against a bound from its task (chance, the entropy of guessing), never
against the library's own earlier output. No PyTorch needed."""

import copy
import math
import random

import numpy as np
import pytest

import microgradseq as torch
import microgradseq.nn as nn
import microgradseq.nn.functional as F
import microgradseq.optim as optim
from microgradseq.nn.utils import clip_grad_norm_
from microgradseq.utils.data import Dataset


# ---- 1. pytorch/tutorials: classifying names with a character-level RNN -------------------------

allowed_chars = "abcdefghijklmnopqrstuvwxyz" + "_"
n_letters = len(allowed_chars)


def letterToIndex(letter):
    if letter not in allowed_chars:
        return allowed_chars.find("_")
    else:
        return allowed_chars.find(letter)


def lineToTensor(line):
    tensor = torch.zeros(len(line), 1, n_letters)
    for li, letter in enumerate(line):
        tensor[li][0][letterToIndex(letter)] = 1
    return tensor


def label_from_output(output, output_lables):
    top_n, top_i = output.topk(1)
    label_i = top_i[0].item()
    return output_lables[label_i], label_i


class NamesDataset(Dataset):
    def __init__(self, names_by_label):
        # the tutorial reads data/names/*.txt; here the names come in a dict {label: [names]}
        labels_set = set()
        self.data = []
        self.data_tensors = []
        self.labels = []
        self.labels_tensors = []
        for label, lines in names_by_label.items():
            labels_set.add(label)
            for name in lines:
                self.data.append(name)
                self.data_tensors.append(lineToTensor(name))
                self.labels.append(label)

        self.labels_uniq = sorted(labels_set)       # the tutorial's list(labels_set), in a fixed order
        for idx in range(len(self.labels)):
            temp_tensor = torch.tensor([self.labels_uniq.index(self.labels[idx])], dtype=torch.long)
            self.labels_tensors.append(temp_tensor)

    def __len__(self):
        return len(self.data)

    def __getitem__(self, idx):
        data_item = self.data[idx]
        data_label = self.labels[idx]
        data_tensor = self.data_tensors[idx]
        label_tensor = self.labels_tensors[idx]
        return label_tensor, data_tensor, data_label, data_item


class CharRNN(nn.Module):
    def __init__(self, input_size, hidden_size, output_size):
        super(CharRNN, self).__init__()
        self.rnn = nn.RNN(input_size, hidden_size)
        self.h2o = nn.Linear(hidden_size, output_size)
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, line_tensor):
        rnn_out, hidden = self.rnn(line_tensor)
        output = self.h2o(hidden[0])
        output = self.softmax(output)
        return output


def train_names(rnn, training_data, n_epoch=10, n_batch_size=64, report_every=50, learning_rate=0.2,
                criterion=nn.NLLLoss()):
    current_loss = 0
    all_losses = []
    rnn.train()
    optimizer = torch.optim.SGD(rnn.parameters(), lr=learning_rate)

    for iter in range(1, n_epoch + 1):
        rnn.zero_grad()
        batches = list(range(len(training_data)))
        random.shuffle(batches)
        batches = np.array_split(batches, len(batches) // n_batch_size)

        for idx, batch in enumerate(batches):
            batch_loss = 0
            for i in batch:
                (label_tensor, text_tensor, label, text) = training_data[i]
                output = rnn.forward(text_tensor)
                loss = criterion(output, label_tensor)
                batch_loss += loss

            batch_loss.backward()
            nn.utils.clip_grad_norm_(rnn.parameters(), 3)
            optimizer.step()
            optimizer.zero_grad()

            current_loss += batch_loss.item() / len(batch)

        all_losses.append(current_loss / len(batches))
        current_loss = 0
    return all_losses


def evaluate_names(rnn, testing_data, classes):
    confusion = torch.zeros(len(classes), len(classes))
    rnn.eval()
    with torch.no_grad():
        for i in range(len(testing_data)):
            (label_tensor, text_tensor, label, text) = testing_data[i]
            output = rnn(text_tensor)
            guess, guess_i = label_from_output(output, classes)
            label_i = classes.index(label)
            confusion[label_i][guess_i] += 1

    # Normalize by dividing every row by its sum
    for i in range(len(classes)):
        denom = confusion[i].sum()
        if denom > 0:
            confusion[i] = confusion[i] / denom

    return confusion            # the tutorial plots the matrix here


def synthetic_names(rng, per_label):
    """Three 'languages', each spelling its names (3 to 7 letters) from its own six letters."""
    alphabets = {"Aish": "aeilns", "Brok": "bkortu", "Cyzm": "cmpwyz"}
    return {label: ["".join(rng.choice(list(letters), size=rng.integers(3, 8))) for _ in range(per_label)]
            for label, letters in alphabets.items()}


def test_the_name_classification_tutorial_trains_and_beats_chance():
    """Three balanced classes: guessing costs ln 3 = 1.10 nats, and 18 test names put chance accuracy
    at 1/3 (standard deviation 0.11), as it does the mean accuracy per class, the mean diagonal of the
    tutorial's confusion matrix normalised by rows."""
    random.seed(0)
    torch.manual_seed(0)        # (the RNN's initial weights: otherwise the global generator's leftover state)
    device = torch.device("cpu")
    torch.set_default_device(device)
    alldata = NamesDataset(synthetic_names(np.random.default_rng(0), 40))
    train_set, test_set = torch.utils.data.random_split(
        alldata, [0.85, 0.15], generator=torch.Generator(device=device).manual_seed(2024))
    assert (len(train_set), len(test_set)) == (102, 18)
    assert sorted(train_set.indices + test_set.indices) == list(range(120))

    n_hidden = 32
    rnn = CharRNN(n_letters, n_hidden, len(alldata.labels_uniq))
    assert "RNN(27, 32)" in str(rnn)
    output = rnn(lineToTensor("Albert"))
    assert output.shape == (1, 3) and np.allclose(output.exp().sum().item(), 1.0, atol=1e-6)

    all_losses = train_names(rnn, train_set, n_epoch=12, n_batch_size=16, learning_rate=0.15)
    assert all_losses[-1] < 0.5 * math.log(3)
    confusion = evaluate_names(rnn, test_set, classes=alldata.labels_uniq).numpy()
    np.testing.assert_allclose(confusion.sum(axis=1), 1.0, rtol=1e-6)       # every class is in the test set
    assert np.trace(confusion) / len(alldata.labels_uniq) > 0.8


# ---- 2. bentrevett/pytorch-seq2seq 4: packed padded sequences, masking, inference ---------------

class Encoder(nn.Module):
    def __init__(self, input_dim, emb_dim, enc_hid_dim, dec_hid_dim, dropout):
        super().__init__()
        self.embedding = nn.Embedding(input_dim, emb_dim)
        self.rnn = nn.GRU(emb_dim, enc_hid_dim, bidirectional=True)
        self.fc = nn.Linear(enc_hid_dim * 2, dec_hid_dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, src, src_len):
        embedded = self.dropout(self.embedding(src))
        packed_embedded = nn.utils.rnn.pack_padded_sequence(embedded, src_len.to('cpu'))
        packed_outputs, hidden = self.rnn(packed_embedded)
        outputs, _ = nn.utils.rnn.pad_packed_sequence(packed_outputs)
        hidden = torch.tanh(self.fc(torch.cat((hidden[-2, :, :], hidden[-1, :, :]), dim=1)))
        return outputs, hidden


class Attention(nn.Module):
    def __init__(self, enc_hid_dim, dec_hid_dim):
        super().__init__()
        self.attn = nn.Linear((enc_hid_dim * 2) + dec_hid_dim, dec_hid_dim)
        self.v = nn.Linear(dec_hid_dim, 1, bias=False)

    def forward(self, hidden, encoder_outputs, mask):
        batch_size = encoder_outputs.shape[1]
        src_len = encoder_outputs.shape[0]
        hidden = hidden.unsqueeze(1).repeat(1, src_len, 1)
        encoder_outputs = encoder_outputs.permute(1, 0, 2)
        energy = torch.tanh(self.attn(torch.cat((hidden, encoder_outputs), dim=2)))
        attention = self.v(energy).squeeze(2)
        attention = attention.masked_fill(mask == 0, -1e10)
        return F.softmax(attention, dim=1)


class Decoder(nn.Module):
    def __init__(self, output_dim, emb_dim, enc_hid_dim, dec_hid_dim, dropout, attention):
        super().__init__()
        self.output_dim = output_dim
        self.attention = attention
        self.embedding = nn.Embedding(output_dim, emb_dim)
        self.rnn = nn.GRU((enc_hid_dim * 2) + emb_dim, dec_hid_dim)
        self.fc_out = nn.Linear((enc_hid_dim * 2) + dec_hid_dim + emb_dim, output_dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, input, hidden, encoder_outputs, mask):
        input = input.unsqueeze(0)
        embedded = self.dropout(self.embedding(input))
        a = self.attention(hidden, encoder_outputs, mask)
        a = a.unsqueeze(1)
        encoder_outputs = encoder_outputs.permute(1, 0, 2)
        weighted = torch.bmm(a, encoder_outputs)
        weighted = weighted.permute(1, 0, 2)
        rnn_input = torch.cat((embedded, weighted), dim=2)
        output, hidden = self.rnn(rnn_input, hidden.unsqueeze(0))
        assert (output == hidden).all()
        embedded = embedded.squeeze(0)
        output = output.squeeze(0)
        weighted = weighted.squeeze(0)
        prediction = self.fc_out(torch.cat((output, weighted, embedded), dim=1))
        return prediction, hidden.squeeze(0), a.squeeze(1)


class Seq2Seq(nn.Module):
    def __init__(self, encoder, decoder, src_pad_idx, device):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
        self.src_pad_idx = src_pad_idx
        self.device = device

    def create_mask(self, src):
        mask = (src != self.src_pad_idx).permute(1, 0)
        return mask

    def forward(self, src, src_len, trg, teacher_forcing_ratio=0.5):
        batch_size = src.shape[1]
        trg_len = trg.shape[0]
        trg_vocab_size = self.decoder.output_dim
        outputs = torch.zeros(trg_len, batch_size, trg_vocab_size).to(self.device)
        encoder_outputs, hidden = self.encoder(src, src_len)
        input = trg[0, :]
        mask = self.create_mask(src)
        for t in range(1, trg_len):
            output, hidden, _ = self.decoder(input, hidden, encoder_outputs, mask)
            outputs[t] = output
            teacher_force = random.random() < teacher_forcing_ratio
            top1 = output.argmax(1)
            input = trg[t] if teacher_force else top1
        return outputs


def init_weights(m):
    for name, param in m.named_parameters():
        # difference: `param.data` is the parameter's read-only array; nn.init takes the parameter
        if 'weight' in name:
            nn.init.normal_(param, mean=0, std=0.01)
        else:
            nn.init.constant_(param, 0)


def count_parameters(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def train_seq2seq(model, iterator, optimizer, criterion, clip):
    model.train()
    epoch_loss = 0
    for i, batch in enumerate(iterator):
        src, src_len = batch.src
        trg = batch.trg
        optimizer.zero_grad()
        output = model(src, src_len, trg)
        output_dim = output.shape[-1]
        output = output[1:].view(-1, output_dim)
        trg = trg[1:].view(-1)
        loss = criterion(output, trg)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        epoch_loss += loss.item()
    return epoch_loss / len(iterator)


def evaluate_seq2seq(model, iterator, criterion):
    model.eval()
    epoch_loss = 0
    with torch.no_grad():
        for i, batch in enumerate(iterator):
            src, src_len = batch.src
            trg = batch.trg
            output = model(src, src_len, trg, 0)
            output_dim = output.shape[-1]
            output = output[1:].view(-1, output_dim)
            trg = trg[1:].view(-1)
            loss = criterion(output, trg)
            epoch_loss += loss.item()
    return epoch_loss / len(iterator)


def translate_sentence(src_indexes, model, device, sos, eos, max_len=50):
    # the notebook tokenises with spaCy and torchtext's fields first; here the indexes come ready
    model.eval()
    src_tensor = torch.LongTensor(src_indexes).unsqueeze(1).to(device)
    src_len = torch.LongTensor([len(src_indexes)])
    with torch.no_grad():
        encoder_outputs, hidden = model.encoder(src_tensor, src_len)
    mask = model.create_mask(src_tensor)
    trg_indexes = [sos]
    attentions = torch.zeros(max_len, 1, len(src_indexes)).to(device)
    for i in range(max_len):
        trg_tensor = torch.LongTensor([trg_indexes[-1]]).to(device)
        with torch.no_grad():
            output, hidden, attention = model.decoder(trg_tensor, hidden, encoder_outputs, mask)
        attentions[i] = attention
        pred_token = output.argmax(1).item()
        trg_indexes.append(pred_token)
        if pred_token == eos:
            break
    return trg_indexes[1:], attentions[:len(trg_indexes)-1]


class Batch:
    """What torchtext's BucketIterator gives with include_lengths=True: `src` = (tokens, lengths), `trg`."""

    def __init__(self, src, src_len, trg):
        self.src, self.trg = (src, src_len), trg


PAD, SOS, EOS, FIRST_WORD, VOCAB = 0, 1, 2, 3, 9


def reversal_batches(rng, count, batch_size):
    """Sentences of 2..5 words from 6 words, each to be translated into itself reversed; the sources padded
    and sorted longest first (torchtext's sort_within_batch=True), the targets padded with PAD."""
    batches = []
    for _ in range(count):
        words = sorted((list(rng.integers(FIRST_WORD, VOCAB, size=rng.integers(2, 6))) for _ in range(batch_size)),
                       key=len, reverse=True)
        src = [torch.tensor([SOS] + w + [EOS]) for w in words]
        trg = [torch.tensor([SOS] + w[::-1] + [EOS]) for w in words]
        batches.append(Batch(nn.utils.rnn.pad_sequence(src, padding_value=PAD),
                             torch.tensor([len(s) for s in src]),
                             nn.utils.rnn.pad_sequence(trg, padding_value=PAD)))
    return batches


def test_the_packed_padded_attention_seq2seq_notebook_learns_to_reverse_and_masks_the_padding():
    """Guessing one of the 6 words costs ln 6 = 1.79 nats per target token; the model must get under half
    of that, reverse a sentence it has not seen, and put no attention on the source's padding."""
    random.seed(0)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    device = torch.device("cpu")
    attn = Attention(16, 16)
    enc = Encoder(VOCAB, 8, 16, 16, 0.1)
    dec = Decoder(VOCAB, 8, 16, 16, 0.1, attn)
    model = Seq2Seq(enc, dec, PAD, device).to(device)
    model.apply(init_weights)
    assert count_parameters(model) == sum(p.size for p in model.state_dict().values())
    gru = lambda n_in, h: 3 * h * (n_in + h + 2)           # (one direction: W_ih, W_hh, b_ih, b_hh of 3 gates)
    assert count_parameters(model) == (VOCAB * 8 + 2 * gru(8, 16) + (32 * 16 + 16)       # encoder
                                       + (48 * 16 + 16) + 16                              # attention: attn, v
                                       + VOCAB * 8 + gru(32 + 8, 16) + (56 * VOCAB + VOCAB))  # decoder
    assert "GRU(8, 16, bidirectional=True)" in str(model)
    optimizer = optim.Adam(model.parameters(), lr=0.02)
    criterion = nn.CrossEntropyLoss(ignore_index=PAD)
    train_iterator, valid_iterator = reversal_batches(rng, 30, 16), reversal_batches(rng, 4, 16)

    for epoch in range(6):
        train_loss = train_seq2seq(model, train_iterator, optimizer, criterion, clip=1)
    valid_loss = evaluate_seq2seq(model, valid_iterator, criterion)
    assert valid_loss < 0.5 * math.log(6)

    translation, attention = translate_sentence([SOS, 4, 5, 6, EOS], model, device, SOS, EOS)
    assert translation == [6, 5, 4, EOS]
    assert attention.shape == (len(translation), 1, 5)
    assert np.allclose(attention.sum(dim=2).numpy(), 1.0, atol=1e-5)
    src = torch.tensor([[SOS, SOS], [4, 7], [5, EOS], [EOS, PAD]])       # the second sentence is padded
    with torch.no_grad():
        encoder_outputs, hidden = model.encoder(src, torch.tensor([4, 3]))
        _, _, a = model.decoder(torch.tensor([SOS, SOS]), hidden, encoder_outputs, model.create_mask(src))
    assert a[1, 3].item() == 0.0 and np.isclose(a[1, :3].sum().item(), 1.0, atol=1e-6)


# ---- 3. yunjey/pytorch-tutorial: a bidirectional LSTM reads an image row by row ------------------

class BiRNN(nn.Module):
    def __init__(self, input_size, hidden_size, num_layers, num_classes, device):
        super(BiRNN, self).__init__()
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.lstm = nn.LSTM(input_size, hidden_size, num_layers, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(hidden_size * 2, num_classes)
        self.device = device            # the tutorial reads a global `device`

    def forward(self, x):
        h0 = torch.zeros(self.num_layers * 2, x.size(0), self.hidden_size).to(self.device)
        c0 = torch.zeros(self.num_layers * 2, x.size(0), self.hidden_size).to(self.device)
        out, _ = self.lstm(x, (h0, c0))
        out = self.fc(out[:, -1, :])
        return out


def striped_images(rng, count, side):
    """Noisy side x side images of class k (of 4) with a bright stroke on row 2k, in place of MNIST."""
    labels = rng.integers(0, 4, size=count)
    images = rng.normal(0.0, 0.3, size=(count, 1, side, side)).astype(np.float32)
    images[np.arange(count), 0, 2 * labels, :] += 1.0
    return torch.utils.data.TensorDataset(torch.tensor(images), torch.tensor(labels))


def test_the_bidirectional_rnn_tutorial_classifies_images_read_row_by_row(tmp_path):
    """Four balanced classes: chance accuracy is 1/4, and a loss of ln 4 = 1.39 nats is guessing."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    sequence_length, input_size, hidden_size, num_layers = 8, 8, 16, 2
    num_classes, batch_size, num_epochs, learning_rate = 4, 20, 2, 0.01
    # the tutorial downloads MNIST with torchvision; here the images are made up
    train_dataset = striped_images(rng, 400, 8)
    test_dataset = striped_images(rng, 200, 8)
    train_loader = torch.utils.data.DataLoader(dataset=train_dataset, batch_size=batch_size, shuffle=True)
    test_loader = torch.utils.data.DataLoader(dataset=test_dataset, batch_size=batch_size, shuffle=False)

    model = BiRNN(input_size, hidden_size, num_layers, num_classes, device).to(device)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    total_step = len(train_loader)
    for epoch in range(num_epochs):
        for i, (images, labels) in enumerate(train_loader):
            images = images.reshape(-1, sequence_length, input_size).to(device)
            labels = labels.to(device)
            outputs = model(images)
            loss = criterion(outputs, labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    assert total_step == 20 and loss.item() < 0.5 * math.log(4)

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
    assert total == 200 and correct / total > 0.9

    torch.save(model.state_dict(), tmp_path / 'model.ckpt')
    assert sorted(torch.load(tmp_path / 'model.ckpt')) == sorted(model.state_dict())
    reloaded = torch.load(tmp_path / 'model.ckpt')
    assert all(np.array_equal(np.asarray(reloaded[k]), p.detach().numpy()) for k, p in model.named_parameters())


# ---- 4. curiousily: an LSTM autoencoder for time series anomaly detection -----------------------

class AutoEncoderEncoder(nn.Module):
    def __init__(self, seq_len, n_features, embedding_dim=64):
        super(AutoEncoderEncoder, self).__init__()
        self.seq_len, self.n_features = seq_len, n_features
        self.embedding_dim, self.hidden_dim = embedding_dim, 2 * embedding_dim
        self.rnn1 = nn.LSTM(input_size=n_features, hidden_size=self.hidden_dim, num_layers=1, batch_first=True)
        self.rnn2 = nn.LSTM(input_size=self.hidden_dim, hidden_size=embedding_dim, num_layers=1,
                            batch_first=True)

    def forward(self, x):
        x = x.reshape((1, self.seq_len, self.n_features))
        x, (_, _) = self.rnn1(x)
        x, (hidden_n, _) = self.rnn2(x)
        return hidden_n.reshape((self.n_features, self.embedding_dim))


class AutoEncoderDecoder(nn.Module):
    def __init__(self, seq_len, input_dim=64, n_features=1):
        super(AutoEncoderDecoder, self).__init__()
        self.seq_len, self.input_dim = seq_len, input_dim
        self.hidden_dim, self.n_features = 2 * input_dim, n_features
        self.rnn1 = nn.LSTM(input_size=input_dim, hidden_size=input_dim, num_layers=1, batch_first=True)
        self.rnn2 = nn.LSTM(input_size=input_dim, hidden_size=self.hidden_dim, num_layers=1, batch_first=True)
        self.output_layer = nn.Linear(self.hidden_dim, n_features)

    def forward(self, x):
        x = x.repeat(self.seq_len, self.n_features)
        x = x.reshape((self.n_features, self.seq_len, self.input_dim))
        x, (hidden_n, cell_n) = self.rnn1(x)
        x, (hidden_n, cell_n) = self.rnn2(x)
        x = x.reshape((self.seq_len, self.hidden_dim))
        return self.output_layer(x)


class RecurrentAutoencoder(nn.Module):
    def __init__(self, seq_len, n_features, embedding_dim=64, device="cpu"):
        super(RecurrentAutoencoder, self).__init__()
        self.encoder = AutoEncoderEncoder(seq_len, n_features, embedding_dim).to(device)
        self.decoder = AutoEncoderDecoder(seq_len, embedding_dim, n_features).to(device)

    def forward(self, x):
        x = self.encoder(x)
        x = self.decoder(x)
        return x


def create_dataset(sequences):
    # the post reads a pandas frame: `sequences = df.astype(np.float32).to_numpy().tolist()`
    dataset = [torch.tensor(s).unsqueeze(1).float() for s in sequences]
    n_seq, seq_len, n_features = torch.stack(dataset).shape
    return dataset, seq_len, n_features


LEARNING_RATE = 5e-3     # the post: 1e-3, over 150 epochs


def train_autoencoder(model, train_dataset, val_dataset, n_epochs, device):
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    criterion = nn.L1Loss(reduction='sum').to(device)
    history = dict(train=[], val=[])
    best_model_wts = copy.deepcopy(model.state_dict())
    best_loss = 10000.0
    for epoch in range(1, n_epochs + 1):
        model = model.train()
        train_losses = []
        for seq_true in train_dataset:
            optimizer.zero_grad()
            seq_true = seq_true.to(device)
            seq_pred = model(seq_true)
            loss = criterion(seq_pred, seq_true)
            loss.backward()
            optimizer.step()
            train_losses.append(loss.item())
        val_losses = []
        model = model.eval()
        with torch.no_grad():
            for seq_true in val_dataset:
                seq_true = seq_true.to(device)
                seq_pred = model(seq_true)
                loss = criterion(seq_pred, seq_true)
                val_losses.append(loss.item())
        train_loss = np.mean(train_losses)
        val_loss = np.mean(val_losses)
        history['train'].append(train_loss)
        history['val'].append(val_loss)
        if val_loss < best_loss:
            best_loss = val_loss
            best_model_wts = copy.deepcopy(model.state_dict())
    model.load_state_dict(best_model_wts)
    return model.eval(), history


def predict(model, dataset, device):
    predictions, losses = [], []
    criterion = nn.L1Loss(reduction='sum').to(device)
    with torch.no_grad():
        model = model.eval()
        for seq_true in dataset:
            seq_true = seq_true.to(device)
            seq_pred = model(seq_true)
            loss = criterion(seq_pred, seq_true)
            predictions.append(seq_pred.cpu().numpy().flatten())
            losses.append(loss.item())
    return predictions, losses


def heartbeats(rng, count, seq_len, anomalous=False):
    """One sine period with a random phase and amplitude 0.8..1.2 (normal), or three periods in the same
    time (anomalous), in place of the post's ECG data set."""
    t = np.linspace(0, 2 * np.pi, seq_len) * (3 if anomalous else 1)
    waves = rng.uniform(0.8, 1.2, (count, 1)) * np.sin(t + rng.uniform(0, 2 * np.pi, (count, 1)))
    return waves.astype(np.float32).tolist()


def test_the_lstm_autoencoder_post_reconstructs_normal_sequences_and_flags_anomalies():
    """A reconstruction that ignored its input could do no better than each sequence's own median
    (the L1 loss's best constant, an oracle): the autoencoder must halve that, the best epoch's weights
    must be the ones that come back, and every anomalous sequence must cost more than twice the
    normal ones' mean (the post's THRESHOLD, drawn from the normal losses)."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    train_dataset, seq_len, n_features = create_dataset(heartbeats(rng, 32, 8))
    val_dataset, _, _ = create_dataset(heartbeats(rng, 8, 8))
    test_anomaly_dataset, _, _ = create_dataset(heartbeats(rng, 8, 8, anomalous=True))
    assert (seq_len, n_features) == (8, 1)

    model = RecurrentAutoencoder(seq_len, n_features, 8)
    model = model.to(device)
    model, history = train_autoencoder(model, train_dataset, val_dataset, n_epochs=14, device=device)
    assert model.training is False and len(history['val']) == 14

    predictions, val_losses = predict(model, val_dataset, device)
    assert predictions[0].shape == (seq_len,)
    assert np.isclose(np.mean(val_losses), min(history['val']), rtol=1e-6)        # the best weights came back
    median_loss = np.mean([np.abs(s.numpy() - np.median(s.numpy())).sum() for s in val_dataset])
    assert np.mean(val_losses) < 0.5 * median_loss

    THRESHOLD = 2 * np.mean(val_losses)
    _, anomaly_losses = predict(model, test_anomaly_dataset, device)
    assert all(l > THRESHOLD for l in anomaly_losses)


# ---- 5. yunjey/pytorch-tutorial: an LSTM language model, clipped, sampled with multinomial --------

class Dictionary(object):
    def __init__(self):
        self.word2idx = {}
        self.idx2word = {}
        self.idx = 0

    def add_word(self, word):
        if word not in self.word2idx:
            self.word2idx[word] = self.idx
            self.idx2word[self.idx] = word
            self.idx += 1

    def __len__(self):
        return len(self.word2idx)


class Corpus(object):
    def __init__(self):
        self.dictionary = Dictionary()

    def get_data(self, path, batch_size=20):
        with open(path, 'r') as f:
            tokens = 0
            for line in f:
                words = line.split() + ['<eos>']
                tokens += len(words)
                for word in words:
                    self.dictionary.add_word(word)
        ids = torch.LongTensor(tokens)
        token = 0
        with open(path, 'r') as f:
            for line in f:
                words = line.split() + ['<eos>']
                for word in words:
                    ids[token] = self.dictionary.word2idx[word]
                    token += 1
        num_batches = ids.size(0) // batch_size
        ids = ids[:num_batches * batch_size]
        return ids.view(batch_size, -1)


class RNNLM(nn.Module):
    def __init__(self, vocab_size, embed_size, hidden_size, num_layers):
        super(RNNLM, self).__init__()
        self.embed = nn.Embedding(vocab_size, embed_size)
        self.lstm = nn.LSTM(embed_size, hidden_size, num_layers, batch_first=True)
        self.linear = nn.Linear(hidden_size, vocab_size)

    def forward(self, x, h):
        x = self.embed(x)
        out, (h, c) = self.lstm(x, h)
        out = out.reshape(out.size(0) * out.size(1), out.size(2))
        out = self.linear(out)
        return out, (h, c)


def detach(states):
    return [state.detach() for state in states]


def nursery_text(rng, lines):
    """Sentences from a small grammar ("the cat sat on the mat"), one a line, in place of Penn Treebank."""
    subjects, verbs, places = ["the cat", "a dog", "my bird"], ["sat on", "ran to", "slept in"], ["the mat", "a box"]
    return "\n".join(f"{rng.choice(subjects)} {rng.choice(verbs)} {rng.choice(places)}" for _ in range(lines))


def test_the_language_model_tutorial_learns_the_grammar_and_samples_from_it(tmp_path):
    """A model that ignores context can do no better than the words' frequencies (their entropy, from
    the data); the LSTM must get well under it, and what it samples must follow the grammar: every
    sampled pair of words must be a pair the text contains."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    (tmp_path / 'train.txt').write_text(nursery_text(rng, 300))
    device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    embed_size, hidden_size, num_layers, num_epochs = 16, 32, 1, 3
    num_samples, batch_size, seq_length, learning_rate = 60, 10, 10, 0.01

    corpus = Corpus()
    ids = corpus.get_data(tmp_path / 'train.txt', batch_size)
    vocab_size = len(corpus.dictionary)
    num_batches = ids.size(1) // seq_length
    model = RNNLM(vocab_size, embed_size, hidden_size, num_layers).to(device)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)

    losses = []
    for epoch in range(num_epochs):
        states = (torch.zeros(num_layers, batch_size, hidden_size).to(device),
                  torch.zeros(num_layers, batch_size, hidden_size).to(device))
        for i in range(0, ids.size(1) - seq_length, seq_length):
            inputs = ids[:, i:i + seq_length].to(device)
            targets = ids[:, (i + 1):(i + 1) + seq_length].to(device)
            states = detach(states)
            outputs, states = model(inputs, states)
            loss = criterion(outputs, targets.reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            clip_grad_norm_(model.parameters(), 0.5)
            optimizer.step()
            losses.append(loss.item())
    counts = np.bincount(ids.numpy().ravel(), minlength=vocab_size)
    frequencies = counts / counts.sum()
    unigram_entropy = -(frequencies * np.log(frequencies)).sum()
    last_epoch = losses[-(len(losses) // num_epochs):]
    assert num_batches == 21 and np.mean(last_epoch) < unigram_entropy - 1.0

    sampled = []
    with torch.no_grad():
        state = (torch.zeros(num_layers, 1, hidden_size).to(device),
                 torch.zeros(num_layers, 1, hidden_size).to(device))
        prob = torch.ones(vocab_size)
        input = torch.multinomial(prob, num_samples=1).unsqueeze(1).to(device)
        for i in range(num_samples):
            output, state = model(input, state)
            prob = output.exp()
            word_id = torch.multinomial(prob, num_samples=1).item()
            input.fill_(word_id)
            sampled.append(corpus.dictionary.idx2word[word_id])
    text = ids.view(-1).tolist()
    seen = {(corpus.dictionary.idx2word[a], corpus.dictionary.idx2word[b]) for a, b in zip(text, text[1:])}
    pairs = list(zip(sampled, sampled[1:]))
    assert sum(pair in seen for pair in pairs) >= 0.95 * len(pairs)


# ---- the spellings these scripts needed: Dataset, Generator, set_default_device, printed layers ---

def test_a_dataset_subclass_batches_through_a_dataloader_and_splits():
    class Squares(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, idx):
            return torch.tensor([float(idx)]), idx * idx

    data = Squares()
    xs, ys = next(iter(torch.utils.data.DataLoader(data, batch_size=5)))
    assert xs.shape == (5, 1) and ys.tolist() == [0, 1, 4, 9, 16] and ys.dtype == np.int64
    first, second = torch.utils.data.random_split(data, [3, 2])
    assert sorted(first.indices + second.indices) == [0, 1, 2, 3, 4]
    assert isinstance(first, Dataset) and isinstance(torch.utils.data.TensorDataset(torch.zeros(2)), Dataset)


def test_a_dataset_without_getitem_says_what_to_define():
    class Empty(Dataset):
        pass

    with pytest.raises(NotImplementedError, match=r"Empty: a Dataset subclass must define __getitem__"):
        Empty()[0]


def test_generator_manual_seed_reseeds_in_place_and_returns_it():
    generator = torch.Generator()
    assert generator.manual_seed(7) is generator
    first = generator.permutation(10).tolist()
    assert first == np.random.default_rng(7).permutation(10).tolist()      # numpy's draws for that seed
    generator.manual_seed(7)
    assert generator.permutation(10).tolist() == first
    assert isinstance(generator, np.random.Generator)                      # accepted wherever rng= is


def test_generators_seeded_alike_split_alike_and_draw_like_multinomial_rng():
    data = torch.utils.data.TensorDataset(torch.arange(20))
    split = lambda seed: torch.utils.data.random_split(data, [0.75, 0.25],
                                                       generator=torch.Generator().manual_seed(seed))
    assert [s.indices for s in split(3)] == [s.indices for s in split(3)]
    assert [s.indices for s in split(3)] != [s.indices for s in split(4)]
    draws = torch.multinomial(torch.ones(5), 5, rng=torch.Generator().manual_seed(1))
    assert sorted(draws.tolist()) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("seed", [-2 ** 63 - 1, 2 ** 64, 1.5, "1", True])
def test_generator_manual_seed_refuses_what_is_not_a_seed(seed):
    with pytest.raises(ValueError, match=r"Generator.manual_seed: seed must be an integer from -2\*\*63 to 2\*\*64 - 1"):
        torch.Generator().manual_seed(seed)


def test_generator_and_set_default_device_take_the_cpu_and_refuse_another_device():
    on_cpu = torch.Generator(device="cpu")
    assert on_cpu.manual_seed(5).permutation(6).tolist() == np.random.default_rng(5).permutation(6).tolist()
    assert torch.set_default_device("cpu") is None and torch.zeros(2).device == torch.device("cpu")
    assert torch.set_default_device(None) is None
    with pytest.raises(RuntimeError, match=r"Generator: device 'cuda' is not available"):
        torch.Generator(device="cuda")
    with pytest.raises(RuntimeError, match=r"set_default_device: device 'cuda:0' is not available"):
        torch.set_default_device(torch.device("cuda", 0))


@pytest.mark.parametrize("module, printed", [
    (nn.RNN(27, 128), "RNN(27, 128)"),
    (nn.GRU(256, 512, bidirectional=True), "GRU(256, 512, bidirectional=True)"),
    (nn.LSTM(28, 128, 2, batch_first=True, bidirectional=True),
     "LSTM(28, 128, num_layers=2, batch_first=True, bidirectional=True)"),
    (nn.LSTM(4, 8, 2, bias=False, dropout=0.5), "LSTM(4, 8, num_layers=2, bias=False, dropout=0.5)"),
    (nn.RNNCell(3, 4), "RNNCell(3, 4)"),
    (nn.RNNCell(3, 4, bias=False, nonlinearity="relu"), "RNNCell(3, 4, bias=False, nonlinearity=relu)"),
    (nn.LSTMCell(3, 4), "LSTMCell(3, 4)"),
    (nn.Dropout(0.5), "Dropout(p=0.5, inplace=False)"),
])
def test_layers_print_as_pytorch_prints_them_options_only_when_not_the_default(module, printed):
    """The strings PyTorch prints for these modules (as the tutorials show them in their output)."""
    assert repr(module) == printed
