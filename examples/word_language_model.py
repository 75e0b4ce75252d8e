"""A word-level language model written the PyTorch way, ported by changing its imports.

This is PyTorch's own `examples/word_language_model` (model.py, data.py,
main.py and the sampling loop of generate.py) with its imports pointed at
microgradseq: an embedding, a 2-layer LSTM with dropout between the layers,
dropout on its input and output, a decoder tied to the embedding (`--tied`),
the NLL of log-softmax outputs, gradient clipping, plain SGD written out by hand under
`no_grad` (or `--optimizer adamw`), evaluation under `eval()`/`no_grad`, a
checkpoint saved to a file object and reloaded, and text sampled with
`multinomial`. Run in PyTorch, the same file needs only its three import
lines back (and `--data` pointed at a text file: the default is the built-in
text that ships with this library).

The corpus is the built-in text (short sentences about sequences and
gradients), split by lines into train, validation and test sets. The best
checkpoint is saved to `./model.npz` (`--save`), as PyTorch's to `model.pt`.

    python examples/word_language_model.py [--quick] [--tied] [--epochs N] [--model LSTM|GRU|RNN_TANH|RNN_RELU]

The default learning rate, PyTorch's 20, suits the LSTM and the GRU. The plain
RNNs need a smaller one: at 20 they stay at a context-free model's loss (about
3.9 nats per word here), and `--model RNN_TANH --lr 2` learns.
"""

import argparse
import math
import os
import time

import microgradseq as torch
import microgradseq.nn as nn
import microgradseq.nn.functional as F

# ---- data.py --------------------------------------------------------------------------------


class Dictionary(object):
    def __init__(self):
        self.word2idx = {}
        self.idx2word = []

    def add_word(self, word):
        if word not in self.word2idx:
            self.idx2word.append(word)
            self.word2idx[word] = len(self.idx2word) - 1
        return self.word2idx[word]

    def __len__(self):
        return len(self.idx2word)


class Corpus(object):
    """The lines of one text file, split 80/10/10 into train, valid and test (PyTorch's example
    reads three files instead)."""

    def __init__(self, path):
        self.dictionary = Dictionary()
        with open(path, "r", encoding="utf8") as f:
            lines = [line for line in f if line.strip()]
        n_valid = n_test = len(lines) // 10
        n_train = len(lines) - n_valid - n_test
        self.train = self.tokenize(lines[:n_train])
        self.valid = self.tokenize(lines[n_train:n_train + n_valid])
        self.test = self.tokenize(lines[n_train + n_valid:])

    def tokenize(self, lines):
        idss = []
        for line in lines:
            words = line.split() + ["<eos>"]
            ids = [self.dictionary.add_word(word) for word in words]
            idss.append(torch.tensor(ids).type(torch.int64))
        return torch.cat(idss)


# ---- model.py -------------------------------------------------------------------------------


class RNNModel(nn.Module):
    """Container module with an encoder, a recurrent module, and a decoder."""

    def __init__(self, rnn_type, ntoken, ninp, nhid, nlayers, dropout=0.5, tie_weights=False):
        super(RNNModel, self).__init__()
        self.ntoken = ntoken
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(ntoken, ninp)
        if rnn_type in ["LSTM", "GRU"]:
            self.rnn = getattr(nn, rnn_type)(ninp, nhid, nlayers, dropout=dropout)
        else:
            try:
                nonlinearity = {"RNN_TANH": "tanh", "RNN_RELU": "relu"}[rnn_type]
            except KeyError as e:
                raise ValueError("""An invalid option for `--model` was supplied,
                                 options are ['LSTM', 'GRU', 'RNN_TANH' or 'RNN_RELU']""") from e
            self.rnn = nn.RNN(ninp, nhid, nlayers, nonlinearity=nonlinearity, dropout=dropout)
        self.decoder = nn.Linear(nhid, ntoken)

        # "Using the Output Embedding to Improve Language Models" (Press & Wolf 2016)
        if tie_weights:
            if nhid != ninp:
                raise ValueError("When using the tied flag, nhid must be equal to emsize")
            self.decoder.weight = self.encoder.weight

        self.init_weights()
        self.rnn_type = rnn_type
        self.nhid = nhid
        self.nlayers = nlayers

    def init_weights(self):
        initrange = 0.1
        nn.init.uniform_(self.encoder.weight, -initrange, initrange)
        nn.init.zeros_(self.decoder.bias)
        nn.init.uniform_(self.decoder.weight, -initrange, initrange)

    def forward(self, input, hidden):
        emb = self.drop(self.encoder(input))
        output, hidden = self.rnn(emb, hidden)
        output = self.drop(output)
        decoded = self.decoder(output)
        decoded = decoded.view(-1, self.ntoken)
        return F.log_softmax(decoded, dim=1), hidden

    def init_hidden(self, bsz):
        weight = next(self.parameters())
        if self.rnn_type == "LSTM":
            return (weight.new_zeros(self.nlayers, bsz, self.nhid),
                    weight.new_zeros(self.nlayers, bsz, self.nhid))
        return weight.new_zeros(self.nlayers, bsz, self.nhid)


# ---- main.py --------------------------------------------------------------------------------


def batchify(data, bsz, device):
    # Work out how cleanly we can divide the dataset into bsz parts, trim off the rest, and lay
    # the parts side by side as columns: (nbatch, bsz).
    nbatch = data.size(0) // bsz
    data = data.narrow(0, 0, nbatch * bsz)
    data = data.view(bsz, -1).t().contiguous()
    return data.to(device)


def get_batch(source, i, bptt):
    seq_len = min(bptt, len(source) - 1 - i)
    data = source[i:i + seq_len]
    target = source[i + 1:i + 1 + seq_len].view(-1)
    return data, target


def repackage_hidden(h):
    """Wraps hidden states in new Tensors, to detach them from their history."""
    if isinstance(h, torch.Tensor):
        return h.detach()
    return tuple(repackage_hidden(v) for v in h)


def evaluate(model, criterion, data_source, eval_batch_size, bptt):
    model.eval()            # no dropout
    total_loss = 0.
    hidden = model.init_hidden(eval_batch_size)
    with torch.no_grad():
        for i in range(0, data_source.size(0) - 1, bptt):
            data, targets = get_batch(data_source, i, bptt)
            output, hidden = model(data, hidden)
            hidden = repackage_hidden(hidden)
            total_loss += len(data) * criterion(output, targets).item()
    return total_loss / (len(data_source) - 1)


def train_epoch(model, criterion, train_data, args, lr, optimizer=None):
    model.train()           # dropout on
    losses = []
    hidden = model.init_hidden(args.batch_size)
    for batch, i in enumerate(range(0, train_data.size(0) - 1, args.bptt)):
        data, targets = get_batch(train_data, i, args.bptt)
        # Starting each batch, we detach the hidden state from how it was previously produced.
        # If we didn't, the model would try backpropagating all the way to start of the dataset.
        hidden = repackage_hidden(hidden)
        model.zero_grad()
        output, hidden = model(data, hidden)
        loss = criterion(output, targets)
        loss.backward()

        # `clip_grad_norm` helps prevent the exploding gradient problem in RNNs / LSTMs.
        torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        if optimizer is not None:
            optimizer.step()
        else:
            with torch.no_grad():
                for p in model.parameters():
                    p -= lr * p.grad
        losses.append(loss.item())
    return losses


def generate(model, corpus, words, temperature, device):
    model.eval()
    hidden = model.init_hidden(1)
    ntokens = len(corpus.dictionary)
    input = torch.randint(ntokens, (1, 1), dtype=torch.long).to(device)
    sampled = []
    with torch.no_grad():  # no tracking history
        for i in range(words):
            output, hidden = model(input, hidden)
            word_weights = output.squeeze().div(temperature).exp().cpu()
            word_idx = torch.multinomial(word_weights, 1)[0]
            input.fill_(word_idx)
            sampled.append(corpus.dictionary.idx2word[word_idx])
    return " ".join(sampled).replace(" <eos> ", "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description="Word-level language model, the PyTorch example ported")
    parser.add_argument("--data", type=str, default=os.path.join(os.path.dirname(torch.__file__), "data", "tiny.txt"),
                        help="a text file, one sentence per line")
    parser.add_argument("--model", type=str, default="LSTM", help="RNN_TANH, RNN_RELU, LSTM, GRU")
    parser.add_argument("--emsize", type=int, default=64, help="size of word embeddings")
    parser.add_argument("--nhid", type=int, default=64, help="number of hidden units per layer")
    parser.add_argument("--nlayers", type=int, default=2, help="number of layers")
    parser.add_argument("--lr", type=float, default=20, help="initial learning rate")
    parser.add_argument("--clip", type=float, default=0.25, help="gradient clipping")
    parser.add_argument("--epochs", type=int, default=12, help="upper epoch limit")
    parser.add_argument("--batch_size", type=int, default=4, metavar="N", help="batch size")
    parser.add_argument("--bptt", type=int, default=20, help="sequence length")
    parser.add_argument("--dropout", type=float, default=0.2, help="dropout applied to layers (0 = no dropout)")
    parser.add_argument("--tied", action="store_true", help="tie the word embedding and softmax weights")
    parser.add_argument("--seed", type=int, default=1111, help="random seed")
    parser.add_argument("--cuda", action="store_true", help="use CUDA (there is none here: raises)")
    parser.add_argument("--save", type=str, default="model.npz", help="path to save the final model")
    parser.add_argument("--words", type=int, default=30, help="number of words to generate")
    parser.add_argument("--temperature", type=float, default=1.0, help="temperature - higher will increase diversity")
    parser.add_argument("--optimizer", type=str, default="sgd", choices=["sgd", "adamw"],
                        help="sgd (by hand, as the example) or adamw")
    parser.add_argument("--quick", action="store_true",
                        help="a short run (a few seconds), as CI does: --emsize, --nhid and --epochs left at "
                             "their defaults become 32, 32 and 6")
    args = parser.parse_args(argv)
    if args.quick:
        for name, value in (("emsize", 32), ("nhid", 32), ("epochs", 6)):
            if getattr(args, name) == parser.get_default(name):
                setattr(args, name, value)

    torch.manual_seed(args.seed)
    if torch.cuda.is_available():
        if not args.cuda:
            print("WARNING: You have a CUDA device, so you should probably run with --cuda")
    device = torch.device("cuda" if args.cuda else "cpu")
    corpus = Corpus(args.data)
    eval_batch_size = 10
    train_data = batchify(corpus.train, args.batch_size, device)
    val_data = batchify(corpus.valid, eval_batch_size, device)
    test_data = batchify(corpus.test, eval_batch_size, device)

    ntokens = len(corpus.dictionary)
    model = RNNModel(args.model, ntokens, args.emsize, args.nhid, args.nlayers, args.dropout, args.tied).to(device)
    criterion = nn.NLLLoss()

    lr = args.lr
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3) if args.optimizer == "adamw" else None
    best_val_loss = None
    train_losses, val_losses = [], []
    for epoch in range(1, args.epochs + 1):
        epoch_start_time = time.time()
        train_losses += train_epoch(model, criterion, train_data, args, lr, optimizer)
        val_loss = evaluate(model, criterion, val_data, eval_batch_size, args.bptt)
        val_losses.append(val_loss)
        print(f"| end of epoch {epoch:3d} | time: {time.time() - epoch_start_time:5.2f}s | "
              f"valid loss {val_loss:5.2f} | valid ppl {math.exp(val_loss):8.2f}")
        # Save the model if the validation loss is the best we've seen so far.
        if not best_val_loss or val_loss < best_val_loss:
            with open(args.save, "wb") as f:
                torch.save(model.state_dict(), f)
            best_val_loss = val_loss
        else:
            # Anneal the learning rate if no improvement has been seen in the validation dataset.
            lr /= 4.0

    # Load the best saved model.
    with open(args.save, "rb") as f:
        model.load_state_dict(torch.load(f))
    test_loss = evaluate(model, criterion, test_data, eval_batch_size, args.bptt)
    print(f"| End of training | test loss {test_loss:5.2f} | test ppl {math.exp(test_loss):8.2f}")
    sample = generate(model, corpus, args.words, args.temperature, device)
    print(sample)
    return {"train_losses": train_losses, "val_losses": val_losses, "best_val_loss": best_val_loss,
            "test_loss": test_loss, "vocab_size": ntokens, "sample": sample, "checkpoint": args.save}


if __name__ == "__main__":
    main()
