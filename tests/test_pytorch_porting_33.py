"""Porting, round 33: three recurrent training scripts beyond the LSTM: a Neural Turing Machine, an IndRNN and the
xLSTM cells. Each is written as its author wrote it, with only the imports changed (`# differs:` marks each other
change and why); sizes and step counts are small and the data is made up as the scripts make theirs:

1. loudinthecloud/pytorch-ntm: ntm/controller.py and ntm/head.py (at 2b83a99dd7403d00a73b40a85ab08c4d62685613),
   ntm/memory.py (at 3fce69bbab93bb02e669af22d2837c20e4562886), ntm/ntm.py, ntm/aio.py, tasks/copytask.py and
   train.py's seeding, `clip_grads` and `train_batch` (all three at 3c64937cb075e737528ff7ecf02b2c1c6d8347a1; the
   index also keeps the 0682553f versions, with `Variable`, ReLU activations and a per-sample write loop). An
   LSTM controller whose initial (h, c) are parameters, a read head and a write head sharing one `NTMMemory`,
   content addressing by `F.cosine_similarity` with a softplus key strength, interpolation with the previous
   weighting, a circular shift of -1/0/+1 by `F.conv1d` on the weighting padded by its own ends (written into
   `torch.zeros(...)` row by row), sharpening by `ŵ ** γ`, erase/add writes by outer products, the copy task's
   `np.random.binomial` bits with a delimiter channel, `nn.BCELoss`, RMSprop with momentum 0.9 and alpha 0.95,
   and the gradient clamp to [-10, 10]. tasks/copytask.py's parameter classes use the `attrs` package (not
   installed here): `attr` below is a stand-in for the five names it uses.
2. StefOe/indrnn-pytorch: indrnn.py and addition_test.py (both at 1a6050d67b8715334978051eb8e49076f1348c6e, the
   pair that fits: the index's e33e37ba addition_test.py imports an `IndRNNv2` this indrnn.py does not have, and
   its 7b58931b indrnn.py predates `recurrent_inits`). `IndRNNCell` (h_t = relu(W x_t + b + u * h_{t-1}), u a
   vector), `check_bounds` clipping u to +-2^(1/T) by `weight_hh.data = weight_hh.clamp(...)` before every
   forward, the optional gradient clipping by `register_hook(lambda x: x.clamp(...))` on each parameter, the
   stacked `IndRNN` over `torch.unbind(x, 0)`, the adding problem's batches (values and two marks, item
   assignment into `zeros_like`), Adam and `F.mse_loss`. The script's argparse defaults are `args`.
3. NX-AI/xlstm, its plain-PyTorch backends: xlstm/blocks/slstm/src/vanilla/slstm.py (`slstm_forward_pointwise`,
   at 8901ba086fb94ced9a277d041ad68fc036f6684f), xlstm/blocks/slstm/src/vanilla/__init__.py (`slstm_forward`, at
   18d6dedf65fdb4d9a5018bd9bfa4e59e8809cdd9) and xlstm/blocks/mlstm/backends.py (`parallel_stabilized_simple`
   and `recurrent_step_stabilized_simple`, at 8901ba08; its 17d7a5ad version adds `chunkwise_simple`, whose
   `Optional` annotations are not imported there, a NameError at import in PyTorch too). The sLSTM with
   exponential input gate, sigmoid forget gate in log space, normaliser state n_t and stabiliser m_t, heads by a
   block-diagonal recurrent matrix R; the mLSTM's matrix memory step and its parallel form (the causal log-gate
   matrix by `cumsum`, `repeat`, `torch.where` over `torch.tril` of bools, stabilised row by row). How
   xlstm/blocks/mlstm/cell.py (at 8901ba08) calls them is followed by the small models the tests train, which are
   the tests' own. styalai/xLSTM-pytorch and muditbhargava66/PyxLSTM were read too: PyxLSTM's cells have no
   stabiliser, and styalai's blocks average their states over the batch.

Every source was found in the index: none was written from memory.

What broke: one thing, now a documented difference (docs/pytorch.md, "Item assignment"): `recurrent_step_
stabilized_simple` squeezes its q, k, v in place (`q.squeeze_(2)`). Stepped along a sequence projected at once, it
is handed `q[:, :, t:t + 1]`, a view in PyTorch, whose own shape squeeze_ changes (the base keeps its shape); here
squeeze_ refused a part of another tensor, naming itself, until session 34, when the in-place shape methods came to
change a part's own shape as PyTorch's do. The tests step the cell as mLSTMCell.step does (each step's q, k, v a
tensor of its own); one test steps it on the parts themselves.

Met and left as documented in docs/pytorch.md (the lines say `differs:`):

  - `torch.Tensor(N, M)` with sizes (NTMMemory's `mem_bias` and `write`; IndRNNCell's parameters) is refused
    here: written as `torch.zeros(...)` of the default dtype, since every entry is overwritten (by `uniform_`,
    the write's result, `reset_parameters`). (`torch.FloatTensor(...)` would be float32 under a float64
    default, where PyTorch's `torch.Tensor` follows the default.)
  - `.data` is the read-only numpy array: NTM's `register_buffer("read0_bias", init_r_bias.data)` (refused: "expected
    a Tensor or None for buffer") registers the tensor itself, which keeps PyTorch's sharing with `init_r`;
    `p.data.view(-1)` (numpy's view takes a dtype) is `p.view(-1)`; IndRNN's `weight.data.zero_()` and
    addition_test's `lin.bias.data.fill_(.1)` and `lin.weight.data.normal_(0, .01)` are `nn.init.zeros_`,
    `constant_` and `normal_`; train.py's `p.grad.data.clamp_(-10, 10)` (a memoryview's) is
    `torch.nn.utils.clip_grad_value_(parameters, 10)`, PyTorch's own name for that clamp; `y_out.clone().data`
    before `apply_` is `y_out.detach()`.
  - IndRNN's `check_bounds` assigns a tensor to `weight_hh.data` and ports as written.

Names the library does not have (not gaps): `Tensor.apply_` (train.py binarises the outputs with a Python
function per element; written as a comparison), `Tensor.clamp_` (indrnn.py's `hidden_min_abs` branch, which
addition_test.py does not reach; that branch's `self.weight_hh.mul(sign, abs_kernel)` fails in PyTorch too;
`clamp_` was added after this round), and `torch.nn.functional.mul` (indrnn.py's `F.mul(self.weight_hh, hx)`;
not a documented torch.nn.functional function either: written `torch.mul`).

Expected values in the tests come from numpy written here: the NTM's addressing (cosine similarity, softmax,
interpolation, `np.roll` for the shift, sharpening), its reads and writes and the whole copy-task forward pass
with the LSTM controller; the IndRNN; the xLSTM paper's equations (Beck et al. 2024: the sLSTM's eqs. 8-17 with
the stabiliser, the mLSTM's eqs. 19-27 step by step and in the parallel form of its appendix, and both without
the stabiliser, which gives the same h); PyTorch's RMSprop update (v = alpha v + (1 - alpha) g^2, b = momentum b
+ g / (sqrt(v) + eps)); `np.clip` for the clamps; central finite differences of that numpy in float64; and the
made-up data (bits, marks, sums). Never from the library itself or from PyTorch at test time.
"""
import math
import random

import numpy as np
import pytest

import microgradseq as torch
import microgradseq.nn as nn
import microgradseq.nn.functional as F
import microgradseq.optim as optim
from microgradseq.autograd import Variable
from microgradseq.nn import Parameter
from microgradseq.nn.functional import logsigmoid
from test_pytorch_porting_22 import central, some_indices, sub
from test_pytorch_porting_23 import np_layer

# ---- 1. loudinthecloud/pytorch-ntm -----------------------------------------------------------------------------

class attr:
    """The few names of the `attrs` package (not installed here) that tasks/copytask.py uses, as that old attrs
    had them: `@attrs` makes `__init__` from the `attrib()`s in order, `attrib(default=..., convert=...)`,
    `@field.default` for a default computed from the instance, `Factory`, and `evolve`."""

    class Factory:
        def __init__(self, factory):
            self.factory = factory

    class _Attrib:
        count = 0

        def __init__(self, default=None, convert=None):
            self.default_value, self.convert, self.maker = default, convert, None
            attr._Attrib.count += 1
            self.order = attr._Attrib.count

        def default(self, maker):
            self.maker = maker
            return maker

    @staticmethod
    def attrib(default=None, convert=None):
        return attr._Attrib(default, convert)

    @staticmethod
    def attrs(cls):
        fields = sorted(((k, v) for k, v in vars(cls).items() if isinstance(v, attr._Attrib)),
                        key=lambda kv: kv[1].order)

        def __init__(self, **kwargs):
            for name, field in fields:
                if name in kwargs:
                    value = kwargs[name]
                elif field.maker is not None:
                    value = field.maker(self)
                elif isinstance(field.default_value, attr.Factory):
                    value = field.default_value.factory()
                else:
                    value = field.default_value
                setattr(self, name, field.convert(value) if field.convert else value)

        cls.__init__ = __init__
        cls._fields = [name for name, _ in fields]
        for name, _ in fields:
            delattr(cls, name)
        return cls

    @staticmethod
    def evolve(instance, **changes):
        return type(instance)(**{**{k: getattr(instance, k) for k in instance._fields}, **changes})


attrs, attrib, Factory = attr.attrs, attr.attrib, attr.Factory


# ntm/controller.py


class LSTMController(nn.Module):
    """An NTM controller based on LSTM."""
    def __init__(self, num_inputs, num_outputs, num_layers):
        super(LSTMController, self).__init__()

        self.num_inputs = num_inputs
        self.num_outputs = num_outputs
        self.num_layers = num_layers

        self.lstm = nn.LSTM(input_size=num_inputs,
                            hidden_size=num_outputs,
                            num_layers=num_layers)

        # The hidden state is a learned parameter
        self.lstm_h_bias = Parameter(torch.randn(self.num_layers, 1, self.num_outputs) * 0.05)
        self.lstm_c_bias = Parameter(torch.randn(self.num_layers, 1, self.num_outputs) * 0.05)

        self.reset_parameters()

    def create_new_state(self, batch_size):
        # Dimension: (num_layers * num_directions, batch, hidden_size)
        lstm_h = self.lstm_h_bias.clone().repeat(1, batch_size, 1)
        lstm_c = self.lstm_c_bias.clone().repeat(1, batch_size, 1)
        return lstm_h, lstm_c

    def reset_parameters(self):
        for p in self.lstm.parameters():
            if p.dim() == 1:
                nn.init.constant_(p, 0)
            else:
                stdev = 5 / (np.sqrt(self.num_inputs +  self.num_outputs))
                nn.init.uniform_(p, -stdev, stdev)

    def size(self):
        return self.num_inputs, self.num_outputs

    def forward(self, x, prev_state):
        x = x.unsqueeze(0)
        outp, state = self.lstm(x, prev_state)
        return outp.squeeze(0), state


# ntm/head.py


def _split_cols(mat, lengths):
    """Split a 2D matrix to variable length columns."""
    assert mat.size()[1] == sum(lengths), "Lengths must be summed to num columns"
    l = np.cumsum([0] + lengths)  # noqa: E741
    results = []
    for s, e in zip(l[:-1], l[1:]):
        results += [mat[:, s:e]]
    return results


class NTMHeadBase(nn.Module):
    """An NTM Read/Write Head."""

    def __init__(self, memory, controller_size):
        """Initilize the read/write head.

        :param memory: The :class:`NTMMemory` to be addressed by the head.
        :param controller_size: The size of the internal representation.
        """
        super(NTMHeadBase, self).__init__()

        self.memory = memory
        self.N, self.M = memory.size()
        self.controller_size = controller_size

    def create_new_state(self, batch_size):
        raise NotImplementedError

    def register_parameters(self):
        raise NotImplementedError

    def is_read_head(self):
        return NotImplementedError

    def _address_memory(self, k, β, g, s, γ, w_prev):
        # Handle Activations
        k = k.clone()
        β = F.softplus(β)
        g = F.sigmoid(g)
        s = F.softmax(s, dim=1)
        γ = 1 + F.softplus(γ)

        w = self.memory.address(k, β, g, s, γ, w_prev)

        return w


class NTMReadHead(NTMHeadBase):
    def __init__(self, memory, controller_size):
        super(NTMReadHead, self).__init__(memory, controller_size)

        # Corresponding to k, β, g, s, γ sizes from the paper
        self.read_lengths = [self.M, 1, 1, 3, 1]
        self.fc_read = nn.Linear(controller_size, sum(self.read_lengths))
        self.reset_parameters()

    def create_new_state(self, batch_size):
        # The state holds the previous time step address weightings
        return torch.zeros(batch_size, self.N)

    def reset_parameters(self):
        # Initialize the linear layers
        nn.init.xavier_uniform_(self.fc_read.weight, gain=1.4)
        nn.init.normal_(self.fc_read.bias, std=0.01)

    def is_read_head(self):
        return True

    def forward(self, embeddings, w_prev):
        """NTMReadHead forward function.

        :param embeddings: input representation of the controller.
        :param w_prev: previous step state
        """
        o = self.fc_read(embeddings)
        k, β, g, s, γ = _split_cols(o, self.read_lengths)

        # Read from memory
        w = self._address_memory(k, β, g, s, γ, w_prev)
        r = self.memory.read(w)

        return r, w


class NTMWriteHead(NTMHeadBase):
    def __init__(self, memory, controller_size):
        super(NTMWriteHead, self).__init__(memory, controller_size)

        # Corresponding to k, β, g, s, γ, e, a sizes from the paper
        self.write_lengths = [self.M, 1, 1, 3, 1, self.M, self.M]
        self.fc_write = nn.Linear(controller_size, sum(self.write_lengths))
        self.reset_parameters()

    def create_new_state(self, batch_size):
        return torch.zeros(batch_size, self.N)

    def reset_parameters(self):
        # Initialize the linear layers
        nn.init.xavier_uniform_(self.fc_write.weight, gain=1.4)
        nn.init.normal_(self.fc_write.bias, std=0.01)

    def is_read_head(self):
        return False

    def forward(self, embeddings, w_prev):
        """NTMWriteHead forward function.

        :param embeddings: input representation of the controller.
        :param w_prev: previous step state
        """
        o = self.fc_write(embeddings)
        k, β, g, s, γ, e, a = _split_cols(o, self.write_lengths)

        # e should be in [0, 1]
        e = F.sigmoid(e)

        # Write to memory
        w = self._address_memory(k, β, g, s, γ, w_prev)
        self.memory.write(w, e, a)

        return w


# ntm/memory.py


def _convolve(w, s):
    """Circular convolution implementation."""
    assert s.size(0) == 3
    t = torch.cat([w[-1:], w, w[:1]])
    c = F.conv1d(t.view(1, 1, -1), s.view(1, 1, -1)).view(-1)
    return c


class NTMMemory(nn.Module):
    """Memory bank for NTM."""
    def __init__(self, N, M):
        """Initialize the NTM Memory matrix.

        The memory's dimensions are (batch_size x N x M).
        Each batch has it's own memory matrix.

        :param N: Number of rows in the memory.
        :param M: Number of columns/features in the memory.
        """
        super(NTMMemory, self).__init__()

        self.N = N
        self.M = M

        # The memory bias allows the heads to learn how to initially address
        # memory locations by content
        # differs: torch.Tensor(N, M): sizes are refused by Tensor here (docs/pytorch.md); zeros of the default
        # dtype, as torch.Tensor's uninitialised memory is, filled by uniform_ below
        self.register_buffer('mem_bias', torch.zeros(N, M))

        # Initialize memory bias
        stdev = 1 / (np.sqrt(N + M))
        nn.init.uniform_(self.mem_bias, -stdev, stdev)

    def reset(self, batch_size):
        """Initialize memory from bias, for start-of-sequence."""
        self.batch_size = batch_size
        self.memory = self.mem_bias.clone().repeat(batch_size, 1, 1)

    def size(self):
        return self.N, self.M

    def read(self, w):
        """Read from memory (according to section 3.1)."""
        return torch.matmul(w.unsqueeze(1), self.memory).squeeze(1)

    def write(self, w, e, a):
        """write to memory (according to section 3.2)."""
        self.prev_mem = self.memory
        self.memory = torch.zeros(self.batch_size, self.N, self.M)  # differs: torch.Tensor(B, N, M), as above
        erase = torch.matmul(w.unsqueeze(-1), e.unsqueeze(1))
        add = torch.matmul(w.unsqueeze(-1), a.unsqueeze(1))
        self.memory = self.prev_mem * (1 - erase) + add

    def address(self, k, β, g, s, γ, w_prev):
        """NTM Addressing (according to section 3.3).

        Returns a softmax weighting over the rows of the memory matrix.

        :param k: The key vector.
        :param β: The key strength (focus).
        :param g: Scalar interpolation gate (with previous weighting).
        :param s: Shift weighting.
        :param γ: Sharpen weighting scalar.
        :param w_prev: The weighting produced in the previous time step.
        """
        # Content focus
        wc = self._similarity(k, β)

        # Location focus
        wg = self._interpolate(w_prev, wc, g)
        ŵ = self._shift(wg, s)
        w = self._sharpen(ŵ, γ)

        return w

    def _similarity(self, k, β):
        k = k.view(self.batch_size, 1, -1)
        w = F.softmax(β * F.cosine_similarity(self.memory + 1e-16, k + 1e-16, dim=-1), dim=1)
        return w

    def _interpolate(self, w_prev, wc, g):
        return g * wc + (1 - g) * w_prev

    def _shift(self, wg, s):
        result = torch.zeros(wg.size())
        for b in range(self.batch_size):
            result[b] = _convolve(wg[b], s[b])
        return result

    def _sharpen(self, ŵ, γ):
        w = ŵ ** γ
        w = torch.div(w, torch.sum(w, dim=1).view(-1, 1) + 1e-16)
        return w


# ntm/ntm.py


class NTM(nn.Module):
    """A Neural Turing Machine."""
    def __init__(self, num_inputs, num_outputs, controller, memory, heads):
        super(NTM, self).__init__()

        # Save arguments
        self.num_inputs = num_inputs
        self.num_outputs = num_outputs
        self.controller = controller
        self.memory = memory
        self.heads = heads

        self.N, self.M = memory.size()
        _, self.controller_size = controller.size()

        # Initialize the initial previous read values to random biases
        self.num_read_heads = 0
        self.init_r = []
        for head in heads:
            if head.is_read_head():
                init_r_bias = torch.randn(1, self.M) * 0.01
                # differs: init_r_bias.data (numpy's array here, which register_buffer refuses): the tensor itself
                # is the buffer, which keeps PyTorch's sharing (a loaded state_dict reaches init_r too)
                self.register_buffer("read{}_bias".format(self.num_read_heads), init_r_bias)
                self.init_r += [init_r_bias]
                self.num_read_heads += 1

        assert self.num_read_heads > 0, "heads list must contain at least a single read head"

        # Initialize a fully connected layer to produce the actual output:
        #   [controller_output; previous_reads ] -> output
        self.fc = nn.Linear(self.controller_size + self.num_read_heads * self.M, num_outputs)
        self.reset_parameters()

    def create_new_state(self, batch_size):
        init_r = [r.clone().repeat(batch_size, 1) for r in self.init_r]
        controller_state = self.controller.create_new_state(batch_size)
        heads_state = [head.create_new_state(batch_size) for head in self.heads]

        return init_r, controller_state, heads_state

    def reset_parameters(self):
        # Initialize the linear layer
        nn.init.xavier_uniform_(self.fc.weight, gain=1)
        nn.init.normal_(self.fc.bias, std=0.01)

    def forward(self, x, prev_state):
        """NTM forward function.

        :param x: input vector (batch_size x num_inputs)
        :param prev_state: The previous state of the NTM
        """
        # Unpack the previous state
        prev_reads, prev_controller_state, prev_heads_states = prev_state

        # Use the controller to get an embeddings
        inp = torch.cat([x] + prev_reads, dim=1)
        controller_outp, controller_state = self.controller(inp, prev_controller_state)

        # Read/Write from the list of heads
        reads = []
        heads_states = []
        for head, prev_head_state in zip(self.heads, prev_heads_states):
            if head.is_read_head():
                r, head_state = head(controller_outp, prev_head_state)
                reads += [r]
            else:
                head_state = head(controller_outp, prev_head_state)
            heads_states += [head_state]

        # Generate Output
        inp2 = torch.cat([controller_outp] + reads, dim=1)
        o = F.sigmoid(self.fc(inp2))

        # Pack the current state
        state = (reads, controller_state, heads_states)

        return o, state


# ntm/aio.py


class EncapsulatedNTM(nn.Module):

    def __init__(self, num_inputs, num_outputs,
                 controller_size, controller_layers, num_heads, N, M):
        super(EncapsulatedNTM, self).__init__()

        # Save args
        self.num_inputs = num_inputs
        self.num_outputs = num_outputs
        self.controller_size = controller_size
        self.controller_layers = controller_layers
        self.num_heads = num_heads
        self.N = N
        self.M = M

        # Create the NTM components
        memory = NTMMemory(N, M)
        controller = LSTMController(num_inputs + M*num_heads, controller_size, controller_layers)
        heads = nn.ModuleList([])
        for i in range(num_heads):
            heads += [
                NTMReadHead(memory, controller_size),
                NTMWriteHead(memory, controller_size)
            ]

        self.ntm = NTM(num_inputs, num_outputs, controller, memory, heads)
        self.memory = memory

    def init_sequence(self, batch_size):
        """Initializing the state."""
        self.batch_size = batch_size
        self.memory.reset(batch_size)
        self.previous_state = self.ntm.create_new_state(batch_size)

    def forward(self, x=None):
        if x is None:
            x = torch.zeros(self.batch_size, self.num_inputs)

        o, self.previous_state = self.ntm(x, self.previous_state)
        return o, self.previous_state

    def calculate_num_params(self):
        """Returns the total number of parameters."""
        num_params = 0
        for p in self.parameters():
            # differs: p.data.view(-1): .data is numpy's array here, whose view takes a dtype
            num_params += p.view(-1).size(0)
        return num_params


# tasks/copytask.py


# Generator of randomized test sequences
def dataloader(num_batches,
               batch_size,
               seq_width,
               min_len,
               max_len):
    for batch_num in range(num_batches):

        # All batches have the same sequence length
        seq_len = random.randint(min_len, max_len)
        seq = np.random.binomial(1, 0.5, (seq_len, batch_size, seq_width))
        seq = torch.from_numpy(seq)

        # The input includes an additional channel used for the delimiter
        inp = torch.zeros(seq_len + 1, batch_size, seq_width + 1)
        inp[:seq_len, :, :seq_width] = seq
        inp[seq_len, :, seq_width] = 1.0 # delimiter in our control channel
        outp = seq.clone()

        yield batch_num+1, inp.float(), outp.float()


@attrs
class CopyTaskParams(object):
    name = attrib(default="copy-task")
    controller_size = attrib(default=100, convert=int)
    controller_layers = attrib(default=1,convert=int)
    num_heads = attrib(default=1, convert=int)
    sequence_width = attrib(default=8, convert=int)
    sequence_min_len = attrib(default=1,convert=int)
    sequence_max_len = attrib(default=20, convert=int)
    memory_n = attrib(default=128, convert=int)
    memory_m = attrib(default=20, convert=int)
    num_batches = attrib(default=50000, convert=int)
    batch_size = attrib(default=1, convert=int)
    rmsprop_lr = attrib(default=1e-4, convert=float)
    rmsprop_momentum = attrib(default=0.9, convert=float)
    rmsprop_alpha = attrib(default=0.95, convert=float)


@attrs
class CopyTaskModelTraining(object):
    params = attrib(default=Factory(CopyTaskParams))
    net = attrib()
    dataloader = attrib()
    criterion = attrib()
    optimizer = attrib()

    @net.default
    def default_net(self):
        # We have 1 additional input for the delimiter which is passed on a
        # separate "control" channel
        net = EncapsulatedNTM(self.params.sequence_width + 1, self.params.sequence_width,
                              self.params.controller_size, self.params.controller_layers,
                              self.params.num_heads,
                              self.params.memory_n, self.params.memory_m)
        return net

    @dataloader.default
    def default_dataloader(self):
        return dataloader(self.params.num_batches, self.params.batch_size,
                          self.params.sequence_width,
                          self.params.sequence_min_len, self.params.sequence_max_len)

    @criterion.default
    def default_criterion(self):
        return nn.BCELoss()

    @optimizer.default
    def default_optimizer(self):
        return optim.RMSprop(self.net.parameters(),
                             momentum=self.params.rmsprop_momentum,
                             alpha=self.params.rmsprop_alpha,
                             lr=self.params.rmsprop_lr)


# train.py (its training step)


def init_seed(seed=None):
    """Seed the RNGs for predicatability/reproduction purposes."""
    np.random.seed(seed)
    torch.manual_seed(seed)
    random.seed(seed)


def clip_grads(net):
    """Gradient clipping to the range [10, 10]."""
    parameters = list(filter(lambda p: p.grad is not None, net.parameters()))
    # differs: `for p in parameters: p.grad.data.clamp_(-10, 10)`: p.grad is a read-only numpy array here (its
    # .data a memoryview); torch.nn.utils.clip_grad_value_ is PyTorch's own name for this clamp
    torch.nn.utils.clip_grad_value_(parameters, 10)


def train_batch(net, criterion, optimizer, X, Y):
    """Trains a single batch."""
    optimizer.zero_grad()
    inp_seq_len = X.size(0)
    outp_seq_len, batch_size, _ = Y.size()

    # New sequence
    net.init_sequence(batch_size)

    # Feed the sequence + delimiter
    for i in range(inp_seq_len):
        net(X[i])

    # Read the output (no input given)
    y_out = torch.zeros(Y.size())
    for i in range(outp_seq_len):
        y_out[i], _ = net()

    loss = criterion(y_out, Y)
    loss.backward()
    clip_grads(net)
    optimizer.step()

    # differs: `y_out.clone().data` then `.apply_(lambda x: 0 if x < 0.5 else 1)`: .data is numpy's array and
    # Tensor.apply_ (a Python function per element) is not in the library; the same 0/1 by a comparison
    y_out_binarized = (y_out.detach() >= 0.5).float()

    # The cost is the number of error bits per sequence
    cost = torch.sum(torch.abs(y_out_binarized - Y.data))

    return loss.item(), cost.item() / batch_size


def train_model(model, num_batches):
    """train.py's train_model without the progress bar, logging and checkpoints: the losses and costs."""
    losses, costs = [], []
    for batch_num, x, y in model.dataloader:
        loss, cost = train_batch(model.net, model.criterion, model.optimizer, x, y)
        losses += [loss]
        costs += [cost]
        if batch_num == num_batches:
            break
    return losses, costs


# ---- numpy, float64: the NTM written from the paper's sections 3.1-3.3 as this repository reads them ---------

def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def softplus(a):
    return np.log1p(np.exp(a))


def np_softmax(z, axis=-1):
    z = np.exp(z - z.max(axis, keepdims=True))
    return z / z.sum(axis, keepdims=True)


def np_address(memory, k, β, g, s, γ, w_prev):
    """Content focus by cosine similarity, interpolation, circular shift of -1/0/+1, sharpening; raw (pre-activation)
    k, β, g, s, γ as the heads' linear layers give them."""
    β, g, s, γ = softplus(β), sigmoid(g), np_softmax(s), 1 + softplus(γ)
    m, kk = memory + 1e-16, k[:, None, :] + 1e-16
    cos = (m * kk).sum(-1) / (np.linalg.norm(m, axis=-1) * np.linalg.norm(kk, axis=-1))
    wc = np_softmax(β * cos)
    wg = g * wc + (1 - g) * w_prev
    ŵ = s[:, :1] * np.roll(wg, 1, axis=1) + s[:, 1:2] * wg + s[:, 2:] * np.roll(wg, -1, axis=1)
    w = ŵ ** γ
    return w / (w.sum(1, keepdims=True) + 1e-16)


def np_ntm_outputs(p, buffers, X, out_len, N, M):
    """EncapsulatedNTM with one read and one write head (in that order) and a one-layer controller: the outputs of
    the `out_len` steps read after X (T, B, I) is fed, as train_batch computes y_out."""
    B = X.shape[1]
    memory = np.repeat(buffers["ntm.memory.mem_bias"][None], B, 0)
    reads = np.repeat(buffers["ntm.read0_bias"], B, 0)
    h = np.repeat(p["ntm.controller.lstm_h_bias"], B, 1)
    c = np.repeat(p["ntm.controller.lstm_c_bias"], B, 1)
    w_read, w_write = np.zeros((B, N)), np.zeros((B, N))
    lstm = sub(p, "ntm.controller.lstm.")
    outputs = []
    for x in list(X) + [np.zeros((B, X.shape[2]))] * out_len:
        out, (h1, c1) = np_layer("lstm", np.concatenate([x, reads], 1)[None], lstm, state=(h[0], c[0]))
        h, c, emb = h1[None], c1[None], out[0]
        o = emb @ p["ntm.heads.0.fc_read.weight"].T + p["ntm.heads.0.fc_read.bias"]
        w_read = np_address(memory, o[:, :M], o[:, M:M + 1], o[:, M + 1:M + 2], o[:, M + 2:M + 5], o[:, M + 5:],
                            w_read)
        reads = (w_read[:, :, None] * memory).sum(1)
        o = emb @ p["ntm.heads.1.fc_write.weight"].T + p["ntm.heads.1.fc_write.bias"]
        w_write = np_address(memory, o[:, :M], o[:, M:M + 1], o[:, M + 1:M + 2], o[:, M + 2:M + 5],
                             o[:, M + 5:M + 6], w_write)
        e, a = sigmoid(o[:, M + 6:2 * M + 6]), o[:, 2 * M + 6:]
        memory = memory * (1 - w_write[:, :, None] * e[:, None, :]) + w_write[:, :, None] * a[:, None, :]
        outputs.append(sigmoid(np.concatenate([emb, reads], 1) @ p["ntm.fc.weight"].T + p["ntm.fc.bias"]))
    return np.stack(outputs[len(X):])


def np_bce(y, t):
    return -np.mean(t * np.log(y) + (1 - t) * np.log(1 - y))


@pytest.fixture
def float64():
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        torch.set_default_dtype(before)


def small_copy_task(**changes):
    sizes = dict(controller_size=12, memory_n=8, memory_m=5, sequence_width=4, sequence_min_len=2,
                 sequence_max_len=4, num_batches=60, batch_size=2, rmsprop_lr=3e-3)
    return CopyTaskParams(**{**sizes, **changes})


def test_ntm_addressing_one_step_is_numpys_content_focus_interpolation_shift_and_sharpening(float64):
    init_seed(1)
    memory = NTMMemory(6, 4)
    memory.reset(3)
    head = NTMReadHead(memory, 5)
    rng = np.random.default_rng(0)
    mem = rng.normal(size=(3, 6, 4))
    memory.memory = torch.tensor(mem)
    k, β, g, s, γ = (rng.normal(size=(3, n)) for n in (4, 1, 1, 3, 1))
    w_prev = np_softmax(rng.normal(size=(3, 6)))
    w = head._address_memory(*(torch.tensor(a) for a in (k, β, g, s, γ, w_prev)))
    assert w.shape == (3, 6)
    np.testing.assert_allclose(w.data, np_address(mem, k, β, g, s, γ, w_prev), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(w.data.sum(1), 1.0, rtol=1e-12)
    # closed forms: a shift weighting all on +1 rolls the interpolated weighting by one row (ŵ[i] = wg[i + 1]),
    # and g = 1, γ = 1 leaves the content weighting softmax(β cos) itself
    wg = torch.tensor(w_prev)
    shifted = memory._shift(wg, torch.tensor(np.tile([0.0, 0.0, 1.0], (3, 1))))
    np.testing.assert_allclose(shifted.data, np.roll(w_prev, -1, axis=1), rtol=0, atol=1e-15)
    cos = (mem * k[:, None]).sum(-1) / (np.linalg.norm(mem, axis=-1) * np.linalg.norm(k, axis=-1)[:, None])
    content = memory.address(torch.tensor(k), torch.tensor(np.full((3, 1), 2.0)), torch.tensor(np.ones((3, 1))),
                             torch.tensor(np.tile([0.0, 1.0, 0.0], (3, 1))), torch.tensor(np.ones((3, 1))),
                             torch.tensor(w_prev))
    np.testing.assert_allclose(content.data, np_softmax(2.0 * cos), rtol=1e-12)
    # reading is w @ memory; writing erases by w e^T and adds w a^T (section 3.2)
    np.testing.assert_allclose(memory.read(w).data, np.einsum("bn,bnm->bm", w.data, mem), rtol=1e-12)
    e, a = rng.uniform(size=(3, 4)), rng.normal(size=(3, 4))
    memory.write(w, torch.tensor(e), torch.tensor(a))
    wn = w.data[:, :, None]
    np.testing.assert_allclose(memory.memory.data, mem * (1 - wn * e[:, None]) + wn * a[:, None], rtol=1e-12)


def ntm_forward(net, X, out_len):
    """train_batch's forward pass and loss, without its step."""
    net.init_sequence(X.size(1))
    for i in range(X.size(0)):
        net(X[i])
    y_out = torch.zeros(out_len, X.size(1), net.num_outputs)
    for i in range(out_len):
        y_out[i], _ = net()
    return y_out


def test_ntm_copy_task_outputs_loss_gradients_and_rmsprop_steps_against_numpy_in_float64(float64):
    init_seed(1000)
    model = CopyTaskModelTraining(params=small_copy_task())
    net, p = model.net, None
    _, X, Y = next(model.dataloader)
    assert X.dtype == Y.dtype == torch.float32                # `.float()` in the dataloader, whatever the default
    X, Y = X.double(), Y.double()
    assert X.shape[1:] == (2, 5) and Y.shape == (X.shape[0] - 1, 2, 4)
    assert X[-1, :, -1].tolist() == [1.0, 1.0] and np.array_equal(X.data[:-1, :, :4], Y.data)
    p = {n: np.array(t.data) for n, t in net.named_parameters()}
    buffers = {n: np.array(t.data) for n, t in net.named_buffers()}
    N, M = 8, 5
    y_out = ntm_forward(net, X, Y.size(0))
    expected = np_ntm_outputs(p, buffers, X.data, Y.shape[0], N, M)
    np.testing.assert_allclose(y_out.data, expected, rtol=1e-11, atol=1e-14)
    loss = model.criterion(y_out, Y)
    assert abs(loss.item() - np_bce(expected, Y.data)) < 1e-12
    model.optimizer.zero_grad()
    loss.backward()
    grads = {n: np.array(t.grad) for n, t in net.named_parameters()}
    for name in ("ntm.fc.weight", "ntm.heads.1.fc_write.weight", "ntm.heads.0.fc_read.bias",
                 "ntm.controller.lstm.weight_hh_l0", "ntm.controller.lstm_c_bias"):
        def f(value):
            return np_bce(np_ntm_outputs({**p, name: value}, buffers, X.data, Y.shape[0], N, M), Y.data)
        indices = some_indices(p[name].shape, count=4)
        np.testing.assert_allclose([grads[name][i] for i in indices], central(f, p[name], indices),
                                   rtol=1e-5, atol=1e-9)
    # clip_grads (clip_grad_value_ at 10) then two RMSprop steps (alpha 0.95, momentum 0.9) with the same gradients
    big = {n: g * 1e4 for n, g in grads.items()}
    for n, t in net.named_parameters():
        t.grad = big[n].copy()
    clip_grads(net)
    for n, t in net.named_parameters():
        np.testing.assert_array_equal(t.grad, np.clip(big[n], -10, 10))
    square, buf = {n: np.zeros_like(g) for n, g in grads.items()}, {n: np.zeros_like(g) for n, g in grads.items()}
    for _ in range(2):
        for n, t in net.named_parameters():
            t.grad = grads[n].copy()
        model.optimizer.step()
        for n in p:
            square[n] = 0.95 * square[n] + 0.05 * grads[n] ** 2
            buf[n] = 0.9 * buf[n] + grads[n] / (np.sqrt(square[n]) + 1e-8)
            p[n] = p[n] - 3e-3 * buf[n]
        for n, t in net.named_parameters():
            np.testing.assert_allclose(t.data, p[n], rtol=1e-12, atol=1e-15)


def test_ntm_copy_task_training_lowers_the_loss_and_the_bit_errors():
    """80 batches of 4 sequences of one or two 4-bit vectors (RMSprop at lr 3e-3, its momentum 0.9 and alpha
    0.95): guessing gives ln 2 = 0.69 a bit; the NTM's loss falls well below it and so do its error bits."""
    init_seed(1000)
    model = CopyTaskModelTraining(params=small_copy_task(sequence_min_len=1, sequence_max_len=2, num_batches=80,
                                                         batch_size=4))
    assert model.net.calculate_num_params() == sum(p.numel() for p in model.net.parameters())
    losses, costs = train_model(model, 80)
    assert len(losses) == 80 and all(np.isfinite(losses))
    assert np.mean(losses[-20:]) < 0.6 * min(np.mean(losses[:20]), math.log(2)), (losses[:20], losses[-20:])
    assert np.mean(costs[-20:]) < 0.5 * np.mean(costs[:20])


def test_ntm_checkpoint_keys_are_pytorchs_with_the_shared_memory_under_each_path_and_reload():
    """save_checkpoint writes net.state_dict(): PyTorch's keys for this tree (each module's own parameters, then
    its buffers, then its children in the order assigned, and the one NTMMemory under every path that reaches it:
    NTM's, each head's and EncapsulatedNTM's own), and loading it reaches init_r through the shared buffer."""
    init_seed(1000)
    model = CopyTaskModelTraining(params=small_copy_task())
    lstm = ["ntm.controller.lstm." + k for k in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")]
    assert list(model.net.state_dict()) == (
        ["ntm.read0_bias", "ntm.controller.lstm_h_bias", "ntm.controller.lstm_c_bias"] + lstm
        + ["ntm.memory.mem_bias", "ntm.heads.0.memory.mem_bias", "ntm.heads.0.fc_read.weight",
           "ntm.heads.0.fc_read.bias", "ntm.heads.1.memory.mem_bias", "ntm.heads.1.fc_write.weight",
           "ntm.heads.1.fc_write.bias", "ntm.fc.weight", "ntm.fc.bias", "memory.mem_bias"])
    saved = {k: np.array(v.data) for k, v in model.net.state_dict().items()}
    init_seed(5)
    other = CopyTaskModelTraining(params=small_copy_task())
    assert not np.array_equal(other.net.ntm.init_r[0].data, saved["ntm.read0_bias"])
    other.net.load_state_dict(model.net.state_dict())
    np.testing.assert_array_equal(other.net.ntm.init_r[0].data, saved["ntm.read0_bias"])
    np.testing.assert_array_equal(other.net.memory.mem_bias.data, saved["memory.mem_bias"])


# ---- 2. StefOe/indrnn-pytorch -----------------------------------------------------------------------------------

# indrnn.py


class IndRNNCell(nn.Module):
    r"""An IndRNN cell with tanh or ReLU non-linearity.

    .. math::

        h' = \tanh(w_{ih} * x + b_{ih}  +  w_{hh} (*) h)
    With (*) being element-wise vector multiplication.
    If nonlinearity='relu', then ReLU is used in place of tanh.
    """

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="relu",
                 hidden_min_abs=0, hidden_max_abs=None,
                 hidden_init=None, recurrent_init=None,
                 gradient_clip=None):
        super(IndRNNCell, self).__init__()
        self.hidden_max_abs = hidden_max_abs
        self.hidden_min_abs = hidden_min_abs
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.nonlinearity = nonlinearity
        self.hidden_init = hidden_init
        self.recurrent_init = recurrent_init
        if self.nonlinearity == "tanh":
            self.activation = F.tanh
        elif self.nonlinearity == "relu":
            self.activation = F.relu
        else:
            raise RuntimeError(
                "Unknown nonlinearity: {}".format(self.nonlinearity))
        # differs: torch.Tensor(hidden_size, input_size) and torch.Tensor(hidden_size): sizes are refused by Tensor
        # here (docs/pytorch.md); zeros of the default dtype, all overwritten by reset_parameters below
        self.weight_ih = Parameter(torch.zeros(hidden_size, input_size))
        self.weight_hh = Parameter(torch.zeros(hidden_size))
        if bias:
            self.bias_ih = Parameter(torch.zeros(hidden_size))
        else:
            self.register_parameter('bias_ih', None)

        if gradient_clip:
            if isinstance(gradient_clip, tuple):
                min_g, max_g = gradient_clip
            else:
                max_g = gradient_clip
                min_g = -max_g
            self.weight_ih.register_hook(lambda x: x.clamp(min=min_g, max=max_g))
            self.weight_hh.register_hook(lambda x: x.clamp(min=min_g, max=max_g))
            if bias:
                self.bias_ih.register_hook(lambda x: x.clamp(min=min_g, max=max_g))

        self.reset_parameters()

    def reset_parameters(self):
        for name, weight in self.named_parameters():
            if "bias" in name:
                nn.init.zeros_(weight)  # differs: weight.data.zero_(): .data is numpy's read-only array here
            elif "weight_hh" in name:
                if self.recurrent_init is None:
                    nn.init.constant_(weight, 1)
                else:
                    self.recurrent_init(weight)
            elif "weight_ih" in name:
                if self.hidden_init is None:
                    nn.init.normal_(weight, 0, 0.01)
                else:
                    self.hidden_init(weight)
            else:
                nn.init.normal_(weight, 0, 0.01)  # differs: weight.data.normal_(0, 0.01), as zero_ above
                # weight.data.uniform_(-stdv, stdv)
        self.check_bounds()

    def check_bounds(self):
        if self.hidden_min_abs:
            abs_kernel = torch.abs(self.weight_hh.data).clamp_(min=self.hidden_min_abs)
            self.weight_hh.data = self.weight_hh.mul(torch.sign(self.weight_hh.data), abs_kernel)
        if self.hidden_max_abs:
            self.weight_hh.data = self.weight_hh.clamp(max=self.hidden_max_abs, min=-self.hidden_max_abs)

    def forward(self, input, hx):
        # differs: F.mul(self.weight_hh, hx): torch.nn.functional has no `mul` (in PyTorch 2 either); torch.mul
        return self.activation(F.linear(
            input, self.weight_ih, self.bias_ih) + torch.mul(self.weight_hh, hx))


class IndRNN(nn.Module):
    r"""Applies a multi-layer IndRNN with `tanh` or `ReLU` non-linearity to an
    input sequence.

    .. math::

        h_t = \tanh(w_{ih} x_t + b_{ih}  +  w_{hh} (*) h_{(t-1)})
    """

    def __init__(self, input_size, hidden_size, n_layer=1, batch_norm=False,
                 batch_first=False, bidirectional=False,
                 hidden_inits=None, recurrent_inits=None,
                 **kwargs):
        super(IndRNN, self).__init__()
        self.hidden_size = hidden_size
        self.batch_norm = batch_norm
        self.n_layer = n_layer
        self.batch_first = batch_first
        self.bidirectional = bidirectional

        num_directions = 2 if self.bidirectional else 1

        if batch_first:
            self.time_index = 1
            self.batch_index = 0
        else:
            self.time_index = 0
            self.batch_index = 1

        cells = []
        for i in range(n_layer):
            directions = []
            if recurrent_inits is not None:
                kwargs["recurrent_init"] = recurrent_inits[i]
            if hidden_inits is not None:
                kwargs["hidden_init"] = hidden_inits[i]
            in_size = input_size if i == 0 else hidden_size * num_directions
            for dir in range(num_directions):
                directions.append(IndRNNCell(in_size, hidden_size, **kwargs))
            cells.append(nn.ModuleList(directions))
        self.cells = nn.ModuleList(cells)

        if batch_norm:
            bns = []
            for i in range(n_layer):
                bns.append(nn.BatchNorm1d(hidden_size * num_directions))
            self.bns = nn.ModuleList(bns)

        h0 = torch.zeros(hidden_size * num_directions)
        self.register_buffer('h0', torch.autograd.Variable(h0))

    def forward(self, x, hidden=None):
        batch_norm = self.batch_norm
        time_index = self.time_index
        batch_index = self.batch_index
        num_directions = 2 if self.bidirectional else 1

        for i, directions in enumerate(self.cells):
            hx = self.h0.unsqueeze(0).expand(
                x.size(batch_index),
                self.hidden_size * num_directions).contiguous()

            x_n = []
            for dir, cell in enumerate(directions):
                hx_cell = hx[
                    :, self.hidden_size * dir: self.hidden_size * (dir + 1)]
                cell.check_bounds()
                outputs = []
                hiddens = []
                x_T = torch.unbind(x, time_index)
                if dir == 1:
                    x_T = reversed(x_T)
                for x_t in x_T:
                    hx_cell = cell(x_t, hx_cell)
                    outputs.append(hx_cell)
                if dir == 1:
                    outputs = outputs[::-1]
                x_cell = torch.stack(outputs, time_index)
                x_n.append(x_cell)
                hiddens.append(hx_cell)
            x = torch.cat(x_n, -1)

            if batch_norm:
                if self.batch_first:
                    x = self.bns[i](x.permute(batch_index, 2, time_index).contiguous()).permute(0, 2, 1)
                else:
                    x = self.bns[i](x.permute(batch_index, 2, time_index).contiguous()).permute(2, 0, 1)
        return x.squeeze(2), torch.cat(hiddens, -1)


# addition_test.py (its argparse defaults are `args`: the paper's sizes, made small by the tests)


class Args:
    lr = 0.0002
    time_steps = 100
    n_layer = 2
    hidden_size = 128
    no_cuda = False
    batch_norm = False
    bidirectional = False
    log_interval = 100
    model = "IndRNN"
    batch_size = 50
    cuda = False


args = Args()


def recurrent_max():
    return pow(2, 1 / args.time_steps)  # differs: RECURRENT_MAX, a module constant made from args at import


class Net(nn.Module):
    def __init__(self, input_size, hidden_size, n_layer=2):
        super(Net, self).__init__()
        RECURRENT_MAX = recurrent_max()
        recurrent_inits = [lambda w: nn.init.uniform_(w, -RECURRENT_MAX, RECURRENT_MAX)]
        for _ in range(1, n_layer):
            recurrent_inits.append(lambda w: nn.init.constant_(w, 1))
        self.indrnn = IndRNN(
            input_size, hidden_size,
            n_layer, batch_norm=args.batch_norm,
            bidirectional=args.bidirectional,
            hidden_max_abs=RECURRENT_MAX,
            recurrent_inits=recurrent_inits)
        self.lin = nn.Linear(
            hidden_size * 2 if args.bidirectional else hidden_size, 1)
        nn.init.constant_(self.lin.bias, .1)  # differs: self.lin.bias.data.fill_(.1): .data is numpy's array
        nn.init.normal_(self.lin.weight, 0, .01)  # differs: self.lin.weight.data.normal_(0, .01), the same

    def forward(self, x, hidden=None):
        y, _ = self.indrnn(x, hidden)
        return self.lin(y[-1]).squeeze(1)


def main(steps):
    """main() for `steps` steps (the script loops for ever, printing every log_interval): the losses."""
    model = Net(2, args.hidden_size, args.n_layer)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)

    # Train the model
    model.train()
    losses = []
    for _ in range(steps):
        # Generate new input data
        data, target = get_batch()
        data, target = Variable(data), Variable(target)
        model.zero_grad()
        out = model(data)
        loss = F.mse_loss(out, target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return model, losses


def get_batch():
    """Generate the adding problem dataset"""
    # Build the first sequence
    add_values = torch.rand(args.time_steps, args.batch_size)

    # Build the second sequence with one 1 in each half and 0s otherwise
    add_indices = torch.zeros_like(add_values)
    half = int(args.time_steps / 2)
    for i in range(args.batch_size):
        first_half = np.random.randint(half)
        second_half = np.random.randint(half, args.time_steps)
        add_indices[first_half, i] = 1
        add_indices[second_half, i] = 1

    # Zip the values and indices in a third dimension:
    # inputs has the shape (time_steps, batch_size, 2)
    inputs = torch.stack((add_values, add_indices), dim=-1)
    targets = torch.mul(add_values, add_indices).sum(dim=0)
    return inputs, targets


def np_indrnn_net(p, X, layers=2, recurrent_max=None):
    """Net.forward in numpy: each layer h_t = relu(W x_t + b + u * h_{t-1}) from h_0 = 0 (u clipped to +-max first,
    as check_bounds does), then the linear layer on the last step's output."""
    for i in range(layers):
        W, u, b = (p[f"indrnn.cells.{i}.0.{k}"] for k in ("weight_ih", "weight_hh", "bias_ih"))
        if recurrent_max is not None:
            u = np.clip(u, -recurrent_max, recurrent_max)
        h, outputs = np.zeros((X.shape[1], W.shape[0])), []
        for x in X:
            h = np.maximum(x @ W.T + b + u * h, 0)
            outputs.append(h)
        X = np.stack(outputs)
    return (X[-1] @ p["lin.weight"].T + p["lin.bias"])[:, 0]


@pytest.fixture
def small_args():
    saved = dict(vars(args))
    args.time_steps, args.hidden_size, args.batch_size, args.lr = 10, 8, 16, 0.02
    try:
        yield args
    finally:
        for k in ("time_steps", "hidden_size", "batch_size", "lr"):
            setattr(args, k, saved.get(k, getattr(Args, k)))


def test_adding_problem_batches_are_two_marked_values_and_their_sum(small_args):
    np.random.seed(0)
    torch.manual_seed(0)
    inputs, targets = get_batch()
    assert inputs.shape == (10, 16, 2) and targets.shape == (16,)
    values, marks = inputs.data[..., 0], inputs.data[..., 1]
    assert np.array_equal(marks.sum(0), np.full(16, 2.0))
    assert np.array_equal(marks[:5].sum(0), np.ones(16)) and np.array_equal(marks[5:].sum(0), np.ones(16))
    np.testing.assert_allclose(targets.data, (values * marks).sum(0), rtol=1e-6)


def test_indrnn_forward_and_gradients_against_numpy_and_central_differences_in_float64(small_args, float64):
    np.random.seed(0)
    torch.manual_seed(0)
    model = Net(2, args.hidden_size, args.n_layer)
    RECURRENT_MAX = recurrent_max()
    p = {n: np.array(t.data) for n, t in model.named_parameters()}
    assert sorted(p) == sorted(["indrnn.cells.0.0.weight_ih", "indrnn.cells.0.0.weight_hh", "indrnn.cells.0.0.bias_ih",
                                "indrnn.cells.1.0.weight_ih", "indrnn.cells.1.0.weight_hh", "indrnn.cells.1.0.bias_ih",
                                "lin.weight", "lin.bias"])
    # the initialisation addition_test.py asks for
    assert np.all(np.abs(p["indrnn.cells.0.0.weight_hh"]) <= RECURRENT_MAX)
    assert np.array_equal(p["indrnn.cells.1.0.weight_hh"], np.ones(8)) and np.array_equal(p["lin.bias"], [0.1])
    assert not p["indrnn.cells.0.0.bias_ih"].any() and abs(p["indrnn.cells.0.0.weight_ih"].std() - 0.01) < 0.005
    # for the comparison, input weights and biases well away from the ReLU's kink (N(0, 0.01) leaves pre-activations
    # within central differences' reach of 0 and half the units dead)
    for i in range(2):
        nn.init.normal_(model.indrnn.cells[i][0].weight_ih, 0, 0.7)
        nn.init.constant_(model.indrnn.cells[i][0].bias_ih, 0.2)
    p = {n: np.array(t.data) for n, t in model.named_parameters()}
    data, target = get_batch()
    out = model(data)
    X, y = data.data, target.data
    np.testing.assert_allclose(out.data, np_indrnn_net(p, X), rtol=1e-12, atol=1e-15)
    loss = F.mse_loss(out, target)
    assert abs(loss.item() - np.mean((np_indrnn_net(p, X) - y) ** 2)) < 1e-13
    model.zero_grad()
    loss.backward()
    for name in ("indrnn.cells.0.0.weight_hh", "indrnn.cells.1.0.weight_hh", "indrnn.cells.0.0.weight_ih",
                 "indrnn.cells.1.0.bias_ih", "lin.weight"):
        def f(value):
            return np.mean((np_indrnn_net({**p, name: value}, X) - y) ** 2)
        indices = some_indices(p[name].shape, count=5)
        grad = dict(model.named_parameters())[name].grad
        expected = central(f, p[name], indices)
        assert np.count_nonzero(expected) >= 3
        np.testing.assert_allclose([grad[i] for i in indices], expected, rtol=1e-6, atol=1e-10)


def test_indrnn_recurrent_weights_are_clipped_before_each_forward(small_args, float64):
    """check_bounds (IndRNN.forward calls it for each cell) writes u = clamp(u, -max, max) into the parameter by
    `weight_hh.data = ...`: weights trained past 2^(1/T) come back to it, and the output is numpy's with them."""
    np.random.seed(1)
    torch.manual_seed(1)
    model = Net(2, args.hidden_size, args.n_layer)
    RECURRENT_MAX = recurrent_max()
    cell = model.indrnn.cells[0][0]
    with torch.no_grad():
        cell.weight_hh.copy_(torch.tensor([3.0, -3.0, 0.5, -0.5, 1.2, -1.2, 0.0, 1.05]))
    p = {n: np.array(t.data) for n, t in model.named_parameters()}
    data, _ = get_batch()
    out = model(data)
    clipped = np.clip([3.0, -3.0, 0.5, -0.5, 1.2, -1.2, 0.0, 1.05], -RECURRENT_MAX, RECURRENT_MAX)
    np.testing.assert_array_equal(cell.weight_hh.data, clipped)
    assert cell.weight_hh.data[0] == RECURRENT_MAX and cell.weight_hh.data[-1] == 1.05
    assert isinstance(cell.weight_hh, Parameter) and cell.weight_hh.requires_grad
    np.testing.assert_allclose(out.data, np_indrnn_net(p, data.data, recurrent_max=RECURRENT_MAX), rtol=1e-12)


def test_indrnn_cell_gradient_clip_hooks_clamp_each_parameters_gradient(float64):
    """IndRNNCell(gradient_clip=(min, max)) registers `x.clamp(min=..., max=...)` as a hook on each parameter:
    the gradient that reaches .grad is the clamped one (the unclipped one from central differences of numpy)."""
    torch.manual_seed(2)
    cell = IndRNNCell(3, 4, gradient_clip=(-0.05, 0.02), recurrent_init=lambda w: nn.init.uniform_(w, -1, 1))
    rng = np.random.default_rng(2)
    X, h0 = rng.normal(size=(5, 2, 3)), rng.normal(size=(2, 4))
    p = {n: np.array(t.data) for n, t in cell.named_parameters()}

    def np_loss(q):
        h = h0
        for x in X:
            h = np.maximum(x @ q["weight_ih"].T + q["bias_ih"] + q["weight_hh"] * h, 0)
        return (h ** 2).sum()

    h = torch.tensor(h0)
    for x in torch.tensor(X):
        h = cell(x, h)
    (h ** 2).sum().backward()
    clipped_any = False
    for name, value in p.items():
        indices = list(np.ndindex(value.shape))
        exact = central(lambda v: np_loss({**p, name: v}), value, indices).reshape(value.shape)
        np.testing.assert_allclose(dict(cell.named_parameters())[name].grad, np.clip(exact, -0.05, 0.02),
                                   rtol=1e-6, atol=1e-9)
        clipped_any |= bool((np.abs(exact) > 0.05).any())
    assert clipped_any


def test_indrnn_learns_the_adding_problem_a_little(small_args):
    """40 Adam steps (lr 0.02 here; the script's 2e-4 needs thousands) on sequences of 10: the loss starts near
    the target's second moment (the output is 0.1 to begin with) and falls well below it."""
    np.random.seed(0)
    torch.manual_seed(0)
    model, losses = main(40)
    assert all(np.isfinite(losses))
    assert np.mean(losses[-10:]) < 0.25 and np.mean(losses[-10:]) < 0.3 * np.mean(losses[:5]), losses
    RECURRENT_MAX = recurrent_max()
    for directions in model.indrnn.cells:
        assert np.all(np.abs(directions[0].weight_hh.data) <= RECURRENT_MAX)


# ---- 3. NX-AI/xlstm: the sLSTM and mLSTM cells of its plain-PyTorch ("vanilla" and "simple") backends ----------

# xlstm/blocks/slstm/src/vanilla/slstm.py


def slstm_forward_pointwise(
    Wx: torch.Tensor,  # dim [B, 4*H]
    Ry: torch.Tensor,  # dim [B, 4*H]
    b: torch.Tensor,  # dim [1, 4*H]
    states: torch.Tensor,  # dim [4, B, H]
    constants: dict[str, float],
) -> tuple[
    torch.Tensor,
    torch.Tensor,
]:
    _ = constants
    raw = Wx + Ry + b
    y, c, n, m = torch.unbind(states.view(4, states.shape[1], -1), dim=0)
    # raw = raw.view(-1, 4, -1)
    iraw, fraw, zraw, oraw = torch.unbind(raw.view(raw.shape[0], 4, -1), dim=1)
    # with torch.no_grad():  # THE difference to maxg aka max_gradient (here max / max_static)
    logfplusm = m + logsigmoid(fraw)
    if torch.all(n == 0.0):
        mnew = iraw
    else:
        mnew = torch.max(iraw, logfplusm)
    ogate = torch.sigmoid(oraw)
    igate = torch.exp(iraw - mnew)
    fgate = torch.exp(logfplusm - mnew)
    cnew = fgate * c + igate * torch.tanh(zraw)
    nnew = fgate * n + igate
    ynew = ogate * cnew / nnew

    # shapes ([B,H], [B,H], [B,H]), ([B,H],[B,H],[B,H],[B,H])
    return torch.stack((ynew, cnew, nnew, mnew), dim=0), torch.stack(
        (igate, fgate, zraw, ogate), dim=0
    )


# xlstm/blocks/slstm/src/vanilla/__init__.py (its registry of pointwise functions, of which the "slstm" one is
# above and the "lstm" one is not ported, is left out)


def slstm_forward(
    x: torch.Tensor,  # [S, B, G*I]
    states: torch.Tensor,  # [4, B, H] only the first is used for recurrence!
    R: torch.Tensor,  # [K, R*H, H] - K num_heads
    b: torch.Tensor,  # [T*H]
    pointwise_forward,
    constants: dict[str, float] = {},
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    num_states = states.shape[0]
    sequence_dim = x.shape[0]
    num_gates_r = R.shape[1] // R.shape[2]  # this only works for a fully-connected RNN, for a hin change this
    hidden_dim = R.shape[2] * R.shape[0]
    num_gates_t = b.shape[0] // hidden_dim
    batch_dim = x.shape[1]
    num_heads = R.shape[0]
    head_dim = R.shape[2]

    assert batch_dim == states.shape[1]
    assert hidden_dim == states.shape[2]

    g = torch.zeros(
        [sequence_dim + 1, num_gates_t, batch_dim, hidden_dim],
        device=x.device,
        dtype=x.dtype,
    )

    states_all = torch.zeros(
        [num_states, sequence_dim + 1, batch_dim, hidden_dim],
        device=x.device,
        dtype=x.dtype,
    )
    states_all[:, 0] = states
    for i, Wx_t in enumerate(x.unbind(dim=0)):
        Ry = (
            states[0]
            .reshape(batch_dim, num_heads, 1, -1)
            .matmul(R.transpose(1, 2).reshape(1, num_heads, head_dim, num_gates_r * head_dim))
            .reshape(batch_dim, num_heads, num_gates_r, -1)
            .transpose(1, 2)
            .reshape(batch_dim, -1)
        )
        sdtype = states.dtype
        states, gates = pointwise_forward(Wx_t, Ry, b, states, constants=constants)
        states = states.to(dtype=sdtype)
        g[i] = gates
        states_all[:, i + 1] = states

    # shapes ([S, B, H], ([B,H], [B,H], [B,H]), [S, B, 4*H])
    return states_all, states, g


# xlstm/blocks/mlstm/backends.py


def parallel_stabilized_simple(
    queries: torch.Tensor,
    keys: torch.Tensor,
    values: torch.Tensor,
    igate_preact: torch.Tensor,
    fgate_preact: torch.Tensor,
    lower_triangular_matrix: torch.Tensor = None,
    stabilize_rowwise: bool = True,
    eps: float = 1e-6,
    **kwargs,
) -> torch.Tensor:
    """This is the mLSTM cell in parallel form.
    This version is stabilized. We control the range of exp() arguments by
    ensuring that they are always smaller than 0.0 by subtracting the maximum.
    """

    B, NH, S, DH = queries.shape
    _dtype, _device = queries.dtype, queries.device

    # forget gate matrix
    log_fgates = torch.nn.functional.logsigmoid(fgate_preact)  # (B, NH, S, 1)
    if lower_triangular_matrix is None or S < lower_triangular_matrix.size(-1):
        ltr = torch.tril(torch.ones((S, S), dtype=torch.bool, device=_device))
    else:
        ltr = lower_triangular_matrix
    assert ltr.dtype == torch.bool, f"lower_triangular_matrix must be of dtype bool, got {ltr.dtype}"

    log_fgates_cumsum = torch.cat(
        [
            torch.zeros((B, NH, 1, 1), dtype=_dtype, device=_device),
            torch.cumsum(log_fgates, dim=-2),
        ],
        dim=-2,
    )  # (B, NH, S+1, 1)
    # for each batch/head this is a matrix of shape (S+1, S+1) containing the cumsum of the log forget gate values
    # in the second dimension (colum dimension). Each row has the same is a copy of the first row.
    # First entry of each row is zero.
    rep_log_fgates_cumsum = log_fgates_cumsum.repeat(1, 1, 1, S + 1)  # (B, NH, S+1, S+1)
    # Now in each row cut off / subtract the forgetgate values of the later timesteps
    # where col j > row i
    _log_fg_matrix = rep_log_fgates_cumsum - rep_log_fgates_cumsum.transpose(-2, -1)  # (B, NH, S+1, S+1)
    # Causal masking & selection of the correct submatrix, such that forgetgate at timestep t is not applied
    # to the input at timestep t
    log_fg_matrix = torch.where(ltr, _log_fg_matrix[:, :, 1:, 1:], -float("inf"))  # (B, NH, S, S)

    # gate decay matrix D (combination of forget gate and input gate)
    log_D_matrix = log_fg_matrix + igate_preact.transpose(-2, -1)  # (B, NH, S, S)
    # D matrix stabilization
    if stabilize_rowwise:
        max_log_D, _ = torch.max(log_D_matrix, dim=-1, keepdim=True)  # (B, NH, S, 1)
    else:
        max_log_D = torch.max(log_D_matrix.view(B, NH, -1), dim=-1, keepdim=True)[0].unsqueeze(-1)
        # (B, NH, 1, 1)
    log_D_matrix_stabilized = log_D_matrix - max_log_D  # (B, NH, S, S)
    D_matrix = torch.exp(log_D_matrix_stabilized)  # (B, NH, S, S)

    keys_scaled = keys / math.sqrt(DH)

    # combination matrix C
    qk_matrix = queries @ keys_scaled.transpose(-2, -1)  # (B, NH, S, S)
    C_matrix = qk_matrix * D_matrix  # (B, NH, S, S)
    normalizer = torch.maximum(C_matrix.sum(dim=-1, keepdim=True).abs(), torch.exp(-max_log_D))  # (B, NH, S, 1)
    # (B, NH, S, S)
    C_matrix_normalized = C_matrix / (normalizer + eps)

    # retrieved values
    h_tilde_state = C_matrix_normalized @ values  # (B, NH, S, DH)

    return h_tilde_state


def recurrent_step_stabilized_simple(
    c_state: torch.Tensor,
    n_state: torch.Tensor,
    m_state: torch.Tensor,
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    igate_preact: torch.Tensor,
    fgate_preact: torch.Tensor,
    eps: float = 1e-6,
    **kwargs,
) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
    """This is a single step of the mLSTM operation in recurrent form."""
    B, NH, S, DH = q.shape
    # projections
    q, k, v = q.squeeze_(2).unsqueeze(-1), k.squeeze_(2).unsqueeze(-1), v.squeeze_(2).unsqueeze(-1)  # (B, NH, DH, 1)

    # gates
    log_fg_act = torch.nn.functional.logsigmoid(fgate_preact)  # (B, NH, 1, 1)

    # update rule
    m_state_new = torch.max(log_fg_act + m_state, igate_preact)  # (B, NH, 1, 1)

    fg_act = torch.exp(log_fg_act + m_state - m_state_new)  # (B, NH, 1, 1)
    ig_act = torch.exp(igate_preact - m_state_new)  # (B, NH, 1, 1)

    k_scaled = k / math.sqrt(DH)

    c_state_new = fg_act * c_state + ig_act * (k_scaled @ v.transpose(-1, -2))  # (B, NH, DH, DH)
    n_state_new = fg_act * n_state + ig_act * k_scaled  # (B, NH, DH, 1)

    h_num = q.transpose(-1, -2) @ c_state_new  # (B, NH, 1, DH)

    qn_dotproduct = q.transpose(-1, -2) @ n_state_new  # (B, NH, 1, 1)
    max_val = torch.exp(-m_state_new)  # (B, NH, 1, 1)
    h_denom = torch.maximum(qn_dotproduct.abs(), max_val) + eps
    h = h_num / h_denom  # (B, NH, 1, DH) / (B, NH, 1, 1) = (B, NH, 1, DH)

    return h, (c_state_new, n_state_new, m_state_new)


# ---- numpy, float64: the xLSTM paper's equations (Beck et al. 2024, sections 2.2-2.3 and appendix A) ---------

def log_sigmoid(a):
    return -np.logaddexp(0, -a)


def np_slstm_step(raw, c, n, m, first):
    """One sLSTM step (eqs. 8-17): i = exp(ĩ), f = σ(f̃), z = tanh(z̃), o = σ(õ), c = f c + i z, n = f n + i,
    h = o c / n, with the stabiliser m_t = max(log f + m_{t-1}, ĩ), i' = exp(ĩ - m_t),
    f' = exp(log f + m_{t-1} - m_t).
    `first`: the previous state is all zero (c = n = 0), and the source then takes m_t = ĩ."""
    H = raw.shape[1] // 4
    ĩ, f̃, z̃, õ = raw[:, :H], raw[:, H:2 * H], raw[:, 2 * H:3 * H], raw[:, 3 * H:]
    logf = log_sigmoid(f̃)
    m_new = ĩ if first else np.maximum(logf + m, ĩ)
    i, f = np.exp(ĩ - m_new), np.exp(logf + m - m_new)
    c, n = f * c + i * np.tanh(z̃), f * n + i
    return sigmoid(õ) * c / n, c, n, m_new, (i, f)


def np_heads_recurrence(y, R):
    """R (heads K, 4 dh, dh) applied head by head to y (B, K dh), laid out as the source's raw gates: gate blocks
    of K dh, heads within each."""
    K, dh = R.shape[0], R.shape[2]
    blocks = [[y[:, k * dh:(k + 1) * dh] @ R[k][g * dh:(g + 1) * dh].T for k in range(K)] for g in range(4)]
    return np.concatenate([np.concatenate(b, 1) for b in blocks], 1)


def np_slstm(Wx, R, b, plain=False):
    """slstm_forward from zero states: h for each step (S, B, H); `plain` is the unstabilised recurrence with
    i = exp(ĩ) itself (c_t and n_t grow with the gates; h does not change)."""
    S, B, H = Wx.shape[0], Wx.shape[1], Wx.shape[2] // 4
    y, c, n, m = (np.zeros((B, H)) for _ in range(4))
    out, cs, ns, ms = [], [], [], []
    for t in range(S):
        raw = Wx[t] + np_heads_recurrence(y, R) + b
        if plain:
            ĩ, f̃, z̃, õ = np.split(raw, 4, axis=1)
            c, n = sigmoid(f̃) * c + np.exp(ĩ) * np.tanh(z̃), sigmoid(f̃) * n + np.exp(ĩ)
            y = sigmoid(õ) * c / n
        else:
            y, c, n, m, _ = np_slstm_step(raw, c, n, m, first=not n.any())
        out.append(y), cs.append(c), ns.append(n), ms.append(m)
    return np.stack(out), np.stack(cs), np.stack(ns), np.stack(ms)


def np_mlstm_recurrent(q, k, v, ĩ, f̃, eps=1e-6, plain=False):
    """The mLSTM (eqs. 19-27) step by step from C = 0, n = 0, m = 0 over (B, NH, S, DH) inputs and (B, NH, S)
    gate pre-activations: k scaled by 1/sqrt(DH), C = f C + i v k^T, n = f n + i k, h = C q / max(|n^T q|, 1);
    stabilised by m_t = max(log σ(f̃) + m_{t-1}, ĩ) (then the lower bound 1 is exp(-m_t), and eps is added to the
    denominator at that scale), or `plain` with i = exp(ĩ) and f = σ(f̃) as they are."""
    B, NH, S, DH = q.shape
    C, n, m = np.zeros((B, NH, DH, DH)), np.zeros((B, NH, DH)), np.zeros((B, NH))
    hs = []
    for t in range(S):
        kt = k[:, :, t] / math.sqrt(DH)
        logf = log_sigmoid(f̃[:, :, t])
        if plain:
            f, i, m_new = np.exp(logf), np.exp(ĩ[:, :, t]), np.zeros((B, NH))
        else:
            m_new = np.maximum(logf + m, ĩ[:, :, t])
            f, i = np.exp(logf + m - m_new), np.exp(ĩ[:, :, t] - m_new)
        C = f[..., None, None] * C + i[..., None, None] * np.einsum("bhd,bhe->bhde", v[:, :, t], kt)
        n = f[..., None] * n + i[..., None] * kt
        denominator = np.maximum(np.abs((n * q[:, :, t]).sum(-1)), np.exp(-m_new)) + (0 if plain else eps)
        hs.append(np.einsum("bhde,bhe->bhd", C, q[:, :, t]) / denominator[..., None])
        m = m_new
    return np.stack(hs, 2)


def np_mlstm_parallel(q, k, v, ĩ, f̃, eps=1e-6):
    """The parallel form (appendix A.3): D_tj = exp(Σ_{j<l<=t} log σ(f̃_l) + ĩ_j) for j <= t, stabilised row by
    row by its largest log, h = (q k^T/sqrt(DH) ∘ D) v / (max(|row sum|, exp(-row max)) + eps)."""
    S, DH = q.shape[2], q.shape[3]
    cum = np.cumsum(log_sigmoid(f̃), -1)
    logD = cum[..., :, None] - cum[..., None, :] + ĩ[..., None, :]
    logD = np.where(np.tril(np.ones((S, S), bool)), logD, -np.inf)
    top = logD.max(-1, keepdims=True)
    Cm = np.einsum("bhsd,bhtd->bhst", q, k / math.sqrt(DH)) * np.exp(logD - top)
    normaliser = np.maximum(np.abs(Cm.sum(-1, keepdims=True)), np.exp(-top))
    return (Cm / (normaliser + eps)) @ v


def test_slstm_pointwise_step_is_the_papers_stabilised_exponential_gating(float64):
    rng = np.random.default_rng(0)
    B, H = 3, 4
    Wx, Ry, b = rng.normal(size=(B, 4 * H)), rng.normal(size=(B, 4 * H)), rng.normal(size=(1, 4 * H))
    y0, c0, m0 = rng.normal(size=(B, H)), rng.normal(size=(B, H)), rng.normal(size=(B, H))
    n0 = rng.uniform(0.5, 2.0, size=(B, H))
    states, gates = slstm_forward_pointwise(torch.tensor(Wx), torch.tensor(Ry), torch.tensor(b),
                                            torch.tensor(np.stack([y0, c0, n0, m0])), constants={})
    y, c, n, m, (i, f) = np_slstm_step(Wx + Ry + b, c0, n0, m0, first=False)
    assert states.shape == (4, B, H) and gates.shape == (4, B, H)
    np.testing.assert_allclose(states.data, np.stack([y, c, n, m]), rtol=1e-13, atol=1e-15)
    raw = Wx + Ry + b
    np.testing.assert_allclose(gates.data, np.stack([i, f, raw[:, 2 * H:3 * H], sigmoid(raw[:, 3 * H:])]),
                               rtol=1e-13, atol=1e-15)
    # stabilised gates never exceed 1 (one of them is exactly 1), and undoing the stabiliser gives the plain
    # exponential gating: exp(m_t) i' = exp(ĩ), exp(m_t) f' = σ(f̃) exp(m_{t-1})
    assert np.all(np.maximum(gates.data[0], gates.data[1]) == 1.0)
    np.testing.assert_allclose(np.exp(m) * gates.data[0], np.exp(raw[:, :H]), rtol=1e-13)
    np.testing.assert_allclose(np.exp(m) * gates.data[1], sigmoid(raw[:, H:2 * H]) * np.exp(m0), rtol=1e-13)
    # from the zero state the stabiliser starts at the input gate's pre-activation
    states, _ = slstm_forward_pointwise(torch.tensor(Wx), torch.tensor(Ry), torch.tensor(b),
                                        torch.zeros(4, B, H), constants={})
    np.testing.assert_allclose(states.data[3], raw[:, :H], rtol=1e-15)
    np.testing.assert_allclose(states.data[2], np.ones((B, H)), rtol=1e-15)
    np.testing.assert_allclose(states.data[0], sigmoid(raw[:, 3 * H:]) * np.tanh(raw[:, 2 * H:3 * H]), rtol=1e-13)


def test_slstm_forward_with_heads_is_numpys_and_the_stabiliser_leaves_h_unchanged(float64):
    rng = np.random.default_rng(1)
    S, B, K, dh = 6, 2, 2, 3
    H = K * dh
    Wx, R, b = rng.normal(size=(S, B, 4 * H)), rng.normal(size=(K, 4 * dh, dh)) * 0.5, rng.normal(size=4 * H)
    states_all, last, g = slstm_forward(torch.tensor(Wx), torch.zeros(4, B, H), torch.tensor(R), torch.tensor(b),
                                        slstm_forward_pointwise)
    assert states_all.shape == (4, S + 1, B, H) and last.shape == (4, B, H) and g.shape == (S + 1, 4, B, H)
    h, c, n, m = np_slstm(Wx, R, b)
    np.testing.assert_allclose(states_all.data[:, 1:], np.stack([h, c, n, m]), rtol=1e-12, atol=1e-14)
    assert not states_all.data[:, 0].any() and not g.data[-1].any()
    np.testing.assert_array_equal(last.data, states_all.data[:, -1])
    # the unstabilised recurrence gives the same h; its c and n are the stabilised ones times exp(m_t)
    hp, cp, np_, _ = np_slstm(Wx, R, b, plain=True)
    np.testing.assert_allclose(states_all.data[0, 1:], hp, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(states_all.data[1, 1:] * np.exp(m), cp, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(states_all.data[2, 1:] * np.exp(m), np_, rtol=1e-11)


def test_slstm_large_input_gates_stay_finite_in_float32_where_plain_exponentials_overflow():
    """ĩ around 100: exp(ĩ) is past float32's largest number (3.4e38), so the plain recurrence is inf/inf there; the
    stabilised one keeps every exp argument <= 0 and gives float64 numpy's h."""
    rng = np.random.default_rng(2)
    S, B, K, dh = 5, 2, 1, 4
    Wx = rng.normal(size=(S, B, 16))
    Wx[:, :, :4] += 100.0
    R, b = rng.normal(size=(K, 16, dh)) * 0.3, np.zeros(16)
    with np.errstate(over="ignore", invalid="ignore"):
        assert not np.isfinite(np.exp(np.float32(Wx[0, 0, 0])))
    states_all, _, _ = slstm_forward(torch.tensor(Wx, dtype=torch.float32), torch.zeros(4, B, 4),
                                     torch.tensor(R, dtype=torch.float32), torch.tensor(b, dtype=torch.float32),
                                     slstm_forward_pointwise)
    assert states_all.dtype == torch.float32 and np.all(np.isfinite(states_all.data))
    np.testing.assert_allclose(states_all.data[0, 1:], np_slstm(Wx, R, b)[0], rtol=2e-5, atol=2e-6)


def test_slstm_gradients_by_central_differences_in_float64(float64):
    rng = np.random.default_rng(3)
    S, B, K, dh = 4, 2, 2, 2
    H = K * dh
    Wx, R, b = rng.normal(size=(S, B, 4 * H)), rng.normal(size=(K, 4 * dh, dh)) * 0.5, rng.normal(size=4 * H)
    weights = rng.normal(size=(S, B, H))
    tensors = [torch.tensor(a, requires_grad=True) for a in (Wx, R, b)]
    states_all, _, _ = slstm_forward(tensors[0], torch.zeros(4, B, H), tensors[1], tensors[2],
                                     slstm_forward_pointwise)
    (states_all[0, 1:] * torch.tensor(weights)).sum().backward()
    values = [Wx, R, b]
    for which, tensor in enumerate(tensors):
        def f(value):
            args_ = list(values)
            args_[which] = value
            return (np_slstm(*args_)[0] * weights).sum()
        indices = some_indices(values[which].shape, count=6, seed=which)
        np.testing.assert_allclose([tensor.grad[i] for i in indices], central(f, values[which], indices),
                                   rtol=1e-6, atol=1e-9)


def mlstm_inputs(rng, B=2, NH=2, S=6, DH=3, gate_shift=0.0):
    q, k, v = (rng.normal(size=(B, NH, S, DH)) for _ in range(3))
    ĩ, f̃ = rng.normal(size=(B, NH, S)) + gate_shift, rng.normal(size=(B, NH, S)) + 1.0
    return q, k, v, ĩ, f̃


def run_recurrent_steps(q, k, v, ĩ, f̃, eps=1e-6, dtype=None):
    B, NH, S, DH = q.shape
    T = {"dtype": dtype} if dtype else {}
    c, n, m = torch.zeros(B, NH, DH, DH, **T), torch.zeros(B, NH, DH, 1, **T), torch.zeros(B, NH, 1, 1, **T)
    hs = []
    for t in range(S):
        h, (c, n, m) = recurrent_step_stabilized_simple(
            c, n, m, *(torch.tensor(a[:, :, t:t + 1], **T) for a in (q, k, v)),
            torch.tensor(ĩ[:, :, t, None, None], **T), torch.tensor(f̃[:, :, t, None, None], **T), eps=eps)
        hs.append(h)
    return torch.cat(hs, 2), m


def test_mlstm_recurrent_step_is_the_papers_stabilised_matrix_memory(float64):
    rng = np.random.default_rng(4)
    q, k, v, ĩ, f̃ = mlstm_inputs(rng)
    h, m = run_recurrent_steps(q, k, v, ĩ, f̃)
    assert h.shape == q.shape and m.shape == (2, 2, 1, 1)
    np.testing.assert_allclose(h.data, np_mlstm_recurrent(q, k, v, ĩ, f̃), rtol=1e-12, atol=1e-14)
    # without eps the stabiliser changes nothing: h = C q / max(|n^T q|, 1) with i = exp(ĩ) and f = σ(f̃) as they are
    h0, _ = run_recurrent_steps(q, k, v, ĩ, f̃, eps=0.0)
    np.testing.assert_allclose(h0.data, np_mlstm_recurrent(q, k, v, ĩ, f̃, plain=True), rtol=1e-11, atol=1e-13)


def test_mlstm_parallel_form_is_numpys_and_equals_the_recurrent_form(float64):
    rng = np.random.default_rng(5)
    q, k, v, ĩ, f̃ = mlstm_inputs(rng, S=7)
    h = parallel_stabilized_simple(*(torch.tensor(a) for a in (q, k, v)), torch.tensor(ĩ[..., None]),
                                   torch.tensor(f̃[..., None]))
    np.testing.assert_allclose(h.data, np_mlstm_parallel(q, k, v, ĩ, f̃), rtol=1e-12, atol=1e-14)
    h0 = parallel_stabilized_simple(*(torch.tensor(a) for a in (q, k, v)), torch.tensor(ĩ[..., None]),
                                    torch.tensor(f̃[..., None]), eps=0.0)
    np.testing.assert_allclose(h0.data, np_mlstm_recurrent(q, k, v, ĩ, f̃, plain=True), rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(h0.data, run_recurrent_steps(q, k, v, ĩ, f̃, eps=0.0)[0].data, rtol=1e-11,
                               atol=1e-13)


def test_mlstm_large_input_gates_stay_finite_in_float32():
    rng = np.random.default_rng(6)
    q, k, v, ĩ, f̃ = mlstm_inputs(rng, gate_shift=95.0)
    T = {"dtype": torch.float32}
    h = parallel_stabilized_simple(*(torch.tensor(a, **T) for a in (q, k, v)), torch.tensor(ĩ[..., None], **T),
                                   torch.tensor(f̃[..., None], **T), eps=0.0)
    hr, _ = run_recurrent_steps(q, k, v, ĩ, f̃, eps=0.0, dtype=torch.float32)
    expected = np_mlstm_recurrent(q, k, v, ĩ, f̃, plain=True)            # float64, where exp(95) = 1.8e41 is fine
    for got in (h, hr):
        assert got.dtype == torch.float32 and np.all(np.isfinite(got.data))
        np.testing.assert_allclose(got.data, expected, rtol=1e-4, atol=1e-5)


def test_mlstm_gradients_of_both_forms_by_central_differences_in_float64(float64):
    rng = np.random.default_rng(7)
    q, k, v, ĩ, f̃ = mlstm_inputs(rng, S=5)
    values = [q, k, v, ĩ, f̃]
    weights = rng.normal(size=q.shape)
    for form in ("parallel", "recurrent"):
        tensors = [torch.tensor(a, requires_grad=True) for a in values]
        if form == "parallel":
            h = parallel_stabilized_simple(*tensors[:3], tensors[3].unsqueeze(-1), tensors[4].unsqueeze(-1))
        else:
            B, NH, S, DH = q.shape
            projected = [a * 1.0 for a in tensors[:3]]
            c, n, m = torch.zeros(B, NH, DH, DH), torch.zeros(B, NH, DH, 1), torch.zeros(B, NH, 1, 1)
            hs = []
            for t in range(S):
                # each step's q, k, v a tensor of its own, as mLSTMCell.step's projections of one token are (the
                # step squeezes them in place, squeeze_; a part q[:, :, t:t + 1] is the test below)
                ht, (c, n, m) = recurrent_step_stabilized_simple(
                    c, n, m, *(a[:, :, t:t + 1] * 1.0 for a in projected),
                    tensors[3][:, :, t, None, None], tensors[4][:, :, t, None, None])
                hs.append(ht)
            h = torch.cat(hs, 2)
            assert all(a.shape == q.shape for a in projected)
        (h * torch.tensor(weights)).sum().backward()
        numpy_form = np_mlstm_parallel if form == "parallel" else np_mlstm_recurrent
        for which, tensor in enumerate(tensors):
            def f(value):
                args_ = list(values)
                args_[which] = value
                return (numpy_form(*args_) * weights).sum()
            indices = some_indices(values[which].shape, count=4, seed=which)
            np.testing.assert_allclose([tensor.grad[i] for i in indices], central(f, values[which], indices),
                                       rtol=1e-6, atol=1e-9, err_msg=f"{form} {which}")


def test_recurrent_step_on_slices_of_a_projected_sequence_squeezes_the_parts_as_pytorchs_views(float64):
    """Stepping recurrent_step_stabilized_simple along a sequence projected at once hands it q[:, :, t:t + 1] (a
    view in PyTorch), which it squeezes in place. PyTorch changes the view's own shape, the base keeps its own; so
    here (squeeze_ refused a part until session 34; the parts stay parts). The values are the paper's and the
    gradient reaches the projected base."""
    rng = np.random.default_rng(8)
    q, k, v, ĩ, f̃ = mlstm_inputs(rng, S=3)
    leaves = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
    projected = [a * 1.0 for a in leaves]
    B, NH, S, DH = q.shape
    c, n, m = torch.zeros(B, NH, DH, DH), torch.zeros(B, NH, DH, 1), torch.zeros(B, NH, 1, 1)
    gates = torch.tensor(ĩ[:, :, 0, None, None]), torch.tensor(f̃[:, :, 0, None, None])
    parts = [a[:, :, 0:1] for a in projected]
    h, _ = recurrent_step_stabilized_simple(c, n, m, *parts, *gates)
    assert all(part.shape == (B, NH, DH) for part in parts) and all(a.shape == q.shape for a in projected)
    np.testing.assert_allclose(h.data, np_mlstm_recurrent(q[:, :, :1], k[:, :, :1], v[:, :, :1], ĩ[:, :, :1],
                                                          f̃[:, :, :1]), rtol=1e-12)
    h.sum().backward()
    f = lambda value: np_mlstm_recurrent(value[:, :, :1], k[:, :, :1], v[:, :, :1], ĩ[:, :, :1], f̃[:, :, :1]).sum()
    indices = some_indices(q.shape, count=4)
    np.testing.assert_allclose([leaves[0].grad[i] for i in indices], central(f, q, indices), rtol=1e-6, atol=1e-9)


class TinySLSTM(nn.Module):
    """The test's own model around slstm_forward (as xlstm's sLSTM layer uses it): W x by a linear layer, the
    head-wise recurrent weights R and the bias b as parameters, from zero states; a linear read-out of h."""

    def __init__(self, input_size, num_heads, head_dim):
        super().__init__()
        self.hidden = num_heads * head_dim
        self.W = nn.Linear(input_size, 4 * self.hidden, bias=False)
        self.R = nn.Parameter(torch.randn(num_heads, 4 * head_dim, head_dim) * 0.3)
        self.b = nn.Parameter(torch.zeros(4 * self.hidden))
        self.out = nn.Linear(self.hidden, 1)

    def forward(self, x):                                     # x (S, B, I) -> (S, B)
        states_all, _, _ = slstm_forward(self.W(x), torch.zeros(4, x.size(1), self.hidden), self.R, self.b,
                                         slstm_forward_pointwise)
        return self.out(states_all[0, 1:]).squeeze(-1)


class TinyMLSTM(nn.Module):
    """The test's own model around parallel_stabilized_simple (as xlstm's mLSTMCell.forward uses it): q, k, v and
    the gates' pre-activations by linear layers, heads by view and transpose; a linear read-out of h."""

    def __init__(self, input_size, num_heads, head_dim):
        super().__init__()
        self.num_heads, self.head_dim = num_heads, head_dim
        self.q, self.k, self.v = (nn.Linear(input_size, num_heads * head_dim) for _ in range(3))
        self.igate, self.fgate = nn.Linear(input_size, num_heads), nn.Linear(input_size, num_heads)
        self.out = nn.Linear(num_heads * head_dim, 1)

    def forward(self, x):                                     # x (B, S, I) -> (B, S)
        B, S, _ = x.shape
        q, k, v = (f(x).view(B, S, self.num_heads, -1).transpose(1, 2) for f in (self.q, self.k, self.v))
        i, f = (g(x).transpose(-1, -2).unsqueeze(-1) for g in (self.igate, self.fgate))
        h = parallel_stabilized_simple(q, k, v, i, f)
        return self.out(h.transpose(1, 2).reshape(B, S, -1)).squeeze(-1)


def test_small_slstm_and_mlstm_models_learn_a_running_mean():
    """Target: the running mean of the first input channel (a memory the exponential gates can keep: n_t counts
    what c_t sums). 40 Adam steps at lr 0.02 bring both models' MSE below half the variance of the target."""
    rng = np.random.default_rng(9)
    for model_cls, time_major in ((TinySLSTM, True), (TinyMLSTM, False)):
        torch.manual_seed(0)
        model = model_cls(3, 2, 4)
        optimizer = optim.Adam(model.parameters(), lr=0.02)
        losses = []
        for step in range(40):
            x = rng.normal(size=(16, 8, 3))
            y = np.cumsum(x[..., 0], 1) / np.arange(1, 9)
            inputs = torch.tensor(x.transpose(1, 0, 2) if time_major else x, dtype=torch.float32)
            target = torch.tensor(y.T if time_major else y, dtype=torch.float32)
            optimizer.zero_grad()
            loss = F.mse_loss(model(inputs), target)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        variance = np.mean((np.cumsum(rng.normal(size=(4000, 8)), 1) / np.arange(1, 9)) ** 2)   # about 0.34
        assert all(np.isfinite(losses))
        assert np.mean(losses[-10:]) < 0.5 * min(np.mean(losses[:5]), variance), (model_cls.__name__, losses)
