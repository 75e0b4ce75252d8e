"""Porting, round 7: five more public PyTorch encoder-decoder scripts, each with only its imports
changed, its data made synthetic and small, and the documented real differences marked where they
are unavoidable (`# difference: ...`):

- Stanford CS224n (2019), assignment 4: `nmt_model.py` (a packed bidirectional LSTM encoder, an
  `nn.LSTMCell` decoder with `torch.bmm` attention masked to `-inf`, `torch.gather` of the gold
  words, beam search with `torch.topk`), `vocab.py`'s `to_input_tensor`, `run.py`'s training step;
- Joost Bastings, "The Annotated Encoder-Decoder with Attention" (a packed bidirectional GRU,
  Bahdanau attention, the copy task, greedy decoding);
- Udacity's char-RNN notebook (deep-learning-v2-pytorch, "Anna Karenina": a two-layer
  `nn.LSTM(..., dropout, batch_first=True)`, `init_hidden` with `weight.new(...).zero_()`,
  `torch.from_numpy`, top-k sampling, a checkpoint);
- PyTorch's chatbot tutorial (beginner_source/chatbot_tutorial.py, the batched descendant of
  practical-pytorch's seq2seq translation: a packed bidirectional GRU whose directions are summed,
  Luong attention, `maskNLLLoss` with `masked_select`, greedy search);
- d2l.ai, "Sequence to Sequence Learning" (`Seq2SeqEncoder`/`Seq2SeqDecoder`, `sequence_mask`,
  `MaskedSoftmaxCELoss` subclassing `nn.CrossEntropyLoss`, `xavier_init_weights` over
  `m._flat_weights_names`, `predict_seq2seq`, `bleu`).

Each test checks behaviour against a bound from its task (the entropy of guessing) or a closed form,
never against the library's own earlier output; then the spellings these scripts needed, against
numpy and central differences. No PyTorch needed."""

import collections
import itertools
import math
import random
from collections import namedtuple
from typing import List, Tuple

import numpy as np
import pytest

import microgradseq as torch
import microgradseq.nn as nn
import microgradseq.nn.functional as F
import microgradseq.nn.utils
from microgradseq.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from microgradseq.utils import data


# ---- 1. CS224n assignment 4: NMT with a bidirectional LSTM encoder, attention and beam search ----

Hypothesis = namedtuple('Hypothesis', ['value', 'score'])


def pad_sents(sents, pad_token):
    sents_padded = []
    max_len = max(len(s) for s in sents)
    for s in sents:
        padded = [pad_token] * max_len
        padded[:len(s)] = s
        sents_padded.append(padded)
    return sents_padded


class VocabEntry(object):
    """vocab.py's VocabEntry, built from a word list rather than a corpus."""

    def __init__(self, words):
        self.word2id = {'<pad>': 0, '<s>': 1, '</s>': 2, '<unk>': 3}
        for word in words:
            self.word2id[word] = len(self.word2id)
        self.unk_id = self.word2id['<unk>']
        self.id2word = {v: k for k, v in self.word2id.items()}

    def __getitem__(self, word):
        return self.word2id.get(word, self.unk_id)

    def __len__(self):
        return len(self.word2id)

    def words2indices(self, sents):
        if type(sents[0]) == list:
            return [[self[w] for w in s] for s in sents]
        else:
            return [self[w] for w in sents]

    def to_input_tensor(self, sents: List[List[str]], device: torch.device) -> torch.Tensor:
        word_ids = self.words2indices(sents)
        sents_t = pad_sents(word_ids, self['<pad>'])
        sents_var = torch.tensor(sents_t, dtype=torch.long, device=device)
        return torch.t(sents_var)


class Vocab(object):
    def __init__(self, src_vocab: VocabEntry, tgt_vocab: VocabEntry):
        self.src = src_vocab
        self.tgt = tgt_vocab


class ModelEmbeddings(nn.Module):
    def __init__(self, embed_size, vocab):
        super(ModelEmbeddings, self).__init__()
        self.embed_size = embed_size
        src_pad_token_idx = vocab.src['<pad>']
        tgt_pad_token_idx = vocab.tgt['<pad>']
        self.source = nn.Embedding(len(vocab.src), self.embed_size, padding_idx=src_pad_token_idx)
        self.target = nn.Embedding(len(vocab.tgt), self.embed_size, padding_idx=tgt_pad_token_idx)


class NMT(nn.Module):
    def __init__(self, embed_size, hidden_size, vocab, dropout_rate=0.2):
        super(NMT, self).__init__()
        self.model_embeddings = ModelEmbeddings(embed_size, vocab)
        self.hidden_size = hidden_size
        self.dropout_rate = dropout_rate
        self.vocab = vocab
        self.encoder = nn.LSTM(embed_size, self.hidden_size, bidirectional=True)
        self.decoder = nn.LSTMCell(embed_size + self.hidden_size, self.hidden_size)
        self.h_projection = nn.Linear(2 * self.hidden_size, self.hidden_size, bias=False)
        self.c_projection = nn.Linear(2 * self.hidden_size, self.hidden_size, bias=False)
        self.att_projection = nn.Linear(2 * self.hidden_size, self.hidden_size, bias=False)
        self.combined_output_projection = nn.Linear(3 * self.hidden_size, self.hidden_size, bias=False)
        self.target_vocab_projection = nn.Linear(self.hidden_size, len(self.vocab.tgt), bias=False)
        self.dropout = nn.Dropout(p=dropout_rate)

    def forward(self, source: List[List[str]], target: List[List[str]]) -> torch.Tensor:
        source_lengths = [len(s) for s in source]
        source_padded = self.vocab.src.to_input_tensor(source, device=self.device)   # Tensor: (src_len, b)
        target_padded = self.vocab.tgt.to_input_tensor(target, device=self.device)   # Tensor: (tgt_len, b)
        enc_hiddens, dec_init_state = self.encode(source_padded, source_lengths)
        enc_masks = self.generate_sent_masks(enc_hiddens, source_lengths)
        combined_outputs = self.decode(enc_hiddens, enc_masks, dec_init_state, target_padded)
        P = F.log_softmax(self.target_vocab_projection(combined_outputs), dim=-1)
        target_masks = (target_padded != self.vocab.tgt['<pad>']).float()
        target_gold_words_log_prob = torch.gather(P, index=target_padded[1:].unsqueeze(-1), dim=-1).squeeze(-1) * target_masks[1:]
        scores = target_gold_words_log_prob.sum(dim=0)
        return scores

    def encode(self, source_padded: torch.Tensor, source_lengths: List[int]) -> Tuple[torch.Tensor, Tuple[torch.Tensor, torch.Tensor]]:
        X = self.model_embeddings.source(source_padded)
        X = pack_padded_sequence(X, source_lengths)
        enc_hiddens, (last_hidden, last_cell) = self.encoder(X)
        enc_hiddens, _ = pad_packed_sequence(enc_hiddens)
        enc_hiddens = enc_hiddens.permute(1, 0, 2)
        init_decoder_hidden = self.h_projection(torch.cat((last_hidden[0], last_hidden[1]), 1))
        init_decoder_cell = self.c_projection(torch.cat((last_cell[0], last_cell[1]), 1))
        dec_init_state = (init_decoder_hidden, init_decoder_cell)
        return enc_hiddens, dec_init_state

    def decode(self, enc_hiddens: torch.Tensor, enc_masks: torch.Tensor,
               dec_init_state: Tuple[torch.Tensor, torch.Tensor], target_padded: torch.Tensor) -> torch.Tensor:
        target_padded = target_padded[:-1]
        dec_state = dec_init_state
        batch_size = enc_hiddens.size(0)
        o_prev = torch.zeros(batch_size, self.hidden_size, device=self.device)
        combined_outputs = []
        enc_hiddens_proj = self.att_projection(enc_hiddens)
        Y = self.model_embeddings.target(target_padded)
        for Y_t in torch.split(Y, 1, dim=0):
            Y_t = torch.squeeze(Y_t, dim=0)
            Ybar_t = torch.cat((Y_t, o_prev), dim=1)
            dec_state, o_t, e_t = self.step(Ybar_t, dec_state, enc_hiddens, enc_hiddens_proj, enc_masks)
            combined_outputs.append(o_t)
            o_prev = o_t
        combined_outputs = torch.stack(combined_outputs, dim=0)
        return combined_outputs

    def step(self, Ybar_t: torch.Tensor, dec_state: Tuple[torch.Tensor, torch.Tensor], enc_hiddens: torch.Tensor,
             enc_hiddens_proj: torch.Tensor, enc_masks: torch.Tensor) -> Tuple[Tuple, torch.Tensor, torch.Tensor]:
        combined_output = None
        dec_state = self.decoder(Ybar_t, dec_state)
        dec_hidden, dec_cell = dec_state
        e_t = torch.squeeze(torch.bmm(enc_hiddens_proj, torch.unsqueeze(dec_hidden, 2)), 2)
        # Set e_t to -inf where enc_masks has 1
        if enc_masks is not None:
            # difference: `e_t.data` is the read-only numpy array; the tensor's own masked_fill_ fills it
            e_t.masked_fill_(enc_masks.bool(), -float('inf'))
        alpha_t = F.softmax(e_t, dim=1)
        a_t = torch.squeeze(torch.bmm(torch.unsqueeze(alpha_t, 1), enc_hiddens), 1)
        U_t = torch.cat((dec_hidden, a_t), dim=1)
        V_t = self.combined_output_projection(U_t)
        O_t = self.dropout(torch.tanh(V_t))
        combined_output = O_t
        return dec_state, combined_output, e_t

    def generate_sent_masks(self, enc_hiddens: torch.Tensor, source_lengths: List[int]) -> torch.Tensor:
        enc_masks = torch.zeros(enc_hiddens.size(0), enc_hiddens.size(1), dtype=torch.float)
        for e_id, src_len in enumerate(source_lengths):
            enc_masks[e_id, src_len:] = 1
        return enc_masks.to(self.device)

    def beam_search(self, src_sent: List[str], beam_size: int = 5, max_decoding_time_step: int = 70) -> List[Hypothesis]:
        src_sents_var = self.vocab.src.to_input_tensor([src_sent], self.device)
        src_encodings, dec_init_vec = self.encode(src_sents_var, [len(src_sent)])
        src_encodings_att_linear = self.att_projection(src_encodings)
        h_tm1 = dec_init_vec
        att_tm1 = torch.zeros(1, self.hidden_size, device=self.device)
        eos_id = self.vocab.tgt['</s>']
        hypotheses = [['<s>']]
        hyp_scores = torch.zeros(len(hypotheses), dtype=torch.float, device=self.device)
        completed_hypotheses = []
        t = 0
        while len(completed_hypotheses) < beam_size and t < max_decoding_time_step:
            t += 1
            hyp_num = len(hypotheses)
            exp_src_encodings = src_encodings.expand(hyp_num, src_encodings.size(1), src_encodings.size(2))
            exp_src_encodings_att_linear = src_encodings_att_linear.expand(hyp_num, src_encodings_att_linear.size(1),
                                                                           src_encodings_att_linear.size(2))
            y_tm1 = torch.tensor([self.vocab.tgt[hyp[-1]] for hyp in hypotheses], dtype=torch.long, device=self.device)
            y_t_embed = self.model_embeddings.target(y_tm1)
            x = torch.cat([y_t_embed, att_tm1], dim=-1)
            (h_t, cell_t), att_t, _ = self.step(x, h_tm1, exp_src_encodings, exp_src_encodings_att_linear, enc_masks=None)
            log_p_t = F.log_softmax(self.target_vocab_projection(att_t), dim=-1)
            live_hyp_num = beam_size - len(completed_hypotheses)
            contiuating_hyp_scores = (hyp_scores.unsqueeze(1).expand_as(log_p_t) + log_p_t).view(-1)
            top_cand_hyp_scores, top_cand_hyp_pos = torch.topk(contiuating_hyp_scores, k=live_hyp_num)
            prev_hyp_ids = top_cand_hyp_pos // len(self.vocab.tgt)
            hyp_word_ids = top_cand_hyp_pos % len(self.vocab.tgt)
            new_hypotheses = []
            live_hyp_ids = []
            new_hyp_scores = []
            for prev_hyp_id, hyp_word_id, cand_new_hyp_score in zip(prev_hyp_ids, hyp_word_ids, top_cand_hyp_scores):
                prev_hyp_id = prev_hyp_id.item()
                hyp_word_id = hyp_word_id.item()
                cand_new_hyp_score = cand_new_hyp_score.item()
                hyp_word = self.vocab.tgt.id2word[hyp_word_id]
                new_hyp_sent = hypotheses[prev_hyp_id] + [hyp_word]
                if hyp_word == '</s>':
                    completed_hypotheses.append(Hypothesis(value=new_hyp_sent[1:-1], score=cand_new_hyp_score))
                else:
                    new_hypotheses.append(new_hyp_sent)
                    live_hyp_ids.append(prev_hyp_id)
                    new_hyp_scores.append(cand_new_hyp_score)
            if len(completed_hypotheses) == beam_size:
                break
            live_hyp_ids = torch.tensor(live_hyp_ids, dtype=torch.long, device=self.device)
            h_tm1 = (h_t[live_hyp_ids], cell_t[live_hyp_ids])
            att_tm1 = att_t[live_hyp_ids]
            hypotheses = new_hypotheses
            hyp_scores = torch.tensor(new_hyp_scores, dtype=torch.float, device=self.device)
        if len(completed_hypotheses) == 0:
            completed_hypotheses.append(Hypothesis(value=hypotheses[0][1:], score=hyp_scores[0].item()))
        completed_hypotheses.sort(key=lambda hyp: hyp.score, reverse=True)
        return completed_hypotheses

    @property
    def device(self) -> torch.device:
        return self.model_embeddings.source.weight.device


def batch_iter(data, batch_size, shuffle=False):
    batch_num = math.ceil(len(data) / batch_size)
    index_array = list(range(len(data)))
    if shuffle:
        np.random.shuffle(index_array)
    for i in range(batch_num):
        indices = index_array[i * batch_size: (i + 1) * batch_size]
        examples = [data[idx] for idx in indices]
        examples = sorted(examples, key=lambda e: len(e[0]), reverse=True)
        src_sents = [e[0] for e in examples]
        tgt_sents = [e[1] for e in examples]
        yield src_sents, tgt_sents


def evaluate_ppl(model, dev_data, batch_size=32):
    was_training = model.training
    model.eval()
    cum_loss = 0.
    cum_tgt_words = 0.
    with torch.no_grad():
        for src_sents, tgt_sents in batch_iter(dev_data, batch_size):
            loss = -model(src_sents, tgt_sents).sum()
            cum_loss += loss.item()
            tgt_word_num_to_predict = sum(len(s[1:]) for s in tgt_sents)  # omitting leading `<s>`
            cum_tgt_words += tgt_word_num_to_predict
        ppl = np.exp(cum_loss / cum_tgt_words)
    if was_training:
        model.train()
    return ppl


WORDS = ["un", "deux", "trois", "quatre", "cinq", "six"]
ENGLISH = dict(zip(WORDS, ["one", "two", "three", "four", "five", "six"]))


def reversal_pairs(rng, count):
    """Sentences of 2..5 of six words, each translated word for word in reverse order."""
    pairs = []
    for _ in range(count):
        src = [WORDS[i] for i in rng.integers(0, len(WORDS), size=rng.integers(2, 6))]
        pairs.append((src, ['<s>'] + [ENGLISH[w] for w in reversed(src)] + ['</s>']))
    return pairs


def test_the_cs224n_nmt_model_trains_translates_by_beam_search_and_masks_the_padding():
    """A uniform guess of 7 target words (six and </s>) has perplexity 7; the model must get under 1.5.
    Beam search must translate an unseen sentence, its best score must be the model's own
    log-likelihood of that translation, and the padding of a source must get no attention."""
    np.random.seed(0)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    vocab = Vocab(VocabEntry(WORDS), VocabEntry(ENGLISH.values()))
    model = NMT(embed_size=8, hidden_size=32, dropout_rate=0.1, vocab=vocab)
    model.train()
    uniform_init = 0.1
    if np.abs(uniform_init) > 0.:
        for p in model.parameters():
            # difference: `p.data` is the read-only numpy array; nn.init gives the parameter a new one
            nn.init.uniform_(p, -uniform_init, uniform_init)
    device = torch.device("cpu")
    model = model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    train_data, dev_data = reversal_pairs(rng, 480), reversal_pairs(rng, 64)
    clip_grad, train_batch_size = 5.0, 32

    for epoch in range(14):
        for src_sents, tgt_sents in batch_iter(train_data, batch_size=train_batch_size, shuffle=True):
            optimizer.zero_grad()
            batch_size = len(src_sents)
            example_losses = -model(src_sents, tgt_sents)  # (batch_size,)
            batch_loss = example_losses.sum()
            loss = batch_loss / batch_size
            loss.backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), clip_grad)
            optimizer.step()
            assert math.isfinite(grad_norm.item())
    assert evaluate_ppl(model, dev_data, batch_size=32) < 1.5

    model.eval()
    with torch.no_grad():
        hypotheses = model.beam_search(["trois", "un", "cinq", "deux"], beam_size=3, max_decoding_time_step=8)
        assert hypotheses[0].value == ["two", "five", "one", "three"]
        assert [h.score for h in hypotheses] == sorted((h.score for h in hypotheses), reverse=True)
        own = model([["trois", "un", "cinq", "deux"]], [["<s>", "two", "five", "one", "three", "</s>"]])
        assert hypotheses[0].score == pytest.approx(own.item(), abs=1e-4)

        source = [["un", "deux", "trois"], ["quatre"]]
        enc_hiddens, dec_init_state = model.encode(vocab.src.to_input_tensor(source, device), [3, 1])
        enc_masks = model.generate_sent_masks(enc_hiddens, [3, 1])
        assert enc_masks.tolist() == [[0.0, 0.0, 0.0], [0.0, 1.0, 1.0]]
        Ybar_t = torch.cat((model.model_embeddings.target(torch.tensor([1, 1])), torch.zeros(2, model.hidden_size)), dim=1)
        _, _, e_t = model.step(Ybar_t, dec_init_state, enc_hiddens, model.att_projection(enc_hiddens), enc_masks)
    assert e_t.shape == (2, 3) and np.isneginf(e_t[1, 1:].numpy()).all() and np.isfinite(e_t[0].numpy()).all()
    assert F.softmax(e_t, dim=1)[1].tolist() == [1.0, 0.0, 0.0]


# ---- 2. Bastings: the annotated encoder-decoder (Bahdanau attention), on the copy task --------

class EncoderDecoder(nn.Module):
    def __init__(self, encoder, decoder, src_embed, trg_embed, generator):
        super(EncoderDecoder, self).__init__()
        self.encoder = encoder
        self.decoder = decoder
        self.src_embed = src_embed
        self.trg_embed = trg_embed
        self.generator = generator

    def forward(self, src, trg, src_mask, trg_mask, src_lengths, trg_lengths):
        encoder_hidden, encoder_final = self.encode(src, src_mask, src_lengths)
        return self.decode(encoder_hidden, encoder_final, src_mask, trg, trg_mask)

    def encode(self, src, src_mask, src_lengths):
        return self.encoder(self.src_embed(src), src_mask, src_lengths)

    def decode(self, encoder_hidden, encoder_final, src_mask, trg, trg_mask, decoder_hidden=None):
        return self.decoder(self.trg_embed(trg), encoder_hidden, encoder_final, src_mask, trg_mask,
                            hidden=decoder_hidden)


class Generator(nn.Module):
    def __init__(self, hidden_size, vocab_size):
        super(Generator, self).__init__()
        self.proj = nn.Linear(hidden_size, vocab_size, bias=False)

    def forward(self, x):
        return F.log_softmax(self.proj(x), dim=-1)


class Encoder(nn.Module):
    def __init__(self, input_size, hidden_size, num_layers=1, dropout=0.):
        super(Encoder, self).__init__()
        self.num_layers = num_layers
        self.rnn = nn.GRU(input_size, hidden_size, num_layers, batch_first=True, bidirectional=True, dropout=dropout)

    def forward(self, x, mask, lengths):
        packed = pack_padded_sequence(x, lengths, batch_first=True)
        output, final = self.rnn(packed)
        output, _ = pad_packed_sequence(output, batch_first=True)
        fwd_final = final[0:final.size(0):2]
        bwd_final = final[1:final.size(0):2]
        final = torch.cat([fwd_final, bwd_final], dim=2)  # [num_layers, batch, 2*dim]
        return output, final


class Decoder(nn.Module):
    def __init__(self, emb_size, hidden_size, attention, num_layers=1, dropout=0.5, bridge=True):
        super(Decoder, self).__init__()
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.attention = attention
        self.dropout = dropout
        self.rnn = nn.GRU(emb_size + 2 * hidden_size, hidden_size, num_layers, batch_first=True, dropout=dropout)
        self.bridge = nn.Linear(2 * hidden_size, hidden_size, bias=True) if bridge else None
        self.dropout_layer = nn.Dropout(p=dropout)
        self.pre_output_layer = nn.Linear(hidden_size + 2 * hidden_size + emb_size, hidden_size, bias=False)

    def forward_step(self, prev_embed, encoder_hidden, src_mask, proj_key, hidden):
        query = hidden[-1].unsqueeze(1)  # [#layers, B, D] -> [B, 1, D]
        context, attn_probs = self.attention(query=query, proj_key=proj_key, value=encoder_hidden, mask=src_mask)
        rnn_input = torch.cat([prev_embed, context], dim=2)
        output, hidden = self.rnn(rnn_input, hidden)
        pre_output = torch.cat([prev_embed, output, context], dim=2)
        pre_output = self.dropout_layer(pre_output)
        pre_output = self.pre_output_layer(pre_output)
        return output, hidden, pre_output

    def forward(self, trg_embed, encoder_hidden, encoder_final, src_mask, trg_mask, hidden=None, max_len=None):
        if max_len is None:
            max_len = trg_mask.size(-1)
        if hidden is None:
            hidden = self.init_hidden(encoder_final)
        proj_key = self.attention.key_layer(encoder_hidden)
        decoder_states = []
        pre_output_vectors = []
        for i in range(max_len):
            prev_embed = trg_embed[:, i].unsqueeze(1)
            output, hidden, pre_output = self.forward_step(prev_embed, encoder_hidden, src_mask, proj_key, hidden)
            decoder_states.append(output)
            pre_output_vectors.append(pre_output)
        decoder_states = torch.cat(decoder_states, dim=1)
        pre_output_vectors = torch.cat(pre_output_vectors, dim=1)
        return decoder_states, hidden, pre_output_vectors  # [B, N, D]

    def init_hidden(self, encoder_final):
        if encoder_final is None:
            return None  # start with zeros
        return torch.tanh(self.bridge(encoder_final))


class BahdanauAttention(nn.Module):
    def __init__(self, hidden_size, key_size=None, query_size=None):
        super(BahdanauAttention, self).__init__()
        key_size = 2 * hidden_size if key_size is None else key_size
        query_size = hidden_size if query_size is None else query_size
        self.key_layer = nn.Linear(key_size, hidden_size, bias=True)
        self.query_layer = nn.Linear(query_size, hidden_size, bias=False)
        self.energy_layer = nn.Linear(hidden_size, 1, bias=False)
        self.alphas = None

    def forward(self, query=None, proj_key=None, value=None, mask=None):
        assert mask is not None, "mask is required"
        query = self.query_layer(query)
        scores = self.energy_layer(torch.tanh(query + proj_key))
        scores = scores.squeeze(2).unsqueeze(1)
        # difference: `scores.data` is the read-only numpy array; the tensor's own masked_fill_ fills it
        scores.masked_fill_(mask == 0, -float('inf'))
        alphas = F.softmax(scores, dim=-1)
        self.alphas = alphas
        context = torch.bmm(alphas, value)
        return context, alphas


def make_model(src_vocab, tgt_vocab, emb_size=256, hidden_size=512, num_layers=1, dropout=0.1):
    attention = BahdanauAttention(hidden_size)
    model = EncoderDecoder(
        Encoder(emb_size, hidden_size, num_layers=num_layers, dropout=dropout),
        Decoder(emb_size, hidden_size, attention, num_layers=num_layers, dropout=dropout),
        nn.Embedding(src_vocab, emb_size),
        nn.Embedding(tgt_vocab, emb_size),
        Generator(hidden_size, tgt_vocab))
    return model.cuda() if torch.cuda.is_available() else model


class Batch:
    def __init__(self, src, trg, pad_index=0):
        src, src_lengths = src
        self.src = src
        self.src_lengths = src_lengths
        self.src_mask = (src != pad_index).unsqueeze(-2)
        self.nseqs = src.size(0)
        self.trg = None
        self.trg_y = None
        self.trg_mask = None
        self.trg_lengths = None
        self.ntokens = None
        if trg is not None:
            trg, trg_lengths = trg
            self.trg = trg[:, :-1]
            self.trg_lengths = trg_lengths
            self.trg_y = trg[:, 1:]
            self.trg_mask = (self.trg_y != pad_index)
            self.ntokens = (self.trg_y != pad_index).data.sum().item()


def run_epoch(data_iter, model, loss_compute, print_every=50):
    total_tokens = 0
    total_loss = 0
    for i, batch in enumerate(data_iter, 1):
        out, _, pre_output = model.forward(batch.src, batch.trg, batch.src_mask, batch.trg_mask,
                                           batch.src_lengths, batch.trg_lengths)
        loss = loss_compute(pre_output, batch.trg_y, batch.nseqs)
        total_loss += loss
        total_tokens += batch.ntokens
    return math.exp(total_loss / float(total_tokens))


def data_gen(num_words=11, batch_size=16, num_batches=100, length=10, pad_index=0, sos_index=1):
    for i in range(num_batches):
        data = torch.from_numpy(
          np.random.randint(1, num_words, size=(batch_size, length)))
        data[:, 0] = sos_index
        src = data[:, 1:]
        trg = data
        src_lengths = [length - 1] * batch_size
        trg_lengths = [length] * batch_size
        yield Batch((src, src_lengths), (trg, trg_lengths), pad_index=pad_index)


class SimpleLossCompute:
    def __init__(self, generator, criterion, opt=None):
        self.generator = generator
        self.criterion = criterion
        self.opt = opt

    def __call__(self, x, y, norm):
        x = self.generator(x)
        loss = self.criterion(x.contiguous().view(-1, x.size(-1)), y.contiguous().view(-1))
        loss = loss / norm
        if self.opt is not None:
            loss.backward()
            self.opt.step()
            self.opt.zero_grad()
        return loss.data.item() * norm


def greedy_decode(model, src, src_mask, src_lengths, max_len=100, sos_index=1, eos_index=None):
    with torch.no_grad():
        encoder_hidden, encoder_final = model.encode(src, src_mask, src_lengths)
        prev_y = torch.ones(1, 1).fill_(sos_index).type_as(src)
        trg_mask = torch.ones_like(prev_y)
    output = []
    attention_scores = []
    hidden = None
    for i in range(max_len):
        with torch.no_grad():
            out, hidden, pre_output = model.decode(encoder_hidden, encoder_final, src_mask, prev_y, trg_mask, hidden)
            prob = model.generator(pre_output[:, -1])
        _, next_word = torch.max(prob, dim=1)
        next_word = next_word.data.item()
        output.append(next_word)
        prev_y = torch.ones(1, 1).type_as(src).fill_(next_word)
        attention_scores.append(model.decoder.attention.alphas.cpu().numpy())
    output = np.array(output)
    if eos_index is not None:
        first_eos = np.where(output == eos_index)[0]
        if len(first_eos) > 0:
            output = output[:first_eos[0]]
    return output, np.concatenate(attention_scores, axis=1)


@pytest.mark.filterwarnings("ignore:dropout option adds dropout")     # (PyTorch warns the same: one layer)
def test_the_annotated_encoder_decoder_learns_the_copy_task_and_masks_the_padding():
    """Guessing one of the 9 symbols has perplexity 9; the model must get under 1.5 and copy an unseen
    sequence by greedy decoding; each step's attention must sum to 1, and a padded source position must
    get none."""
    np.random.seed(42)
    torch.manual_seed(42)
    num_words, length = 10, 6
    criterion = nn.CrossEntropyLoss(reduction="sum", ignore_index=0)
    model = make_model(num_words, num_words, emb_size=16, hidden_size=32)
    optim = torch.optim.Adam(model.parameters(), lr=0.01)
    eval_data = list(data_gen(num_words=num_words, batch_size=1, num_batches=20, length=length))
    for epoch in range(4):
        model.train()
        data = data_gen(num_words=num_words, batch_size=32, num_batches=25, length=length)
        run_epoch(data, model, SimpleLossCompute(model.generator, criterion, optim))
    model.eval()
    with torch.no_grad():
        perplexity = run_epoch(eval_data, model, SimpleLossCompute(model.generator, criterion, None))
    assert perplexity < 1.5

    batch = eval_data[0]
    result, attention = greedy_decode(model, batch.src, batch.src_mask, batch.src_lengths, max_len=length - 1)
    assert result.tolist() == batch.trg_y[0].tolist()
    assert attention.shape == (1, length - 1, length - 1) and np.allclose(attention.sum(axis=2), 1.0, atol=1e-5)

    src = torch.tensor([[3, 4, 5], [6, 7, 0]])                          # the second sentence is padded
    batch = Batch((src, [3, 2]), None)
    with torch.no_grad():
        encoder_hidden, encoder_final = model.encode(batch.src, batch.src_mask, batch.src_lengths)
        model.decode(encoder_hidden, encoder_final, batch.src_mask, torch.ones(2, 1).long(), torch.ones(2, 1))
    alphas = model.decoder.attention.alphas
    assert alphas.shape == (2, 1, 3) and alphas[1, 0, 2].item() == 0.0


# ---- 3. Udacity's char-RNN: a two-layer LSTM on characters, top-k sampling, a checkpoint ---------

def one_hot_encode(arr, n_labels):
    one_hot = np.zeros((arr.size, n_labels), dtype=np.float32)
    one_hot[np.arange(one_hot.shape[0]), arr.flatten()] = 1.
    one_hot = one_hot.reshape((*arr.shape, n_labels))
    return one_hot


def get_batches(arr, batch_size, seq_length):
    batch_size_total = batch_size * seq_length
    n_batches = len(arr) // batch_size_total
    arr = arr[:n_batches * batch_size_total]
    arr = arr.reshape((batch_size, -1))
    for n in range(0, arr.shape[1], seq_length):
        x = arr[:, n:n + seq_length]
        y = np.zeros_like(x)
        try:
            y[:, :-1], y[:, -1] = x[:, 1:], arr[:, n + seq_length]
        except IndexError:
            y[:, :-1], y[:, -1] = x[:, 1:], arr[:, 0]
        yield x, y


train_on_gpu = torch.cuda.is_available()


class CharRNN(nn.Module):
    def __init__(self, tokens, n_hidden=256, n_layers=2, drop_prob=0.5, lr=0.001):
        super().__init__()
        self.drop_prob = drop_prob
        self.n_layers = n_layers
        self.n_hidden = n_hidden
        self.lr = lr
        self.chars = tokens
        self.int2char = dict(enumerate(self.chars))
        self.char2int = {ch: ii for ii, ch in self.int2char.items()}
        self.lstm = nn.LSTM(len(self.chars), n_hidden, n_layers, dropout=drop_prob, batch_first=True)
        self.dropout = nn.Dropout(drop_prob)
        self.fc = nn.Linear(n_hidden, len(self.chars))

    def forward(self, x, hidden):
        r_output, hidden = self.lstm(x, hidden)
        out = self.dropout(r_output)
        out = out.contiguous().view(-1, self.n_hidden)
        out = self.fc(out)
        return out, hidden

    def init_hidden(self, batch_size):
        # difference: `.data` is the parameter's numpy array; `.detach()` is the tensor without history
        weight = next(self.parameters()).detach()
        if (train_on_gpu):
            hidden = (weight.new(self.n_layers, batch_size, self.n_hidden).zero_().cuda(),
                      weight.new(self.n_layers, batch_size, self.n_hidden).zero_().cuda())
        else:
            hidden = (weight.new(self.n_layers, batch_size, self.n_hidden).zero_(),
                      weight.new(self.n_layers, batch_size, self.n_hidden).zero_())
        return hidden


def train_char_rnn(net, data, epochs=10, batch_size=10, seq_length=50, lr=0.001, clip=5, val_frac=0.1, print_every=10):
    net.train()
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    criterion = nn.CrossEntropyLoss()
    val_idx = int(len(data) * (1 - val_frac))
    data, val_data = data[:val_idx], data[val_idx:]
    if (train_on_gpu):
        net.cuda()
    counter = 0
    n_chars = len(net.chars)
    val_losses = []
    for e in range(epochs):
        h = net.init_hidden(batch_size)
        for x, y in get_batches(data, batch_size, seq_length):
            counter += 1
            x = one_hot_encode(x, n_chars)
            inputs, targets = torch.from_numpy(x), torch.from_numpy(y)
            h = tuple([each.data for each in h])
            net.zero_grad()
            output, h = net(inputs, h)
            loss = criterion(output, targets.view(batch_size * seq_length).long())
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), clip)
            opt.step()
            if counter % print_every == 0:
                val_h = net.init_hidden(batch_size)
                val_losses = []
                net.eval()
                for x, y in get_batches(val_data, batch_size, seq_length):
                    x = one_hot_encode(x, n_chars)
                    x, y = torch.from_numpy(x), torch.from_numpy(y)
                    val_h = tuple([each.data for each in val_h])
                    inputs, targets = x, y
                    output, val_h = net(inputs, val_h)
                    val_loss = criterion(output, targets.view(batch_size * seq_length).long())
                    val_losses.append(val_loss.item())
                net.train()
    return np.mean(val_losses)


def predict(net, char, h=None, top_k=None):
    x = np.array([[net.char2int[char]]])
    x = one_hot_encode(x, len(net.chars))
    inputs = torch.from_numpy(x)
    h = tuple([each.data for each in h])
    out, h = net(inputs, h)
    # difference: `.data` would be the numpy array, which has no topk; `.detach()` is the tensor
    p = F.softmax(out, dim=1).detach()
    if (train_on_gpu):
        p = p.cpu()
    if top_k is None:
        top_ch = np.arange(len(net.chars))
    else:
        p, top_ch = p.topk(top_k)
        top_ch = top_ch.numpy().squeeze()
    p = p.numpy().squeeze()
    char = np.random.choice(top_ch, p=p / p.sum())
    return net.int2char[char], h


def sample(net, size, prime='The', top_k=None):
    if (train_on_gpu):
        net.cuda()
    else:
        net.cpu()
    net.eval()
    chars = [ch for ch in prime]
    h = net.init_hidden(1)
    for ch in prime:
        char, h = predict(net, ch, h, top_k=top_k)
    chars.append(char)
    for ii in range(size):
        char, h = predict(net, chars[-1], h, top_k=top_k)
        chars.append(char)
    return ''.join(chars)


def test_the_udacity_char_rnn_learns_the_text_samples_from_it_and_reloads_from_a_checkpoint(tmp_path):
    """The text repeats three sentences in random order; characters drawn by their frequencies would
    cost their entropy (about 2.7 nats); the validation loss must be under half of it. Samples must
    continue the prime with the text's own words, and a checkpoint must bring back the same network."""
    np.random.seed(1)
    torch.manual_seed(1)
    sentences = ["the cat sat on the mat. ", "a dog ran in the fog. ", "we saw it all. "]
    text = "".join(sentences[i] for i in np.random.randint(0, 3, size=200))
    chars = tuple(sorted(set(text)))
    int2char = dict(enumerate(chars))
    char2int = {ch: ii for ii, ch in int2char.items()}
    encoded = np.array([char2int[ch] for ch in text])
    counts = np.bincount(encoded) / len(encoded)
    entropy = -(counts * np.log(counts)).sum()

    net = CharRNN(chars, n_hidden=48, n_layers=2, drop_prob=0.1)
    assert str(net.lstm) == "LSTM(%d, 48, num_layers=2, batch_first=True, dropout=0.1)" % len(chars)
    val_loss = train_char_rnn(net, encoded, epochs=6, batch_size=8, seq_length=25, lr=0.01, print_every=10)
    assert val_loss < entropy / 2

    text_sample = sample(net, 30, prime='the ', top_k=2)
    assert text_sample.startswith('the ') and len(text_sample) == 4 + 1 + 30
    words = set(" ".join(sentences).split())
    assert sum(w in words for w in text_sample.split()[:-1]) >= len(text_sample.split()[:-1]) - 1

    model_name = tmp_path / 'rnn_x_epoch.net'
    checkpoint = {'n_hidden': net.n_hidden, 'n_layers': net.n_layers, 'state_dict': net.state_dict(), 'tokens': net.chars}
    with open(model_name, 'wb') as f:
        torch.save(checkpoint, f)
    with open(model_name, 'rb') as f:
        checkpoint = torch.load(f)
    loaded = CharRNN(checkpoint['tokens'], n_hidden=checkpoint['n_hidden'], n_layers=checkpoint['n_layers'])
    loaded.load_state_dict(checkpoint['state_dict'])
    loaded.eval()
    x = torch.from_numpy(one_hot_encode(encoded[None, :20], len(chars)))
    with torch.no_grad():
        assert np.array_equal(loaded(x, loaded.init_hidden(1))[0].numpy(), net(x, net.init_hidden(1))[0].numpy())
    assert tuple(checkpoint['tokens']) == chars


# ---- 4. PyTorch's chatbot tutorial: summed bidirectional encoder, Luong attention, maskNLLLoss ----

PAD_token, SOS_token, EOS_token = 0, 1, 2
MAX_LENGTH = 10
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
teacher_forcing_ratio = 1.0


class Voc:
    def __init__(self, name):
        self.name = name
        self.trimmed = False
        self.word2index = {}
        self.word2count = {}
        self.index2word = {PAD_token: "PAD", SOS_token: "SOS", EOS_token: "EOS"}
        self.num_words = 3  # Count SOS, EOS, PAD

    def addSentence(self, sentence):
        for word in sentence.split(' '):
            self.addWord(word)

    def addWord(self, word):
        if word not in self.word2index:
            self.word2index[word] = self.num_words
            self.word2count[word] = 1
            self.index2word[self.num_words] = word
            self.num_words += 1
        else:
            self.word2count[word] += 1


def indexesFromSentence(voc, sentence):
    return [voc.word2index[word] for word in sentence.split(' ')] + [EOS_token]


def zeroPadding(l, fillvalue=PAD_token):
    return list(itertools.zip_longest(*l, fillvalue=fillvalue))


def binaryMatrix(l, value=PAD_token):
    m = []
    for i, seq in enumerate(l):
        m.append([])
        for token in seq:
            if token == PAD_token:
                m[i].append(0)
            else:
                m[i].append(1)
    return m


def inputVar(l, voc):
    indexes_batch = [indexesFromSentence(voc, sentence) for sentence in l]
    lengths = torch.tensor([len(indexes) for indexes in indexes_batch])
    padList = zeroPadding(indexes_batch)
    padVar = torch.LongTensor(padList)
    return padVar, lengths


def outputVar(l, voc):
    indexes_batch = [indexesFromSentence(voc, sentence) for sentence in l]
    max_target_len = max([len(indexes) for indexes in indexes_batch])
    padList = zeroPadding(indexes_batch)
    mask = binaryMatrix(padList)
    mask = torch.BoolTensor(mask)
    padVar = torch.LongTensor(padList)
    return padVar, mask, max_target_len


def batch2TrainData(voc, pair_batch):
    pair_batch.sort(key=lambda x: len(x[0].split(" ")), reverse=True)
    input_batch, output_batch = [], []
    for pair in pair_batch:
        input_batch.append(pair[0])
        output_batch.append(pair[1])
    inp, lengths = inputVar(input_batch, voc)
    output, mask, max_target_len = outputVar(output_batch, voc)
    return inp, lengths, output, mask, max_target_len


class EncoderRNN(nn.Module):
    def __init__(self, hidden_size, embedding, n_layers=1, dropout=0):
        super(EncoderRNN, self).__init__()
        self.n_layers = n_layers
        self.hidden_size = hidden_size
        self.embedding = embedding
        self.gru = nn.GRU(hidden_size, hidden_size, n_layers, dropout=(0 if n_layers == 1 else dropout), bidirectional=True)

    def forward(self, input_seq, input_lengths, hidden=None):
        embedded = self.embedding(input_seq)
        packed = nn.utils.rnn.pack_padded_sequence(embedded, input_lengths)
        outputs, hidden = self.gru(packed, hidden)
        outputs, _ = nn.utils.rnn.pad_packed_sequence(outputs)
        outputs = outputs[:, :, :self.hidden_size] + outputs[:, :, self.hidden_size:]
        return outputs, hidden


class Attn(nn.Module):
    def __init__(self, method, hidden_size):
        super(Attn, self).__init__()
        self.method = method
        if self.method not in ['dot', 'general', 'concat']:
            raise ValueError(self.method, "is not an appropriate attention method.")
        self.hidden_size = hidden_size
        if self.method == 'general':
            self.attn = nn.Linear(self.hidden_size, hidden_size)
        elif self.method == 'concat':
            self.attn = nn.Linear(self.hidden_size * 2, hidden_size)
            self.v = nn.Parameter(torch.FloatTensor(hidden_size))

    def dot_score(self, hidden, encoder_output):
        return torch.sum(hidden * encoder_output, dim=2)

    def general_score(self, hidden, encoder_output):
        energy = self.attn(encoder_output)
        return torch.sum(hidden * energy, dim=2)

    def concat_score(self, hidden, encoder_output):
        energy = self.attn(torch.cat((hidden.expand(encoder_output.size(0), -1, -1), encoder_output), 2)).tanh()
        return torch.sum(self.v * energy, dim=2)

    def forward(self, hidden, encoder_outputs):
        if self.method == 'general':
            attn_energies = self.general_score(hidden, encoder_outputs)
        elif self.method == 'concat':
            attn_energies = self.concat_score(hidden, encoder_outputs)
        elif self.method == 'dot':
            attn_energies = self.dot_score(hidden, encoder_outputs)
        attn_energies = attn_energies.t()
        return F.softmax(attn_energies, dim=1).unsqueeze(1)


class LuongAttnDecoderRNN(nn.Module):
    def __init__(self, attn_model, embedding, hidden_size, output_size, n_layers=1, dropout=0.1):
        super(LuongAttnDecoderRNN, self).__init__()
        self.attn_model = attn_model
        self.hidden_size = hidden_size
        self.output_size = output_size
        self.n_layers = n_layers
        self.dropout = dropout
        self.embedding = embedding
        self.embedding_dropout = nn.Dropout(dropout)
        self.gru = nn.GRU(hidden_size, hidden_size, n_layers, dropout=(0 if n_layers == 1 else dropout))
        self.concat = nn.Linear(hidden_size * 2, hidden_size)
        self.out = nn.Linear(hidden_size, output_size)
        self.attn = Attn(attn_model, hidden_size)

    def forward(self, input_step, last_hidden, encoder_outputs):
        embedded = self.embedding(input_step)
        embedded = self.embedding_dropout(embedded)
        rnn_output, hidden = self.gru(embedded, last_hidden)
        attn_weights = self.attn(rnn_output, encoder_outputs)
        context = attn_weights.bmm(encoder_outputs.transpose(0, 1))
        rnn_output = rnn_output.squeeze(0)
        context = context.squeeze(1)
        concat_input = torch.cat((rnn_output, context), 1)
        concat_output = torch.tanh(self.concat(concat_input))
        output = self.out(concat_output)
        output = F.softmax(output, dim=1)
        return output, hidden


def maskNLLLoss(inp, target, mask):
    nTotal = mask.sum()
    crossEntropy = -torch.log(torch.gather(inp, 1, target.view(-1, 1)).squeeze(1))
    loss = crossEntropy.masked_select(mask).mean()
    loss = loss.to(device)
    return loss, nTotal.item()


def train(input_variable, lengths, target_variable, mask, max_target_len, encoder, decoder, embedding,
          encoder_optimizer, decoder_optimizer, batch_size, clip, max_length=MAX_LENGTH):
    encoder_optimizer.zero_grad()
    decoder_optimizer.zero_grad()
    input_variable = input_variable.to(device)
    lengths = lengths.to(device)
    target_variable = target_variable.to(device)
    mask = mask.to(device)
    loss = 0
    print_losses = []
    n_totals = 0
    encoder_outputs, encoder_hidden = encoder(input_variable, lengths)
    decoder_input = torch.LongTensor([[SOS_token for _ in range(batch_size)]])
    decoder_input = decoder_input.to(device)
    decoder_hidden = encoder_hidden[:decoder.n_layers]
    use_teacher_forcing = True if random.random() < teacher_forcing_ratio else False
    if use_teacher_forcing:
        for t in range(max_target_len):
            decoder_output, decoder_hidden = decoder(decoder_input, decoder_hidden, encoder_outputs)
            decoder_input = target_variable[t].view(1, -1)
            mask_loss, nTotal = maskNLLLoss(decoder_output, target_variable[t], mask[t])
            loss += mask_loss
            print_losses.append(mask_loss.item() * nTotal)
            n_totals += nTotal
    else:
        for t in range(max_target_len):
            decoder_output, decoder_hidden = decoder(decoder_input, decoder_hidden, encoder_outputs)
            _, topi = decoder_output.topk(1)
            decoder_input = torch.LongTensor([[topi[i][0] for i in range(batch_size)]])
            decoder_input = decoder_input.to(device)
            mask_loss, nTotal = maskNLLLoss(decoder_output, target_variable[t], mask[t])
            loss += mask_loss
            print_losses.append(mask_loss.item() * nTotal)
            n_totals += nTotal
    loss.backward()
    _ = nn.utils.clip_grad_norm_(encoder.parameters(), clip)
    _ = nn.utils.clip_grad_norm_(decoder.parameters(), clip)
    encoder_optimizer.step()
    decoder_optimizer.step()
    return sum(print_losses) / n_totals


class GreedySearchDecoder(nn.Module):
    def __init__(self, encoder, decoder):
        super(GreedySearchDecoder, self).__init__()
        self.encoder = encoder
        self.decoder = decoder

    def forward(self, input_seq, input_length, max_length):
        encoder_outputs, encoder_hidden = self.encoder(input_seq, input_length)
        decoder_hidden = encoder_hidden[:self.decoder.n_layers]
        decoder_input = torch.ones(1, 1, device=device, dtype=torch.long) * SOS_token
        all_tokens = torch.zeros([0], device=device, dtype=torch.long)
        all_scores = torch.zeros([0], device=device)
        for _ in range(max_length):
            decoder_output, decoder_hidden = self.decoder(decoder_input, decoder_hidden, encoder_outputs)
            decoder_scores, decoder_input = torch.max(decoder_output, dim=1)
            all_tokens = torch.cat((all_tokens, decoder_input), dim=0)
            all_scores = torch.cat((all_scores, decoder_scores), dim=0)
            decoder_input = torch.unsqueeze(decoder_input, 0)
        return all_tokens, all_scores


def evaluate(encoder, decoder, searcher, voc, sentence, max_length=MAX_LENGTH):
    indexes_batch = [indexesFromSentence(voc, sentence)]
    lengths = torch.tensor([len(indexes) for indexes in indexes_batch])
    input_batch = torch.LongTensor(indexes_batch).transpose(0, 1)
    input_batch = input_batch.to(device)
    lengths = lengths.to(device)
    tokens, scores = searcher(input_batch, lengths, max_length)
    decoded_words = [voc.index2word[token.item()] for token in tokens]
    return decoded_words


def test_the_chatbot_tutorial_learns_to_answer_and_its_masked_loss_ignores_the_padding(tmp_path):
    """Each reply is the question's words in reverse order. A uniform guess of the 8 words and EOS costs
    ln 9 = 2.2 nats a token; the masked loss must end under a fifth of that, greedy search must answer
    a question, and maskNLLLoss must be the mean of -log p over the unpadded entries only."""
    random.seed(0)
    torch.manual_seed(0)
    words = "red green blue cyan pink gray gold teal".split()
    pairs = []
    for _ in range(400):
        question = random.sample(words, random.randint(1, 4))
        pairs.append([" ".join(question), " ".join(reversed(question))])
    voc = Voc("colours")
    for pair in pairs:
        voc.addSentence(pair[0])
    hidden_size, encoder_n_layers, decoder_n_layers, dropout, batch_size = 24, 2, 2, 0.1, 16
    embedding = nn.Embedding(voc.num_words, hidden_size)
    encoder = EncoderRNN(hidden_size, embedding, encoder_n_layers, dropout)
    decoder = LuongAttnDecoderRNN('dot', embedding, hidden_size, voc.num_words, decoder_n_layers, dropout)
    encoder = encoder.to(device)
    decoder = decoder.to(device)
    encoder.train()
    decoder.train()
    encoder_optimizer = torch.optim.Adam(encoder.parameters(), lr=0.005)
    decoder_optimizer = torch.optim.Adam(decoder.parameters(), lr=0.005 * 5.0)
    for state in encoder_optimizer.state.values():
        for k, v in state.items():
            if isinstance(v, torch.Tensor):
                state[k] = v.cuda()

    n_iteration = 150
    training_batches = [batch2TrainData(voc, [random.choice(pairs) for _ in range(batch_size)])
                        for _ in range(n_iteration)]
    losses = []
    for iteration in range(1, n_iteration + 1):
        input_variable, lengths, target_variable, mask, max_target_len = training_batches[iteration - 1]
        losses.append(train(input_variable, lengths, target_variable, mask, max_target_len, encoder,
                            decoder, embedding, encoder_optimizer, decoder_optimizer, batch_size, clip=50.0))
    assert np.mean(losses[-20:]) < math.log(9) / 5

    torch.save({'iteration': n_iteration, 'en': encoder.state_dict(), 'de': decoder.state_dict(),
                'en_opt': encoder_optimizer.state_dict(), 'de_opt': decoder_optimizer.state_dict(),
                'loss': losses[-1], 'voc_dict': voc.__dict__, 'embedding': embedding.state_dict()},
               tmp_path / '150_checkpoint.tar')
    checkpoint = torch.load(tmp_path / '150_checkpoint.tar', map_location=torch.device('cpu'))
    voc.__dict__ = checkpoint['voc_dict']
    encoder.load_state_dict(checkpoint['en'])
    encoder_optimizer.load_state_dict(checkpoint['en_opt'])

    encoder.eval()
    decoder.eval()
    searcher = GreedySearchDecoder(encoder, decoder)
    output_words = evaluate(encoder, decoder, searcher, voc, "gold red teal")
    output_words[:] = [x for x in output_words if not (x == 'EOS' or x == 'PAD')]
    assert output_words[:3] == ["teal", "red", "gold"]

    inp = F.softmax(torch.randn(3, 5, dtype=torch.float64), dim=1)
    target, mask = torch.tensor([4, 0, 2]), torch.BoolTensor([1, 0, 1])
    loss, n_total = maskNLLLoss(inp, target, mask)
    p = inp.numpy()
    assert n_total == 2 and loss.item() == pytest.approx(-(np.log(p[0, 4]) + np.log(p[2, 2])) / 2)


# ---- 5. d2l.ai: sequence to sequence learning with a masked softmax cross-entropy ---------------

class d2l:
    """The book's `d2l.Encoder`, `d2l.Decoder` and `d2l.EncoderDecoder` base classes."""

    class Encoder(nn.Module):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)

        def forward(self, X, *args):
            raise NotImplementedError

    class Decoder(nn.Module):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)

        def init_state(self, enc_outputs, *args):
            raise NotImplementedError

        def forward(self, X, state):
            raise NotImplementedError

    class EncoderDecoder(nn.Module):
        def __init__(self, encoder, decoder, **kwargs):
            super().__init__(**kwargs)
            self.encoder = encoder
            self.decoder = decoder

        def forward(self, enc_X, dec_X, *args):
            enc_outputs = self.encoder(enc_X, *args)
            dec_state = self.decoder.init_state(enc_outputs, *args)
            return self.decoder(dec_X, dec_state)


class Seq2SeqEncoder(d2l.Encoder):
    def __init__(self, vocab_size, embed_size, num_hiddens, num_layers, dropout=0, **kwargs):
        super(Seq2SeqEncoder, self).__init__(**kwargs)
        self.embedding = nn.Embedding(vocab_size, embed_size)
        self.rnn = nn.GRU(embed_size, num_hiddens, num_layers, dropout=dropout)

    def forward(self, X, *args):
        X = self.embedding(X)
        X = X.permute(1, 0, 2)
        output, state = self.rnn(X)
        return output, state


class Seq2SeqDecoder(d2l.Decoder):
    def __init__(self, vocab_size, embed_size, num_hiddens, num_layers, dropout=0, **kwargs):
        super(Seq2SeqDecoder, self).__init__(**kwargs)
        self.embedding = nn.Embedding(vocab_size, embed_size)
        self.rnn = nn.GRU(embed_size + num_hiddens, num_hiddens, num_layers, dropout=dropout)
        self.dense = nn.Linear(num_hiddens, vocab_size)

    def init_state(self, enc_outputs, *args):
        return enc_outputs[1]

    def forward(self, X, state):
        X = self.embedding(X).permute(1, 0, 2)
        context = state[-1].repeat(X.shape[0], 1, 1)
        X_and_context = torch.cat((X, context), 2)
        output, state = self.rnn(X_and_context, state)
        output = self.dense(output).permute(1, 0, 2)
        return output, state


def sequence_mask(X, valid_len, value=0):
    maxlen = X.size(1)
    mask = torch.arange((maxlen), dtype=torch.float32, device=X.device)[None, :] < valid_len[:, None]
    X[~mask] = value
    return X


class MaskedSoftmaxCELoss(nn.CrossEntropyLoss):
    def forward(self, pred, label, valid_len):
        weights = torch.ones_like(label)
        weights = sequence_mask(weights, valid_len)
        self.reduction = 'none'
        unweighted_loss = super(MaskedSoftmaxCELoss, self).forward(pred.permute(0, 2, 1), label)
        weighted_loss = (unweighted_loss * weights).mean(dim=1)
        return weighted_loss


def grad_clipping(net, theta):
    if isinstance(net, nn.Module):
        params = [p for p in net.parameters() if p.requires_grad]
    else:
        params = net.params
    norm = torch.sqrt(sum(torch.sum((p.grad ** 2)) for p in params))
    if norm > theta:
        for param in params:
            # difference: `param.grad` is a read-only numpy array; it gets a new one
            param.grad = param.grad * float(theta / norm)


class Accumulator:
    def __init__(self, n):
        self.data = [0.0] * n

    def add(self, *args):
        self.data = [a + float(b) for a, b in zip(self.data, args)]

    def __getitem__(self, idx):
        return self.data[idx]


def train_seq2seq(net, data_iter, lr, num_epochs, tgt_vocab, device):
    def xavier_init_weights(m):
        if type(m) == nn.Linear:
            nn.init.xavier_uniform_(m.weight)
        if type(m) == nn.GRU:
            for param in m._flat_weights_names:
                if "weight" in param:
                    nn.init.xavier_uniform_(m._parameters[param])

    net.apply(xavier_init_weights)
    net.to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    loss = MaskedSoftmaxCELoss()
    net.train()
    for epoch in range(num_epochs):
        metric = Accumulator(2)
        for batch in data_iter:
            optimizer.zero_grad()
            X, X_valid_len, Y, Y_valid_len = [x.to(device) for x in batch]
            bos = torch.tensor([tgt_vocab['<bos>']] * Y.shape[0], device=device).reshape(-1, 1)
            dec_input = torch.cat([bos, Y[:, :-1]], 1)
            Y_hat, _ = net(X, dec_input, X_valid_len)
            l = loss(Y_hat, Y, Y_valid_len)
            l.sum().backward()
            grad_clipping(net, 1)
            num_tokens = Y_valid_len.sum()
            optimizer.step()
            with torch.no_grad():
                metric.add(l.sum(), num_tokens)
    return metric[0] / metric[1]


class D2LVocab:
    """d2l's Vocab, reduced to what the chapter uses: tokens by frequency after the reserved ones."""

    def __init__(self, tokens, reserved_tokens):
        counter = collections.Counter(tokens)
        self.idx_to_token = ['<unk>'] + reserved_tokens + sorted(counter, key=lambda t: (-counter[t], t))
        self.token_to_idx = {token: idx for idx, token in enumerate(self.idx_to_token)}

    def __len__(self):
        return len(self.idx_to_token)

    def __getitem__(self, tokens):
        if not isinstance(tokens, (list, tuple)):
            return self.token_to_idx.get(tokens, 0)
        return [self.__getitem__(token) for token in tokens]

    def to_tokens(self, indices):
        if hasattr(indices, '__len__'):
            return [self.idx_to_token[int(index)] for index in indices]
        return self.idx_to_token[indices]


def truncate_pad(line, num_steps, padding_token):
    if len(line) > num_steps:
        return line[:num_steps]
    return line + [padding_token] * (num_steps - len(line))


def build_array_nmt(lines, vocab, num_steps):
    lines = [vocab[l] for l in lines]
    lines = [l + [vocab['<eos>']] for l in lines]
    array = torch.tensor([truncate_pad(l, num_steps, vocab['<pad>']) for l in lines])
    valid_len = (array != vocab['<pad>']).type(torch.int32).sum(1)
    return array, valid_len


def load_array(data_arrays, batch_size, is_train=True):
    dataset = data.TensorDataset(*data_arrays)
    return data.DataLoader(dataset, batch_size, shuffle=is_train)


def predict_seq2seq(net, src_sentence, src_vocab, tgt_vocab, num_steps, device, save_attention_weights=False):
    net.eval()
    src_tokens = src_vocab[src_sentence.lower().split(' ')] + [src_vocab['<eos>']]
    enc_valid_len = torch.tensor([len(src_tokens)], device=device)
    src_tokens = truncate_pad(src_tokens, num_steps, src_vocab['<pad>'])
    enc_X = torch.unsqueeze(torch.tensor(src_tokens, dtype=torch.long, device=device), dim=0)
    enc_outputs = net.encoder(enc_X, enc_valid_len)
    dec_state = net.decoder.init_state(enc_outputs, enc_valid_len)
    dec_X = torch.unsqueeze(torch.tensor([tgt_vocab['<bos>']], dtype=torch.long, device=device), dim=0)
    output_seq, attention_weight_seq = [], []
    for _ in range(num_steps):
        Y, dec_state = net.decoder(dec_X, dec_state)
        dec_X = Y.argmax(dim=2)
        pred = dec_X.squeeze(dim=0).type(torch.int32).item()
        if save_attention_weights:
            attention_weight_seq.append(net.decoder.attention_weights)
        if pred == tgt_vocab['<eos>']:
            break
        output_seq.append(pred)
    return ' '.join(tgt_vocab.to_tokens(output_seq)), attention_weight_seq


def bleu(pred_seq, label_seq, k):
    pred_tokens, label_tokens = pred_seq.split(' '), label_seq.split(' ')
    len_pred, len_label = len(pred_tokens), len(label_tokens)
    score = math.exp(min(0, 1 - len_label / len_pred))
    for n in range(1, k + 1):
        num_matches, label_subs = 0, collections.defaultdict(int)
        for i in range(len_label - n + 1):
            label_subs[' '.join(label_tokens[i: i + n])] += 1
        for i in range(len_pred - n + 1):
            if label_subs[' '.join(pred_tokens[i: i + n])] > 0:
                num_matches += 1
                label_subs[' '.join(pred_tokens[i: i + n])] -= 1
        score *= math.pow(num_matches / (len_pred - n + 1), math.pow(0.5, n))
    return score


def test_the_masked_softmax_cross_entropy_is_the_mean_over_the_valid_steps():
    """d2l's own check: uniform logits over 10 classes cost ln 10 at each valid step, and the loss is the
    mean over all num_steps steps: ln 10 * valid_len / 4."""
    loss = MaskedSoftmaxCELoss()
    got = loss(torch.ones(3, 4, 10), torch.ones((3, 4), dtype=torch.long), torch.tensor([4, 2, 0]))
    np.testing.assert_allclose(got.numpy(), np.log(10) * np.array([4, 2, 0]) / 4, rtol=1e-6)
    assert sequence_mask(torch.tensor([[1, 2, 3], [4, 5, 6]]), torch.tensor([1, 2])).tolist() == [[1, 0, 0], [4, 5, 0]]


def test_the_d2l_seq2seq_chapter_trains_with_its_xavier_init_and_translates():
    """Word-for-word translation of 1..3 of five words. Guessing one of the 5 words and <eos> costs
    ln 6 = 1.8 nats a token; the masked loss must end under a quarter of that, and predict_seq2seq must
    translate training sentences with BLEU 1. The init walks the GRUs' `_flat_weights_names`."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    french, english = "va cours salut gagne court".split(), "go run hello win short".split()
    source, target = [], []
    for _ in range(256):
        picks = rng.integers(0, 5, size=rng.integers(1, 4))
        source.append([french[i] for i in picks])
        target.append([english[i] for i in picks])
    src_vocab = D2LVocab([t for line in source for t in line], ['<pad>', '<bos>', '<eos>'])
    tgt_vocab = D2LVocab([t for line in target for t in line], ['<pad>', '<bos>', '<eos>'])
    num_steps = 5
    src_array, src_valid_len = build_array_nmt(source, src_vocab, num_steps)
    tgt_array, tgt_valid_len = build_array_nmt(target, tgt_vocab, num_steps)
    train_iter = load_array((src_array, src_valid_len, tgt_array, tgt_valid_len), batch_size=32)

    embed_size, num_hiddens, num_layers, dropout = 16, 32, 2, 0.1
    encoder = Seq2SeqEncoder(len(src_vocab), embed_size, num_hiddens, num_layers, dropout)
    decoder = Seq2SeqDecoder(len(tgt_vocab), embed_size, num_hiddens, num_layers, dropout)
    net = d2l.EncoderDecoder(encoder, decoder)
    assert encoder.rnn._flat_weights_names == [
        'weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0', 'weight_ih_l1', 'weight_hh_l1', 'bias_ih_l1',
        'bias_hh_l0'.replace('l0', 'l1')]
    loss_per_token = train_seq2seq(net, train_iter, 0.01, 40, tgt_vocab, torch.device('cpu'))
    assert loss_per_token < math.log(6) / 4

    for length in (1, 2, 3):                 # a training sentence of each length, as the chapter translates its own
        i = next(i for i, line in enumerate(source) if len(line) == length)
        fra, eng = " ".join(source[i]), " ".join(target[i])
        translation, attention_weight_seq = predict_seq2seq(net, fra, src_vocab, tgt_vocab, num_steps,
                                                            torch.device('cpu'))
        assert bleu(translation, eng, k=1) == 1.0 and attention_weight_seq == []


# ---- the spellings these scripts needed ----------------------------------------------------------

def f64(array, requires_grad=False):
    return torch.tensor(np.array(array, dtype=np.float64), requires_grad=requires_grad)


def test_masked_fill_in_place_fills_the_tensor_and_the_gradient_skips_the_filled_entries():
    RNG = np.random.default_rng(7)          # (its own draws: not what an earlier test left in a shared one)
    x = f64(RNG.standard_normal((2, 3)), requires_grad=True)
    mask = np.array([[True, False, False], [False, False, True]])
    scores = x * 2
    assert scores.masked_fill_(torch.tensor(mask), -float('inf')) is scores
    np.testing.assert_array_equal(scores.numpy(), np.where(mask, -np.inf, 2 * x.numpy()))
    weights = RNG.standard_normal((2, 3))
    (F.softmax(scores, dim=1) * weights).sum().backward()
    p = np.exp(np.where(mask, -np.inf, 2 * x.numpy()))
    p /= p.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(x.grad, 2 * p * (weights - (p * weights).sum(axis=1, keepdims=True)))
    with pytest.raises(RuntimeError, match="masked_fill_: a leaf tensor that requires grad"):
        x.masked_fill_(mask, 0.0)


def test_masked_select_takes_the_entries_where_the_broadcast_mask_is_true_with_their_gradient():
    RNG = np.random.default_rng(7)          # (its own draws: not what an earlier test left in a shared one)
    x = RNG.standard_normal((3, 4))
    mask = RNG.random(4) > 0.5                                  # broadcasts over the rows
    assert mask.any() and not mask.all()
    got = torch.masked_select(f64(x), torch.tensor(mask))
    np.testing.assert_array_equal(got.numpy(), x[np.broadcast_to(mask, x.shape)])
    assert torch.gradcheck(lambda a: (a.masked_select(torch.tensor(mask)) ** 2).sum(), [f64(x, requires_grad=True)])
    leaf = f64(x, requires_grad=True)
    (leaf.masked_select(torch.tensor(mask)) ** 2).sum().backward()
    np.testing.assert_allclose(leaf.grad, 2 * x * np.broadcast_to(mask, x.shape), rtol=1e-12)   # (closed form)
    with pytest.raises(TypeError, match="masked_select: expected a bool mask, got dtype int64"):
        f64(x).masked_select(np.ones(4, dtype=np.int64))
    with pytest.raises(ValueError, match=r"masked_select: the mask's shape \(3,\) does not broadcast"):
        f64(x).masked_select(np.ones(3, dtype=bool))


@pytest.mark.parametrize("a, b", [(np.array([7, -7, 7, -7, 6]), np.array([2, 2, -2, -2, 3])),
                                  (np.array([7.5, -7.5, 0.25]), np.array([2.0, 2.0, -0.5]))])
def test_floor_division_and_remainder_are_pythons_as_pytorch(a, b):
    x, y = torch.tensor(a), torch.tensor(b)
    assert (x // y).tolist() == (a // b).tolist() and (x // y).dtype == a.dtype
    assert (x % y).tolist() == (a % b).tolist()
    assert (x // 2).tolist() == (a // 2).tolist() and (17 % y).tolist() == (17 % b).tolist()
    assert torch.div(x, y, rounding_mode='floor').tolist() == (a // b).tolist()
    assert torch.div(x, y, rounding_mode='trunc').tolist() == np.trunc(a / b).astype(a.dtype).tolist()
    assert torch.floor_divide(x, y).tolist() == (a // b).tolist() and torch.remainder(x, y).tolist() == (a % b).tolist()


def test_remainder_gradient_is_one_and_minus_the_quotient_and_floor_division_passes_zero():
    a, b = f64([7.5, -2.25, 3.2], requires_grad=True), f64([2.0, 1.5, -0.7], requires_grad=True)
    assert torch.gradcheck(lambda p, q: ((p % q) * torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)).sum(), [a, b])
    w = np.array([1.0, -2.0, 0.5])
    p, q = f64([7.5, -2.25, 3.2], requires_grad=True), f64([2.0, 1.5, -0.7], requires_grad=True)
    ((p % q) * torch.tensor(w)).sum().backward()              # (closed form: d/dp = 1, d/dq = -floor(p / q))
    np.testing.assert_allclose(p.grad, w, rtol=1e-12)
    np.testing.assert_allclose(q.grad, -w * np.floor(p.numpy() / q.numpy()), rtol=1e-12)
    (a // b).sum().backward()
    assert a.grad.tolist() == [0.0, 0.0, 0.0] and b.grad.tolist() == [0.0, 0.0, 0.0]
    _, tangent = torch.jvp(lambda p, q: p % q, [a.detach(), b.detach()], [np.ones(3), np.ones(3)])
    np.testing.assert_allclose(tangent, 1 - np.floor(a.numpy() / b.numpy()))


def test_div_refuses_an_unknown_rounding_mode_naming_it():
    with pytest.raises(ValueError, match="div: rounding_mode must be None, 'floor' or 'trunc', got 'round'"):
        torch.div(torch.tensor([1.0]), 2, rounding_mode='round')


def test_t_type_as_and_legacy_new_as_pytorch():
    x = torch.arange(6).view(2, 3)
    assert torch.t(x).tolist() == [[0, 3], [1, 4], [2, 5]]
    assert torch.ones(1, 1).fill_(4).type_as(x).dtype == np.int64
    zeros = f64([1.0]).new(2, 3, 4).zero_()
    assert zeros.shape == (2, 3, 4) and zeros.dtype == np.float64 and not zeros.numpy().any()
    assert torch.zeros(1).new().shape == (0,)


def test_recurrent_layers_list_their_weights_in_pytorchs_flat_order():
    gru = nn.GRU(3, 4, num_layers=2, bidirectional=True)
    names = [f"{kind}_{part}_l{k}{suffix}" for k in (0, 1) for suffix in ("", "_reverse")
             for kind, part in (("weight", "ih"), ("weight", "hh"), ("bias", "ih"), ("bias", "hh"))]
    assert gru._flat_weights_names == names
    assert all(gru._parameters[name] is p for name, (_, p) in zip(names, gru.named_parameters()))
    assert nn.LSTM(3, 4, bias=False)._flat_weights_names == ["weight_ih_l0", "weight_hh_l0"]
