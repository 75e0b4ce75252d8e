"""Review round 24: a user who works in float32 (and, secondarily, float16, or float64 as the default
dtype) stays in that dtype everywhere, as PyTorch's user does: module outputs and parameter gradients,
losses and the logits' gradients, optimizer steps and every array of their state dicts, schedulers,
gradient clipping, the BPTT runners, saving and loading, creation functions, forward mode and
reductions. Every expected dtype below was read off PyTorch 2.13 (CPU) for the same case; none is the
library's own output. The review found one defect, fixed since: a 0-d tensor of a wider dtype upcast a
tensor with dimensions (D1; PyTorch's keeps its dtype)."""

import io

import numpy as np
import pytest

import microgradseq as mg
from microgradseq import gradients as gradients_module

F = mg.functional
nn = mg.nn
F32, F64, F16 = np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.float16)
RNG = np.random.default_rng(24)
SEQ = RNG.standard_normal((5, 3, 4)).astype(np.float32)         # (T, B, I)
ROWS = RNG.standard_normal((3, 4)).astype(np.float32)           # (B, I)
SIGNAL = RNG.standard_normal((2, 4, 9)).astype(np.float32)      # (N, C, L)
LOGITS = RNG.standard_normal((6, 5)).astype(np.float32)
CLASSES = np.array([0, 4, -100, 1, 3, 2])                       # one ignored row
PROBS = RNG.random((6, 5)).astype(np.float32)
WEIGHTS = RNG.random(5).astype(np.float32) + 0.5


@pytest.fixture
def float32_rules(monkeypatch):
    """Records every gradient a rule hands to the engine in another floating dtype than the node's
    (the engine casts it back silently, so only this shows a float64 intermediate)."""
    seen = []
    original = gradients_module.GradientPass.add

    def add(self, node, grad, source):
        array = grad if isinstance(grad, np.ndarray) else getattr(grad, "grad", None)
        if isinstance(array, np.ndarray) and node.dtype.kind == "f" and array.dtype != node.dtype:
            seen.append((getattr(source, "op", None), array.dtype, node.dtype))
        return original(self, node, grad, source)

    monkeypatch.setattr(gradients_module.GradientPass, "add", add)
    return seen


def _tensors(value) -> list:
    if isinstance(value, (tuple, list)):
        return [t for item in value for t in _tensors(item)]
    if isinstance(value, mg.Tensor):
        return [value]
    return _tensors(value.data) if hasattr(value, "batch_sizes") else []


def _arrays(tree, path="") -> list:
    """(path, dtype) of every array, numpy scalar or tensor in a (nested) state dict."""
    if isinstance(tree, dict):
        return [a for key, value in tree.items() for a in _arrays(value, f"{path}.{key}")]
    if isinstance(tree, (list, tuple)):
        return [a for i, value in enumerate(tree) for a in _arrays(value, f"{path}[{i}]")]
    if isinstance(tree, (np.ndarray, np.generic, mg.Tensor)):
        return [(path, np.dtype(tree.dtype))]
    return []


def _roundtrip(obj):
    buffer = io.BytesIO()
    mg.save(obj, buffer)
    buffer.seek(0)
    return mg.load(buffer)


# ---- modules: forward outputs, parameter, input and state gradients, buffers --------------------------

MODULES = {
    "Linear": (lambda: nn.Linear(4, 6), ROWS),
    "LazyLinear": (lambda: nn.LazyLinear(6), ROWS),
    "Embedding": (lambda: nn.Embedding(10, 4, padding_idx=0), np.array([[0, 2], [3, 9]])),
    "Conv1d": (lambda: nn.Conv1d(4, 6, 3), SIGNAL),
    "Conv1d-groups-same-reflect": (lambda: nn.Conv1d(4, 6, 3, groups=2, dilation=2, padding="same",
                                                     padding_mode="reflect"), SIGNAL),
    "Conv1d-circular": (lambda: nn.Conv1d(4, 6, 3, padding=1, padding_mode="circular"), SIGNAL),
    "LayerNorm": (lambda: nn.LayerNorm(4), ROWS),
    "BatchNorm1d": (lambda: nn.BatchNorm1d(4), ROWS),
    "BatchNorm1d-3d-momentum-None": (lambda: nn.BatchNorm1d(4, momentum=None), SIGNAL),
    "LazyBatchNorm1d": (lambda: nn.LazyBatchNorm1d(), ROWS),
    "PReLU": (lambda: nn.PReLU(4), ROWS),
    "Sequential-Dropout": (lambda: nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5), nn.GELU()), ROWS),
    "RNNCell-relu": (lambda: nn.RNNCell(4, 5, nonlinearity="relu"), ROWS),
}
for _cell in ("RNNCell", "LSTMCell", "GRUCell"):
    for _fused in (False, True):
        MODULES[f"{_cell}-fused={_fused}"] = (lambda c=_cell, f=_fused: getattr(nn, c)(4, 5, fused=f), ROWS)
for _layer in ("RNN", "LSTM", "GRU"):
    for _name, _options in (("", {}), ("-fused", dict(fused=True)), ("-bidirectional", dict(bidirectional=True)),
                            ("-2layers-dropout", dict(num_layers=2, dropout=0.3)),
                            ("-2layers-bidirectional-fused", dict(num_layers=2, bidirectional=True, fused=True)),
                            ("-batch_first", dict(batch_first=True))):
        MODULES[_layer + _name] = (lambda l=_layer, o=_options: getattr(nn, l)(4, 5, **o), SEQ)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_outputs_and_gradients_stay_float32(name, float32_rules):
    """PyTorch: every output, every parameter's .grad and every floating buffer of a float32 module
    given float32 input is float32, and so is each gradient its ops hand back."""
    make, data = MODULES[name]
    mg.manual_seed(0)
    module = make()
    outputs = _tensors(module(mg.tensor(data)))
    assert outputs and all(t.dtype == F32 for t in outputs if t.dtype.kind == "f")
    sum((t * t).sum() for t in outputs if t.dtype.kind == "f").backward()
    grads = {n: p.grad.dtype for n, p in module.named_parameters() if p.grad is not None}
    assert grads and set(grads.values()) == {F32}, grads
    assert {b.dtype for _, b in module.named_buffers() if b.dtype.kind == "f"} <= {F32}
    assert float32_rules == []


@pytest.mark.parametrize("layer", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("fused", [False, True])
def test_sequence_layer_input_and_initial_state_gradients_are_float32(layer, fused):
    mg.manual_seed(0)
    module = getattr(nn, layer)(4, 5, fused=fused)
    x = mg.tensor(SEQ, requires_grad=True)
    h0 = mg.zeros(1, 3, 5, requires_grad=True)
    c0 = mg.zeros(1, 3, 5, requires_grad=True)
    output, state = module(x, (h0, c0) if layer == "LSTM" else h0)
    assert output.dtype == F32 and all(t.dtype == F32 for t in _tensors(state))
    (output * output).sum().backward()
    assert x.grad.dtype == F32 and h0.grad.dtype == F32
    if layer == "LSTM":
        assert c0.grad.dtype == F32


@pytest.mark.parametrize("layer", ["LSTM", "GRU"])
def test_float32_model_under_float64_default_stays_float32(layer, float64_default):
    """A model made with dtype=float32 while the default is float64: its zero initial state and every
    internal constant follow the model, not the default (PyTorch's h0 is zeros of the input's dtype)."""
    mg.manual_seed(0)
    module = getattr(nn, layer)(4, 5, num_layers=2, dropout=0.2, bidirectional=True, dtype=np.float32)
    output, state = module(mg.tensor(SEQ))
    assert output.dtype == F32 and {t.dtype for t in _tensors(state)} == {F32}
    (output * output).sum().backward()
    assert {p.grad.dtype for p in module.parameters()} == {F32}


def test_float64_default_builds_and_trains_float64_models(float64_default):
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.LayerNorm(8), nn.Tanh(), nn.Linear(8, 5))
    gru = nn.GRU(4, 4, fused=True)
    assert {p.dtype for p in list(model.parameters()) + list(gru.parameters())} == {F64}
    x = mg.tensor(ROWS.astype(np.float64))
    loss = F.cross_entropy(model(x), mg.tensor(np.array([0, 1, 2])), label_smoothing=0.1)
    assert loss.dtype == F64
    loss.backward()
    assert {p.grad.dtype for p in model.parameters()} == {F64}
    assert gru(mg.tensor(SEQ.astype(np.float64)))[0].dtype == F64


# ---- losses: the value's dtype and the logits' gradient's ----------------------------------------------

def _classes(reduction_ignores=True):
    return mg.tensor(CLASSES if reduction_ignores else np.abs(CLASSES) % 5)


LOSSES = {
    "cross_entropy": lambda x, r: F.cross_entropy(x, _classes(False), reduction=r),
    "cross_entropy-ignore_index": lambda x, r: F.cross_entropy(x, _classes(), reduction=r),
    "cross_entropy-weight-smoothing": lambda x, r: F.cross_entropy(x, _classes(), weight=mg.tensor(WEIGHTS),
                                                                  label_smoothing=0.1, reduction=r),
    "cross_entropy-int32-target": lambda x, r: F.cross_entropy(x, mg.tensor((np.abs(CLASSES) % 5).astype(np.int32)),
                                                              reduction=r),
    "cross_entropy-probabilities": lambda x, r: F.cross_entropy(x, mg.tensor(PROBS), reduction=r),
    "cross_entropy-probabilities-weight-smoothing": lambda x, r: F.cross_entropy(
        x, mg.tensor(PROBS), weight=mg.tensor(WEIGHTS), label_smoothing=0.2, reduction=r),
    "nll_loss-weight": lambda x, r: F.nll_loss(F.log_softmax(x, 1), _classes(), weight=mg.tensor(WEIGHTS),
                                               reduction=r),
    "mse_loss": lambda x, r: F.mse_loss(x, mg.tensor(PROBS), reduction=r),
    "mse_loss-int-target": lambda x, r: F.mse_loss(x, mg.tensor((PROBS * 3).astype(np.int64)), reduction=r),
    "l1_loss": lambda x, r: F.l1_loss(x, mg.tensor(PROBS), reduction=r),
    "huber_loss": lambda x, r: F.huber_loss(x, mg.tensor(PROBS), reduction=r, delta=0.5),
    "smooth_l1_loss": lambda x, r: F.smooth_l1_loss(x, mg.tensor(PROBS), reduction=r, beta=0.5),
    "binary_cross_entropy-weight": lambda x, r: F.binary_cross_entropy(x.sigmoid(), mg.tensor(PROBS),
                                                                       weight=mg.tensor(WEIGHTS), reduction=r),
    "bce_with_logits-weight-pos_weight": lambda x, r: F.binary_cross_entropy_with_logits(
        x, mg.tensor(PROBS), weight=mg.tensor(WEIGHTS), pos_weight=mg.tensor(WEIGHTS), reduction=r),
    "kl_div": lambda x, r: F.kl_div(F.log_softmax(x, 1), mg.tensor(PROBS), reduction=r),
    "kl_div-log_target": lambda x, r: F.kl_div(F.log_softmax(x, 1), mg.tensor(np.log(PROBS)), reduction=r,
                                               log_target=True),
}


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_value_and_logits_gradient_are_float32(name, reduction, float32_rules):
    x = mg.tensor(LOGITS, requires_grad=True)
    loss = LOSSES[name](x, reduction)
    assert loss.dtype == F32
    loss.sum().backward()
    assert x.grad.dtype == F32
    assert float32_rules == []


@pytest.mark.parametrize("module, target", [
    (lambda: nn.CrossEntropyLoss(weight=mg.tensor(WEIGHTS), label_smoothing=0.1), CLASSES),
    (lambda: nn.NLLLoss(), CLASSES), (lambda: nn.MSELoss(), PROBS), (lambda: nn.L1Loss(), PROBS),
    (lambda: nn.HuberLoss(), PROBS), (lambda: nn.SmoothL1Loss(), PROBS),
    (lambda: nn.BCEWithLogitsLoss(pos_weight=mg.tensor(WEIGHTS)), PROBS),
    (lambda: nn.KLDivLoss(reduction="batchmean"), PROBS)], ids=lambda v: "" if isinstance(v, np.ndarray) else None)
def test_loss_modules_are_float32(module, target):
    x = mg.tensor(LOGITS, requires_grad=True)
    loss = module()(x, mg.tensor(target))
    loss.backward()
    assert loss.dtype == F32 and x.grad.dtype == F32


@pytest.mark.filterwarnings("ignore:reduction")
@pytest.mark.parametrize("name", ["cross_entropy-weight-smoothing", "cross_entropy-probabilities-weight-smoothing",
                                  "bce_with_logits-weight-pos_weight", "huber_loss", "kl_div"])
def test_losses_of_float32_logits_stay_float32_under_float64_default(name, float64_default):
    """Class weights given as Python floats become float64 under a float64 default; PyTorch keeps the
    float32 loss of float32 logits with float32 targets: no internal constant follows the default."""
    x = mg.tensor(LOGITS, requires_grad=True)
    loss = LOSSES[name](x, "mean")
    loss.backward()
    assert loss.dtype == F32 and x.grad.dtype == F32


def test_float64_targets_promote_like_pytorch_where_pytorch_does():
    """PyTorch promotes mse_loss and l1_loss of float32 input and a float64 target to float64 (the
    input's gradient stays float32); the library does the same."""
    for loss_fn in (F.mse_loss, F.l1_loss):
        x = mg.tensor(LOGITS, requires_grad=True)
        loss = loss_fn(x, mg.tensor(PROBS.astype(np.float64)))
        loss.backward()
        assert loss.dtype == F64 and x.grad.dtype == F32


# ---- 0-d tensors next to dimensioned ones ---------------------------------------------------------------

def test_float32_tensor_with_python_and_numpy_scalars_stays_float32(float32_rules):
    x = mg.tensor(LOGITS, requires_grad=True)
    s = np.float64(0.7)
    y = (x * s + s - x / s) ** 2.0 + mg.where(x > 0, x, s) + x.clip(-s, s) + mg.lerp(x, x * 2, s)
    y.sum().backward()
    assert y.dtype == F32 and x.grad.dtype == F32 and float32_rules == []


def test_float32_tensor_with_0d_float64_tensor_stays_float32(float64_default):
    """D1 (fixed): mg.tensor(0.5) under a float64 default is float64 and 0-d; PyTorch's tensor with
    dimensions wins within a kind, so the result is float32 (numpy's arrays would give float64)."""
    x = mg.tensor(LOGITS, requires_grad=True)
    for y in (x + mg.tensor(0.5), x * mg.tensor(2.0), mg.tensor(1.0) - x, x / mg.tensor(2.0),
              mg.where(x > 0, x, mg.tensor(0.0))):
        assert y.dtype == F32


def test_float16_tensor_with_0d_default_tensor_stays_float16():
    assert (mg.tensor(np.ones(3, np.float16)) + mg.tensor(0.5)).dtype == F16
    assert np.isinf((mg.tensor(np.ones(2, np.float16)) * mg.tensor(1e10)).data).all()   # (quietly, as PyTorch's)


def test_0d_operand_of_a_wider_dtype_gets_its_gradient_in_its_dtype(float64_default):
    """y = sum(x * a), x float32 of 3 ones, a a float64 0-d leaf: y is float32, dy/da = sum(x) = 3
    arrives in float64 and dy/dx = a = 2 in float32, as PyTorch's."""
    x = mg.tensor(np.ones(3, np.float32), requires_grad=True)
    a = mg.tensor(2.0, requires_grad=True)
    y = (x * a).sum()
    y.backward()
    assert y.dtype == F32 and a.grad.dtype == F64 and x.grad.dtype == F32
    assert a.grad == 3.0 and np.array_equal(x.grad, np.full(3, 2.0, np.float32))


def test_0d_integer_tensor_next_to_an_integer_tensor_takes_its_dtype():
    """Integers too: int8 with an int64 0-d wraps in int8 (1001 - 1024 = -23), uint8 with int8 stays uint8."""
    y = mg.tensor([1, 2], dtype=np.int8) + mg.tensor(1000)
    assert y.dtype == np.int8 and y.tolist() == [-23, -22]
    assert (mg.tensor([1, 2], dtype=np.uint8) + mg.tensor(5, dtype=np.int8)).dtype == np.uint8
    assert (mg.tensor(2, dtype=np.int64) * mg.tensor(3, dtype=np.int32)).dtype == np.int64  # (both 0-d: numpy's)


# ---- optimizers, their state dicts, schedulers ------------------------------------------------------------

OPTIMIZERS = [("SGD", dict(lr=0.1)), ("SGD", dict(lr=0.1, momentum=0.9)),
              ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
              ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.5, maximize=True)),
              ("Adam", dict(lr=0.01)), ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
              ("AdamW", dict(lr=0.01)), ("AdamW", dict(lr=0.01, amsgrad=True)),
              ("RMSprop", dict(lr=0.01)), ("RMSprop", dict(lr=0.01, centered=True, momentum=0.9, weight_decay=0.1)),
              ("Adagrad", dict(lr=0.01)), ("Adagrad", dict(lr=0.01, lr_decay=0.1, weight_decay=0.1,
                                                             initial_accumulator_value=0.1)),
              ("Adadelta", dict()), ("Adadelta", dict(weight_decay=0.1)),
              ("LBFGS", dict(lr=0.5)), ("LBFGS", dict(lr=1, line_search_fn="strong_wolfe"))]


def _trained(name, options, steps=3, dtype=np.float32):
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2)).to(dtype)
    optimizer = getattr(mg.optim, name)(model.parameters(), **options)
    x = mg.tensor(ROWS.astype(dtype))

    def closure():
        optimizer.zero_grad()
        loss = (model(x) ** 2).mean()
        loss.backward()
        return loss

    for _ in range(steps):
        optimizer.step(closure)
    return model, optimizer


@pytest.mark.parametrize("name, options", OPTIMIZERS, ids=[f"{n}-{'-'.join(o) or 'plain'}" for n, o in OPTIMIZERS])
def test_optimizer_keeps_float32_parameters_and_state(name, options):
    """PyTorch: parameters stay float32 after step() and every tensor in state_dict()['state'] is
    float32 (Adam's `step` too); here a step count may be a Python int, every array float32, also
    after mg.save / mg.load and loading the state into a new optimizer."""
    model, optimizer = _trained(name, options)
    assert {p.dtype for p in model.parameters()} == {F32}
    assert {p.grad.dtype for p in model.parameters()} == {F32}
    state = optimizer.state_dict()["state"]
    arrays = _arrays(state)
    if name != "SGD" or options.get("momentum"):
        assert arrays, "expected state arrays"
    assert {d for _, d in arrays if d.kind == "f"} <= {F32}, arrays
    reloaded = _roundtrip(optimizer.state_dict())
    assert {d for _, d in _arrays(reloaded["state"]) if d.kind == "f"} <= {F32}
    fresh = getattr(mg.optim, name)(model.parameters(), **options)
    fresh.load_state_dict(reloaded)
    assert {d for _, d in _arrays(fresh.state_dict()["state"]) if d.kind == "f"} <= {F32}


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop", "Adagrad", "Adadelta"])
def test_optimizer_keeps_float16_parameters_and_state(name):
    options = {"SGD": dict(lr=0.01, momentum=0.9), "Adadelta": dict(eps=1e-3)}.get(name, dict(lr=0.01, eps=1e-3))
    model, optimizer = _trained(name, options, dtype=np.float16)
    assert {p.dtype for p in model.parameters()} == {F16}
    assert {d for _, d in _arrays(optimizer.state_dict()["state"]) if d.kind == "f"} == {F16}


def test_float64_optimizer_state_loaded_into_float32_model_is_cast():
    """PyTorch's Optimizer.load_state_dict casts floating state to its parameter's dtype."""
    model, optimizer = _trained("Adam", dict(lr=0.01))
    state = optimizer.state_dict()
    for entry in state["state"].values():
        for key, value in entry.items():
            if isinstance(value, np.ndarray) and value.dtype.kind == "f":
                entry[key] = value.astype(np.float64)
    fresh = mg.optim.Adam(model.parameters(), lr=0.01)
    fresh.load_state_dict(state)
    model(mg.tensor(ROWS)).sum().backward()
    fresh.step()
    assert {d for _, d in _arrays(fresh.state_dict()["state"]) if d.kind == "f"} == {F32}
    assert {p.dtype for p in model.parameters()} == {F32}


@pytest.mark.parametrize("scheduler, options", [
    ("StepLR", dict(step_size=1, gamma=0.5)), ("MultiStepLR", dict(milestones=[1, 2])),
    ("ExponentialLR", dict(gamma=0.9)), ("CosineAnnealingLR", dict(T_max=3)),
    ("LambdaLR", dict(lr_lambda=lambda epoch: 0.9 ** epoch)), ("ReduceLROnPlateau", dict(patience=0))])
def test_schedulers_keep_python_float_rates_and_float32_parameters(scheduler, options):
    mg.manual_seed(0)
    model = nn.Linear(4, 2)
    optimizer = mg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    schedule = getattr(mg.optim.lr_scheduler, scheduler)(optimizer, **options)
    for _ in range(4):
        optimizer.zero_grad()
        loss = (model(mg.tensor(ROWS)) ** 2).mean()
        loss.backward()
        optimizer.step()
        schedule.step(loss.item()) if scheduler == "ReduceLROnPlateau" else schedule.step()
    assert type(optimizer.param_groups[0]["lr"]) is float
    assert {p.dtype for p in model.parameters()} == {F32}
    assert {d for _, d in _arrays(optimizer.state_dict()["state"])} == {F32}


# ---- gradient clipping ----------------------------------------------------------------------------------

def _with_grads(dtype=np.float32):
    mg.manual_seed(0)
    model = nn.Linear(4, 3).to(dtype)
    (model(mg.tensor(ROWS.astype(dtype))) ** 2).sum().backward()
    return model


@pytest.mark.parametrize("norm_type", [2.0, 1, 3, "inf"])
def test_clip_grad_norm_returns_a_0d_tensor_of_the_gradients_dtype(norm_type):
    """torch.nn.utils.clip_grad_norm_ returns a 0-d float32 tensor for float32 gradients."""
    model = _with_grads()
    total = mg.optim.clip_grad_norm_(model.parameters(), 1e-3, norm_type=norm_type)
    assert isinstance(total, mg.Tensor) and total.shape == () and total.dtype == F32
    assert {p.grad.dtype for p in model.parameters()} == {F32}
    assert mg.nn.utils.get_total_norm([p.grad for p in model.parameters()], norm_type).dtype == F32


def test_clipping_keeps_float32_and_float16_gradients():
    model = _with_grads()
    mg.optim.clip_grad_value_(model.parameters(), np.float64(1e-3))
    mg.optim.clip_grad_norm_(model.parameters(), np.float64(1e-3))
    mg.nn.utils.clip_grads_with_norm_(model.parameters(), 1e-3, mg.tensor(np.float32(5.0)))
    assert {p.grad.dtype for p in model.parameters()} == {F32}
    half = _with_grads(np.float16)
    assert mg.optim.clip_grad_norm_(half.parameters(), 1e-3).dtype == F16
    assert {p.grad.dtype for p in half.parameters()} == {F16}
    assert mg.optim.clip_grad_norm_([], 1.0).dtype == F32          # none: the default dtype, as PyTorch's


def test_clip_grad_norm_of_nothing_under_float64_default(float64_default):
    assert mg.optim.clip_grad_norm_([], 1.0).dtype == F64


# ---- BPTT runners -----------------------------------------------------------------------------------------

def _online_setup(cell):
    mg.manual_seed(0)
    core, readout = getattr(nn, cell)(4, 5), nn.Linear(5, 2)
    params = list(core.parameters()) + list(readout.parameters())
    seen = []

    def step(x, state):
        new = core(x, state)
        h = new[0] if isinstance(new, tuple) else new
        seen.append(h.dtype)
        return readout(h), new

    def on_update(u, loss):
        seen.append(type(loss))
        seen.extend(p.grad.dtype for p in params)

    inputs = [mg.tensor(SEQ[t]) for t in range(5)] + [mg.tensor(SEQ[t]) for t in range(3)]
    targets = [mg.tensor(np.array([0, 1, 1])) for _ in range(8)]
    return params, step, on_update, inputs, targets, seen


@pytest.mark.parametrize("runner", ["tbptt", "rtrl", "uoro"])
@pytest.mark.parametrize("cell", ["LSTMCell", "GRUCell"])
def test_bptt_runners_keep_float32_states_gradients_and_report_python_floats(runner, cell):
    params, step, on_update, inputs, targets, seen = _online_setup(cell)
    optimizer = mg.optim.Adam(params, lr=0.01)
    zeros = mg.zeros(3, 5)
    state = (zeros, mg.zeros(3, 5)) if cell == "LSTMCell" else zeros
    if runner == "tbptt":
        result = mg.bptt.tbptt(step, None, inputs, targets, F.cross_entropy, k1=2, k2=4, optimizer=optimizer,
                               on_update=on_update, reduction="mean")
    else:
        result = getattr(mg.bptt, runner)(step, state, inputs, targets, F.cross_entropy, params, k1=2,
                                          optimizer=optimizer, on_update=on_update)
    assert set(seen) == {F32, float}
    assert result.losses and all(type(loss) is float for loss in result.losses)
    assert {t.dtype for t in _tensors(result.state)} == {F32}
    assert {p.dtype for p in params} == {F32}
    assert {d for _, d in _arrays(optimizer.state_dict()["state"]) if d.kind == "f"} == {F32}


def test_tbptt_blocks_with_a_fused_layer_keeps_float32():
    mg.manual_seed(0)
    gru, readout = nn.GRU(4, 5, fused=True), nn.Linear(5, 2)
    params = list(gru.parameters()) + list(readout.parameters())
    grads = []

    def step_block(block, state):
        output, state = gru(block if isinstance(block, mg.Tensor) else mg.stack(list(block)), state)
        return readout(output), state

    result = mg.bptt.tbptt_blocks(
        step_block, None, mg.tensor(SEQ), mg.tensor(np.zeros((5, 3), np.int64)), F.cross_entropy, k1=2, k2=4,
        optimizer=mg.optim.SGD(params, lr=0.1), on_update=lambda u, loss: grads.extend(p.grad.dtype for p in params),
        block_loss_fn=lambda out, t: F.cross_entropy(out.reshape(-1, 2), t.reshape(-1), reduction="sum"))
    assert set(grads) == {F32} and all(type(loss) is float for loss in result.losses)
    assert result.state.dtype == F32 and {p.dtype for p in params} == {F32}


def test_demo_training_stays_float32(float32_rules):
    from microgradseq import charlm
    text = charlm.load_text()[:1500]
    vocab = charlm.Vocabulary(text)
    mg.manual_seed(0)
    model = charlm.CharLM(len(vocab), 16, cell="lstm")
    log = charlm.train(model, vocab.encode(text), steps=30, k1=5, k2=10, batch_size=4)
    assert {p.dtype for p in model.parameters()} == {F32}
    assert all(type(v) is float for v in log.losses + log.grad_norms)
    assert float32_rules == []


# ---- saving and loading ------------------------------------------------------------------------------------

def _stack():
    mg.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.GRU(4, 2))


def test_state_dict_save_load_round_trip_stays_float32():
    model = _stack()
    model[1](mg.tensor(RNG.standard_normal((5, 4)).astype(np.float32)))
    state = _roundtrip(model.state_dict())
    assert {np.dtype(v.dtype) for k, v in state.items() if not k.endswith("num_batches_tracked")} == {F32}
    assert np.dtype(state["1.num_batches_tracked"].dtype) == np.int64
    fresh = _stack()
    fresh.load_state_dict(state)
    assert {p.dtype for p in fresh.parameters()} == {F32}
    assert {b.dtype for _, b in fresh.named_buffers()} == {F32, np.dtype(np.int64)}
    saved = _roundtrip({"t": mg.tensor(np.float32([1.5])), "a": np.float32([2.0]), "h": np.float16([1.0])})
    assert [np.dtype(saved[k].dtype) for k in "tah"] == [F32, F32, F16]


@pytest.mark.parametrize("as_tensors", [False, True])
def test_loading_float64_arrays_into_a_float32_model_casts_like_copy_(as_tensors):
    """PyTorch's load_state_dict copies with copy_: the parameter keeps its float32 dtype."""
    model = _stack()
    state = {}
    for key, value in model.state_dict().items():
        array = np.asarray(value)
        array = array.astype(np.float64) if array.dtype.kind == "f" else array
        state[key] = mg.tensor(array) if as_tensors else array
    fresh = _stack()
    fresh.load_state_dict(state)
    assert {p.dtype for p in fresh.parameters()} == {F32}
    assert {b.dtype for _, b in fresh.named_buffers() if b.dtype.kind == "f"} == {F32}
    np.testing.assert_array_equal(fresh[0].weight.data, model[0].weight.data)
    lists = nn.Linear(2, 1)
    lists.load_state_dict({"weight": [[0.1, 0.2]], "bias": [0.3]})
    assert lists.weight.dtype == F32 and lists.bias.dtype == F32


# ---- creation functions under the default dtype ---------------------------------------------------------

CREATION = {     # name: (maker, PyTorch's dtype under float32, under float64 default)
    "zeros": (lambda: mg.zeros(2, 3), "d", "d"), "ones": (lambda: mg.ones(2), "d", "d"),
    "randn": (lambda: mg.randn(2), "d", "d"), "rand": (lambda: mg.rand(2), "d", "d"),
    "empty": (lambda: mg.empty(2), "d", "d"), "eye": (lambda: mg.eye(2), "d", "d"),
    "arange-int": (lambda: mg.arange(5), "int64", "int64"), "arange-float-step": (lambda: mg.arange(0, 1, 0.1), "d", "d"),
    "arange-float-end": (lambda: mg.arange(5.0), "d", "d"), "linspace": (lambda: mg.linspace(0, 10, 5), "d", "d"),
    "full-float": (lambda: mg.full((2,), 1.5), "d", "d"), "full-int": (lambda: mg.full((2,), 1), "int64", "int64"),
    "full-bool": (lambda: mg.full((2,), True), "bool", "bool"), "tensor-float": (lambda: mg.tensor(1.5), "d", "d"),
    "tensor-mixed-list": (lambda: mg.tensor([[1, 2.5]]), "d", "d"), "Tensor-ints": (lambda: mg.Tensor([1, 2]), "d", "d"),
    "as_tensor": (lambda: mg.as_tensor([1.5]), "d", "d"), "normal": (lambda: mg.normal(0.0, 1.0, (2,)), "d", "d"),
    "FloatTensor": (lambda: mg.FloatTensor([1]), "float32", "float32"),
    "arange-times-float": (lambda: mg.arange(5) * 0.1, "d", "d"), "int-div-int": (lambda: mg.arange(5) / 2, "d", "d"),
    "exp-of-int": (lambda: mg.arange(3).exp(), "d", "d"),
    "randn_like-f32": (lambda: mg.randn_like(mg.tensor(ROWS)), "float32", "float32"),
    "full_like-f32": (lambda: mg.full_like(mg.tensor(ROWS), 2.5), "float32", "float32"),
    "Linear-weight": (lambda: nn.Linear(2, 2).weight, "d", "d"),
    "BatchNorm-running_var": (lambda: nn.BatchNorm1d(2).running_var, "d", "d"),
}


@pytest.mark.parametrize("default", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(CREATION))
def test_creation_dtypes_follow_the_default_as_pytorch(name, default):
    make, under32, under64 = CREATION[name]
    expected = {"float32": under32, "float64": under64}[default]
    previous = mg.get_default_dtype()
    mg.set_default_dtype(np.dtype(default))
    try:
        made = make()
    finally:
        mg.set_default_dtype(previous)
    assert made.dtype == np.dtype(default if expected == "d" else expected)


# ---- forward mode ---------------------------------------------------------------------------------------------

FUNCTIONS = {
    "tanh": lambda z: z.tanh(), "softmax": lambda z: mg.softmax(z, -1), "var": lambda z: z.var(),
    "norm": lambda z: z.norm(), "layer_norm": lambda z: F.layer_norm(z, (5,)), "gelu": lambda z: F.gelu(z),
    "cross_entropy": lambda z: F.cross_entropy(z, mg.tensor(np.array([0, 1, 2, 3, 4, 0]))),
    "bce_with_logits": lambda z: F.binary_cross_entropy_with_logits(z, mg.tensor(PROBS)),
    "logsumexp": lambda z: mg.logsumexp(z, 1), "lerp-cumsum": lambda z: mg.cumsum(mg.lerp(z, z * 2, 0.3), 1),
    "einsum": lambda z: mg.einsum("ij,kj->ik", z, z), "max": lambda z: z.max(1),
}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_forward_mode_tangents_are_float32(name):
    """torch.func.jvp and forward_ad of float32 primals with float32 tangents: float32 outputs and tangents
    (a float64 tangent is cast to the primal's dtype here, as documented)."""
    fn, x = FUNCTIONS[name], mg.tensor(LOGITS)
    out, tangent = mg.func.jvp(fn, (x,), (mg.tensor(np.ones_like(LOGITS)),))
    assert out.dtype == F32 and tangent.dtype == F32
    out, tangent = mg.jvp(fn, (x,), (np.ones_like(LOGITS, dtype=np.float64),))
    assert out.dtype == F32 and np.asarray(tangent).dtype == F32
    with mg.autograd.forward_ad.dual_level():
        dual = mg.autograd.forward_ad.make_dual(x, mg.tensor(np.ones_like(LOGITS)))
        primal, tangent = mg.autograd.forward_ad.unpack_dual(fn(dual))
    assert primal.dtype == F32 and tangent.dtype == F32


def test_jacobians_and_vjps_of_float32_are_float32():
    x = mg.tensor(LOGITS[:2])
    assert mg.jacobian(lambda z: z.tanh(), x).dtype == F32
    assert mg.jacobian(lambda z: z.tanh(), x, mode="fwd").dtype == F32
    assert mg.func.jacrev(lambda z: z.sigmoid())(x).dtype == F32
    assert mg.func.jacfwd(lambda z: z.sigmoid())(x).dtype == F32
    assert mg.func.grad(lambda z: (z * z).sum())(x).dtype == F32
    _, grads = mg.vjp(lambda z: z.tanh(), (x,), np.ones(x.shape))       # a float64 cotangent
    assert [g.dtype for g in grads] == [F32]
    leaf = mg.tensor(LOGITS, requires_grad=True)
    leaf.tanh().backward(np.ones(LOGITS.shape))                          # a float64 seed
    assert leaf.grad.dtype == F32


# ---- reductions -------------------------------------------------------------------------------------------------

REDUCTIONS = {
    "mean": lambda z: z.mean(), "mean-dim": lambda z: z.mean(1), "var": lambda z: z.var(),
    "var-dim-biased": lambda z: z.var(1, unbiased=False), "std": lambda z: z.std(), "std-dim": lambda z: z.std(0),
    "std-correction0": lambda z: z.std(correction=0), "norm": lambda z: z.norm(), "norm-p1": lambda z: z.norm(p=1),
    "norm-inf-dim": lambda z: z.norm(p="inf", dim=1), "sum": lambda z: z.sum(), "mg.norm": lambda z: mg.norm(z),
    "linalg.norm": lambda z: mg.linalg.norm(z), "linalg.vector_norm": lambda z: mg.linalg.vector_norm(z),
    "logsumexp": lambda z: mg.logsumexp(z, 1), "amax": lambda z: mg.amax(z, 1), "cumsum": lambda z: mg.cumsum(z, 1),
}


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_reductions_of_float32_are_float32(name, float32_rules):
    x = mg.tensor(LOGITS, requires_grad=True)
    y = REDUCTIONS[name](x)
    y.sum().backward()
    assert y.dtype == F32 and x.grad.dtype == F32 and float32_rules == []


def test_half_precision_reductions_and_histograms():
    half = mg.tensor(LOGITS.astype(np.float16))
    assert {half.mean().dtype, half.var().dtype, half.std().dtype, half.norm().dtype} == {F16}
    assert mg.histc(mg.tensor(LOGITS)).dtype == F32


# ---- float16, where the library supports it ---------------------------------------------------------------

@pytest.mark.parametrize("make, data", [
    (lambda: nn.Linear(4, 3), ROWS), (lambda: nn.LSTM(4, 3), SEQ), (lambda: nn.GRU(4, 3, fused=True), SEQ),
    (lambda: nn.RNN(4, 3, fused=True), SEQ), (lambda: nn.GRUCell(4, 3), ROWS), (lambda: nn.LayerNorm(4), ROWS),
    (lambda: nn.BatchNorm1d(4), ROWS), (lambda: nn.Sequential(nn.Linear(4, 4), nn.GELU()), ROWS)],
    ids=["Linear", "LSTM", "GRU-fused", "RNN-fused", "GRUCell", "LayerNorm", "BatchNorm1d", "GELU"])
def test_half_modules_stay_half(make, data):
    mg.manual_seed(0)
    module = make().half()
    output = _tensors(module(mg.tensor(data.astype(np.float16))))[0]
    assert output.dtype == F16
    output.float().sum().backward()
    assert {p.grad.dtype for p in module.parameters()} == {F16}
    x = mg.tensor(LOGITS.astype(np.float16), requires_grad=True)
    loss = F.cross_entropy(x, mg.tensor(np.array([0, 1, 2, 3, 4, 0])))
    loss.backward()
    assert loss.dtype == F16 and x.grad.dtype == F16
