"""Porting, round 30: the `Examples::` blocks of PyTorch's own API documentation, for the PyTorch names the library
has. Each example is written as its docstring writes it, with only the imports changed (`import microgradseq as
torch`, `from microgradseq import nn`, `import microgradseq.nn.functional as F`, `from microgradseq.nn.utils.rnn
import ...`, `from microgradseq.func import ...`; `# differs:` marks each other change and why), then what the
example implies is checked: the shapes the docs print or state, dtypes, the values the docs print (within print
precision), and values against numpy written here (the recurrent layers and cells in PyTorch's gate orders, the
losses and activations from their formulas, Jacobians by hand), never against the library's own output. Random
examples are checked for shapes, dtypes and closed-form relations only. Every source was found in the index
(pytorch/pytorch), none written from memory; the index keeps one revision of each file:

- torch/nn/modules/rnn.py at e6f551aa3e44ae79694352a686f9cf503768ead6: `RNN`, `LSTM`, `GRU`, `RNNCell`, `LSTMCell`,
  `GRUCell` (6 examples);
- torch/nn/utils/rnn.py at 1a4b5fa2295943f07ad3b50d2c669603e5dfc891: `pad_packed_sequence` (with
  `pack_padded_sequence(..., enforce_sorted=False)` and the printed `PackedSequence`), `pad_sequence`,
  `pack_sequence` (3);
- torch/nn/modules/loss.py at 60ceafb3839ed350e1cf028c6888a28fdad246dd: `L1Loss`, `NLLLoss` (its 1-d part), `KLDivLoss`
  (2 parts), `MSELoss`, `BCELoss`, `BCEWithLogitsLoss` (2), `CrossEntropyLoss` (2 parts) (10);
- torch/nn/modules/activation.py at 691d5f4b6f2884330f41b7c1571ed691a4060d59: `Threshold`, `ReLU` (2: plain and
  CReLU), `Hardtanh`, `ReLU6`, `Sigmoid`, `Hardsigmoid`, `Tanh`, `SiLU`, `Mish`, `Hardswish`, `ELU`, `CELU`, `SELU`,
  `GLU`, `GELU`, `Hardshrink`, `LeakyReLU`, `LogSigmoid`, `Softplus`, `Softshrink`, `PReLU`, `Softsign`,
  `Tanhshrink`, `Softmin`, `Softmax`, `LogSoftmax` (27);
- torch/nn/modules/sparse.py at fc42e13b8c5acd65d322cf3d378da374696c1caf: `Embedding` (3 parts: plain, `padding_idx`,
  the pad vector changed under `no_grad`) and `Embedding.from_pretrained` (4);
- torch/nn/modules/linear.py at f2889c83d0672bf95de5c57f770dcbdf07ebee61: `Identity`, `Linear` (2);
- torch/nn/modules/flatten.py at d1dc13efd8b32add0b43cad1c41d5c757bbc0e19: `Unflatten` with a tuple of ints (1);
- torch/nn/modules/normalization.py at f3eef90335dca1b8b1d58e9df340629a5ad2ee1f: `LayerNorm` (NLP and image, 2);
- torch/nn/modules/dropout.py at c246a23e8c4ad21aecdaab40612461b8e9b842fc: `Dropout` (1);
- torch/nn/modules/container.py at 67de33e9c168ad1e804ba5abaad5284ddf698d71: the `MyModule`s of `ModuleList`,
  `ParameterList` and `ParameterDict` (3);
- torch/optim/lr_scheduler.py at 91a8950d1b07074bdd6a13051956e8c470d17f83: `LambdaLR`, `StepLR`, `MultiStepLR`,
  `ReduceLROnPlateau` (4; their `train(...)`/`validate(...)` are stand-ins here and the learning rates their comments
  state are checked; this revision's `ExponentialLR` and `CosineAnnealingLR` have no example);
- torch/autograd/functional.py at 83b8b8ca8239f608e195ea7e7a0951103ea16bb7: `vjp`, `jvp`, `jacobian`, three parts
  each (9);
- torch/_functorch/eager_transforms.py at 6ad91c6af1108088775505732e37cb636d6dc849 (`torch.func`): `vjp` (5), `jacrev`
  (6), `jvp` (2), `jacfwd` (6), `hessian` (1) (20);
- torch/_torch_docs.py at a5a2680b1fd6197f34d5193a170a13559e015b42: `cumsum`, `div`, `dot`, `eq`, `equal`, `exp`,
  `eye`, `floor_divide`, `flatten`, `from_numpy`, `repeat_interleave` (2 blocks), `Generator.manual_seed`,
  `Generator.initial_seed`, `Generator.seed` (15).

Counts: 107 examples tried. 89 ran as written (imports changed only). 8 more ran with one line changed for a name the
library did not have, and run as written since it was added: `torch.empty(...).random_(n)` (`Tensor.random_`) in
`BCEWithLogitsLoss` and `CrossEntropyLoss`, `torch.diag` in three `jacrev` and three `jacfwd` examples. 9 met documented differences, and
each is checked to behave as documented: `create_graph=True` in the three `torch.autograd.functional` examples
(docs/pytorch.md lines 126-127: "`hessian`, `hvp`, `vhp` and `create_graph=True` raise"), `vmap(jacrev(...))`,
`vmap(jacfwd(...))`, `jacrev(jacrev(f))`, `jacfwd(jacrev(f))` and `torch.func.hessian` (lines 224-226: "a transform
of a transform ... raise `NotImplementedError`. There is no `vmap`"), and `torch.from_numpy`'s shared memory (line
38: "`torch.from_numpy` (a copy)"). 1 gap, fixed: `torch.repeat_interleave(y, torch.tensor([1, 2]), dim=0, output_size=3)`
raised `TypeError: repeat_interleave() got an unexpected keyword argument 'output_size'`, where PyTorch documents
`repeat_interleave(input, repeats, dim=None, *, output_size=None)` and prints the same rows as without it.

What the examples print differs in form only where the library's own printing is its own (docs/engine.md: a repr
carries `op=` and `label=`): `embedding.weight` prints `Parameter([[...]], requires_grad=True, label='weight')`
where PyTorch prints `Parameter containing:\ntensor([[...]], requires_grad=True)`, and `output.size()` prints
`(128, 20)` where PyTorch prints `torch.Size([128, 20])` (a plain tuple here, equal to `torch.Size([128, 20])`,
which was added for such comparisons): the tests compare values and sizes, not the printed text.
"""

import math

import numpy as np
import pytest

import microgradseq as torch
import microgradseq.nn.functional as F
from microgradseq import nn
from microgradseq.autograd.functional import jacobian as ag_jacobian, jvp as ag_jvp, vjp as ag_vjp
from microgradseq.func import hessian, jacfwd, jacrev, jvp, vjp, vmap
from microgradseq.nn.utils.rnn import pack_padded_sequence, pack_sequence, pad_packed_sequence, pad_sequence
from microgradseq.optim.lr_scheduler import LambdaLR, MultiStepLR, ReduceLROnPlateau, StepLR
from test_mutation_check_recurrent import np_gru_cell, np_lstm_cell, np_rnn_cell   # PyTorch's equations


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(30)


def _np(t):
    return np.asarray(t.detach().numpy(), dtype=np.float64)


def _sig(x):
    return 1.0 / (1.0 + np.exp(-x))


# ---- numpy references of PyTorch's recurrent equations (rnn.py's docstrings) ------------------------------------

def _layer_weights(module, layer):
    return [_np(getattr(module, f"{name}_l{layer}")) for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]


def _ref_stack(module, kind, x, h0, c0=None):
    """A stacked, one-directional layer over (T, B, I) from (L, B, H) states, as rnn.py's equations."""
    inputs, h_n, c_n = x, [], []
    for layer in range(module.num_layers):
        w = _layer_weights(module, layer)
        h, c, outs = h0[layer], None if c0 is None else c0[layer], []
        for t in range(inputs.shape[0]):
            if kind == "lstm":
                h, c = np_lstm_cell(inputs[t], h, c, *w)
            elif kind == "gru":
                h = np_gru_cell(inputs[t], h, *w)
            else:
                h = np_rnn_cell(inputs[t], h, *w)
            outs.append(h)
        inputs = np.stack(outs)
        h_n.append(h)
        c_n.append(c)
    return inputs, np.stack(h_n), (None if c0 is None else np.stack(c_n))


# ---- torch/nn/modules/rnn.py -----------------------------------------------------------------------------------

def test_rnn_example():
    rnn = nn.RNN(10, 20, 2)
    input = torch.randn(5, 3, 10)
    h0 = torch.randn(2, 3, 20)
    output, hn = rnn(input, h0)
    assert output.shape == (5, 3, 20) and hn.shape == (2, 3, 20)
    assert output.dtype == np.float32 and hn.dtype == np.float32
    out, h_n, _ = _ref_stack(rnn, "rnn", _np(input), _np(h0))
    np.testing.assert_allclose(_np(output), out, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(_np(hn), h_n, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(_np(output[-1]), _np(hn[-1]))     # the top layer's last step


def test_lstm_example():
    rnn = nn.LSTM(10, 20, 2)
    input = torch.randn(5, 3, 10)
    h0 = torch.randn(2, 3, 20)
    c0 = torch.randn(2, 3, 20)
    output, (hn, cn) = rnn(input, (h0, c0))
    assert output.shape == (5, 3, 20) and hn.shape == (2, 3, 20) and cn.shape == (2, 3, 20)
    out, h_n, c_n = _ref_stack(rnn, "lstm", _np(input), _np(h0), _np(c0))
    np.testing.assert_allclose(_np(output), out, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(_np(hn), h_n, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(_np(cn), c_n, rtol=1e-5, atol=1e-5)
    assert rnn.weight_ih_l0.shape == (4 * 20, 10) and rnn.weight_ih_l1.shape == (4 * 20, 20)
    bound = 1 / math.sqrt(20)                                          # U(-sqrt(k), sqrt(k)), k = 1/hidden_size
    assert all(np.abs(_np(p)).max() <= bound for p in rnn.parameters())


def test_gru_example():
    rnn = nn.GRU(10, 20, 2)
    input = torch.randn(5, 3, 10)
    h0 = torch.randn(2, 3, 20)
    output, hn = rnn(input, h0)
    assert output.shape == (5, 3, 20) and hn.shape == (2, 3, 20)
    out, h_n, _ = _ref_stack(rnn, "gru", _np(input), _np(h0))
    np.testing.assert_allclose(_np(output), out, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(_np(hn), h_n, rtol=1e-5, atol=1e-5)


def _cell_weights(cell):
    return [_np(getattr(cell, name)) for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]


def test_rnncell_example():
    rnn = nn.RNNCell(10, 20)
    input = torch.randn(6, 3, 10)
    hx = torch.randn(3, 20)
    h = _np(hx)
    output = []
    for i in range(6):
        hx = rnn(input[i], hx)
        output.append(hx)
    assert len(output) == 6 and all(o.shape == (3, 20) for o in output)
    for i in range(6):
        h = np_rnn_cell(_np(input[i]), h, *_cell_weights(rnn))
        np.testing.assert_allclose(_np(output[i]), h, rtol=1e-5, atol=1e-5)


def test_lstmcell_example():
    rnn = nn.LSTMCell(10, 20)  # (input_size, hidden_size)
    input = torch.randn(2, 3, 10)  # (time_steps, batch, input_size)
    hx = torch.randn(3, 20)  # (batch, hidden_size)
    cx = torch.randn(3, 20)
    h, c = _np(hx), _np(cx)
    output = []
    for i in range(input.size()[0]):
        hx, cx = rnn(input[i], (hx, cx))
        output.append(hx)
    output = torch.stack(output, dim=0)
    assert output.shape == (2, 3, 20)
    for i in range(2):
        h, c = np_lstm_cell(_np(input[i]), h, c, *_cell_weights(rnn))
        np.testing.assert_allclose(_np(output[i]), h, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(_np(cx), c, rtol=1e-5, atol=1e-5)


def test_grucell_example():
    rnn = nn.GRUCell(10, 20)
    input = torch.randn(6, 3, 10)
    hx = torch.randn(3, 20)
    h = _np(hx)
    output = []
    for i in range(6):
        hx = rnn(input[i], hx)
        output.append(hx)
    for i in range(6):
        h = np_gru_cell(_np(input[i]), h, *_cell_weights(rnn))
        np.testing.assert_allclose(_np(output[i]), h, rtol=1e-5, atol=1e-5)


# ---- torch/nn/utils/rnn.py -------------------------------------------------------------------------------------

def test_pad_packed_sequence_example():
    seq = torch.tensor([[1, 2, 0], [3, 0, 0], [4, 5, 6]])
    lens = [2, 1, 3]
    packed = pack_padded_sequence(seq, lens, batch_first=True, enforce_sorted=False)
    # PackedSequence(data=tensor([4, 1, 3, 5, 2, 6]), batch_sizes=tensor([3, 2, 1]),
    #                sorted_indices=tensor([2, 0, 1]), unsorted_indices=tensor([1, 2, 0]))
    assert packed.data.tolist() == [4, 1, 3, 5, 2, 6] and packed.batch_sizes.tolist() == [3, 2, 1]
    assert packed.sorted_indices.tolist() == [2, 0, 1] and packed.unsorted_indices.tolist() == [1, 2, 0]
    assert packed.data.dtype == np.int64
    assert repr(packed) == ("PackedSequence(data=tensor([4, 1, 3, 5, 2, 6]), batch_sizes=tensor([3, 2, 1]), "
                            "sorted_indices=tensor([2, 0, 1]), unsorted_indices=tensor([1, 2, 0]))")
    seq_unpacked, lens_unpacked = pad_packed_sequence(packed, batch_first=True)
    assert seq_unpacked.tolist() == [[1, 2, 0], [3, 0, 0], [4, 5, 6]]
    assert lens_unpacked.tolist() == [2, 1, 3]
    assert repr(seq_unpacked) == "tensor([[1, 2, 0],\n        [3, 0, 0],\n        [4, 5, 6]])"
    assert repr(lens_unpacked) == "tensor([2, 1, 3])"


def test_pad_sequence_example():
    a = torch.ones(25, 300)
    b = torch.ones(22, 300)
    c = torch.ones(15, 300)
    assert pad_sequence([a, b, c]).size() == torch.Size([25, 3, 300])
    padded = _np(pad_sequence([a, b, c]))
    assert padded.sum() == (25 + 22 + 15) * 300 and (padded[22:, 1] == 0).all() and (padded[15:, 2] == 0).all()


def test_pack_sequence_example():
    a = torch.tensor([1, 2, 3])
    b = torch.tensor([4, 5])
    c = torch.tensor([6])
    packed = pack_sequence([a, b, c])
    # PackedSequence(data=tensor([ 1,  4,  6,  2,  5,  3]), batch_sizes=tensor([ 3,  2,  1]))
    assert packed.data.tolist() == [1, 4, 6, 2, 5, 3] and packed.batch_sizes.tolist() == [3, 2, 1]


# ---- torch/nn/modules/loss.py ----------------------------------------------------------------------------------

def _grad_of(output, input):
    output.backward()
    assert input.grad is not None and input.grad.shape == input.shape
    return input.grad


def test_l1loss_example():
    loss = nn.L1Loss()
    input = torch.randn(3, 5, requires_grad=True)
    target = torch.randn(3, 5)
    output = loss(input, target)
    output.backward()
    diff = _np(input) - _np(target)
    assert output.shape == () and output.item() == pytest.approx(np.abs(diff).mean(), rel=1e-6)
    np.testing.assert_allclose(input.grad, np.sign(diff) / 15, rtol=1e-6)


def test_nllloss_example():
    m = nn.LogSoftmax(dim=1)
    loss = nn.NLLLoss()
    # input is of size N x C = 3 x 5
    input = torch.randn(3, 5, requires_grad=True)
    # each element in target has to have 0 <= value < C
    target = torch.tensor([1, 0, 4])
    output = loss(m(input), target)
    output.backward()
    x = _np(input)
    logp = x - np.log(np.exp(x).sum(1, keepdims=True))
    assert output.item() == pytest.approx(-logp[[0, 1, 2], [1, 0, 4]].mean(), rel=1e-5)
    expected = np.exp(logp) / 3
    expected[[0, 1, 2], [1, 0, 4]] -= 1 / 3
    np.testing.assert_allclose(input.grad, expected, rtol=1e-5, atol=1e-7)


def test_kldivloss_example():
    kl_loss = nn.KLDivLoss(reduction="batchmean")
    # input should be a distribution in the log space
    input = F.log_softmax(torch.randn(3, 5, requires_grad=True), dim=1)
    # Sample a batch of distributions. Usually this would come from the dataset
    target = F.softmax(torch.rand(3, 5), dim=1)
    output = kl_loss(input, target)
    x, y = _np(input), _np(target)
    assert output.item() == pytest.approx((y * (np.log(y) - x)).sum() / 3, rel=1e-5)

    kl_loss = nn.KLDivLoss(reduction="batchmean", log_target=True)
    log_target = F.log_softmax(torch.rand(3, 5), dim=1)
    output = kl_loss(input, log_target)
    lt = _np(log_target)
    assert output.item() == pytest.approx((np.exp(lt) * (lt - x)).sum() / 3, rel=1e-5)
    assert output.item() >= 0                                          # a KL divergence of distributions


def test_mseloss_example():
    loss = nn.MSELoss()
    input = torch.randn(3, 5, requires_grad=True)
    target = torch.randn(3, 5)
    output = loss(input, target)
    output.backward()
    diff = _np(input) - _np(target)
    assert output.item() == pytest.approx((diff ** 2).mean(), rel=1e-5)
    np.testing.assert_allclose(input.grad, 2 * diff / 15, rtol=1e-5, atol=1e-7)


def test_bceloss_example():
    m = nn.Sigmoid()
    loss = nn.BCELoss()
    input = torch.randn(3, 2, requires_grad=True)
    target = torch.rand(3, 2, requires_grad=False)
    output = loss(m(input), target)
    output.backward()
    p, y = _sig(_np(input)), _np(target)
    assert output.item() == pytest.approx(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean(), rel=1e-5)
    np.testing.assert_allclose(input.grad, (p - y) / 6, rtol=1e-4, atol=1e-6)


def test_bcewithlogitsloss_pos_weight_example():
    target = torch.ones([10, 64], dtype=torch.float32)  # 64 classes, batch size = 10
    output = torch.full([10, 64], 1.5)  # A prediction (logit)
    pos_weight = torch.ones([64])  # All weights are equal to 1
    criterion = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight)
    value = criterion(output, target)  # -log(sigmoid(1.5))
    assert f"{value.item():.2f}" == "0.20"                              # tensor(0.20...)
    assert value.item() == pytest.approx(-math.log(1 / (1 + math.exp(-1.5))), rel=1e-6)


def test_bcewithlogitsloss_example():
    loss = nn.BCEWithLogitsLoss()
    input = torch.randn(3, requires_grad=True)
    target = torch.empty(3).random_(2)
    output = loss(input, target)
    output.backward()
    x, y = _np(input), _np(target)
    assert output.item() == pytest.approx(np.mean(np.logaddexp(0, x) - y * x), rel=1e-5)
    np.testing.assert_allclose(input.grad, (_sig(x) - y) / 3, rtol=1e-5, atol=1e-7)


def test_crossentropyloss_example():
    # Example of target with class indices
    loss = nn.CrossEntropyLoss()
    input = torch.randn(3, 5, requires_grad=True)
    target = torch.empty(3, dtype=torch.long).random_(5)
    output = loss(input, target)
    output.backward()
    x = _np(input)
    logp = x - np.log(np.exp(x).sum(1, keepdims=True))
    assert output.item() == pytest.approx(-logp[np.arange(3), target.numpy()].mean(), rel=1e-5)

    # Example of target with class probabilities
    input = torch.randn(3, 5, requires_grad=True)
    target = torch.randn(3, 5).softmax(dim=1)
    output = loss(input, target)
    output.backward()
    x, y = _np(input), _np(target)
    logp = x - np.log(np.exp(x).sum(1, keepdims=True))
    assert output.item() == pytest.approx(-(y * logp).sum(1).mean(), rel=1e-5)
    np.testing.assert_allclose(input.grad, (np.exp(logp) - y) / 3, rtol=1e-4, atol=1e-6)


# ---- torch/nn/modules/activation.py: m = nn.X(...); input = torch.randn(2); output = m(input) --------------------

SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def _softplus(x):
    return np.logaddexp(0, x)


ELEMENTWISE = [
    ("Threshold", lambda: nn.Threshold(0.1, 20), lambda x: np.where(x > 0.1, x, 20.0)),
    ("ReLU", lambda: nn.ReLU(), lambda x: np.maximum(x, 0)),
    ("Hardtanh", lambda: nn.Hardtanh(-2, 2), lambda x: np.clip(x, -2, 2)),
    ("ReLU6", lambda: nn.ReLU6(), lambda x: np.minimum(np.maximum(x, 0), 6)),
    ("Sigmoid", lambda: nn.Sigmoid(), _sig),
    ("Hardsigmoid", lambda: nn.Hardsigmoid(), lambda x: np.clip(x / 6 + 0.5, 0, 1)),
    ("Tanh", lambda: nn.Tanh(), np.tanh),
    ("SiLU", lambda: nn.SiLU(), lambda x: x * _sig(x)),
    ("Mish", lambda: nn.Mish(), lambda x: x * np.tanh(_softplus(x))),
    ("Hardswish", lambda: nn.Hardswish(), lambda x: np.where(x <= -3, 0, np.where(x >= 3, x, x * (x + 3) / 6))),
    ("ELU", lambda: nn.ELU(), lambda x: np.where(x > 0, x, np.expm1(x))),
    ("CELU", lambda: nn.CELU(), lambda x: np.maximum(0, x) + np.minimum(0, np.expm1(x))),
    ("SELU", lambda: nn.SELU(), lambda x: SELU_SCALE * (np.maximum(0, x) + np.minimum(0, SELU_ALPHA * np.expm1(x)))),
    ("GELU", lambda: nn.GELU(), None),
    ("Hardshrink", lambda: nn.Hardshrink(), lambda x: np.where(np.abs(x) > 0.5, x, 0)),
    ("LeakyReLU", lambda: nn.LeakyReLU(0.1), lambda x: np.where(x >= 0, x, 0.1 * x)),
    ("LogSigmoid", lambda: nn.LogSigmoid(), lambda x: -_softplus(-x)),
    ("Softplus", lambda: nn.Softplus(), _softplus),
    ("Softshrink", lambda: nn.Softshrink(), lambda x: np.where(x > 0.5, x - 0.5, np.where(x < -0.5, x + 0.5, 0))),
    ("PReLU", lambda: nn.PReLU(), lambda x: np.where(x >= 0, x, 0.25 * x)),
    ("Softsign", lambda: nn.Softsign(), lambda x: x / (1 + np.abs(x))),
    ("Tanhshrink", lambda: nn.Tanhshrink(), lambda x: x - np.tanh(x)),
]


def _gelu(x):
    return np.array([0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in x.ravel()]).reshape(x.shape)


@pytest.mark.parametrize("name, make, reference", ELEMENTWISE, ids=[row[0] for row in ELEMENTWISE])
def test_elementwise_activation_examples(name, make, reference):
    m = make()
    input = torch.randn(2)
    output = m(input)
    assert output.shape == (2,) and output.dtype == np.float32
    expected = (_gelu if reference is None else reference)(_np(input))
    np.testing.assert_allclose(_np(output), expected, rtol=1e-5, atol=1e-6)


def test_relu_crelu_example():
    m = nn.ReLU()
    input = torch.randn(2).unsqueeze(0)
    output = torch.cat((m(input), m(-input)))
    x = _np(input)
    assert output.shape == (2, 2)
    np.testing.assert_array_equal(_np(output), np.concatenate([np.maximum(x, 0), np.maximum(-x, 0)]))


def test_glu_example():
    m = nn.GLU()
    input = torch.randn(4, 2)
    output = m(input)
    x = _np(input)
    assert output.shape == (4, 1)
    np.testing.assert_allclose(_np(output), x[:, :1] * _sig(x[:, 1:]), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", ["Softmin", "Softmax", "LogSoftmax"])
def test_softmax_family_examples(name):
    m = getattr(nn, name)(dim=1)
    input = torch.randn(2, 3)
    output = m(input)
    x = _np(input)
    sign = -1 if name == "Softmin" else 1
    p = np.exp(sign * x) / np.exp(sign * x).sum(1, keepdims=True)
    assert output.shape == (2, 3)
    np.testing.assert_allclose(_np(output), np.log(p) if name == "LogSoftmax" else p, rtol=1e-5, atol=1e-6)


# ---- torch/nn/modules/sparse.py --------------------------------------------------------------------------------

def test_embedding_examples():
    # an Embedding module containing 10 tensors of size 3
    embedding = nn.Embedding(10, 3)
    # a batch of 2 samples of 4 indices each
    input = torch.LongTensor([[1, 2, 4, 5], [4, 3, 2, 9]])
    out = embedding(input)
    assert out.shape == (2, 4, 3) and out.dtype == np.float32
    np.testing.assert_array_equal(_np(out), _np(embedding.weight)[input.numpy()])
    np.testing.assert_array_equal(_np(out[0, 2]), _np(out[1, 0]))      # index 4 twice, as the printout shows

    # example with padding_idx
    embedding = nn.Embedding(10, 3, padding_idx=0)
    input = torch.LongTensor([[0, 2, 0, 5]])
    out = _np(embedding(input))
    assert out.shape == (1, 4, 3) and (out[0, 0] == 0).all() and (out[0, 2] == 0).all()

    # example of changing `pad` vector
    padding_idx = 0
    embedding = nn.Embedding(3, 3, padding_idx=padding_idx)
    assert (_np(embedding.weight)[0] == 0).all() and embedding.weight.requires_grad
    rows = _np(embedding.weight)[1:].copy()
    with torch.no_grad():
        embedding.weight[padding_idx] = torch.ones(3)
    assert (_np(embedding.weight)[0] == 1).all() and embedding.weight.requires_grad
    np.testing.assert_array_equal(_np(embedding.weight)[1:], rows)


def test_embedding_from_pretrained_example():
    # FloatTensor containing pretrained weights
    weight = torch.FloatTensor([[1, 2.3, 3], [4, 5.1, 6.3]])
    embedding = nn.Embedding.from_pretrained(weight)
    # Get embeddings for index 1
    input = torch.LongTensor([1])
    out = embedding(input)
    np.testing.assert_allclose(_np(out), [[4.0, 5.1, 6.3]], rtol=1e-6)  # tensor([[ 4.0000,  5.1000,  6.3000]])
    assert not embedding.weight.requires_grad                          # freeze=True


# ---- torch/nn/modules/linear.py, flatten.py, normalization.py ---------------------------------------------------

def test_identity_example():
    m = nn.Identity(54, unused_argument1=0.1, unused_argument2=False)
    input = torch.randn(128, 20)
    output = m(input)
    assert output.size() == torch.Size([128, 20])
    np.testing.assert_array_equal(_np(output), _np(input))


def test_linear_example():
    m = nn.Linear(20, 30)
    input = torch.randn(128, 20)
    output = m(input)
    assert output.size() == torch.Size([128, 30])
    np.testing.assert_allclose(_np(output), _np(input) @ _np(m.weight).T + _np(m.bias), rtol=1e-5, atol=1e-5)
    bound = 1 / math.sqrt(20)
    assert np.abs(_np(m.weight)).max() <= bound and np.abs(_np(m.bias)).max() <= bound


def test_unflatten_example():
    input = torch.randn(2, 50)
    # With tuple of ints
    m = nn.Sequential(
        nn.Linear(50, 50),
        nn.Unflatten(1, (2, 5, 5))
    )
    output = m(input)
    assert output.size() == torch.Size([2, 2, 5, 5])
    np.testing.assert_allclose(_np(output).reshape(2, 50), _np(m[0](input)), rtol=1e-5, atol=1e-6)


def test_layernorm_examples():
    # NLP Example
    batch, sentence_length, embedding_dim = 20, 5, 10
    embedding = torch.randn(batch, sentence_length, embedding_dim)
    layer_norm = nn.LayerNorm(embedding_dim)
    # Activate module
    out = _np(layer_norm(embedding))
    x = _np(embedding)
    expected = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5)
    assert out.shape == (20, 5, 10)
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)

    # Image Example
    N, C, H, W = 20, 5, 10, 10
    input = torch.randn(N, C, H, W)
    # Normalize over the last three dimensions (i.e. the channel and spatial dimensions)
    # as shown in the image below
    layer_norm = nn.LayerNorm([C, H, W])
    output = layer_norm(input)
    x = _np(input).reshape(N, -1)
    expected = ((x - x.mean(1, keepdims=True)) / np.sqrt(x.var(1, keepdims=True) + 1e-5)).reshape(N, C, H, W)
    assert output.shape == (N, C, H, W) and layer_norm.weight.shape == (C, H, W)
    np.testing.assert_allclose(_np(output), expected, rtol=1e-4, atol=1e-5)


# ---- torch/optim/lr_scheduler.py: the loops as written, with stand-ins for train(...) and validate(...) -----------

def _optimizer(lr, groups=1):
    params = [nn.Parameter(np.zeros(2, dtype=np.float32)) for _ in range(groups)]
    return torch.optim.SGD([{"params": [p]} for p in params], lr=lr)


def _train(optimizer):
    for group in optimizer.param_groups:
        for p in group["params"]:
            p.grad = np.ones_like(p.data)
    optimizer.step()


def test_lambdalr_example():
    optimizer = _optimizer(0.05, groups=2)
    # Assuming optimizer has two groups.
    lambda1 = lambda epoch: epoch // 30  # noqa: E731
    lambda2 = lambda epoch: 0.95 ** epoch  # noqa: E731
    scheduler = LambdaLR(optimizer, lr_lambda=[lambda1, lambda2])
    seen = []
    for epoch in range(100):
        seen.append([group["lr"] for group in optimizer.param_groups])
        _train(optimizer)                                              # train(...); validate(...)
        scheduler.step()
    for epoch in (0, 29, 30, 61, 99):
        assert seen[epoch][0] == pytest.approx(0.05 * (epoch // 30))
        assert seen[epoch][1] == pytest.approx(0.05 * 0.95 ** epoch)


@pytest.mark.parametrize("which", ["StepLR", "MultiStepLR"])
def test_steplr_and_multisteplr_examples(which):
    optimizer = _optimizer(0.05)
    # Assuming optimizer uses lr = 0.05 for all groups
    if which == "StepLR":
        # lr = 0.05 if epoch < 30; 0.005 if 30 <= epoch < 60; 0.0005 if 60 <= epoch < 90; ...
        scheduler = StepLR(optimizer, step_size=30, gamma=0.1)
        expected = {0: 0.05, 29: 0.05, 30: 0.005, 59: 0.005, 60: 0.0005, 89: 0.0005, 90: 0.00005}
    else:
        # lr = 0.05 if epoch < 30; 0.005 if 30 <= epoch < 80; 0.0005 if epoch >= 80
        scheduler = MultiStepLR(optimizer, milestones=[30, 80], gamma=0.1)
        expected = {0: 0.05, 29: 0.05, 30: 0.005, 79: 0.005, 80: 0.0005, 99: 0.0005}
    seen = []
    for epoch in range(100):
        seen.append(optimizer.param_groups[0]["lr"])
        _train(optimizer)
        scheduler.step()
    for epoch, lr in expected.items():
        assert seen[epoch] == pytest.approx(lr, rel=1e-9)


def test_reducelronplateau_example():
    model = nn.Linear(2, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = ReduceLROnPlateau(optimizer, 'min')
    for epoch in range(10):
        val_loss = 1.0                                                 # validate(...): a loss that never improves
        # Note that step should be called after validate()
        scheduler.step(val_loss)
    assert optimizer.param_groups[0]["lr"] == 0.1                      # patience 10: no cut within 10 epochs
    for epoch in range(2):
        scheduler.step(1.0)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.01)     # the 11th bad epoch cuts by factor 0.1


# ---- torch/nn/modules/dropout.py, container.py -------------------------------------------------------------------

def test_dropout_example():
    m = nn.Dropout(p=0.2)
    input = torch.randn(20, 16)
    output = m(input)
    x, y = _np(input), _np(output)
    kept = y != 0
    assert output.shape == (20, 16) and 0.6 < kept.mean() < 0.95        # about 80% kept
    np.testing.assert_allclose(y[kept], x[kept] / 0.8, rtol=1e-6)      # scaled by 1/(1-p)
    m.eval()
    np.testing.assert_array_equal(_np(m(input)), x)                   # the identity in evaluation


def test_modulelist_example():
    class MyModule(nn.Module):
        def __init__(self):
            super().__init__()
            self.linears = nn.ModuleList([nn.Linear(10, 10) for i in range(10)])

        def forward(self, x):
            # ModuleList can act as an iterable, or be indexed using ints
            for i, l in enumerate(self.linears):
                x = self.linears[i // 2](x) + l(x)
            return x

    model = MyModule()
    x = torch.randn(3, 10, dtype=torch.float64)
    model.double()
    out = model(x)
    ws = [(_np(lin.weight), _np(lin.bias)) for lin in model.linears]
    ref = _np(x)
    for i, (w, b) in enumerate(ws):
        ref = (ref @ ws[i // 2][0].T + ws[i // 2][1]) + (ref @ w.T + b)
    np.testing.assert_allclose(_np(out), ref, rtol=1e-10)
    assert len(list(model.parameters())) == 20


def test_parameterlist_example():
    class MyModule(nn.Module):
        def __init__(self):
            super().__init__()
            self.params = nn.ParameterList([nn.Parameter(torch.randn(10, 10)) for i in range(10)])

        def forward(self, x):
            # ParameterList can act as an iterable, or be indexed using ints
            for i, p in enumerate(self.params):
                x = self.params[i // 2].mm(x) + p.mm(x)
            return x

    model = MyModule()
    x = torch.randn(10, 3) * 0.1
    out = model(x)
    ps = [_np(p) for p in model.params]
    ref = _np(x)
    for i, p in enumerate(ps):
        ref = ps[i // 2] @ ref + p @ ref
    np.testing.assert_allclose(_np(out), ref, rtol=1e-4)
    assert [name for name, _ in model.named_parameters()] == [f"params.{i}" for i in range(10)]


def test_parameterdict_example():
    class MyModule(nn.Module):
        def __init__(self):
            super().__init__()
            self.params = nn.ParameterDict({
                    'left': nn.Parameter(torch.randn(5, 10)),
                    'right': nn.Parameter(torch.randn(5, 10))
            })

        def forward(self, x, choice):
            x = self.params[choice].mm(x)
            return x

    model = MyModule()
    x = torch.randn(10, 2)
    for choice in ("left", "right"):
        np.testing.assert_allclose(_np(model(x, choice)), _np(model.params[choice]) @ _np(x), rtol=1e-5)
    assert sorted(name for name, _ in model.named_parameters()) == ["params.left", "params.right"]


# ---- torch/autograd/functional.py: vjp, jvp, jacobian ------------------------------------------------------------
# (`create_graph=True` raises NotImplementedError here: docs/pytorch.md lines 126-127, "`hessian`, `hvp`, `vhp` and
# `create_graph=True` raise: gradients are not recorded".)


def exp_reducer(x):
    return x.exp().sum(dim=1)


def adder(x, y):
    return 2 * x + 3 * y


def test_autograd_functional_vjp_example():
    vjp = ag_vjp
    inputs = torch.rand(4, 4)
    v = torch.ones(4)
    out, grad = vjp(exp_reducer, inputs, v)
    x = _np(inputs)
    np.testing.assert_allclose(_np(out), np.exp(x).sum(1), rtol=1e-6)
    np.testing.assert_allclose(_np(grad), np.exp(x), rtol=1e-6)
    with pytest.raises(NotImplementedError):                          # documented: create_graph=True
        vjp(exp_reducer, inputs, v, create_graph=True)
    inputs = (torch.rand(2), torch.rand(2))
    v = torch.ones(2)
    out, (gx, gy) = vjp(adder, inputs, v)
    np.testing.assert_allclose(_np(out), 2 * _np(inputs[0]) + 3 * _np(inputs[1]), rtol=1e-6)
    assert gx.tolist() == [2.0, 2.0] and gy.tolist() == [3.0, 3.0]    # (tensor([2., 2.]), tensor([3., 3.]))


def test_autograd_functional_jvp_example():
    jvp = ag_jvp
    inputs = torch.rand(4, 4)
    v = torch.ones(4, 4)
    out, jv = jvp(exp_reducer, inputs, v)
    x = _np(inputs)
    np.testing.assert_allclose(_np(out), np.exp(x).sum(1), rtol=1e-6)
    np.testing.assert_allclose(_np(jv), np.exp(x).sum(1), rtol=1e-6)  # the docs print the two equal
    with pytest.raises(NotImplementedError):                          # documented: create_graph=True
        jvp(exp_reducer, inputs, v, create_graph=True)
    inputs = (torch.rand(2), torch.rand(2))
    v = (torch.ones(2), torch.ones(2))
    out, jv = jvp(adder, inputs, v)
    assert jv.tolist() == [5.0, 5.0]                                  # tensor([5., 5.])


def test_autograd_functional_jacobian_example():
    jacobian = ag_jacobian
    inputs = torch.rand(2, 2)
    jac = jacobian(exp_reducer, inputs)
    x = _np(inputs)
    expected = np.zeros((2, 2, 2))
    expected[0, 0], expected[1, 1] = np.exp(x[0]), np.exp(x[1])       # the printed block-diagonal layout
    assert jac.shape == (2, 2, 2)
    np.testing.assert_allclose(_np(jac), expected, rtol=1e-6)
    with pytest.raises(NotImplementedError):                          # documented: create_graph=True
        jacobian(exp_reducer, inputs, create_graph=True)

    def exp_adder(x, y):
        return 2 * x.exp() + 3 * y

    inputs = (torch.rand(2), torch.rand(2))
    jx, jy = jacobian(exp_adder, inputs)
    np.testing.assert_allclose(_np(jx), np.diag(2 * np.exp(_np(inputs[0]))), rtol=1e-6)
    assert jy.tolist() == [[3.0, 0.0], [0.0, 3.0]]


# ---- torch/_functorch/eager_transforms.py: torch.func.vjp, jacrev, jvp, jacfwd, hessian ---------------------------
# vmap and transforms of transforms raise NotImplementedError (docs/pytorch.md lines 224-226), so those examples
# check that they do.


def test_func_vjp_examples():
    x = torch.randn([5])
    f = lambda x: x.sin().sum()  # noqa: E731
    (_, vjpfunc) = torch.func.vjp(f, x)
    grad = vjpfunc(torch.tensor(1.))[0]
    assert torch.allclose(grad, torch.func.grad(f)(x))

    x = torch.randn([5])
    f = lambda x: (x.sin(), x.cos())  # noqa: E731
    (_, vjpfunc) = torch.func.vjp(f, x)
    vjps = vjpfunc((torch.ones([5]), torch.ones([5])))
    assert torch.allclose(vjps[0], x.cos() + -x.sin())

    x = torch.randn([5])
    f = lambda x: {'first': x.sin(), 'second': x.cos()}  # noqa: E731
    (_, vjpfunc) = torch.func.vjp(f, x)
    cotangents = {'first': torch.ones([5]), 'second': torch.ones([5])}
    vjps = vjpfunc(cotangents)
    assert torch.allclose(vjps[0], x.cos() + -x.sin())

    x, y = torch.randn([5, 4]), torch.randn([4, 5])
    (_, vjpfunc) = torch.func.vjp(torch.matmul, x, y)
    cotangents = torch.randn([5, 5])
    vjps = vjpfunc(cotangents)
    assert len(vjps) == 2
    assert torch.allclose(vjps[0], torch.matmul(cotangents, y.transpose(0, 1)))
    assert torch.allclose(vjps[1], torch.matmul(x.transpose(0, 1), cotangents))

    x = torch.randn([5])

    def f(x, scale=4.):
        return x * scale

    (_, vjpfunc) = torch.func.vjp(f, x)
    vjps = vjpfunc(torch.ones_like(x))
    assert torch.allclose(vjps[0], torch.full(x.shape, 4.))
    assert vjp is torch.func.vjp


@pytest.mark.parametrize("jac", ["jacrev", "jacfwd"])
def test_func_jacobian_examples(jac):
    jacobian_of = {"jacrev": jacrev, "jacfwd": jacfwd}[jac]
    x = torch.randn(5)
    jacobian = jacobian_of(torch.sin)(x)
    expected = torch.diag(torch.cos(x))
    assert torch.allclose(jacobian, expected)

    x = torch.randn(5)

    def f(x):
        return x.sin()

    def g(x):
        result = f(x)
        return result, result

    jacobian_f, f_x = jacobian_of(g, has_aux=True)(x)
    assert torch.allclose(f_x, f(x))
    assert torch.allclose(jacobian_f, torch.diag(torch.cos(x)))

    x = torch.randn(64, 5)
    with pytest.raises(NotImplementedError):                          # documented: there is no vmap
        vmap(jacobian_of(torch.sin))(x)

    def f(x):
        return x.sin().sum()

    x = torch.randn(5)
    with pytest.raises(NotImplementedError):                          # documented: a transform of a transform
        jacobian_of(jacrev(f))(x)

    def f(x, y):
        return x + y ** 2

    x, y = torch.randn(5), torch.randn(5)
    jacobian = jacobian_of(f, argnums=1)(x, y)
    expected = torch.diag(2 * y)
    assert torch.allclose(jacobian, expected)

    x, y = torch.randn(5), torch.randn(5)
    jacobian = jacobian_of(f, argnums=(0, 1))(x, y)
    expectedX = torch.diag(torch.ones_like(x))
    expectedY = torch.diag(2 * y)
    assert torch.allclose(jacobian[0], expectedX)
    assert torch.allclose(jacobian[1], expectedY)


def test_func_jvp_examples():
    x = torch.randn([])
    f = lambda x: x * torch.tensor([1., 2., 3])  # noqa: E731
    value, grad = jvp(f, (x,), (torch.tensor(1.),))
    assert torch.allclose(value, f(x))
    assert torch.allclose(grad, torch.tensor([1., 2, 3]))

    x = torch.randn(5)
    y = torch.randn(5)
    f = lambda x, y: (x * y)  # noqa: E731
    _, output = jvp(f, (x, y), (torch.ones(5), torch.ones(5)))
    assert torch.allclose(output, x + y)


def test_func_hessian_example():
    def f(x):
        return x.sin().sum()

    x = torch.randn(5)
    with pytest.raises(NotImplementedError):                          # documented: torch.func.hessian raises
        hessian(f)(x)  # equivalent to jacfwd(jacrev(f))(x)


# ---- torch/_torch_docs.py: torch.* functions with the values the docs print -------------------------------------

def test_cumsum_example():
    a = torch.randn(10)
    np.testing.assert_allclose(_np(torch.cumsum(a, dim=0)), np.cumsum(_np(a)), rtol=1e-5, atol=1e-6)
    # the docs' draw, as they print it, gives their printed sums within the rounding of ten 4-digit terms
    a = torch.tensor([-0.8286, -0.4890, 0.5155, 0.8443, 0.1865, -0.1752, -2.0595, 0.1850, -1.1571, -0.4243])
    printed = [-0.8286, -1.3175, -0.8020, 0.0423, 0.2289, 0.0537, -2.0058, -1.8209, -2.9780, -3.4022]
    np.testing.assert_allclose(_np(torch.cumsum(a, dim=0)), printed, atol=5e-4)


def test_div_examples():
    x = torch.tensor([0.3810, 1.2774, -0.2972, -0.3719, 0.4637])
    np.testing.assert_allclose(_np(torch.div(x, 0.5)), [0.7620, 2.5548, -0.5944, -0.7438, 0.9274], atol=5e-5)
    a = torch.tensor([[-0.3711, -1.9353, -0.4605, -0.2917],
                      [0.1815, -1.0111, 0.9805, -1.5923],
                      [0.1062, 1.4581, 0.7759, -1.2344],
                      [-0.1830, -0.0313, 1.1908, -1.4757]])
    b = torch.tensor([0.8032, 0.2930, -0.8113, -0.2308])
    np.testing.assert_allclose(_np(torch.div(a, b)), [[-0.4620, -6.6051, 0.5676, 1.2639],
                                                      [0.2260, -3.4509, -1.2086, 6.8990],
                                                      [0.1322, 4.9764, -0.9564, 5.3484],
                                                      [-0.2278, -0.1068, -1.4678, 6.3938]], atol=5e-5)
    assert torch.div(a, b, rounding_mode='trunc').tolist() == [[-0., -6., 0., 1.], [0., -3., -1., 6.],
                                                               [0., 4., -0., 5.], [-0., -0., -1., 6.]]
    assert torch.div(a, b, rounding_mode='floor').tolist() == [[-1., -7., 0., 1.], [0., -4., -2., 6.],
                                                               [0., 4., -1., 5.], [-1., -1., -2., 6.]]
    trunc = _np(torch.div(a, b, rounding_mode='trunc'))
    assert np.signbit(trunc[0, 0]) and not np.signbit(trunc[0, 2])    # the printed -0. and 0.


def test_small_function_examples():
    assert repr(torch.dot(torch.tensor([2, 3]), torch.tensor([2, 1]))) == "tensor(7)"
    eq = torch.eq(torch.tensor([[1, 2], [3, 4]]), torch.tensor([[1, 1], [4, 4]]))
    assert eq.dtype == np.bool_ and eq.tolist() == [[True, False], [False, True]]
    assert torch.equal(torch.tensor([1, 2]), torch.tensor([1, 2])) is True
    assert torch.exp(torch.tensor([0, math.log(2.)])).tolist() == [1.0, 2.0]
    assert torch.eye(3).tolist() == np.eye(3).tolist() and torch.eye(3).dtype == np.float32
    a = torch.tensor([4.0, 3.0])
    b = torch.tensor([2.0, 2.0])
    assert torch.floor_divide(a, b).tolist() == [2.0, 1.0]
    assert torch.floor_divide(a, 1.4).tolist() == [2.0, 2.0]
    t = torch.tensor([[[1, 2],
                       [3, 4]],
                      [[5, 6],
                       [7, 8]]])
    assert torch.flatten(t).tolist() == [1, 2, 3, 4, 5, 6, 7, 8]
    assert torch.flatten(t, start_dim=1).tolist() == [[1, 2, 3, 4], [5, 6, 7, 8]]


def test_from_numpy_example():
    a = np.array([1, 2, 3])
    t = torch.from_numpy(a)
    assert repr(t) == "tensor([1, 2, 3])"
    t[0] = -1
    assert t.tolist() == [-1, 2, 3]
    # PyTorch prints array([-1,  2,  3]): its tensor shares the array's memory. Here it is a copy, documented
    # (docs/pytorch.md line 38, "`torch.from_numpy` (a copy)"), so the array is left as it was.
    assert a.tolist() == [1, 2, 3]


def test_repeat_interleave_examples():
    x = torch.tensor([1, 2, 3])
    assert x.repeat_interleave(2).tolist() == [1, 1, 2, 2, 3, 3]
    y = torch.tensor([[1, 2], [3, 4]])
    assert torch.repeat_interleave(y, 2).tolist() == [1, 1, 2, 2, 3, 3, 4, 4]
    assert torch.repeat_interleave(y, 3, dim=1).tolist() == [[1, 1, 1, 2, 2, 2], [3, 3, 3, 4, 4, 4]]
    assert torch.repeat_interleave(y, torch.tensor([1, 2]), dim=0).tolist() == [[1, 2], [3, 4], [3, 4]]
    assert torch.repeat_interleave(torch.tensor([1, 2, 3])).tolist() == [0, 1, 1, 2, 2, 2]


def test_repeat_interleave_output_size_example():
    y = torch.tensor([[1, 2], [3, 4]])
    out = torch.repeat_interleave(y, torch.tensor([1, 2]), dim=0, output_size=3)
    assert out.tolist() == [[1, 2], [3, 4], [3, 4]]
    assert y.repeat_interleave(2, output_size=8).tolist() == [1, 1, 2, 2, 3, 3, 4, 4]
    with pytest.raises(ValueError, match="repeat_interleave: output_size=4 is not the size"):
        torch.repeat_interleave(y, torch.tensor([1, 2]), dim=0, output_size=4)      # (PyTorch: an error too)


def test_generator_examples():
    g_cpu = torch.Generator()
    assert g_cpu.manual_seed(2147483647) is g_cpu                     # returns the Generator
    assert g_cpu.initial_seed() == 2147483647
    g_cpu = torch.Generator()
    assert isinstance(g_cpu.initial_seed(), int)                      # (the docs print 2147483647: see the report)
    g_cpu = torch.Generator()
    seed = g_cpu.seed()
    assert isinstance(seed, int) and g_cpu.initial_seed() == seed
