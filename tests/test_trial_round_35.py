"""A student's trial (round 35): three first PyTorch scripts ported by changing only their imports, and the
mistakes a student makes in each, with the error messages judged.

Sources read (each port keeps the source's code; the lines that had to change are marked `# CHANGED`):

- pytorch/tutorials intermediate_source/char_rnn_classification_tutorial.py (at
  10098032865151e891c6074522207880f0e68fd3): "Classifying Names with a Character-Level RNN", `letterToTensor`,
  `lineToTensor`, the `RNN` of `i2h`, `h2h`, `h2o` and `LogSoftmax`, `train` with its hand-written update
  `p.data.add_(p.grad.data, alpha=-learning_rate)`, `evaluate` and `predict`. The names data set is a download:
  a few names made up here stand in for it, and n_hidden is 8 (the tutorial's 128) so that central differences
  over every weight stay fast.
- pytorch/examples time_sequence_prediction/train.py (at 04b1f3cec923d40972d998a7ed3c00c1b37e765e) and
  generate_sine_wave.py (at 2b456e809fe249f2153616578c116e4b2954ca18): the `Sequence` of two `LSTMCell`s and a
  `Linear` in float64, trained with `LBFGS(lr=0.8)` on shifted sine waves; fewer and shorter waves here.
- pytorch/ignite ignite/contrib/engines/tbptt.py (at 0d7743e38e7ac3fce267e124251ff4fbac6e3418):
  `create_supervised_tbptt_trainer`'s `_update`, which splits a batch into chunks of `tbtt_step` steps,
  detaches the hidden state between them (`_detach_hidden`) and makes one optimizer step a chunk; and
  tests/ignite/contrib/engines/test_tbptt.py (at 4032bdb1fcd60fbfa94e2de61560959c5038d02a), whose model is a
  recurrent layer used directly (`nn.RNN(1, 1, bias=False)`, a `GRU` here) with `F.mse_loss`.

Expected values come from numpy written here (the PyTorch cells' equations, gates in PyTorch's order) and
central differences in float64, never from the library's own output.
"""

from __future__ import annotations

import random
import string

import numpy as np
import pytest

import microgradseq as torch                    # CHANGED: the three imports, as docs/pytorch.md says
import microgradseq.nn as nn
import microgradseq.nn.functional as F
import microgradseq.optim as optim


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def central(f, x, eps=1e-6):
    """Central differences of a scalar f at every element of the float64 array x (changed in place, restored)."""
    out = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        keep = x[i]
        x[i] = keep + eps
        up = f()
        x[i] = keep - eps
        down = f()
        x[i] = keep
        out[i] = (up - down) / (2 * eps)
    return out


def arrays(module):
    """The module's parameters as float64 numpy copies, by name."""
    return {name: np.array(p.data, dtype=np.float64) for name, p in module.named_parameters()}


# ---------------------------------------------------------------------------------------------------------------
# 1. The name classifier (pytorch/tutorials char_rnn_classification_tutorial.py)

all_letters = string.ascii_letters + " .,;'"
n_letters = len(all_letters)
category_lines = {"Scottish": ["Mackay", "Mclean", "Ross"], "Polish": ["Nowak", "Kowal", "Zielinski"]}
all_categories = list(category_lines)
n_categories = len(all_categories)


def letterToIndex(letter):
    return all_letters.find(letter)


def letterToTensor(letter):
    tensor = torch.zeros(1, n_letters)
    tensor[0][letterToIndex(letter)] = 1
    return tensor


def lineToTensor(line):
    tensor = torch.zeros(len(line), 1, n_letters)
    for li, letter in enumerate(line):
        tensor[li][0][letterToIndex(letter)] = 1
    return tensor


class RNN(nn.Module):
    def __init__(self, input_size, hidden_size, output_size):
        super(RNN, self).__init__()

        self.hidden_size = hidden_size

        self.i2h = nn.Linear(input_size, hidden_size)
        self.h2h = nn.Linear(hidden_size, hidden_size)
        self.h2o = nn.Linear(hidden_size, output_size)
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, input, hidden):
        hidden = F.tanh(self.i2h(input) + self.h2h(hidden))
        output = self.h2o(hidden)
        output = self.softmax(output)
        return output, hidden

    def initHidden(self):
        return torch.zeros(1, self.hidden_size)


def make_classifier(n_hidden=8, seed=0):
    torch.manual_seed(seed)
    rnn = RNN(n_letters, n_hidden, n_categories)
    criterion = nn.NLLLoss()
    learning_rate = 0.005

    def train(category_tensor, line_tensor):
        hidden = rnn.initHidden()

        rnn.zero_grad()

        for i in range(line_tensor.size()[0]):
            output, hidden = rnn(line_tensor[i], hidden)

        loss = criterion(output, category_tensor)
        loss.backward()

        # Add parameters' gradients to their values, multiplied by learning rate
        for p in rnn.parameters():
            with torch.no_grad():                               # CHANGED: was p.data.add_(p.grad.data, ...)
                p.add_(p.grad, alpha=-learning_rate)

        return output, loss.item()

    def evaluate(line_tensor):
        hidden = rnn.initHidden()

        for i in range(line_tensor.size()[0]):
            output, hidden = rnn(line_tensor[i], hidden)

        return output

    return rnn, train, evaluate, learning_rate


def classifier_loss(w, line, category):
    """The tutorial's forward pass and NLLLoss in numpy float64."""
    h = np.zeros(w["h2h.weight"].shape[0])
    for letter in line:
        x = np.zeros(n_letters)
        x[letterToIndex(letter)] = 1
        h = np.tanh(w["i2h.weight"] @ x + w["i2h.bias"] + w["h2h.weight"] @ h + w["h2h.bias"])
    z = w["h2o.weight"] @ h + w["h2o.bias"]
    logp = z - np.log(np.exp(z - z.max()).sum()) - z.max()
    return -logp[category], logp


def test_name_classifier_tensors_are_the_tutorials():
    one_hot = letterToTensor("J").numpy()
    assert one_hot.shape == (1, n_letters) and one_hot.sum() == 1 and one_hot[0, all_letters.find("J")] == 1
    assert tuple(lineToTensor("Jones").size()) == (5, 1, n_letters)
    assert lineToTensor("Jones").numpy()[:, 0, :].argmax(axis=1).tolist() == [letterToIndex(c) for c in "Jones"]


def test_name_classifier_train_step_matches_numpy_and_central_differences():
    rnn, train, _, learning_rate = make_classifier()
    line, category = "Kowal", all_categories.index("Polish")
    before = arrays(rnn)
    category_tensor = torch.tensor([category], dtype=torch.long)
    output, loss = train(category_tensor, lineToTensor(line))
    hand_loss, hand_logp = classifier_loss(before, line, category)
    assert loss == pytest.approx(hand_loss, rel=1e-5)
    assert np.allclose(output.numpy()[0], hand_logp, atol=1e-5)
    after = arrays(rnn)
    for name, w in before.items():
        grad = central(lambda: classifier_loss(before, line, category)[0], w)
        assert np.allclose(after[name] - w, -learning_rate * grad, atol=2e-7), name


def test_name_classifier_learns_and_predicts_under_no_grad():
    rnn, train, evaluate, _ = make_classifier(seed=1)
    random.seed(0)
    losses = []
    for _ in range(300):
        category = random.choice(all_categories)
        line = random.choice(category_lines[category])
        category_tensor = torch.tensor([all_categories.index(category)], dtype=torch.long)
        losses.append(train(category_tensor, lineToTensor(line))[1])
    assert np.mean(losses[-50:]) < np.mean(losses[:50])
    with torch.no_grad():
        output = evaluate(lineToTensor("Nowak"))
        topv, topi = output.topk(2, 1, True)
    assert not output.requires_grad
    hand = classifier_loss(arrays(rnn), "Nowak", 0)[1]
    assert np.allclose(topv.numpy()[0], np.sort(hand)[::-1], atol=1e-5)
    assert topi[0][0].item() == int(np.argmax(hand))


# ---------------------------------------------------------------------------------------------------------------
# 2. The sine-wave LSTM (pytorch/examples time_sequence_prediction)

class Sequence(nn.Module):
    def __init__(self):
        super(Sequence, self).__init__()
        self.lstm1 = nn.LSTMCell(1, 51)
        self.lstm2 = nn.LSTMCell(51, 51)
        self.linear = nn.Linear(51, 1)
        self.dummy_param = nn.Parameter(torch.empty(0))

    def forward(self, input, future = 0):
        outputs = []
        device = self.dummy_param.device
        h_t = torch.zeros(input.size(0), 51, dtype=torch.double).to(device)
        c_t = torch.zeros(input.size(0), 51, dtype=torch.double).to(device)
        h_t2 = torch.zeros(input.size(0), 51, dtype=torch.double).to(device)
        c_t2 = torch.zeros(input.size(0), 51, dtype=torch.double).to(device)

        for input_t in input.split(1, dim=1):
            h_t, c_t = self.lstm1(input_t, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            output = self.linear(h_t2)
            outputs += [output]
        for i in range(future):# if we should predict the future
            h_t, c_t = self.lstm1(output, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            output = self.linear(h_t2)
            outputs += [output]
        outputs = torch.cat(outputs, dim=1)
        return outputs


def sine_data(N=5, L=24, T=20):
    np.random.seed(2)
    x = np.empty((N, L), "int64")
    x[:] = np.array(range(L)) + np.random.randint(-4 * T, 4 * T, N).reshape(N, 1)
    return np.sin(x / 1.0 / T).astype("float64")


def lstm_cell(x, h, c, w, prefix):
    gates = x @ w[prefix + ".weight_ih"].T + w[prefix + ".bias_ih"] + h @ w[prefix + ".weight_hh"].T
    i, f, g, o = np.split(gates + w[prefix + ".bias_hh"], 4, axis=1)          # PyTorch's gate order
    c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    return sigmoid(o) * np.tanh(c), c


def sequence_numpy(w, data, future=0):
    B = data.shape[0]
    h, c, h2, c2 = (np.zeros((B, 51)) for _ in range(4))
    outputs = []
    steps = [data[:, t:t + 1] for t in range(data.shape[1])] + [None] * future
    for x in steps:
        x = outputs[-1] if x is None else x
        h, c = lstm_cell(x, h, c, w, "lstm1")
        h2, c2 = lstm_cell(h, h2, c2, w, "lstm2")
        outputs.append(h2 @ w["linear.weight"].T + w["linear.bias"])
    return np.concatenate(outputs, axis=1)


def test_sine_lstm_forward_and_gradient_match_numpy(tmp_path):
    path = tmp_path / "traindata.pt"
    torch.save(sine_data(), open(path, "wb"))                                  # generate_sine_wave.py's save
    device = torch.device("cpu")
    np.random.seed(0)
    torch.manual_seed(0)
    data = torch.from_numpy(torch.load(path)).to(device)
    input = data[3:, :-1]
    target = data[3:, 1:]
    seq = Sequence().to(device).double()
    criterion = nn.MSELoss().to(device)
    w = arrays(seq)
    out = seq(input)
    assert out.dtype == np.float64 and tuple(out.shape) == (2, 23)
    assert np.allclose(out.numpy(), sequence_numpy(w, input.numpy()), atol=1e-12)
    loss = criterion(out, target)
    loss.backward()
    x, y = input.numpy(), target.numpy()
    for name in ("linear.weight", "lstm1.weight_ih", "lstm2.bias_hh"):
        grad = central(lambda: np.mean((sequence_numpy(w, x) - y) ** 2), w[name])
        assert np.allclose(dict(seq.named_parameters())[name].grad, grad, atol=1e-8), name
    with torch.no_grad():
        pred = seq(data[:3, :-1], future=5)
    assert np.allclose(pred.numpy(), sequence_numpy(w, data.numpy()[:3, :-1], future=5), atol=1e-12)


def test_sine_lstm_lbfgs_step_lowers_the_loss():
    data = torch.from_numpy(sine_data())
    input, target = data[3:, :-1], data[3:, 1:]
    torch.manual_seed(0)
    seq = Sequence().double()
    criterion = nn.MSELoss()
    optimizer = optim.LBFGS(seq.parameters(), lr=0.8)
    losses = []

    def closure():
        optimizer.zero_grad()
        out = seq(input)
        loss = criterion(out, target)
        losses.append(loss.item())
        loss.backward()
        return loss
    optimizer.step(closure)
    after = np.mean((sequence_numpy(arrays(seq), input.numpy()) - target.numpy()) ** 2)
    assert after < losses[0] / 2


# ---------------------------------------------------------------------------------------------------------------
# 3. A GRU trained with truncated BPTT, the state detached every tbtt_step steps (pytorch/ignite)

def apply_to_tensor(x, func):
    """ignite.utils.apply_to_tensor, for a tensor or a tuple of them."""
    if isinstance(x, torch.Tensor):
        return func(x)
    if isinstance(x, (tuple, list)):
        return type(x)(apply_to_tensor(v, func) for v in x)
    raise TypeError(f"x must be a tensor or a sequence of tensors, got {type(x)}")


def _detach_hidden(hidden):
    return apply_to_tensor(hidden, torch.Tensor.detach)


def make_update(model, optimizer, loss_fn, tbtt_step, dim=0):
    """create_supervised_tbptt_trainer's `_update`, without the Engine and its events."""
    def _update(batch):
        loss_list = []
        hidden = None

        x, y = batch
        for x_t, y_t in zip(x.split(tbtt_step, dim=dim), y.split(tbtt_step, dim=dim)):
            model.train()
            optimizer.zero_grad()
            if hidden is None:
                y_pred_t, hidden = model(x_t)
            else:
                hidden = _detach_hidden(hidden)
                y_pred_t, hidden = model(x_t, hidden)
            loss_t = loss_fn(y_pred_t, y_t)
            loss_t.backward()
            optimizer.step()

            loss_list.append(loss_t.item())

        return sum(loss_list) / len(loss_list)
    return _update


def gru_numpy(w, xs, h):
    """nn.GRU(1, 1) over xs (T, B, 1) from h (B, 1): the outputs (T, B, 1), in PyTorch's gate order r, z, n."""
    outs = []
    for x in xs:
        gi = x @ w["weight_ih_l0"].T + w["bias_ih_l0"]
        gh = h @ w["weight_hh_l0"].T + w["bias_hh_l0"]
        r, z = sigmoid(gi[:, 0:1] + gh[:, 0:1]), sigmoid(gi[:, 1:2] + gh[:, 1:2])
        n = np.tanh(gi[:, 2:3] + r * gh[:, 2:3])
        h = (1 - z) * n + z * h
        outs.append(h)
    return np.stack(outs)


def detach_every_k_numpy(w, x, y, k, lr, cuts=None):
    """SGD on each chunk's mean squared error, the state at the chunk's cut held constant (what detach does).

    The forward pass runs each chunk with the weights of its time; a gradient path walks the steps as they were
    recorded (a step recorded before an earlier update used the older weights: the same parameter, so a
    perturbation moves every recorded use of it). `cuts[i]` is where the i-th update's path starts (the chunk's
    start when None)."""
    w = {name: a.copy() for name, a in w.items()}
    states, used, losses = [np.zeros((x.shape[1], 1))], [], []
    updates = list(range(k, len(x), k)) + [len(x)]
    for i, u in enumerate(updates):
        start = updates[i - 1] if i else 0
        cut = start if cuts is None else cuts[i]
        snapshot = {name: a.copy() for name, a in w.items()}
        for s in range(start, u):
            used.append(snapshot)
            states.append(gru_numpy(snapshot, x[s:s + 1], states[-1])[-1])
        delta = {name: np.zeros_like(a) for name, a in w.items()}

        def chunk_loss():
            h, outs = states[cut], []
            for s in range(cut, u):
                h = gru_numpy({name: used[s][name] + delta[name] for name in w}, x[s:s + 1], h)[-1]
                outs.append(h)
            return np.mean((np.stack(outs)[start - cut:] - y[start:u]) ** 2)
        losses.append(chunk_loss())
        grads = {name: central(chunk_loss, delta[name]) for name in w}
        for name in w:
            w[name] -= lr * grads[name]
    return w, losses


def gru_setup(T, seed=0):
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal((T, 2, 1)), rng.standard_normal((T, 2, 1))
    torch.manual_seed(seed)
    model = nn.GRU(1, 1).double()
    return model, x, y


def test_ignite_tbptt_test_ported_runs_as_in_ignite():
    model = nn.GRU(1, 1, bias=False)
    for p in model.parameters():
        with torch.no_grad():                                # CHANGED: was p.data.zero_()
            p.zero_()
    calls = []
    model.register_forward_hook(lambda module, inputs, output: calls.append(inputs))
    optimizer = optim.SGD(model.parameters(), 1)
    update = make_update(model, optimizer, F.mse_loss, tbtt_step=2)
    update((torch.ones(6, 2, 1), torch.ones(6, 2, 1)))
    assert [len(inputs) for inputs in calls] == [1, 2, 2]
    assert all(inputs[1].is_leaf and not inputs[1].requires_grad for inputs in calls[1:])
    assert not model.weight_hh_l0.numpy().ravel() == pytest.approx(np.zeros(3))


@pytest.mark.parametrize("T", [6, 7])
def test_ignite_detach_every_k_matches_numpy(T):
    model, x, y = gru_setup(T)
    w = arrays(model)
    update = make_update(model, optim.SGD(model.parameters(), lr=0.5), F.mse_loss, tbtt_step=2)
    mean_loss = update((torch.from_numpy(x), torch.from_numpy(y)))
    hand, losses = detach_every_k_numpy(w, x, y, k=2, lr=0.5)
    assert mean_loss == pytest.approx(np.mean(losses), rel=1e-9)
    for name, p in model.named_parameters():
        assert np.allclose(p.numpy(), hand[name], atol=1e-8), name


@pytest.mark.parametrize("T", [6, 7])
def test_runner_tbptt_k_k_is_the_detach_loop_except_at_a_ragged_tail(T):
    """instructors.md exercise 3: TBPTT(k, k) is detach-every-k when k divides n; at a ragged tail the runner
    cuts at n - k2 (tbptt.md), so its last update walks k cells where the loop walks n mod k."""
    model, x, y = gru_setup(T)
    w = arrays(model)

    def step_block(xs, h):
        output, h = model(xs, h)
        return list(output), h
    mg_x, mg_y = torch.from_numpy(x), torch.from_numpy(y)
    result = torch.bptt.tbptt_blocks(step_block, None, mg_x, mg_y, F.mse_loss, k1=2, k2=2,
                                     optimizer=optim.SGD(model.parameters(), lr=0.5), reduction="mean")
    updates = list(range(2, T, 2)) + [T]
    runner_cuts = [max(0, u - 2) for u in updates]
    hand, losses = detach_every_k_numpy(w, x, y, k=2, lr=0.5, cuts=runner_cuts)
    assert np.allclose(result.losses, losses, atol=1e-9)
    for name, p in model.named_parameters():
        assert np.allclose(p.numpy(), hand[name], atol=1e-8), name
    loop, _ = detach_every_k_numpy(w, x, y, k=2, lr=0.5)
    same = all(np.allclose(loop[name], hand[name], atol=1e-8) for name in w)
    assert same == (T % 2 == 0)


# ---------------------------------------------------------------------------------------------------------------
# 4. The mistakes a student makes, and what the library says

def test_wrong_shape_into_the_cell_names_cell_expected_and_got():
    cell = nn.LSTMCell(1, 51)
    with pytest.raises(ValueError, match=r"LSTMCell: expected input of shape \(B, 1\) or \(1,\), got \(3, 2\)"):
        cell(torch.zeros(3, 2))                 # input.split(1, dim=0) instead of dim=1: (B, L) rows
    with pytest.raises(ValueError, match=r"LSTMCell: expected the state as a pair \(h, c\), got Tensor"):
        cell(torch.zeros(3, 1), torch.zeros(3, 51))
    with pytest.raises(ValueError, match=r"GRU: expected h0 of shape \(1, 2, 1\), got \(2, 1\)"):
        nn.GRU(1, 1)(torch.ones(2, 2, 1), torch.zeros(2, 1))


def test_forgetting_zero_grad_adds_the_second_gradient_silently_as_in_pytorch():
    rnn, _, _, _ = make_classifier()
    w = arrays(rnn)
    criterion = nn.NLLLoss()
    for _ in range(2):                                                   # no rnn.zero_grad() between them
        hidden = rnn.initHidden()
        for letter in lineToTensor("Ross"):
            output, hidden = rnn(letter, hidden)
        criterion(output, torch.tensor([0])).backward()
    grad = central(lambda: classifier_loss(w, "Ross", 0)[0], w["h2o.bias"])
    assert np.allclose(rnn.h2o.bias.grad, 2 * grad, atol=1e-6)


def test_backward_twice_says_retain_graph():
    loss = Sequence().double()(torch.from_numpy(sine_data()[:, :4])).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match=r"already been freed.*pass retain_graph=True to the first backward"):
        loss.backward()


def test_state_not_detached_across_batches_says_detach():
    model, x, y = gru_setup(6)
    optimizer = optim.SGD(model.parameters(), lr=0.5)
    hidden = None
    with pytest.raises(RuntimeError, match=r"cut it before the next forward: h = h\.detach\(\)"):
        for x_t, y_t in zip(torch.from_numpy(x).split(2), torch.from_numpy(y).split(2)):
            optimizer.zero_grad()
            y_pred_t, hidden = model(x_t, hidden)              # the `_detach_hidden` line forgotten
            F.mse_loss(y_pred_t, y_t).backward()
            optimizer.step()


def test_update_outside_no_grad_says_no_grad():
    rnn, _, _, _ = make_classifier()
    p = rnn.h2o.bias
    p.grad = np.ones(2, dtype=np.float32)
    with pytest.raises(RuntimeError, match=r"cannot be changed in place while recording.*mg\.no_grad\(\)"):
        p -= 0.1 * p.grad


def test_p_data_in_place_update_fails_with_numpys_message():
    """`p.data -= lr * p.grad` (and the tutorial's `p.data.add_`) fail; docs/pytorch.md says what to write."""
    p = make_classifier()[0].h2o.bias
    p.grad = np.ones(2, dtype=np.float32)
    before = p.numpy().copy()
    with pytest.raises(ValueError, match="output array is read-only"):
        p.data -= 0.1 * p.grad
    with pytest.raises(AttributeError, match="'numpy.ndarray' object has no attribute 'add_'"):
        p.data.add_(p.grad, alpha=-0.1)
    assert np.array_equal(p.numpy(), before)


@pytest.mark.xfail(strict=True, reason="p.data is a plain read-only numpy array: numpy's 'output array is "
                   "read-only' names neither the tensor nor what to write (p -= lr * p.grad under no_grad)")
def test_p_data_in_place_update_says_what_to_write():
    p = make_classifier()[0].h2o.bias
    p.grad = np.ones(2, dtype=np.float32)
    with pytest.raises(ValueError, match=r"no_grad"):
        p.data -= 0.1 * p.grad


def test_float_class_target_names_function_expected_and_got():
    logp = F.log_softmax(torch.randn(1, 2), dim=1)
    with pytest.raises(ValueError, match=r"nll_loss: expected integer class targets of shape \(1,\) for "
                                         r"log-probabilities of shape \(1, 2\), got float32 of shape \(1,\)"):
        nn.NLLLoss()(logp, torch.Tensor([1]))                  # torch.Tensor([i]) is float, as in PyTorch
    with pytest.raises(ValueError, match=r"class indices must be integers \(\.long\(\)\), these are float32"):
        F.cross_entropy(torch.randn(2, 3), torch.tensor([1.0, 0.0]))


def test_float_class_target_in_nll_loss_says_long():
    logp = F.log_softmax(torch.randn(1, 2), dim=1)
    with pytest.raises(ValueError, match=r"\.long\(\)"):
        F.nll_loss(logp, torch.Tensor([1]))


def test_runner_sum_reduction_is_k_times_the_chunk_mean_tbptt_md():
    """tbptt.md: a loop averaging each chunk's loss is reduction="mean"; the default "sum" gives k times it."""
    grads = {}
    for reduction in ("mean", "sum"):
        model, x, y = gru_setup(6)

        def step_block(xs, h):
            output, h = model(xs, h)
            return list(output), h
        torch.bptt.tbptt_blocks(step_block, None, torch.from_numpy(x), torch.from_numpy(y), F.mse_loss,
                                k1=3, k2=3, reduction=reduction)        # no optimizer: the updates' sum
        grads[reduction] = model.weight_hh_l0.grad.copy()
    model, x, y = gru_setup(6)
    w = arrays(model)

    def chunk_means():
        return sum(np.mean((gru_numpy(w, x[a:a + 3], h) - y[a:a + 3]) ** 2)
                   for a, h in ((0, np.zeros((2, 1))), (3, gru_numpy(w_fixed, x[:3], np.zeros((2, 1)))[-1])))
    w_fixed = {name: a.copy() for name, a in w.items()}
    hand = central(chunk_means, w["weight_hh_l0"])
    assert np.allclose(grads["mean"], hand, atol=1e-8)
    assert np.allclose(grads["sum"], 3 * hand, atol=1e-8)
