"""Porting, round 67: RECURRENT DECODERS OVER IMAGES AND VIDEO -- an image-captioning LSTM decoder with soft
attention, a convolutional GRU over video frames and DRAW (a recurrent VAE with read/write filterbank attention), as
public PyTorch code writes them (no earlier round ported any of the three repositories; round 42 ported a student's
EECS 498 captioning RNN without attention, round 38 ndrplz's ConvLSTM).
Each is written as its author wrote it, with only the imports changed (`# differs:` marks each other change and
why):

1. sgrvinod/a-PyTorch-Tutorial-to-Image-Captioning: models.py, train.py and utils.py
   (01f749f503c01e2698fdf77287480892b6d07610): `Encoder` (with `fine_tune`), `Attention`, `DecoderWithAttention`
   (the LSTMCell decoder whose batch shrinks as the sorted captions end, `h[:batch_size_t]`, the sigmoid gate
   `f_beta` on the attention-weighted encoding, predictions and alphas item-assigned into zero tensors), `train`
   (the loss over `pack_padded_sequence` of the scores and targets plus the doubly stochastic attention
   regularisation `alpha_c * ((1. - alphas.sum(dim=1)) ** 2).mean()`, two Adam optimizers, `clip_gradient`),
   `clip_gradient`, `AverageMeter`, `adjust_learning_rate` and `accuracy` (top-k by `topk`, `eq`, `expand_as`).
2. jacobkimmel/pytorch_convgru: convgru.py (0b6f55b8446b1cdd5de10e224c3a04744f2ce55e): `ConvGRUCell` (three
   Conv2d gates over the channel-stacked input and state, orthogonal weights and zero biases by the deprecated
   `init.orthogonal`/`init.constant`) and `ConvGRU` (cells kept by `setattr` and in a plain list), stepped over the
   frames of a small video as its README steps it, trained by full BPTT and by truncated BPTT (state detached
   between chunks).
3. kamenbliznashki/generative_models: draw.py (3c4da3d30b7d8aca64100ad92770f84001624908): its argparse parser,
   `DRAW` (encoder and decoder LSTMCells, `compute_q_distribution` by `D.Normal(...).rsample()`, `read` and `write`
   with and without attention, `forward` returning `D.Bernoulli(logits=c)` and the stacked `D.Normal`, `generate`
   under `@torch.no_grad()`), `compute_filterbank_matrices` (eqs 19-26: `split(split_size=1, dim=1)`,
   `arange(...).repeat(B, 1, 1)`, normalised Gaussian filterbanks), `loss_fn` (Bernoulli log-likelihood plus
   `D.kl.kl_divergence(q, p_prior).sum(dim=[-2,-1])`), `train_epoch` (tqdm, `clip_grad_norm_`, the verbose grad
   norm) and the monitoring hooks `record_attn_params`, `record_attn_grads`, `record_forward_backward_attn_hooks`.
Every source was read in the index at the commit named; none was written from memory.

What broke: nothing new. Every difference met is one docs/pytorch.md already lists (below).

Met and left as documented (docs/pytorch.md; the lines say `differs:`):
  - `nn.LSTMCell(embed_dim + encoder_dim, decoder_dim, decoder_layers)` passes `decoder_layers=1` as LSTMCell's
    `bias`, which PyTorch's module tests with `if bias:`; on/off arguments here take a bool only ("LSTMCell: bias
    must be True or False, got 1", the very case the docs name): `True`.
  - `.data` is the read-only numpy array: `init_weights`' `self.embedding.weight.data.uniform_(-0.1, 0.1)` and
    `self.fc.bias.data.fill_(0)` are nn.init's functions on the parameters; `clip_gradient`'s
    `param.grad.data.clamp_(-c, c)` (a memoryview here) is numpy's `param.grad.clip(-c, c, out=param.grad)`;
    ConvGRUCell's `input_.data.size()[0]` (numpy's `size` is an int) is `input_.detach().size()[0]`.
  - `p.grad` is a numpy array: DRAW's verbose `p.grad.norm().item()` is `torch.norm(p.grad).item()`.
  - Module backward hooks are refused (NotImplementedError naming the tensor hook to use): DRAW's
    `record_forward_backward_attn_hooks` registers its two forward hooks, then fails at
    `register_backward_hook` (PyTorch deprecates it, and runs it); the test checks both.
Met and as PyTorch: `scores, _ = pack_padded_sequence(scores, decode_lengths, batch_first=True)` (written for
PyTorch 0.4, whose PackedSequence had two fields) is "too many values to unpack (expected 2)" with PyTorch's four
fields, here too (the test below); the port takes `.data`. `t.squeeze(1).sort(dim=0, descending=True)`, a tensor
indexed by the sort's indices, `.tolist()` of a 1-d integer tensor, `sum([l > t for l in decode_lengths])`,
item assignment of a recorded step into a zero tensor (the gradient flows to the step), `nn.Softmax(dim=1)`,
`Adam(params=filter(...))`, `encoder.fine_tune` switching `requires_grad` on children [5:], `param_group['lr']`
written by hand; `init.orthogonal`/`init.constant` warn that they are deprecated and work; `F.sigmoid`, `F.tanh`;
a module list kept by `setattr` beside a plain list (`parameters()` sees the cells once); DRAW's
`rsample` draws the standard normals `torch.randn` draws after the same seed (the numpy DRAW takes them as inputs),
`D.Normal(0,1).sample((n, z))`, `Bernoulli(logits=...).probs`, `@torch.no_grad()` on a method, `x.device.type`,
`torch.tensor(0., device=x.device)`, `sum(dim=[-2,-1])`, forward hooks given by `functools.partial`.

Met and changed for reasons outside the library (marked): torchvision is not installed (the Encoder's pretrained
ResNet-101 is a small stand-in with the same children order: conv1, bn1, relu, maxpool, layer1..4, avgpool, fc);
the COCO h5py data, the DataLoader of `CaptionDataset`, `validate` (nltk's corpus_bleu), caption.py's beam search
and `main`'s checkpoints are not ported: the loader is a list of (images, captions, lengths) batches of a toy task
whose caption names the image's pattern. convgru.py uses `Variable` without importing it (a NameError in PyTorch
too when no state is given); the port imports it. DRAW: MNIST, torchvision's save_image/make_grid, tensorboardX
(`utils.set_writer`: a writer stand-in keeping `add_scalar`'s values), `fetch_dataloader`, `evaluate`, `generate`'s
gif and `main` are not ported; `--image_dims` is set on the parsed args (its `type=tuple` would split a command-line
string into characters) and `args.device` as main sets it without CUDA.

Noticed and left alone (the sources', in PyTorch too):
  - the doubly stochastic term averages over the padded time steps as well (alphas rows past a caption's decode
    length are zeros), and over pixels: the paper's sum_i (1 - sum_t alpha_ti)^2, divided by B * P;
  - `sort(descending=True)` of equal lengths may order ties either way (the tests give distinct lengths where the
    order matters);
  - ConvGRU returns only the new states, one per layer; the time loop and any readout are the caller's.
  - DRAW's `--log_interval` has no `type=int`: given on the command line, `i % args.log_interval` is `int % str`,
    a TypeError (the test sets the int on the args); the filterbank normalises by `sum(F + 1e-8)`, so each row sums
    to slightly less than 1.

Expected values come from numpy written here in float64 (the attention, the shrinking-batch LSTM decoder and its
packed loss, a 'same'-padded convolution and the ConvGRU recurrence, DRAW's filterbanks, its recurrence and ELBO),
gradients by central differences of those numpy losses; never from the library's own outputs. DRAW's noise is
drawn with `torch.randn` after the seed the model runs with and given to the numpy DRAW as an input.
"""

import argparse
import re
import time

import numpy as np
import pytest
from porting_references import arr, central, np_lstm_cell, np_sigmoid, np_softmax, np_log_softmax, quietly, some_indices

import microgradseq as torch
import microgradseq.backends.cudnn as cudnn
import microgradseq.distributions as D
import microgradseq.nn as nn
import microgradseq.nn.functional as F
import microgradseq.optim
from microgradseq.autograd import Variable
from microgradseq.nn import init
from microgradseq.nn.utils.rnn import pack_padded_sequence
from tqdm import tqdm


# convgru.py's deprecated `init.orthogonal` / `init.constant` (one test below checks that they warn)
pytestmark = pytest.mark.filterwarnings("ignore:.*is now deprecated in favor of")


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)
    np.random.seed(0)


# =========================================================================================================
# 1. sgrvinod/a-PyTorch-Tutorial-to-Image-Captioning (01f749f5): models.py
# =========================================================================================================

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _small_resnet():
    """differs: a stand-in for torchvision's resnet101(pretrained=True) (torchvision is not installed), with its
    children in ResNet's order (conv1, bn1, relu, maxpool, layer1..layer4, avgpool, fc) and 8 output channels."""
    from collections import OrderedDict
    return nn.Sequential(OrderedDict([
        ('conv1', nn.Conv2d(3, 4, 3, stride=2, padding=1)), ('bn1', nn.BatchNorm2d(4)), ('relu', nn.ReLU()),
        ('maxpool', nn.MaxPool2d(2)), ('layer1', nn.Conv2d(4, 4, 3, padding=1)),
        ('layer2', nn.Conv2d(4, 6, 3, padding=1)), ('layer3', nn.Conv2d(6, 6, 3, padding=1)),
        ('layer4', nn.Conv2d(6, 8, 3, padding=1)), ('avgpool', nn.AdaptiveAvgPool2d(1)), ('fc', nn.Linear(8, 10))]))


class Encoder(nn.Module):
    """
    Encoder.
    """

    def __init__(self, encoded_image_size=14):
        super(Encoder, self).__init__()
        self.enc_image_size = encoded_image_size

        resnet = _small_resnet()  # differs: torchvision.models.resnet101(pretrained=True), not installed

        # Remove linear and pool layers (since we're not doing classification)
        modules = list(resnet.children())[:-2]
        self.resnet = nn.Sequential(*modules)

        # Resize image to fixed size to allow input images of variable size
        self.adaptive_pool = nn.AdaptiveAvgPool2d((encoded_image_size, encoded_image_size))

        self.fine_tune()

    def forward(self, images):
        """
        Forward propagation.

        :param images: images, a tensor of dimensions (batch_size, 3, image_size, image_size)
        :return: encoded images
        """
        out = self.resnet(images)  # (batch_size, 2048, image_size/32, image_size/32)
        out = self.adaptive_pool(out)  # (batch_size, 2048, encoded_image_size, encoded_image_size)
        out = out.permute(0, 2, 3, 1)  # (batch_size, encoded_image_size, encoded_image_size, 2048)
        return out

    def fine_tune(self, fine_tune=True):
        """
        Allow or prevent the computation of gradients for convolutional blocks 2 through 4 of the encoder.

        :param fine_tune: Allow?
        """
        for p in self.resnet.parameters():
            p.requires_grad = False
        # If fine-tuning, only fine-tune convolutional blocks 2 through 4
        for c in list(self.resnet.children())[5:]:
            for p in c.parameters():
                p.requires_grad = fine_tune


class Attention(nn.Module):
    """
    Attention Network.
    """

    def __init__(self, encoder_dim, decoder_dim, attention_dim):
        """
        :param encoder_dim: feature size of encoded images
        :param decoder_dim: size of decoder's RNN
        :param attention_dim: size of the attention network
        """
        super(Attention, self).__init__()
        self.encoder_att = nn.Linear(encoder_dim, attention_dim)  # linear layer to transform encoded image
        self.decoder_att = nn.Linear(decoder_dim, attention_dim)  # linear layer to transform decoder's output
        self.full_att = nn.Linear(attention_dim, 1)  # linear layer to calculate values to be softmax-ed
        self.relu = nn.ReLU()
        self.softmax = nn.Softmax(dim=1)  # softmax layer to calculate weights

    def forward(self, encoder_out, decoder_hidden):
        """
        Forward propagation.

        :param encoder_out: encoded images, a tensor of dimension (batch_size, num_pixels, encoder_dim)
        :param decoder_hidden: previous decoder output, a tensor of dimension (batch_size, decoder_dim)
        :return: attention weighted encoding, weights
        """
        att1 = self.encoder_att(encoder_out)  # (batch_size, num_pixels, attention_dim)
        att2 = self.decoder_att(decoder_hidden)  # (batch_size, attention_dim)
        att = self.full_att(self.relu(att1 + att2.unsqueeze(1))).squeeze(2)  # (batch_size, num_pixels)
        alpha = self.softmax(att)  # (batch_size, num_pixels)
        attention_weighted_encoding = (encoder_out * alpha.unsqueeze(2)).sum(dim=1)  # (batch_size, encoder_dim)

        return attention_weighted_encoding, alpha


class DecoderWithAttention(nn.Module):
    """
    Decoder.
    """

    def __init__(self, attention_dim, embed_dim, decoder_dim, vocab_size, decoder_layers=1, encoder_dim=2048,
                 dropout=0.5):
        """
        :param attention_dim: size of attention network
        :param embed_dim: embedding size
        :param decoder_dim: size of decoder's RNN
        :param vocab_size: size of vocabulary
        :param decoder_layers: number of layers in the decoder
        :param encoder_dim: feature size of encoded images
        :param dropout: dropout
        """
        super(DecoderWithAttention, self).__init__()

        self.encoder_dim = encoder_dim
        self.attention_dim = attention_dim
        self.embed_dim = embed_dim
        self.decoder_dim = decoder_dim
        self.vocab_size = vocab_size
        self.decoder_layers = decoder_layers
        self.dropout = dropout

        self.attention = Attention(encoder_dim, decoder_dim, attention_dim)  # attention network

        self.embedding = nn.Embedding(vocab_size, embed_dim)  # embedding layer
        self.dropout = nn.Dropout(p=self.dropout)
        # differs: `decoder_layers` (1) lands on LSTMCell's `bias`; a bool only here (docs/pytorch.md, Errors)
        self.decode_step = nn.LSTMCell(embed_dim + encoder_dim, decoder_dim, bool(decoder_layers))  # decoding LSTMCell
        self.init_h = nn.Linear(encoder_dim, decoder_dim)  # linear layer to find initial hidden state of LSTMCell
        self.init_c = nn.Linear(encoder_dim, decoder_dim)  # linear layer to find initial cell state of LSTMCell
        self.f_beta = nn.Linear(decoder_dim, encoder_dim)  # linear layer to create a sigmoid-activated gate
        self.sigmoid = nn.Sigmoid()
        self.fc = nn.Linear(decoder_dim, vocab_size)  # linear layer to find scores over vocabulary
        self.init_weights()  # initialize some layers with the uniform distribution

    def init_weights(self):
        """
        Initializes some parameters with values from the uniform distribution, for easier convergence.
        """
        # differs: `.data` is the read-only array here: `w.data.uniform_(-0.1, 0.1)` and `b.data.fill_(0)` by nn.init
        nn.init.uniform_(self.embedding.weight, -0.1, 0.1)
        nn.init.constant_(self.fc.bias, 0)
        nn.init.uniform_(self.fc.weight, -0.1, 0.1)

    def load_pretrained_embeddings(self, embeddings):
        """
        Loads embedding layer with pre-trained embeddings.

        :param embeddings: pre-trained embeddings
        """
        self.embedding.weight = nn.Parameter(embeddings)

    def fine_tune_embeddings(self, fine_tune=True):
        """
        Allow fine-tuning of embedding layer? (Only makes sense to not-allow if using pre-trained embeddings).

        :param fine_tune: Allow?
        """
        for p in self.embedding.parameters():
            p.requires_grad = fine_tune

    def init_hidden_state(self, encoder_out):
        """
        Creates the initial hidden and cell states for the decoder's LSTM based on the encoded images.

        :param encoder_out: encoded images, a tensor of dimension (batch_size, num_pixels, encoder_dim)
        :return: hidden state, cell state
        """
        mean_encoder_out = encoder_out.mean(dim=1)
        h = self.init_h(mean_encoder_out)  # (batch_size, decoder_dim)
        c = self.init_c(mean_encoder_out)
        return h, c

    def forward(self, encoder_out, encoded_captions, caption_lengths):
        """
        Forward propagation.

        :param encoder_out: encoded images, a tensor of dimension (batch_size, enc_image_size, enc_image_size,
            encoder_dim)
        :param encoded_captions: encoded captions, a tensor of dimension (batch_size, max_caption_length)
        :param caption_lengths: caption lengths, a tensor of dimension (batch_size, 1)
        :return: scores for vocabulary, sorted encoded captions, decode lengths, weights, sort indices
        """

        batch_size = encoder_out.size(0)
        encoder_dim = encoder_out.size(-1)
        vocab_size = self.vocab_size

        # Flatten image
        encoder_out = encoder_out.view(batch_size, -1, encoder_dim)  # (batch_size, num_pixels, encoder_dim)
        num_pixels = encoder_out.size(1)

        # Sort input data by decreasing lengths; why? apparent below
        caption_lengths, sort_ind = caption_lengths.squeeze(1).sort(dim=0, descending=True)
        encoder_out = encoder_out[sort_ind]
        encoded_captions = encoded_captions[sort_ind]

        # Embedding
        embeddings = self.embedding(encoded_captions)  # (batch_size, max_caption_length, embed_dim)

        # Initialize LSTM state
        h, c = self.init_hidden_state(encoder_out)  # (batch_size, decoder_dim)

        # We won't decode at the <end> position, since we've finished generating as soon as we generate <end>
        # So, decoding lengths are actual lengths - 1
        decode_lengths = (caption_lengths - 1).tolist()

        # Create tensors to hold word predicion scores and alphas
        predictions = torch.zeros(batch_size, max(decode_lengths), vocab_size).to(device)
        alphas = torch.zeros(batch_size, max(decode_lengths), num_pixels).to(device)

        # At each time-step, decode by
        # attention-weighing the encoder's output based on the decoder's previous hidden state output
        # then generate a new word in the decoder with the previous word and the attention weighted encoding
        for t in range(max(decode_lengths)):
            batch_size_t = sum([l > t for l in decode_lengths])
            attention_weighted_encoding, alpha = self.attention(encoder_out[:batch_size_t],
                                                                h[:batch_size_t])
            gate = self.sigmoid(self.f_beta(h[:batch_size_t]))  # gating scalar, (batch_size_t, encoder_dim)
            attention_weighted_encoding = gate * attention_weighted_encoding
            h, c = self.decode_step(
                torch.cat([embeddings[:batch_size_t, t, :], attention_weighted_encoding], dim=1),
                (h[:batch_size_t], c[:batch_size_t]))  # (batch_size_t, decoder_dim)
            preds = self.fc(self.dropout(h))  # (batch_size_t, vocab_size)
            predictions[:batch_size_t, t, :] = preds
            alphas[:batch_size_t, t, :] = alpha

        return predictions, encoded_captions, decode_lengths, alphas, sort_ind


# ---- utils.py (01f749f5): the helpers train.py uses ------------------------------------------------------

def clip_gradient(optimizer, grad_clip):
    """
    Clips gradients computed during backpropagation to avoid explosion of gradients.

    :param optimizer: optimizer with the gradients to be clipped
    :param grad_clip: clip value
    """
    for group in optimizer.param_groups:
        for param in group['params']:
            if param.grad is not None:
                # differs: `param.grad.data.clamp_(-grad_clip, grad_clip)`; .grad is a numpy array here
                param.grad.clip(-grad_clip, grad_clip, out=param.grad)


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


def adjust_learning_rate(optimizer, shrink_factor):
    """
    Shrinks learning rate by a specified factor.

    :param optimizer: optimizer whose learning rate must be shrunk.
    :param shrink_factor: factor in interval (0, 1) to multiply learning rate with.
    """

    print("\nDECAYING learning rate.")
    for param_group in optimizer.param_groups:
        param_group['lr'] = param_group['lr'] * shrink_factor
    print("The new learning rate is %f\n" % (optimizer.param_groups[0]['lr'],))


def accuracy(scores, targets, k):
    """
    Computes top-k accuracy, from predicted and true labels.

    :param scores: scores from the model
    :param targets: true labels
    :param k: k in top-k accuracy
    :return: top-k accuracy
    """

    batch_size = targets.size(0)
    _, ind = scores.topk(k, 1, True, True)
    correct = ind.eq(targets.view(-1, 1).expand_as(ind))
    correct_total = correct.view(-1).float().sum()  # 0D tensor
    return correct_total.item() * (100.0 / batch_size)


# ---- train.py (01f749f5): its parameters (small) and `train` -------------------------------------------

emb_dim = 6  # dimension of word embeddings
attention_dim = 5  # dimension of attention linear layers
decoder_dim = 7  # dimension of decoder RNN
decoder_layers = 1  # number of layers in decoder RNN
dropout = 0.5
cudnn.benchmark = True  # set to true only if inputs to model are fixed size; otherwise lot of computational overhead
encoder_lr = 1e-4  # learning rate for encoder if fine-tuning
decoder_lr = 4e-4  # learning rate for decoder
grad_clip = 5.  # clip gradients at an absolute value of
alpha_c = 1.  # regularization parameter for 'doubly stochastic attention', as in the paper
print_freq = 100  # print training/validation stats every __ batches


def train(train_loader, encoder, decoder, criterion, encoder_optimizer, decoder_optimizer, epoch):
    """
    Performs one epoch's training.

    :param train_loader: DataLoader for training data
    :param encoder: encoder model
    :param decoder: decoder model
    :param criterion: loss layer
    :param encoder_optimizer: optimizer to update encoder's weights (if fine-tuning)
    :param decoder_optimizer: optimizer to update decoder's weights
    :param epoch: epoch number
    """

    decoder.train()  # train mode (dropout and batchnorm is used)
    encoder.train()

    batch_time = AverageMeter()  # forward prop. + back prop. time
    data_time = AverageMeter()  # data loading time
    losses = AverageMeter()  # loss (per word decoded)
    top5accs = AverageMeter()  # top5 accuracy

    start = time.time()

    # Batches
    for i, (imgs, caps, caplens) in enumerate(train_loader):
        data_time.update(time.time() - start)

        # Move to GPU, if available
        imgs = imgs.to(device)
        caps = caps.to(device)
        caplens = caplens.to(device)

        # Forward prop.
        imgs = encoder(imgs)
        scores, caps_sorted, decode_lengths, alphas, sort_ind = decoder(imgs, caps, caplens)

        # Since we decoded starting with <start>, the targets are all words after <start>, up to <end>
        targets = caps_sorted[:, 1:]

        # Remove timesteps that we didn't decode at, or are pads
        # pack_padded_sequence is an easy trick to do this
        # differs: `scores, _ = pack_padded_sequence(...)` unpacked PyTorch 0.4's two-field PackedSequence; it has
        # four fields since PyTorch 1.1 (and here): "too many values to unpack" in both, so `.data`
        scores = pack_padded_sequence(scores, decode_lengths, batch_first=True).data
        targets = pack_padded_sequence(targets, decode_lengths, batch_first=True).data

        # Calculate loss
        loss = criterion(scores, targets)

        # Add doubly stochastic attention regularization
        loss += alpha_c * ((1. - alphas.sum(dim=1)) ** 2).mean()

        # Back prop.
        decoder_optimizer.zero_grad()
        if encoder_optimizer is not None:
            encoder_optimizer.zero_grad()
        loss.backward()

        # Clip gradients
        if grad_clip is not None:
            clip_gradient(decoder_optimizer, grad_clip)
            if encoder_optimizer is not None:
                clip_gradient(encoder_optimizer, grad_clip)

        # Update weights
        decoder_optimizer.step()
        if encoder_optimizer is not None:
            encoder_optimizer.step()

        # Keep track of metrics
        top5 = accuracy(scores, targets, 5)
        losses.update(loss.item(), sum(decode_lengths))
        top5accs.update(top5, sum(decode_lengths))
        batch_time.update(time.time() - start)

        start = time.time()

        # Print status
        if i % print_freq == 0:
            print('Epoch: [{0}][{1}/{2}]\t'
                  'Batch Time {batch_time.val:.3f} ({batch_time.avg:.3f})\t'
                  'Data Load Time {data_time.val:.3f} ({data_time.avg:.3f})\t'
                  'Loss {loss.val:.4f} ({loss.avg:.4f})\t'
                  'Top-5 Accuracy {top5.val:.3f} ({top5.avg:.3f})'.format(epoch, i, len(train_loader),
                                                                          batch_time=batch_time,
                                                                          data_time=data_time, loss=losses,
                                                                          top5=top5accs))


# ---- numpy references ------------------------------------------------------------------------------------

def np_attention(p, enc, h, prefix='attention.'):
    """Soft attention: alpha = softmax_P(w_f . relu(W_e enc + b_e + W_d h + b_d) + b_f); awe = sum_P alpha enc."""
    att1 = enc @ p[prefix + 'encoder_att.weight'].T + p[prefix + 'encoder_att.bias']
    att2 = h @ p[prefix + 'decoder_att.weight'].T + p[prefix + 'decoder_att.bias']
    att = (np.maximum(att1 + att2[:, None, :], 0) @ p[prefix + 'full_att.weight'].T)[..., 0]
    alpha = np_softmax(att + p[prefix + 'full_att.bias'][0], axis=1)
    return (enc * alpha[..., None]).sum(1), alpha


def np_decoder(p, enc, caps, lens):
    """DecoderWithAttention in eval mode: sort by length (descending; the tests give distinct lengths), h0 and c0
    from the mean pixel, then per step t only the first b_t = #{l - 1 > t} captions: gated attention, an LSTMCell
    on [embedding; gate * awe], scores by fc. Returns predictions, alphas (zero past each decode length), the
    sorted captions, the decode lengths."""
    B, E = enc.shape[0], enc.shape[-1]
    enc = enc.reshape(B, -1, E)
    order = np.argsort(-lens, kind='stable')
    enc, caps, lens = enc[order], caps[order], lens[order]
    emb = p['embedding.weight'][caps]
    mean = enc.mean(1)
    h = mean @ p['init_h.weight'].T + p['init_h.bias']
    c = mean @ p['init_c.weight'].T + p['init_c.bias']
    dl = lens - 1
    T = dl.max()
    preds = np.zeros((B, T, p['fc.weight'].shape[0]))
    alphas = np.zeros((B, T, enc.shape[1]))
    for t in range(T):
        bt = int((dl > t).sum())
        awe, alpha = np_attention(p, enc[:bt], h[:bt])
        gate = np_sigmoid(h[:bt] @ p['f_beta.weight'].T + p['f_beta.bias'])
        x = np.concatenate([emb[:bt, t], gate * awe], axis=1)
        h, c = np_lstm_cell(x, h[:bt], c[:bt], p['decode_step.weight_ih'], p['decode_step.weight_hh'],
                            p['decode_step.bias_ih'], p['decode_step.bias_hh'])
        preds[:bt, t] = h @ p['fc.weight'].T + p['fc.bias']
        alphas[:bt, t] = alpha
    return preds, alphas, caps, dl


def np_caption_loss(p, enc, caps, lens, alpha_c=1.0):
    """train.py's loss: cross-entropy over the (t, b) with t < decode length b (what packing keeps) of the scores
    against caps[:, 1:], plus alpha_c * mean over (b, pixel) of (1 - sum_t alpha)^2."""
    preds, alphas, caps_s, dl = np_decoder(p, enc, caps, lens)
    targets = caps_s[:, 1:]
    logp = np_log_softmax(preds, axis=-1)
    nll = [-logp[b, t, targets[b, t]] for t in range(dl.max()) for b in range(len(dl)) if dl[b] > t]
    return np.mean(nll) + alpha_c * ((1. - alphas.sum(1)) ** 2).mean()


def params64(module):
    return {name: arr(p) for name, p in module.named_parameters()}


def small_decoder(vocab_size=9, encoder_dim=4, dropout=0.0):
    return DecoderWithAttention(attention_dim=attention_dim, embed_dim=emb_dim, decoder_dim=decoder_dim,
                                vocab_size=vocab_size, decoder_layers=decoder_layers, encoder_dim=encoder_dim,
                                dropout=dropout)


def caption_batch(rng, lens, vocab_size=9, pixels=(2, 3), encoder_dim=4):
    """Random encoder features (B, H, W, E), captions <start>=1 ... <end>=2 padded with 0 to max(lens), lengths
    (B, 1) as the dataset gives them."""
    B, L = len(lens), max(lens)
    caps = np.zeros((B, L), dtype=np.int64)
    for b, n in enumerate(lens):
        caps[b, :n] = [1] + list(rng.integers(3, vocab_size, n - 2)) + [2]
    enc = rng.normal(size=(B,) + pixels + (encoder_dim,))
    return enc, caps, np.array(lens)


# ---- tests: captioning -------------------------------------------------------------------------------------

def test_attention_weights_the_pixels_by_a_softmax_of_the_additive_scores(float64_default):
    att = Attention(encoder_dim=4, decoder_dim=3, attention_dim=5)
    rng = np.random.default_rng(1)
    enc, h = rng.normal(size=(2, 6, 4)), rng.normal(size=(2, 3))
    awe, alpha = att(torch.tensor(enc), torch.tensor(h))
    awe_np, alpha_np = np_attention(params64(att), enc, h, prefix='')
    assert awe.shape == (2, 4) and alpha.shape == (2, 6)
    np.testing.assert_allclose(arr(alpha), alpha_np, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(arr(awe), awe_np, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(arr(alpha).sum(1), 1.0, rtol=1e-12)


def test_decoder_sorts_shrinks_its_batch_and_matches_the_numpy_decoder(float64_default):
    dec = small_decoder()
    dec.eval()
    enc, caps, lens = caption_batch(np.random.default_rng(2), [4, 6, 3, 5])
    preds, caps_sorted, decode_lengths, alphas, sort_ind = dec(torch.tensor(enc), torch.tensor(caps),
                                                               torch.tensor(lens[:, None]))
    p_np, a_np, caps_np, dl_np = np_decoder(params64(dec), enc, caps, lens)
    assert decode_lengths == [5, 4, 3, 2] and all(type(n) is int for n in decode_lengths)
    assert sort_ind.tolist() == [1, 3, 0, 2]
    np.testing.assert_array_equal(caps_sorted.numpy(), caps_np)
    assert preds.shape == (4, 5, 9) and alphas.shape == (4, 5, 6)
    np.testing.assert_allclose(arr(preds), p_np, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(arr(alphas), a_np, rtol=1e-10, atol=1e-12)
    # past each decode length the item-assigned buffers keep their zeros; before it each alpha row sums to 1
    for b, n in enumerate(decode_lengths):
        assert not arr(preds)[b, n:].any() and not arr(alphas)[b, n:].any()
        np.testing.assert_allclose(arr(alphas)[b, :n].sum(-1), 1.0, rtol=1e-12)


def test_the_packed_loss_and_the_doubly_stochastic_term_as_numpy(float64_default):
    dec = small_decoder()
    dec.eval()
    enc, caps, lens = caption_batch(np.random.default_rng(3), [5, 3, 4])
    scores, caps_sorted, decode_lengths, alphas, _ = dec(torch.tensor(enc), torch.tensor(caps),
                                                         torch.tensor(lens[:, None]))
    targets = caps_sorted[:, 1:]
    packed = pack_padded_sequence(scores, decode_lengths, batch_first=True).data
    # packing is time-major: (t=0: b0 b1 b2), (t=1: b0 b1 b2), (t=2: b0 b1), (t=3: b0)
    assert packed.shape == (sum(decode_lengths), 9)
    np.testing.assert_allclose(arr(packed)[3:6], arr(scores)[:, 1], rtol=0, atol=0)
    loss = nn.CrossEntropyLoss()(packed, pack_padded_sequence(targets, decode_lengths, batch_first=True).data)
    loss += alpha_c * ((1. - alphas.sum(dim=1)) ** 2).mean()
    np.testing.assert_allclose(loss.item(), np_caption_loss(params64(dec), enc, caps, lens), rtol=1e-12)


def test_unpacking_a_packed_sequence_into_two_names_fails_as_in_pytorch_since_1_1():
    """PyTorch's PackedSequence is a namedtuple of (data, batch_sizes, sorted_indices, unsorted_indices)."""
    scores = torch.randn(2, 3, 4)
    packed = pack_padded_sequence(scores, [3, 2], batch_first=True)
    assert len(packed) == 4 and packed._fields == ('data', 'batch_sizes', 'sorted_indices', 'unsorted_indices')
    with pytest.raises(ValueError, match="too many values to unpack"):
        scores, _ = packed


def test_caption_loss_gradients_match_central_differences(float64_default):
    dec = small_decoder()
    dec.eval()
    enc, caps, lens = caption_batch(np.random.default_rng(4), [4, 5, 3])
    enc_t = torch.tensor(enc, requires_grad=True)
    scores, caps_sorted, dls, alphas, _ = dec(enc_t, torch.tensor(caps), torch.tensor(lens[:, None]))
    loss = nn.CrossEntropyLoss()(pack_padded_sequence(scores, dls, batch_first=True).data,
                                 pack_padded_sequence(caps_sorted[:, 1:], dls, batch_first=True).data)
    loss = loss + alpha_c * ((1. - alphas.sum(dim=1)) ** 2).mean()
    loss.backward()
    base = params64(dec)
    named = dict(dec.named_parameters())
    for k, name in enumerate(['attention.encoder_att.weight', 'attention.full_att.weight', 'f_beta.weight',
                              'decode_step.weight_ih', 'decode_step.weight_hh', 'init_c.bias', 'embedding.weight',
                              'fc.weight']):
        idx = some_indices(base[name].shape, 4, k)
        if name == 'embedding.weight':
            idx = [(int(caps[0, 1]), 0), (int(caps[1, 2]), 3), (int(caps[2, 1]), 5)]

        def f(v, name=name):
            return np_caption_loss({**base, name: v}, enc, caps, lens)

        got = np.array([named[name].grad[i] for i in idx])
        np.testing.assert_allclose(got, central(f, base[name], idx), rtol=1e-6, atol=1e-9, err_msg=name)
    idx = some_indices(enc.shape, 6, 99)
    want = central(lambda v: np_caption_loss(base, v, caps, lens), enc, idx)
    np.testing.assert_allclose([enc_t.grad[i] for i in idx], want, rtol=1e-6, atol=1e-9)


def test_the_fc_rows_of_words_never_targeted_get_gradient_only_through_the_softmax(float64_default):
    """A check on the packed loss: the pad word 0 and <start> 1 are never targets, so their fc rows' gradients are
    sum over the packed (t, b) of softmax probabilities times h, positive in each bias entry."""
    dec = small_decoder()
    dec.eval()
    enc, caps, lens = caption_batch(np.random.default_rng(5), [4, 3])
    scores, caps_sorted, dls, alphas, _ = dec(torch.tensor(enc), torch.tensor(caps), torch.tensor(lens[:, None]))
    packed = pack_padded_sequence(scores, dls, batch_first=True).data
    nn.CrossEntropyLoss()(packed, pack_padded_sequence(caps_sorted[:, 1:], dls, batch_first=True).data).backward()
    probs = np_softmax(arr(packed), axis=1)
    np.testing.assert_allclose(dec.fc.bias.grad[:2], probs[:, :2].sum(0) / len(probs), rtol=1e-10)


def test_lstmcell_takes_decoder_layers_as_bias_only_as_a_bool():
    """models.py's `nn.LSTMCell(in, hidden, decoder_layers)` with decoder_layers=1: PyTorch's module tests
    `if bias:`; documented here (docs/pytorch.md, Errors) as a bool only."""
    with pytest.raises(ValueError, match="LSTMCell: bias must be True or False, got 1"):
        nn.LSTMCell(5, 4, 1)
    assert nn.LSTMCell(5, 4, bool(1)).bias_ih.shape == (16,)


def test_init_weights_and_pretrained_embeddings():
    dec = small_decoder()
    w, fw = arr(dec.embedding.weight), arr(dec.fc.weight)
    assert np.abs(w).max() <= 0.1 and np.abs(fw).max() <= 0.1 and w.std() > 0.03
    assert not arr(dec.fc.bias).any()
    emb = torch.randn(9, emb_dim)
    dec.load_pretrained_embeddings(emb)
    np.testing.assert_array_equal(arr(dec.embedding.weight), arr(emb))
    assert isinstance(dec.embedding.weight, nn.Parameter)
    dec.fine_tune_embeddings(False)
    assert not dec.embedding.weight.requires_grad
    assert any(p is dec.embedding.weight for p in dec.parameters())


def test_encoder_fine_tune_switches_blocks_two_to_four_and_permutes_channels_last():
    enc = Encoder(encoded_image_size=2)
    # nn.Sequential(*children) numbers them afresh, as PyTorch's: the ResNet's avgpool and fc are gone
    names = [n for n, _ in enc.resnet.named_children()]
    assert names == [str(i) for i in range(8)] and isinstance(enc.resnet[3], nn.MaxPool2d)
    trainable = {n.split('.')[0] for n, p in enc.resnet.named_parameters() if p.requires_grad}
    assert trainable == {'5', '6', '7'}  # layer2, layer3, layer4
    enc.fine_tune(False)
    assert not any(p.requires_grad for p in enc.parameters())
    out = enc(torch.randn(3, 3, 16, 16))
    assert out.shape == (3, 2, 2, 8)
    inner = enc.adaptive_pool(enc.resnet(torch.randn(1, 3, 16, 16)))
    assert inner.shape == (1, 8, 2, 2)


def test_accuracy_counts_targets_in_the_top_k():
    rng = np.random.default_rng(6)
    s, t = rng.normal(size=(7, 9)), rng.integers(0, 9, 7)
    for k in (1, 3, 5):
        top = np.argsort(-s, axis=1)[:, :k]
        want = 100.0 * np.mean([t[i] in top[i] for i in range(7)])
        assert accuracy(torch.tensor(s), torch.tensor(t), k) == pytest.approx(want, rel=1e-12)


def test_clip_gradient_clamps_each_entry_and_adjust_learning_rate_shrinks_each_group():
    w = nn.Parameter(torch.tensor([1.0, -2.0, 3.0]))
    u = nn.Parameter(torch.tensor([0.5]))
    opt = torch.optim.Adam([{'params': [w]}, {'params': [u], 'lr': 0.1}], lr=0.01)
    (w * torch.tensor([10.0, -0.5, -7.0])).sum().backward()
    clip_gradient(opt, 5.)
    np.testing.assert_array_equal(w.grad, [5.0, -0.5, -5.0])
    assert u.grad is None
    _, printed = quietly(adjust_learning_rate, opt, 0.8)
    assert [g['lr'] for g in opt.param_groups] == pytest.approx([0.008, 0.08])
    assert "The new learning rate is 0.008000" in printed


def test_average_meter_weights_by_the_count():
    m = AverageMeter()
    m.update(2.0, 3)
    m.update(4.0, 1)
    assert (m.val, m.sum, m.count, m.avg) == (4.0, 10.0, 4, 2.5)


def toy_caption_loader(rng, n_batches, batch_size=6):
    """Images whose one bright quadrant (of 4) is the class k; the caption is <start> (3+k) repeated k+1 times
    <end>: both the words and the lengths depend on the image."""
    batches = []
    for _ in range(n_batches):
        ks = rng.integers(0, 4, batch_size)
        imgs = rng.normal(scale=0.3, size=(batch_size, 3, 16, 16)).astype(np.float32)
        caps = np.zeros((batch_size, 7), dtype=np.int64)
        for b, k in enumerate(ks):
            r, c = divmod(int(k), 2)
            imgs[b, :, 8 * r:8 * r + 8, 8 * c:8 * c + 8] += 2.0
            caps[b, :k + 3] = [1] + [3 + k] * (k + 1) + [2]
        batches.append((torch.tensor(imgs), torch.tensor(caps), torch.tensor((ks + 3)[:, None])))
    return batches


def test_train_as_written_learns_the_toy_captions_with_both_optimizers(monkeypatch):
    monkeypatch.setitem(globals(), 'print_freq', 1)
    encoder = Encoder(encoded_image_size=2)
    decoder = DecoderWithAttention(attention_dim=attention_dim, embed_dim=emb_dim, decoder_dim=decoder_dim,
                                   vocab_size=7, decoder_layers=decoder_layers, encoder_dim=8, dropout=0.1)
    decoder_optimizer = torch.optim.Adam(params=filter(lambda p: p.requires_grad, decoder.parameters()), lr=2e-2)
    encoder_optimizer = torch.optim.Adam(params=filter(lambda p: p.requires_grad, encoder.parameters()), lr=1e-2)
    frozen = arr(encoder.resnet[0].weight)
    criterion = nn.CrossEntropyLoss().to(device)
    loader = toy_caption_loader(np.random.default_rng(7), 15)
    printed = ''
    for epoch in range(25):
        printed += quietly(train, loader, encoder, decoder, criterion, encoder_optimizer, decoder_optimizer,
                           epoch)[1]
    losses = [float(v) for v in re.findall(r"Loss (\d+\.\d+) \(", printed)]
    accs = [float(v) for v in re.findall(r"Top-5 Accuracy (\d+\.\d+) \(", printed)]
    assert len(losses) == 375 and printed.count("Epoch: [24][14/15]") == 1
    assert np.mean(losses[-15:]) < 0.35 * np.mean(losses[:5])
    assert np.mean(accs[-15:]) == 100.0  # (top-5 of 7 words)
    np.testing.assert_array_equal(arr(encoder.resnet[0].weight), frozen)  # block 1 is not fine-tuned
    decoder.eval()
    encoder.eval()
    imgs, caps, lens = toy_caption_loader(np.random.default_rng(8), 1, 8)[0]
    with torch.no_grad():
        scores, caps_sorted, dls, _, _ = decoder(encoder(imgs), caps, lens)
    hit = [scores[b, :n].argmax(-1).tolist() == caps_sorted[b, 1:n + 1].tolist() for b, n in enumerate(dls)]
    words = np.concatenate([(scores[b, :n].argmax(-1) == caps_sorted[b, 1:n + 1]).numpy() for b, n in enumerate(dls)])
    assert sum(hit) >= 5 and words.mean() > 0.85


# =========================================================================================================
# 2. jacobkimmel/pytorch_convgru: convgru.py (0b6f55b8)
# =========================================================================================================

class ConvGRUCell(nn.Module):
    """
    Generate a convolutional GRU cell
    """

    def __init__(self, input_size, hidden_size, kernel_size):
        super().__init__()
        padding = kernel_size // 2
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.reset_gate = nn.Conv2d(input_size + hidden_size, hidden_size, kernel_size, padding=padding)
        self.update_gate = nn.Conv2d(input_size + hidden_size, hidden_size, kernel_size, padding=padding)
        self.out_gate = nn.Conv2d(input_size + hidden_size, hidden_size, kernel_size, padding=padding)

        init.orthogonal(self.reset_gate.weight)
        init.orthogonal(self.update_gate.weight)
        init.orthogonal(self.out_gate.weight)
        init.constant(self.reset_gate.bias, 0.)
        init.constant(self.update_gate.bias, 0.)
        init.constant(self.out_gate.bias, 0.)

    def forward(self, input_, prev_state):

        # get batch and spatial sizes
        # differs: `input_.data.size()`; `.data` is the numpy array here (its `size` is an int)
        batch_size = input_.detach().size()[0]
        spatial_size = input_.detach().size()[2:]

        # generate empty prev_state, if None is provided
        if prev_state is None:
            state_size = [batch_size, self.hidden_size] + list(spatial_size)
            if torch.cuda.is_available():
                prev_state = Variable(torch.zeros(state_size)).cuda()
            else:
                prev_state = Variable(torch.zeros(state_size))

        # data size is [batch, channel, height, width]
        stacked_inputs = torch.cat([input_, prev_state], dim=1)
        update = F.sigmoid(self.update_gate(stacked_inputs))
        reset = F.sigmoid(self.reset_gate(stacked_inputs))
        out_inputs = F.tanh(self.out_gate(torch.cat([input_, prev_state * reset], dim=1)))
        new_state = prev_state * (1 - update) + out_inputs * update

        return new_state


class ConvGRU(nn.Module):

    def __init__(self, input_size, hidden_sizes, kernel_sizes, n_layers):
        '''
        Generates a multi-layer convolutional GRU.
        Preserves spatial dimensions across cells, only altering depth.

        Parameters
        ----------
        input_size : integer. depth dimension of input tensors.
        hidden_sizes : integer or list. depth dimensions of hidden state.
            if integer, the same hidden size is used for all cells.
        kernel_sizes : integer or list. sizes of Conv2d gate kernels.
            if integer, the same kernel size is used for all cells.
        n_layers : integer. number of chained `ConvGRUCell`.
        '''

        super(ConvGRU, self).__init__()

        self.input_size = input_size

        if type(hidden_sizes) != list:
            self.hidden_sizes = [hidden_sizes]*n_layers
        else:
            assert len(hidden_sizes) == n_layers, '`hidden_sizes` must have the same length as n_layers'
            self.hidden_sizes = hidden_sizes
        if type(kernel_sizes) != list:
            self.kernel_sizes = [kernel_sizes]*n_layers
        else:
            assert len(kernel_sizes) == n_layers, '`kernel_sizes` must have the same length as n_layers'
            self.kernel_sizes = kernel_sizes

        self.n_layers = n_layers

        cells = []
        for i in range(self.n_layers):
            if i == 0:
                input_dim = self.input_size
            else:
                input_dim = self.hidden_sizes[i-1]

            cell = ConvGRUCell(input_dim, self.hidden_sizes[i], self.kernel_sizes[i])
            name = 'ConvGRUCell_' + str(i).zfill(2)

            setattr(self, name, cell)
            cells.append(getattr(self, name))

        self.cells = cells

    def forward(self, x, hidden=None):
        '''
        Parameters
        ----------
        x : 4D input tensor. (batch, channels, height, width).
        hidden : list of 4D hidden state representations. (batch, channels, height, width).

        Returns
        -------
        upd_hidden : 5D hidden representation. (layer, batch, channels, height, width).
        '''
        if not hidden:
            hidden = [None]*self.n_layers

        input_ = x

        upd_hidden = []

        for layer_idx in range(self.n_layers):
            cell = self.cells[layer_idx]
            cell_hidden = hidden[layer_idx]

            # pass through layer
            upd_cell_hidden = cell(input_, cell_hidden)
            upd_hidden.append(upd_cell_hidden)
            # update input_ to the last updated hidden layer for next pass
            input_ = upd_cell_hidden

        # retain tensors in list to allow different hidden sizes
        return upd_hidden


# ---- numpy references ------------------------------------------------------------------------------------

def np_conv2d_same(x, w, b):
    """Cross-correlation of x (B, C, H, W) with w (O, C, k, k), zero-padded by k // 2 on each side (odd k), + b."""
    k = w.shape[-1]
    H, W = x.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (k // 2, k // 2), (k // 2, k // 2)))
    out = sum(np.einsum('bchw,oc->bohw', xp[:, :, i:i + H, j:j + W], w[:, :, i, j]) for i in range(k) for j in range(k))
    return out + b[None, :, None, None]


def np_convgru_cell(p, prefix, x, h):
    """u = s(conv_u([x; h])), r = s(conv_r([x; h])), o = tanh(conv_o([x; r h])), h' = (1 - u) h + u o."""
    def conv(name, z):
        return np_conv2d_same(z, p[prefix + name + '.weight'], p[prefix + name + '.bias'])
    stacked = np.concatenate([x, h], axis=1)
    u, r = np_sigmoid(conv('update_gate', stacked)), np_sigmoid(conv('reset_gate', stacked))
    o = np.tanh(conv('out_gate', np.concatenate([x, h * r], axis=1)))
    return h * (1 - u) + o * u


def np_convgru_run(p, frames, hidden_sizes):
    """The README's loop: each frame through every layer, the states carried to the next frame."""
    B, _, H, W = frames[0].shape
    hs = [np.zeros((B, c, H, W)) for c in hidden_sizes]
    for x in frames:
        inp = x
        for i in range(len(hs)):
            hs[i] = np_convgru_cell(p, 'ConvGRUCell_%02d.' % i, inp, hs[i])
            inp = hs[i]
    return hs


def run_convgru(model, frames):
    hidden = None
    for x in frames:
        hidden = model(x, hidden)
    return hidden


# ---- tests: ConvGRU ----------------------------------------------------------------------------------------

def test_conv_gru_cell_inits_orthogonal_weights_zero_biases_with_the_deprecated_names():
    with pytest.warns(Warning, match="orthogonal_"):
        cell = ConvGRUCell(2, 3, 3)
    for gate in (cell.reset_gate, cell.update_gate, cell.out_gate):
        w = arr(gate.weight).reshape(3, -1)  # (3, 5 * 3 * 3): rows orthonormal
        np.testing.assert_allclose(w @ w.T, np.eye(3), atol=1e-6)
        assert not arr(gate.bias).any()


def test_conv_gru_cell_step_from_none_and_from_a_state_matches_numpy(float64_default):
    cell = ConvGRUCell(2, 3, 3)
    rng = np.random.default_rng(9)
    x, h = rng.normal(size=(2, 2, 5, 4)), rng.normal(size=(2, 3, 5, 4))
    p = params64(cell)
    h1 = cell(torch.tensor(x), None)
    assert h1.shape == (2, 3, 5, 4)
    np.testing.assert_allclose(arr(h1), np_convgru_cell(p, '', x, np.zeros((2, 3, 5, 4))), rtol=1e-10, atol=1e-12)
    h2 = cell(torch.tensor(x), torch.tensor(h))
    np.testing.assert_allclose(arr(h2), np_convgru_cell(p, '', x, h), rtol=1e-10, atol=1e-12)


def test_conv_gru_stacks_layers_of_different_sizes_and_registers_each_cell_once(float64_default):
    model = ConvGRU(input_size=1, hidden_sizes=[3, 2], kernel_sizes=[3, 1], n_layers=2)
    names = [n for n, _ in model.named_parameters()]
    assert len(names) == 12 and names[0].startswith('ConvGRUCell_00.') and names[-1].startswith('ConvGRUCell_01.')
    assert model.ConvGRUCell_01.out_gate.weight.shape == (2, 5, 1, 1)
    frames = [np.random.default_rng(s).normal(size=(2, 1, 4, 4)) for s in range(3)]
    got = run_convgru(model, [torch.tensor(f) for f in frames])
    want = np_convgru_run(params64(model), frames, [3, 2])
    assert [g.shape for g in got] == [(2, 3, 4, 4), (2, 2, 4, 4)]
    for g, w in zip(got, want):
        np.testing.assert_allclose(arr(g), w, rtol=1e-10, atol=1e-12)


def test_conv_gru_sizes_given_as_ints_repeat_and_lists_of_the_wrong_length_assert():
    model = ConvGRU(2, 4, 3, 3)
    assert model.hidden_sizes == [4, 4, 4] and model.kernel_sizes == [3, 3, 3] and len(model.cells) == 3
    with pytest.raises(AssertionError, match="hidden_sizes"):
        ConvGRU(2, [4, 4], 3, 3)
    with pytest.raises(AssertionError, match="kernel_sizes"):
        ConvGRU(2, 4, [3], 2)


def test_bptt_gradients_through_three_frames_and_two_layers_match_central_differences(float64_default):
    model = ConvGRU(input_size=1, hidden_sizes=[2, 2], kernel_sizes=3, n_layers=2)
    rng = np.random.default_rng(10)
    frames = [rng.normal(size=(1, 1, 4, 4)) for _ in range(3)]
    readout = rng.normal(size=(1, 2, 4, 4))
    base = params64(model)
    for name in base:  # zero biases would leave the bias gradients untested away from 0
        if name.endswith('bias'):
            base[name] = rng.normal(scale=0.3, size=base[name].shape)
    model.load_state_dict({k: torch.tensor(v) for k, v in base.items()})
    xs = [torch.tensor(f, requires_grad=True) for f in frames]
    loss = (run_convgru(model, xs)[-1] * torch.tensor(readout)).sum()
    loss.backward()

    def np_loss(p, fr):
        return float((np_convgru_run(p, fr, [2, 2])[-1] * readout).sum())

    np.testing.assert_allclose(loss.item(), np_loss(base, frames), rtol=1e-12)
    named = dict(model.named_parameters())
    for k, name in enumerate(['ConvGRUCell_00.reset_gate.weight', 'ConvGRUCell_00.update_gate.bias',
                              'ConvGRUCell_00.out_gate.weight', 'ConvGRUCell_01.reset_gate.bias',
                              'ConvGRUCell_01.update_gate.weight', 'ConvGRUCell_01.out_gate.weight']):
        idx = some_indices(base[name].shape, 4, k)
        want = central(lambda v, name=name: np_loss({**base, name: v}, frames), base[name], idx)
        np.testing.assert_allclose([named[name].grad[i] for i in idx], want, rtol=1e-6, atol=1e-9, err_msg=name)
    idx = some_indices((1, 1, 4, 4), 4, 50)
    want = central(lambda v: np_loss(base, [v] + frames[1:]), frames[0], idx)
    np.testing.assert_allclose([xs[0].grad[i] for i in idx], want, rtol=1e-6, atol=1e-9)


def moving_dot_video(rng, batch, steps, size=6):
    """A one-pixel dot moving one step right per frame (wrapping), from a random start: (steps, B, 1, s, s)."""
    v = np.zeros((steps, batch, 1, size, size), dtype=np.float32)
    r, c = rng.integers(0, size, batch), rng.integers(0, size, batch)
    for t in range(steps):
        v[t, np.arange(batch), 0, r, (c + t) % size] = 1.0
    return v


@pytest.mark.parametrize("chunk", [8, 4])
def test_next_frame_prediction_loss_falls_by_full_and_truncated_bptt(chunk):
    """chunk 8 is full BPTT over the 8 frames; chunk 4 detaches the states between two chunks (TBPTT)."""
    model = ConvGRU(input_size=1, hidden_sizes=6, kernel_sizes=3, n_layers=1)
    head = nn.Conv2d(6, 1, 1)
    opt = torch.optim.Adam(list(model.parameters()) + list(head.parameters()), lr=3e-2)
    rng = np.random.default_rng(11)
    losses = []
    for it in range(60):
        video = torch.tensor(moving_dot_video(rng, 4, 9))
        hidden, total = None, 0.0
        for start in range(0, 8, chunk):
            if hidden is not None:
                hidden = [h.detach() for h in hidden]
            loss = 0
            for t in range(start, start + chunk):
                hidden = model(video[t], hidden)
                loss = loss + F.binary_cross_entropy_with_logits(head(hidden[-1]), video[t + 1])
            opt.zero_grad()
            (loss / chunk).backward()
            opt.step()
            total += loss.item() / 8
        losses.append(total)
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5])


# =========================================================================================================
# 3. kamenbliznashki/generative_models: draw.py (3c4da3d3)
# =========================================================================================================

parser = argparse.ArgumentParser()

# model parameters
parser.add_argument('--image_dims', type=tuple, default=(1,28,28),
                    help='Dimensions of a single datapoint (e.g. (1,28,28) for MNIST).')
parser.add_argument('--time_steps', type=int, default=32,
                    help='Number of time-steps T consumed by the network before performing reconstruction.')
parser.add_argument('--z_size', type=int, default=100, help='Size of the latent representation.')
parser.add_argument('--lstm_size', type=int, default=256,
                    help='Size of the hidden layer in the encoder/decoder models.')
parser.add_argument('--read_size', type=int, default=2, help='Size of the read operation visual field.')
parser.add_argument('--write_size', type=int, default=5, help='Size of the write operation visual field.')
parser.add_argument('--use_read_attn', action='store_true',
                    help='Whether to use visual attention or not. If not, read/write field size is the full image.')
parser.add_argument('--use_write_attn', action='store_true',
                    help='Whether to use visual attention or not. If not, read/write field size is the full image.')

# training params
parser.add_argument('--train', action='store_true')
parser.add_argument('--train_batch_size', type=int, default=128)
parser.add_argument('--n_epochs', type=int, default=50, help='Number of epochs to train.')
parser.add_argument('--lr', type=float, default=1e-3, help='Learning rate')
parser.add_argument('--log_interval', default=100, help='How often to write summary outputs.')
parser.add_argument('--cuda', type=int, help='Which cuda device to use')
parser.add_argument('--mini_data', action='store_true')
parser.add_argument('--verbose', '-v', action='store_true',
                    help='Extra monitoring of training + record forward/backward hooks on attn params')


class DRAW(nn.Module):
    def __init__(self, args):
        super().__init__()

        # save dimensions
        self.C, self.H, self.W = args.image_dims
        self.time_steps = args.time_steps
        self.lstm_size = args.lstm_size
        self.z_size = args.z_size
        self.use_read_attn = args.use_read_attn
        self.use_write_attn = args.use_write_attn
        if self.use_read_attn:
            self.read_size = args.read_size
        else:
            self.read_size = self.H
        if self.use_write_attn:
            self.write_size = args.write_size
        else:
            self.write_size = self.H

        # encoder - decoder layers
        self.encoder = nn.LSTMCell(2 * self.read_size * self.read_size + self.lstm_size, self.lstm_size)
        self.decoder = nn.LSTMCell(self.z_size, self.lstm_size)

        # latent space layer
        # outputs the parameters of the q distribution (mu and var; here q it is a Normal)
        self.z_linear = nn.Linear(self.lstm_size, 2 * self.z_size)

        # write layers
        self.write_linear = nn.Linear(self.lstm_size, self.write_size * self.write_size)

        # filter bank
        # outputs center location (g_x, g_y), stride delta, logvar of the gaussian filters, scalar intensity gamma
        # (5 params in total)
        self.read_attention_linear = nn.Linear(self.lstm_size, 5)
        self.write_attention_linear = nn.Linear(self.lstm_size, 5)

    def compute_q_distribution(self, h_enc):
        mus, logsigmas = torch.split(self.z_linear(h_enc), [self.z_size, self.z_size], dim=1)
        sigmas = logsigmas.exp()
        z_dist = D.Normal(loc=mus, scale=sigmas)
        return z_dist.rsample(), mus, sigmas

    def read(self, x, x_hat, h_dec):
        if self.use_read_attn:
            # read filter bank -- eq 21
            g_x, g_y, logvar, logdelta, loggamma = self.read_attention_linear(h_dec).split(split_size=1, dim=1)
            # (split returns column vecs)
            # compute filter bank matrices -- eq 22 - 26
            g_x, g_y, delta, mu_x, mu_y, F_x, F_y = compute_filterbank_matrices(g_x, g_y, logvar, logdelta, self.H,
                                                                                self.W, self.read_size)
            # output reading wth attention -- eq 27
            new_x     = F_y @ x.view(-1, self.H, self.W)     @ F_x.transpose(-2, -1)   # out (B, N, N)
            new_x_hat = F_y @ x_hat.view(-1, self.H, self.W) @ F_x.transpose(-2, -1)   # out (B, N, N)
            return loggamma.exp() * torch.cat([new_x.view(x.shape[0], -1), new_x_hat.view(x.shape[0], -1)], dim=1)
        else:
            # output reading without attention -- eq 17
            return torch.cat([x, x_hat], dim=1)

    def write(self, h_dec):
        w = self.write_linear(h_dec)

        if self.use_write_attn:
            # read filter bank -- eq 21
            g_x, g_y, logvar, logdelta, loggamma = self.write_attention_linear(h_dec).split(split_size=1, dim=1)
            # (split returns column vecs)
            # compute filter bank matrices -- eq 22 - 26
            g_x, g_y, delta, mu_x, mu_y, F_x, F_y = compute_filterbank_matrices(g_x, g_y, logvar, logdelta, self.H,
                                                                                self.W, self.write_size)
            # output write with attention -- eq 29
            w = F_y.transpose(-2, -1) @ w.view(-1, self.write_size, self.write_size) @ F_x
            return 1. / loggamma.exp() * w.view(w.shape[0], -1)
        else:
            # output write without attention -- eq 18
            return w

    def forward(self, x):
        batch_size = x.shape[0]
        device = x.device

        # record metrics for loss calculation
        mus, sigmas = [0]*self.time_steps, [0]*self.time_steps

        # initialize the canvas matrix c on same device and the hidden state and cell state for the encoder and decoder
        c = torch.zeros(*x.shape).to(device)
        h_enc = torch.zeros(batch_size, self.lstm_size).to(device)
        c_enc = torch.zeros_like(h_enc)
        h_dec = torch.zeros(batch_size, self.lstm_size).to(device)
        c_dec = torch.zeros_like(h_dec)

        # run model forward (cf DRAW eq 3 - 8)
        for t in range(self.time_steps):
            x_hat = x.to(c.device) - torch.sigmoid(c)
            r = self.read(x, x_hat, h_dec)
            h_enc, c_enc = self.encoder(torch.cat([r, h_dec], dim=1), (h_enc, c_enc))
            z_sample, mus[t], sigmas[t] = self.compute_q_distribution(h_enc)
            h_dec, c_dec = self.decoder(z_sample, (h_dec, c_dec))
            c = c + self.write(h_dec)

        # return
        #   data likelihood; used to compute L_x loss -- shape (B, H*W)
        #   sequence of latent distributions Q; used to compute L_z loss (here Normal of shape (B, z_size, time_steps)
        return D.Bernoulli(logits=c), D.Normal(torch.stack(mus, dim=-1), torch.stack(sigmas, dim=-1))

    @torch.no_grad()
    def generate(self, n_samples, args):
        samples_time_seq = []

        # initialize model
        c = torch.zeros(n_samples, self.C * self.H * self.W).to(args.device)
        h_dec = torch.zeros(n_samples, self.lstm_size).to(args.device)
        c_dec = torch.zeros_like(h_dec).to(args.device)

        # run for the number of time steps
        for t in range(self.time_steps):
            z_sample = D.Normal(0,1).sample((n_samples, self.z_size)).to(args.device)
            h_dec, c_dec = self.decoder(z_sample, (h_dec, c_dec))
            c = c + self.write(h_dec)
            x = D.Bernoulli(logits=c.view(n_samples, self.C, self.H, self.W)).probs

            samples_time_seq.append(x)

        return samples_time_seq


def compute_filterbank_matrices(g_x, g_y, logvar, logdelta, H, W, attn_window_size):
    """ DRAW section 3.2 -- computes the parameters for an NxN grid of Gaussian filters over the input image.
    Args
        g_x, g_y -- tensors of shape (B, 1); unnormalized center coords for the attention window
        logvar -- tensor of shape (B, 1); log variance for the Gaussian filters (filterbank matrices) on the attention
            window
        logdelta -- tensor of shape (B, 1); unnormalized stride for the spacing of the filters in the attention window
        H, W -- scalars; original image dimensions
        attn_window_size -- scalar; size of the attention window (specified by the read_size / write_size input args

    Returns
        g_x, g_y -- tensors of shape (B, 1); normalized center coords of the attention window;
        delta -- tensor of shape (B, 1); stride for the spacing of the filters in the attention window
        mu_x, mu_y -- tensors of shape (B, attn_window_size); means location of the filters at row and column
        F_x, F_y -- tensors of shape (B, N, W) and (B, N, H) where N=attention_window_size; filterbank matrices
    """

    batch_size = g_x.shape[0]
    device = g_x.device

    # rescale attention window center coords and stride to ensure the initial patch covers the whole input image
    # eq 22 - 24
    g_x = 0.5 * (W + 1) * (g_x + 1)  # (B, 1)
    g_y = 0.5 * (H + 1) * (g_y + 1)  # (B, 1)
    delta = (max(H, W) - 1) / (attn_window_size - 1) * logdelta.exp()  # (B, 1)

    # compute the means of the filter
    # eq 19 - 20
    mu_x = g_x + (torch.arange(1., 1. + attn_window_size).to(device) - 0.5*(attn_window_size + 1)) * delta  # (B, N)
    mu_y = g_y + (torch.arange(1., 1. + attn_window_size).to(device) - 0.5*(attn_window_size + 1)) * delta  # (B, N)

    # compute the filterbank matrices
    # B = batch dim; N = attn window size; H = original heigh; W = original width
    # eq 25 -- combines logvar=(B, 1, 1) * ( range=(B, 1, W) - mu=(B, N, 1) ) = out (B, N, W); then normalizes over
    # W dimension;
    F_x = torch.exp(- 0.5 / logvar.exp().view(-1,1,1) * (torch.arange(1., 1. + W).repeat(batch_size, 1, 1).to(device)
                                                         - mu_x.unsqueeze(-1))**2)
    F_x = F_x / torch.sum(F_x + 1e-8, dim=2, keepdim=True)  # normalize over the coordinates of the input image
    # eq 26
    F_y = torch.exp(- 0.5 / logvar.exp().view(-1,1,1) * (torch.arange(1., 1. + H).repeat(batch_size, 1, 1).to(device)
                                                         - mu_y.unsqueeze(-1))**2)
    F_y = F_y / torch.sum(F_y + 1e-8, dim=2, keepdim=True)  # normalize over the coordinates of the input image

    # returns DRAW paper eq 22, 23, 24, 19, 20, 25, 26
    return g_x, g_y, delta, mu_x, mu_y, F_x, F_y


def loss_fn(d, q, x, writer=None, step=None):
    """
    Args
        d -- data likelihood distribution output by the model (Bernoulli)
        q -- approximation distribution to the latent variable z (Normal)
    """
    # cf DRAW paper section 2

    # reconstruction loss L_x eq 9 -- negative log probability of x under the model d
    #                                 (sum log probs over the pixels of each datapoint and mean over batch dim)
    # latent loss L_z eq 10 -- sum KL over temporal dimension (number of time steps) and mean over batch and z dims
    batch_size = x.shape[0]
    p_prior = D.Normal(torch.tensor(0., device=x.device), torch.tensor(1., device=x.device))
    loss_log_likelihood = - d.log_prob(x).sum(-1).mean(0)  # sum over pixels (-1), mean over datapoints (0)
    # sum over time_steps (-1) and z (-2), mean over datapoints (0)
    loss_kl = D.kl.kl_divergence(q, p_prior).sum(dim=[-2,-1]).mean(0)

    if writer:
        writer.add_scalar('loss_log_likelihood', loss_log_likelihood, step)
        writer.add_scalar('loss_kl', loss_kl, step)

    return loss_log_likelihood + loss_kl


def train_epoch(model, dataloader, loss_fn, optimizer, epoch, writer, args):
    model.train()

    with tqdm(total=len(dataloader), desc='epoch {} of {}'.format(epoch+1, args.n_epochs)) as pbar:
        time.sleep(0.1)

        for i, (x, _) in enumerate(dataloader):
            global_step = epoch * len(dataloader) + i + 1

            x = x.view(x.shape[0], -1).to(args.device)

            (d, q) = model(x)

            loss = loss_fn(d, q, x, writer, global_step)

            optimizer.zero_grad()
            loss.backward()

            # record grad norm and clip
            if args.verbose:
                grad_norm = 0
                for name, p in model.named_parameters():
                    # differs: `p.grad.norm()`; .grad is a numpy array here (docs/pytorch.md: `torch.norm(p.grad)`)
                    grad_norm += torch.norm(p.grad).item() if p.grad is not None else 0
                writer.add_scalar('grad_norm', grad_norm, global_step)
            nn.utils.clip_grad_norm_(model.parameters(), 10)

            optimizer.step()

            # update tracking
            pbar.set_postfix(loss='{:.3f}'.format(loss.item()))
            pbar.update()

            if i % args.log_interval == 0:
                writer.add_scalar('loss', loss.item(), global_step)


# --------------------
# Monitor training
# --------------------

def record_attn_params(self, in_tensor, out_tensor, bank_name):
    g_x, g_y, logvar, logdelta, loggamma = out_tensor.cpu().split(split_size=1, dim=1)
    writer.add_scalar(bank_name + ' g_x', g_x.mean())
    writer.add_scalar(bank_name + ' g_y', g_y.mean())
    writer.add_scalar(bank_name + ' var', logvar.exp().mean())
    writer.add_scalar(bank_name + ' exp_logdelta', logdelta.exp().mean())
    writer.add_scalar(bank_name + ' gamma', loggamma.exp().mean())

def record_attn_grads(self, in_tensor, out_tensor, bank_name):
    g_x, g_y, logvar, logdelta, loggamma = out_tensor[0].cpu().split(split_size=1, dim=1)
    writer.add_scalar(bank_name + ' grad_var', logvar.exp().mean())
    writer.add_scalar(bank_name + ' grad_logdelta', logdelta.exp().mean())

def record_forward_backward_attn_hooks(model):
    from functools import partial

    model.read_attention_linear.register_forward_hook(partial(record_attn_params, bank_name='read'))
    model.write_attention_linear.register_forward_hook(partial(record_attn_params, bank_name='write'))
    model.write_attention_linear.register_backward_hook(partial(record_attn_grads, bank_name='write'))


writer = None  # (main's module-level writer, which the hooks read)


class ScalarWriter:
    """differs: a stand-in for utils.set_writer's tensorboardX SummaryWriter (not installed): keeps add_scalar's
    values by tag."""

    def __init__(self):
        self.scalars = {}

    def add_scalar(self, tag, value, step=None):
        self.scalars.setdefault(tag, []).append((step, float(value)))


def draw_args(*argv):
    args = parser.parse_args(['--image_dims', '0', '--time_steps', '3', '--z_size', '2', '--lstm_size', '5',
                              '--read_size', '2', '--write_size', '3'] + list(argv))
    args.image_dims = (1, 5, 6)  # differs: `type=tuple` splits a command-line string into characters; set here
    args.device = torch.device('cpu')  # as main sets it without CUDA
    return args


# ---- numpy references ------------------------------------------------------------------------------------

def np_filterbank(gx, gy, logvar, logdelta, H, W, N):
    """DRAW eqs 19-26: centres g = (size + 1)(g~ + 1) / 2, stride delta = (max(H, W) - 1) / (N - 1) e^logdelta,
    filter means mu_i = g + (i - (N + 1) / 2) delta for i = 1..N, F[i, a] = exp(-(a - mu_i)^2 / 2 var) normalised
    over a = 1..size (with the source's + 1e-8 inside the sum)."""
    gx, gy = 0.5 * (W + 1) * (gx + 1), 0.5 * (H + 1) * (gy + 1)
    delta = (max(H, W) - 1) / (N - 1) * np.exp(logdelta)
    grid = np.arange(1, N + 1) - 0.5 * (N + 1)
    mu_x, mu_y = gx + grid * delta, gy + grid * delta
    var = np.exp(logvar)[:, :, None]
    Fx = np.exp(-0.5 / var * (np.arange(1, W + 1)[None, None, :] - mu_x[:, :, None]) ** 2)
    Fy = np.exp(-0.5 / var * (np.arange(1, H + 1)[None, None, :] - mu_y[:, :, None]) ** 2)
    Fx = Fx / (Fx + 1e-8).sum(2, keepdims=True)
    Fy = Fy / (Fy + 1e-8).sum(2, keepdims=True)
    return gx, gy, delta, mu_x, mu_y, Fx, Fy


def np_draw_loss(p, x, eps, H, W, N_r, N_w, read_attn=True, write_attn=True):
    """DRAW's forward (eqs 3-8) with z_t = mu_t + sigma_t eps_t, then loss_fn: -sum_pixels log Bernoulli(x; logits
    c_T), mean over the batch, plus sum over t and z of KL(N(mu, sigma) || N(0, 1)) = -log sigma + (sigma^2 + mu^2 - 1)
    / 2, mean over the batch. Returns the loss and the final canvas."""
    B, L = x.shape[0], p['decoder.weight_hh'].shape[1]
    c = np.zeros_like(x)
    h_enc, c_enc, h_dec, c_dec = (np.zeros((B, L)) for _ in range(4))
    kl = 0.0
    for t in range(len(eps)):
        x_hat = x - np_sigmoid(c)
        if read_attn:
            a = h_dec @ p['read_attention_linear.weight'].T + p['read_attention_linear.bias']
            *_, Fx, Fy = np_filterbank(*(a[:, k:k + 1] for k in range(4)), H, W, N_r)
            glimpse = [(Fy @ v.reshape(B, H, W) @ Fx.transpose(0, 2, 1)).reshape(B, -1) for v in (x, x_hat)]
            r = np.exp(a[:, 4:5]) * np.concatenate(glimpse, axis=1)
        else:
            r = np.concatenate([x, x_hat], axis=1)
        h_enc, c_enc = np_lstm_cell(np.concatenate([r, h_dec], axis=1), h_enc, c_enc, p['encoder.weight_ih'],
                                    p['encoder.weight_hh'], p['encoder.bias_ih'], p['encoder.bias_hh'])
        mu, logsig = np.split(h_enc @ p['z_linear.weight'].T + p['z_linear.bias'], 2, axis=1)
        sig = np.exp(logsig)
        kl += (-logsig + 0.5 * (sig ** 2 + mu ** 2 - 1)).sum()
        h_dec, c_dec = np_lstm_cell(mu + sig * eps[t], h_dec, c_dec, p['decoder.weight_ih'], p['decoder.weight_hh'],
                                    p['decoder.bias_ih'], p['decoder.bias_hh'])
        w = h_dec @ p['write_linear.weight'].T + p['write_linear.bias']
        if write_attn:
            a = h_dec @ p['write_attention_linear.weight'].T + p['write_attention_linear.bias']
            *_, Fx, Fy = np_filterbank(*(a[:, k:k + 1] for k in range(4)), H, W, N_w)
            w = (Fy.transpose(0, 2, 1) @ w.reshape(B, N_w, N_w) @ Fx).reshape(B, -1) / np.exp(a[:, 4:5])
        c = c + w
    nll = -(x * c - np.logaddexp(0, c)).sum(-1).mean(0)
    return nll + kl / B, c


def draw_noise(seed, steps, batch, z_size):
    """The standard normals DRAW's rsample draws at each step after torch.manual_seed(seed) (one randn per step)."""
    torch.manual_seed(seed)
    return [arr(torch.randn(batch, z_size)) for _ in range(steps)]


# ---- tests: DRAW -------------------------------------------------------------------------------------------

def test_filterbank_matrices_match_the_papers_equations(float64_default):
    rng = np.random.default_rng(12)
    cols = [rng.normal(scale=0.5, size=(3, 1)) for _ in range(4)]
    got = compute_filterbank_matrices(*(torch.tensor(v) for v in cols), 5, 6, 3)
    want = np_filterbank(*cols, 5, 6, 3)
    assert got[5].shape == (3, 3, 6) and got[6].shape == (3, 3, 5)
    for g, w in zip(got, want):
        np.testing.assert_allclose(arr(g), w, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(arr(got[5]).sum(-1), 1.0, atol=1e-5)  # (short of 1 by the + 1e-8 in the sum)


def test_draw_with_read_and_write_attention_matches_numpy_with_the_same_noise(float64_default):
    args = draw_args('--use_read_attn', '--use_write_attn')
    model = DRAW(args)
    assert model.encoder.weight_ih.shape == (20, 2 * 2 * 2 + 5) and model.write_linear.out_features == 9
    x = (np.random.default_rng(13).random((4, 30)) > 0.5).astype(np.float64)
    eps = draw_noise(3, 3, 4, 2)
    torch.manual_seed(3)
    d, q = model(torch.tensor(x))
    assert q.loc.shape == (4, 2, 3) and d.logits.shape == (4, 30)
    loss = loss_fn(d, q, torch.tensor(x))
    want, canvas = np_draw_loss(params64(model), x, eps, 5, 6, 2, 3)
    np.testing.assert_allclose(arr(d.logits), canvas, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(loss.item(), want, rtol=1e-12)


def test_draw_without_attention_reads_the_image_and_its_error_whole(float64_default):
    args = draw_args()
    args.image_dims = (1, 5, 5)  # without attention the read and write sizes are H: square images
    model = DRAW(args)
    assert model.read_size == 5 and model.encoder.weight_ih.shape == (20, 2 * 25 + 5)
    x = np.random.default_rng(14).random((2, 25)).round()
    r = model.read(torch.tensor(x), torch.tensor(1 - x), None)
    np.testing.assert_array_equal(arr(r), np.concatenate([x, 1 - x], axis=1))
    eps = draw_noise(4, 3, 2, 2)
    torch.manual_seed(4)
    loss = loss_fn(*model(torch.tensor(x)), torch.tensor(x))
    want, _ = np_draw_loss(params64(model), x, eps, 5, 5, 5, 5, read_attn=False, write_attn=False)
    np.testing.assert_allclose(loss.item(), want, rtol=1e-12)


def test_draw_loss_gradients_through_filterbanks_and_rsample_match_central_differences(float64_default):
    args = draw_args('--use_read_attn', '--use_write_attn')
    model = DRAW(args)
    x = (np.random.default_rng(15).random((3, 30)) > 0.5).astype(np.float64)
    eps = draw_noise(6, 3, 3, 2)
    torch.manual_seed(6)
    writer = ScalarWriter()
    loss = loss_fn(*model(torch.tensor(x)), torch.tensor(x), writer, 7)
    loss.backward()
    assert sorted(writer.scalars) == ['loss_kl', 'loss_log_likelihood'] and writer.scalars['loss_kl'][0][0] == 7
    np.testing.assert_allclose(sum(v[0][1] for v in writer.scalars.values()), loss.item(), rtol=1e-12)
    base = params64(model)
    named = dict(model.named_parameters())
    for k, name in enumerate(['read_attention_linear.weight', 'read_attention_linear.bias',
                              'write_attention_linear.weight', 'write_attention_linear.bias', 'z_linear.weight',
                              'encoder.weight_hh', 'decoder.weight_ih', 'write_linear.weight']):
        idx = some_indices(base[name].shape, 4, k)
        want = central(lambda v, name=name: np_draw_loss({**base, name: v}, x, eps, 5, 6, 2, 3)[0], base[name], idx)
        np.testing.assert_allclose([named[name].grad[i] for i in idx], want, rtol=1e-5, atol=1e-8, err_msg=name)


def test_generate_runs_under_no_grad_and_returns_each_steps_probabilities():
    args = draw_args('--use_write_attn')
    model = DRAW(args)
    seq = model.generate(4, args)
    assert len(seq) == 3 and all(s.shape == (4, 1, 5, 6) and not s.requires_grad for s in seq)
    assert all(((arr(s) > 0) & (arr(s) < 1)).all() for s in seq)
    assert torch.is_grad_enabled()


def striped_images(rng, n, H=5, W=6):
    """Binary images, each a horizontal or a vertical bar at a random place."""
    x = np.zeros((n, 1, H, W), dtype=np.float32)
    for i in range(n):
        if rng.random() < 0.5:
            x[i, 0, rng.integers(0, H), :] = 1
        else:
            x[i, 0, :, rng.integers(0, W)] = 1
    return x


def test_train_epoch_as_written_lowers_the_negative_elbo(capsys):
    args = draw_args('--use_read_attn', '--use_write_attn', '--lstm_size', '16', '--z_size', '3', '--n_epochs', '3',
                     '--verbose')
    args.log_interval = 1  # (`--log_interval` has no type=int: from the command line `i % '1'` is a TypeError)
    model = DRAW(args)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2, betas=(0.5, 0.999))
    rng = np.random.default_rng(16)
    loader = [(torch.tensor(striped_images(rng, 16)), torch.zeros(16)) for _ in range(20)]
    writer = ScalarWriter()
    for epoch in range(args.n_epochs):
        train_epoch(model, loader, loss_fn, optimizer, epoch, writer, args)
    losses = [v for _, v in writer.scalars['loss']]
    assert [s for s, _ in writer.scalars['loss']] == list(range(1, 61))
    assert len(writer.scalars['grad_norm']) == 60 and all(v > 0 for _, v in writer.scalars['grad_norm'])
    assert np.mean(losses[-10:]) < 0.75 * np.mean(losses[:5])
    assert np.mean(losses[-10:]) < 30 * np.log(2)  # below coding each pixel as a fair coin
    assert 'epoch 3 of 3' in capsys.readouterr().err


def test_verbose_hooks_record_the_attention_parameters_and_module_backward_hooks_are_refused(monkeypatch):
    """record_forward_backward_attn_hooks registers two forward hooks, then a module backward hook: documented as
    not supported here (docs/pytorch.md: hook the tensors), a NotImplementedError naming what to do."""
    monkeypatch.setitem(globals(), 'writer', ScalarWriter())
    model = DRAW(draw_args('--use_read_attn', '--use_write_attn'))
    with pytest.raises(NotImplementedError, match="register_backward_hook: module backward hooks are not supported"):
        record_forward_backward_attn_hooks(model)
    x = torch.rand(2, 30).round()
    d, q = model(x)
    rows = {tag: [v for _, v in vals] for tag, vals in writer.scalars.items()}
    assert len(rows['read g_x']) == 3 and len(rows['write gamma']) == 3 and 'write grad_var' not in rows
    b = arr(model.read_attention_linear.bias)  # the first read sees the zero decoder state: the bias
    assert rows['read g_x'][0] == pytest.approx(b[0], rel=1e-6)
    assert rows['read var'][0] == pytest.approx(np.exp(b[2]), rel=1e-6)
