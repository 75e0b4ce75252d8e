"""Table 2, one training step of a character-level model: microgradseq vs hand-written numpy.

The model: one-hot characters (vocab 65) -> one RNN / LSTM / GRU layer ->
linear readout -> cross-entropy summed over T = 100 steps, full BPTT, one SGD
step. The hand-written version below is what a careful numpy programmer writes:
the input projection hoisted out of the loop, the states and gates kept in
preallocated arrays, every weight gradient one stacked product. The matmul
floor times only its matrix products, the least any numpy implementation of
this model must spend.

Before timing, the engine's float64 loss and gradients are checked against the
hand-written ones (relative error 1e-8), so both sides do the same work.
"""

from __future__ import annotations


import numpy as np

import microgradseq as mg
from microgradseq.functional import cross_entropy

VOCAB = 65
STEPS = 100
GATES = {"rnn": 1, "lstm": 4, "gru": 3}
LAYERS = {"rnn": mg.nn.RNN, "lstm": mg.nn.LSTM, "gru": mg.nn.GRU}


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 + 0.5 * np.tanh(0.5 * x)


# ---- the hand-written model ---------------------------------------------------------

def _readout_forward(params: dict, hs: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
    """Logits of every step at once; returns the summed cross-entropy and the softmax."""
    steps, batch, hidden = hs.shape
    logits = hs.reshape(steps * batch, hidden) @ params["weight_out"].T + params["bias_out"]
    shifted = logits - logits.max(axis=1, keepdims=True)
    probs = np.exp(shifted)
    probs /= probs.sum(axis=1, keepdims=True)
    loss = -np.log(probs[np.arange(steps * batch), targets.reshape(-1)]).sum()
    return float(loss), probs


def _readout_backward(params: dict, hs: np.ndarray, probs: np.ndarray, targets: np.ndarray,
                      grads: dict) -> np.ndarray:
    """dL/dlogits = softmax - onehot(target); returns dL/dh for every step, (T, B, H)."""
    steps, batch, hidden = hs.shape
    d_logits = probs.copy()
    d_logits[np.arange(steps * batch), targets.reshape(-1)] -= 1
    grads["weight_out"] = d_logits.T @ hs.reshape(steps * batch, hidden)
    grads["bias_out"] = d_logits.sum(axis=0)
    return (d_logits @ params["weight_out"]).reshape(steps, batch, hidden)


def _input_grads(grads: dict, d_in: np.ndarray, d_rec: np.ndarray, inputs: np.ndarray, h: np.ndarray) -> None:
    """Every weight gradient as one stacked product over all steps."""
    steps, batch, _ = inputs.shape
    d_in = d_in.reshape(steps * batch, -1)
    d_rec = d_rec.reshape(steps * batch, -1)
    grads["weight_ih"] = d_in.T @ inputs.reshape(steps * batch, -1)
    grads["weight_hh"] = d_rec.T @ h[:-1].reshape(steps * batch, -1)
    grads["bias_ih"] = d_in.sum(axis=0)
    grads["bias_hh"] = d_rec.sum(axis=0) if d_rec is not d_in else grads["bias_ih"]


def rnn_forward(params: dict, inputs: np.ndarray, targets: np.ndarray) -> tuple[float, dict]:
    """h_t = tanh(x_t W_ih^T + b_ih + h_(t-1) W_hh^T + b_hh)."""
    w_hh = params["weight_hh"]
    steps, batch, _ = inputs.shape
    x_proj = (inputs.reshape(steps * batch, -1) @ params["weight_ih"].T).reshape(steps, batch, -1)
    x_proj += params["bias_ih"] + params["bias_hh"]
    h = np.zeros((steps + 1, batch, w_hh.shape[1]), dtype=w_hh.dtype)
    for t in range(steps):
        h[t + 1] = np.tanh(x_proj[t] + h[t] @ w_hh.T)
    loss, probs = _readout_forward(params, h[1:], targets)
    return loss, {"h": h, "probs": probs}


def rnn_backward(params: dict, cache: dict, inputs: np.ndarray, targets: np.ndarray) -> dict:
    h, w_hh, grads = cache["h"], params["weight_hh"], {}
    d_h_all = _readout_backward(params, h[1:], cache["probs"], targets, grads)
    d_pre = np.empty_like(d_h_all)
    d_next = np.zeros_like(d_h_all[0])
    for t in range(len(d_pre) - 1, -1, -1):
        d_pre[t] = (d_h_all[t] + d_next) * (1 - h[t + 1] * h[t + 1])
        d_next = d_pre[t] @ w_hh
    _input_grads(grads, d_pre, d_pre, inputs, h)
    return grads


def lstm_forward(params: dict, inputs: np.ndarray, targets: np.ndarray) -> tuple[float, dict]:
    """i, f, g, o from one projection; c' = f c + i g, h' = o tanh(c')."""
    w_hh = params["weight_hh"]
    steps, batch, _ = inputs.shape
    hidden = w_hh.shape[1]
    x_proj = (inputs.reshape(steps * batch, -1) @ params["weight_ih"].T).reshape(steps, batch, -1)
    x_proj += params["bias_ih"] + params["bias_hh"]
    h = np.zeros((steps + 1, batch, hidden), dtype=w_hh.dtype)
    c = np.zeros_like(h)
    gates = np.empty((steps, batch, 4 * hidden), dtype=w_hh.dtype)
    for t in range(steps):
        pre = x_proj[t] + h[t] @ w_hh.T
        gate = gates[t]
        gate[:, :2 * hidden] = sigmoid(pre[:, :2 * hidden])
        gate[:, 2 * hidden:3 * hidden] = np.tanh(pre[:, 2 * hidden:3 * hidden])
        gate[:, 3 * hidden:] = sigmoid(pre[:, 3 * hidden:])
        i, f, g, o = gate[:, :hidden], gate[:, hidden:2 * hidden], gate[:, 2 * hidden:3 * hidden], gate[:, 3 * hidden:]
        c[t + 1] = f * c[t] + i * g
        h[t + 1] = o * np.tanh(c[t + 1])
    loss, probs = _readout_forward(params, h[1:], targets)
    return loss, {"h": h, "c": c, "gates": gates, "probs": probs}


def lstm_backward(params: dict, cache: dict, inputs: np.ndarray, targets: np.ndarray) -> dict:
    h, c, gates, w_hh, grads = cache["h"], cache["c"], cache["gates"], params["weight_hh"], {}
    hidden = w_hh.shape[1]
    d_h_all = _readout_backward(params, h[1:], cache["probs"], targets, grads)
    d_pre = np.empty_like(gates)
    d_h_next, d_c_next = np.zeros_like(d_h_all[0]), np.zeros_like(d_h_all[0])
    for t in range(len(gates) - 1, -1, -1):
        gate = gates[t]
        i, f, g, o = gate[:, :hidden], gate[:, hidden:2 * hidden], gate[:, 2 * hidden:3 * hidden], gate[:, 3 * hidden:]
        tanh_c = np.tanh(c[t + 1])
        d_h = d_h_all[t] + d_h_next
        d_c = d_c_next + d_h * o * (1 - tanh_c * tanh_c)
        d = d_pre[t]
        d[:, :hidden] = d_c * g * i * (1 - i)
        d[:, hidden:2 * hidden] = d_c * c[t] * f * (1 - f)
        d[:, 2 * hidden:3 * hidden] = d_c * i * (1 - g * g)
        d[:, 3 * hidden:] = d_h * tanh_c * o * (1 - o)
        d_h_next = d @ w_hh
        d_c_next = d_c * f
    _input_grads(grads, d_pre, d_pre, inputs, h)
    return grads


def gru_forward(params: dict, inputs: np.ndarray, targets: np.ndarray) -> tuple[float, dict]:
    """r, z = sigmoid(x proj + h proj); n = tanh(x_n + r * h_n); h' = (1 - z) n + z h."""
    w_hh, b_hh = params["weight_hh"], params["bias_hh"]
    steps, batch, _ = inputs.shape
    hidden = w_hh.shape[1]
    x_proj = (inputs.reshape(steps * batch, -1) @ params["weight_ih"].T).reshape(steps, batch, -1)
    x_proj += params["bias_ih"]
    h = np.zeros((steps + 1, batch, hidden), dtype=w_hh.dtype)
    rzn = np.empty((steps, batch, 3 * hidden), dtype=w_hh.dtype)     # r, z, n
    h_n = np.empty((steps, batch, hidden), dtype=w_hh.dtype)         # W_hn h + b_hn
    for t in range(steps):
        h_proj = h[t] @ w_hh.T + b_hh
        gate = rzn[t]
        gate[:, :2 * hidden] = sigmoid(x_proj[t, :, :2 * hidden] + h_proj[:, :2 * hidden])
        h_n[t] = h_proj[:, 2 * hidden:]
        r, z = gate[:, :hidden], gate[:, hidden:2 * hidden]
        n = gate[:, 2 * hidden:]
        n[...] = np.tanh(x_proj[t, :, 2 * hidden:] + r * h_n[t])
        h[t + 1] = (1 - z) * n + z * h[t]
    loss, probs = _readout_forward(params, h[1:], targets)
    return loss, {"h": h, "rzn": rzn, "h_n": h_n, "probs": probs}


def gru_backward(params: dict, cache: dict, inputs: np.ndarray, targets: np.ndarray) -> dict:
    h, rzn, h_n, w_hh, grads = cache["h"], cache["rzn"], cache["h_n"], params["weight_hh"], {}
    hidden = w_hh.shape[1]
    d_h_all = _readout_backward(params, h[1:], cache["probs"], targets, grads)
    d_in = np.empty_like(rzn)     # dL/d(x W_ih^T + b_ih)
    d_rec = np.empty_like(rzn)    # dL/d(h W_hh^T + b_hh)
    d_next = np.zeros_like(d_h_all[0])
    for t in range(len(rzn) - 1, -1, -1):
        gate = rzn[t]
        r, z, n = gate[:, :hidden], gate[:, hidden:2 * hidden], gate[:, 2 * hidden:]
        d_h = d_h_all[t] + d_next
        d_pre_n = d_h * (1 - z) * (1 - n * n)
        d_r = d_pre_n * h_n[t] * r * (1 - r)
        d_z = d_h * (h[t] - n) * z * (1 - z)
        d_in[t, :, :hidden] = d_rec[t, :, :hidden] = d_r
        d_in[t, :, hidden:2 * hidden] = d_rec[t, :, hidden:2 * hidden] = d_z
        d_in[t, :, 2 * hidden:] = d_pre_n
        d_rec[t, :, 2 * hidden:] = d_pre_n * r
        d_next = d_h * z + d_rec[t] @ w_hh
    _input_grads(grads, d_in, d_rec, inputs, h)
    return grads


REFERENCE = {"rnn": (rnn_forward, rnn_backward), "lstm": (lstm_forward, lstm_backward),
             "gru": (gru_forward, gru_backward)}


def reference_step(kind: str, params: dict, inputs: np.ndarray, targets: np.ndarray, lr: float) -> dict:
    """Forward, hand-derived backward, SGD (new arrays, as the project's optimizer); returns the grads."""
    forward, backward = REFERENCE[kind]
    _, cache = forward(params, inputs, targets)
    grads = backward(params, cache, inputs, targets)
    for name, grad in grads.items():
        params[name] = params[name] - lr * grad
    return grads


# ---- the matmul floor ---------------------------------------------------------------

def matmul_floor(kind: str, hidden: int, batch: int, dtype, steps: int = STEPS):
    """A function doing only the matrix products of the hand-written step, on arrays of the same shapes."""
    rng = np.random.default_rng(1)
    width = GATES[kind] * hidden

    def array(*shape):
        return rng.standard_normal(shape).astype(dtype)

    x, hs, d_logits, d_pre = array(steps * batch, VOCAB), array(steps * batch, hidden), \
        array(steps * batch, VOCAB), array(steps * batch, width)
    w_ih, w_hh, w_out = array(width, VOCAB), array(width, hidden), array(VOCAB, hidden)
    h, d = array(batch, hidden), array(batch, width)

    def products():
        x @ w_ih.T
        for _ in range(steps):
            h @ w_hh.T
        hs @ w_out.T
        d_logits.T @ hs
        d_logits @ w_out
        for _ in range(steps):
            d @ w_hh
        d_pre.T @ x
        d_pre.T @ hs

    return products


# ---- the microgradseq model ---------------------------------------------------------

class CharModel(mg.nn.Module):
    """One-hot characters -> RNN / LSTM / GRU layer -> Linear readout; summed cross-entropy."""

    def __init__(self, kind: str, hidden: int, dtype, fused: bool = False) -> None:
        super().__init__()
        options = {"fused": True} if fused else {}
        self.kind = kind
        self.rnn = LAYERS[kind](VOCAB, hidden, dtype=dtype, **options)
        self.readout = mg.nn.Linear(hidden, VOCAB, dtype=dtype)

    def forward(self, inputs: np.ndarray, targets: np.ndarray) -> mg.Tensor:
        output, _ = self.rnn(inputs)
        logits = self.readout(output.reshape(-1, output.shape[-1]))
        return cross_entropy(logits, targets.reshape(-1), reduction="sum")


REFERENCE_NAMES = {"rnn.weight_ih_l0": "weight_ih", "rnn.weight_hh_l0": "weight_hh",
                   "rnn.bias_ih_l0": "bias_ih", "rnn.bias_hh_l0": "bias_hh",
                   "readout.weight": "weight_out", "readout.bias": "bias_out"}


def engine_trainer(model: CharModel, inputs: np.ndarray, targets: np.ndarray, lr: float):
    optimizer = mg.optim.SGD(model.parameters(), lr=lr)

    def step():
        model(inputs, targets).backward()
        optimizer.step()
        optimizer.zero_grad()

    return step


def data(batch: int, dtype, steps: int = STEPS) -> tuple[np.ndarray, np.ndarray]:
    """Random characters as one-hot inputs (T, B, 65) and next-character targets (T, B)."""
    codes = np.random.default_rng(0).integers(0, VOCAB, (steps + 1, batch))
    return np.eye(VOCAB, dtype=dtype)[codes[:-1]], codes[1:]


def make_model(kind: str, hidden: int, dtype, fused: bool = False) -> tuple[CharModel, dict]:
    """The engine model and a copy of its weights under the hand-written version's names."""
    mg.manual_seed(0)
    model = CharModel(kind, hidden, dtype, fused)
    params = {REFERENCE_NAMES[k]: v for k, v in model.state_dict().items()}
    return model, params


def check_gradients(kind: str, hidden: int = 16, batch: int = 3, fused: bool = False) -> float:
    """Worst relative difference between engine and hand-written, float64: the loss (relative to itself)
    and every gradient (relative to its largest entry); raises above 1e-8."""
    inputs, targets = data(batch, np.float64, steps=20)
    model, params = make_model(kind, hidden, np.float64, fused)
    loss = model(inputs, targets)
    loss.backward()
    expected_loss, _ = REFERENCE[kind][0](params, inputs, targets)
    reference = reference_step(kind, dict(params), inputs, targets, lr=0.0)
    worst = abs(loss.item() - expected_loss) / abs(expected_loss)
    for name, p in model.named_parameters():
        expected = reference[REFERENCE_NAMES[name]]
        worst = max(worst, float(np.abs(p.grad - expected).max() / np.abs(expected).max()))
    if worst > 1e-8:
        raise AssertionError(f"{kind}: engine and hand-written loss or gradients differ (relative {worst:.1e})")
    return worst


# ---- the table ----------------------------------------------------------------------

GOALS = {(32, 1): 3.0, (128, 32): 1.3, (512, 1): 1.5, (512, 32): 1.15}


def run(kinds, shapes, dtypes, repeats: int, torch_columns=None, min_seconds: float = 1.0) -> str:
    """One row per (model, H, B, dtype), with the op-level graph and the fused path (`fused=True`)."""
    from timing import interleaved, ratio, table

    header = ["model", "H, B", "dtype", "matmul floor ms", "hand-written ms", "microgradseq ms",
              "ratio", "goal", "hand-written / floor", "fused ms", "fused ratio"]
    if torch_columns is not None:
        header += torch_columns.header
    rows = []
    for kind in kinds:
        for hidden, batch in shapes:
            for dtype in dtypes:
                inputs, targets = data(batch, dtype)
                model, params = make_model(kind, hidden, dtype)
                fused_model, _ = make_model(kind, hidden, dtype, fused=True)
                lr = 1e-4
                fns = {"floor": matmul_floor(kind, hidden, batch, dtype),
                       "numpy": lambda: reference_step(kind, params, inputs, targets, lr),
                       "engine": engine_trainer(model, inputs, targets, lr),
                       "fused": engine_trainer(fused_model, inputs, targets, lr)}
                if torch_columns is not None:
                    fns.update(torch_columns.trainers(kind, params, inputs, targets, lr))
                times = interleaved(fns, repeats, min_seconds=min_seconds)
                goal = GOALS.get((hidden, batch))
                row = [kind.upper(), f"{hidden}, {batch}", np.dtype(dtype).name, times["floor"].ms(),
                       times["numpy"].ms(), times["engine"].ms(),
                       ratio(times["engine"], times["numpy"]), f"≤ {goal}x" if goal else "",
                       ratio(times["numpy"], times["floor"]),
                       times["fused"].ms(), ratio(times["fused"], times["numpy"])]
                if torch_columns is not None:
                    row += torch_columns.cells(times, times["numpy"])
                rows.append(row)
    return table(header, rows)
