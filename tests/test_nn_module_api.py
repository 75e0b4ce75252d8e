"""More of PyTorch's nn API: Softmax, LogSoftmax, Identity, Flatten, ModuleDict; Module's apply,
children, modules, requires_grad_, buffers, half, cuda and repr; load_state_dict's result;
the hx= keyword of cells and layers; Embedding's padding_idx and from_pretrained.

References are numpy formulas, closed forms and PyTorch's documented behaviour; no PyTorch needed."""

import warnings

import numpy as np
import pytest

import microgradseq as mg
import microgradseq.nn as nn

RNG = np.random.default_rng(7)


def numpy_softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# ---- Softmax, LogSoftmax -------------------------------------------------------------------------

def test_softmax_module_is_numpys_softmax_along_dim():
    x = RNG.standard_normal((3, 4, 5))
    np.testing.assert_allclose(nn.Softmax(dim=1)(x).data, numpy_softmax(x, 1), rtol=1e-12)


def test_log_softmax_module_is_the_log_of_numpys_softmax_along_dim():
    x = RNG.standard_normal((3, 4, 5))
    np.testing.assert_allclose(nn.LogSoftmax(dim=-1)(x).data, np.log(numpy_softmax(x, -1)), rtol=1e-12)


def test_log_softmax_module_gradient_is_g_minus_softmax_times_the_sum_of_g():
    x = mg.tensor(RNG.standard_normal((4, 3)), requires_grad=True)
    g = RNG.standard_normal((4, 3))
    (nn.LogSoftmax(dim=1)(x) * g).sum().backward()
    expected = g - numpy_softmax(x.data, 1) * g.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(x.grad, expected, rtol=1e-12)


@pytest.mark.parametrize("shape, axis", [((5,), 0), ((4, 5), 1), ((3, 4, 5), 0), ((2, 3, 4, 5), 1)])
def test_softmax_without_dim_takes_pytorchs_implicit_axis_and_warns(shape, axis):
    """PyTorch's legacy rule: axis 0 for 0-, 1- and 3-d input, else axis 1 (not the last axis)."""
    x = RNG.standard_normal(shape)
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax has been deprecated"):
        y = nn.Softmax()(x)
    np.testing.assert_allclose(y.data, numpy_softmax(x, axis), rtol=1e-12)


def test_log_softmax_with_a_dim_does_not_warn_and_is_numpys_log_softmax():
    x = np.random.default_rng(0).standard_normal((3, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = nn.LogSoftmax(dim=0)(x)
    expected = x - x.max(axis=0) - np.log(np.exp(x - x.max(axis=0)).sum(axis=0))
    np.testing.assert_allclose(y.data, expected, rtol=1e-12)


@pytest.mark.parametrize("kind", [nn.Softmax, nn.LogSoftmax])
def test_softmax_modules_refuse_a_dim_that_is_not_an_integer_naming_themselves(kind):
    with pytest.raises(TypeError, match=f"^{kind.__name__}: dim must be an integer or None, got 1.0"):
        kind(1.0)


def test_softmax_modules_show_their_dim_in_repr():
    assert repr(nn.Softmax(dim=1)) == "Softmax(dim=1)"
    assert repr(nn.LogSoftmax(dim=-1)) == "LogSoftmax(dim=-1)"


# ---- Identity, Flatten -----------------------------------------------------------------------------

def test_identity_returns_its_input_itself_and_ignores_its_arguments():
    x = mg.ones(2, 3)
    assert nn.Identity(54, unused_argument=0.1)(x) is x
    assert repr(nn.Identity()) == "Identity()"


def test_flatten_merges_every_axis_but_the_batch_axis():
    x = RNG.standard_normal((2, 3, 4))
    np.testing.assert_array_equal(nn.Flatten()(x).data, x.reshape(2, 12))


def test_flatten_merges_start_dim_to_end_dim():
    x = RNG.standard_normal((2, 3, 4, 5))
    np.testing.assert_array_equal(nn.Flatten(0, 1)(x).data, x.reshape(6, 4, 5))
    np.testing.assert_array_equal(nn.Flatten(1, -2)(x).data, x.reshape(2, 12, 5))


def test_flatten_refuses_a_dim_that_is_not_an_integer():
    with pytest.raises(TypeError, match="^Flatten: end_dim must be an integer, got '-1'"):
        nn.Flatten(1, "-1")


def test_flatten_repr_shows_its_dims():
    assert repr(nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"


# ---- ModuleDict --------------------------------------------------------------------------------------

class Heads(nn.Module):
    def __init__(self):
        super().__init__()
        self.heads = nn.ModuleDict({"tag": nn.Linear(2, 3), "score": nn.Linear(2, 1)})


def test_module_dict_children_are_registered_under_dotted_names():
    model = Heads()
    expected = ["heads.tag.weight", "heads.tag.bias", "heads.score.weight", "heads.score.bias"]
    assert [name for name, _ in model.named_parameters()] == expected
    assert list(model.state_dict()) == expected


def test_module_dict_is_indexed_tested_counted_and_iterated_as_a_dict():
    tag, score = nn.Linear(2, 3), nn.Tanh()
    heads = nn.ModuleDict({"tag": tag, "score": score})
    assert heads["tag"] is tag and "score" in heads and "other" not in heads and len(heads) == 2
    assert list(heads) == ["tag", "score"] and list(heads.keys()) == ["tag", "score"]
    assert list(heads.values()) == [tag, score] and list(heads.items()) == [("tag", tag), ("score", score)]


def test_module_dict_of_a_missing_key_raises_key_error():
    with pytest.raises(KeyError, match="missing"):
        nn.ModuleDict()["missing"]


def test_module_dict_update_takes_pairs_in_order_and_replaces_existing_keys():
    first, second, third = nn.Linear(1, 1), nn.Linear(1, 2), nn.Linear(2, 2)
    heads = nn.ModuleDict({"a": first})
    heads.update([("b", second), ("a", third)])
    assert list(heads.items()) == [("a", third), ("b", second)]
    heads.update(nn.ModuleDict({"c": first}))
    assert list(heads) == ["a", "b", "c"] and heads["c"] is first


def test_module_dict_setitem_registers_and_delitem_unregisters_the_parameters():
    heads = nn.ModuleDict()
    heads["out"] = nn.Linear(2, 2)
    assert [name for name, _ in heads.named_parameters()] == ["out.weight", "out.bias"]
    del heads["out"]
    assert list(heads.parameters()) == [] and "out" not in heads and not hasattr(heads, "out")


def test_module_dict_pop_returns_the_module_and_clear_empties_it():
    a, b = nn.Tanh(), nn.ReLU()
    heads = nn.ModuleDict({"a": a, "b": b})
    assert heads.pop("a") is a and list(heads) == ["b"]
    heads.clear()
    assert len(heads) == 0 and list(heads.children()) == []


def test_module_dict_update_with_a_non_module_raises_and_adds_nothing():
    heads = nn.ModuleDict({"a": nn.Tanh()})
    with pytest.raises(TypeError, match="^ModuleDict: entry 'c' must be a Module, got int"):
        heads.update({"b": nn.ReLU(), "c": 3})
    assert list(heads) == ["a"]


def test_module_dict_update_refuses_an_element_that_is_not_a_pair():
    with pytest.raises(ValueError, match=r"^ModuleDict.update: element #1 must be a \(key, module\) pair"):
        nn.ModuleDict([("a", nn.Tanh()), ("b",)])


@pytest.mark.parametrize("key, error", [("keys", KeyError), ("training", KeyError), ("a.b", KeyError), ("", KeyError),
                                        (3, TypeError)])
def test_module_dict_refuses_keys_pytorch_refuses(key, error):
    """As PyTorch's add_module: a key must be a str, non-empty, without '.', and not already an attribute."""
    with pytest.raises(error, match="ModuleDict: "):
        nn.ModuleDict({key: nn.Tanh()})


def test_module_dict_repr_lists_its_entries_as_pytorchs():
    assert repr(nn.ModuleDict({"act": nn.Tanh(), "out": nn.Identity()})) == (
        "ModuleDict(\n  (act): Tanh()\n  (out): Identity()\n)")


# ---- apply, children, modules --------------------------------------------------------------------------

def test_apply_calls_fn_on_children_before_their_parent_and_returns_self():
    inner = nn.Sequential(nn.Tanh(), nn.Linear(2, 2))
    model = nn.Sequential(nn.Linear(2, 2), inner)
    visited = []
    assert model.apply(visited.append) is model
    assert visited == [model[0], inner[0], inner[1], inner, model]


def test_apply_initialises_weights_as_pytorchs_idiom():
    def init_weights(module):
        if isinstance(module, nn.Linear):
            nn.init.ones_(module.weight)

    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    model.apply(init_weights)
    np.testing.assert_array_equal(model[2].weight.data, np.ones((1, 3)))


def test_apply_refuses_what_is_not_callable():
    with pytest.raises(TypeError, match="^Linear.apply: expected a function of a module, got int"):
        nn.Linear(2, 2).apply(3)


class Shared(nn.Module):
    """One Linear held under two names, beside a Tanh."""

    def __init__(self):
        super().__init__()
        self.first = nn.Linear(2, 2)
        self.act = nn.Tanh()
        self.again = self.first


def test_named_children_are_the_direct_children_each_once():
    model = Shared()
    assert [(name, m) for name, m in model.named_children()] == [("first", model.first), ("act", model.act)]
    assert list(model.children()) == [model.first, model.act]


def test_modules_lists_the_module_and_every_module_below_it_once_depth_first():
    model = nn.Sequential(Shared(), nn.ReLU())
    shared = model[0]
    assert list(model.modules()) == [model, shared, shared.first, shared.act, model[1]]


def test_named_modules_without_removing_duplicates_lists_a_shared_module_under_each_name():
    names = [name for name, _ in Shared().named_modules(remove_duplicate=False)]
    assert names == ["", "first", "act", "again"]


def test_named_parameters_with_recurse_false_lists_only_the_modules_own():
    model = Shared()
    model.scale = nn.Parameter(np.ones(2, dtype=np.float32))
    assert [name for name, _ in model.named_parameters(recurse=False)] == ["scale"]
    assert list(model.parameters(recurse=False)) == [model.scale]


def test_named_parameters_with_a_prefix_puts_it_before_every_name():
    assert [name for name, _ in nn.Linear(2, 2).named_parameters(prefix="fc")] == ["fc.weight", "fc.bias"]


# ---- requires_grad_ -------------------------------------------------------------------------------------

def test_requires_grad_false_freezes_every_parameter_and_returns_self():
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    assert model.requires_grad_(False) is model
    assert not any(p.requires_grad for p in model.parameters())


def test_a_frozen_part_gets_no_gradient_while_the_rest_gets_the_closed_form():
    """model = Linear(2, 1) after a frozen Linear(2, 2): d sum(y) / d W2 = sum of the rows of h."""
    model = nn.Sequential(nn.Linear(2, 2, dtype=np.float64), nn.Linear(2, 1, dtype=np.float64))
    model[0].requires_grad_(False)
    x = RNG.standard_normal((4, 2))
    model(x).sum().backward()
    h = x @ model[0].weight.data.T + model[0].bias.data
    assert model[0].weight.grad is None and model[0].bias.grad is None
    np.testing.assert_allclose(model[1].weight.grad, h.sum(axis=0, keepdims=True), rtol=1e-12)


def test_requires_grad_true_unfreezes_and_keeps_the_parameters_names_as_labels():
    model = nn.Linear(2, 2)
    model.requires_grad_(False).requires_grad_(True)
    assert all(p.requires_grad for p in model.parameters())
    assert [p.label for p in model.parameters()] == ["weight", "bias"]


def test_requires_grad_refuses_what_is_not_a_bool():
    with pytest.raises(ValueError, match="^Linear.requires_grad_: requires_grad must be True or False, got 0"):
        nn.Linear(2, 2).requires_grad_(0)


# ---- buffers ---------------------------------------------------------------------------------------------

class Counter(nn.Module):
    """A Linear with a persistent float buffer, an integer one and a non-persistent one."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 2)
        self.scale = nn.Parameter(np.ones(2, dtype=np.float32))
        self.register_buffer("running_mean", mg.zeros(2))
        self.register_buffer("steps", mg.tensor(0))
        self.register_buffer("mask", mg.ones(2), persistent=False)


def test_a_registered_buffer_is_an_attribute_and_not_a_parameter():
    model = Counter()
    assert isinstance(model.running_mean, mg.Tensor) and model.running_mean.shape == (2,)
    assert all(p is not model.running_mean for p in model.parameters())


def test_named_buffers_lists_every_buffer_with_dotted_names():
    model = nn.Sequential(Counter())
    assert [name for name, _ in model.named_buffers()] == ["0.running_mean", "0.steps", "0.mask"]
    assert list(model.buffers())[0] is model[0].running_mean


def test_state_dict_holds_persistent_buffers_after_the_modules_own_parameters_as_pytorch():
    assert list(Counter().state_dict()) == ["scale", "running_mean", "steps", "fc.weight", "fc.bias"]


def test_state_dict_holds_a_copy_of_the_buffers_array():
    model = Counter()
    model.running_mean = mg.tensor([1.5, -2.0])
    state = model.state_dict()
    np.testing.assert_array_equal(state["running_mean"], [1.5, -2.0])
    state["running_mean"][0] = 9.0
    np.testing.assert_array_equal(model.running_mean.data, [1.5, -2.0])


def test_a_none_buffer_is_registered_but_not_saved():
    model = nn.Linear(2, 2)
    model.register_buffer("cache", None)
    assert model.cache is None and "cache" not in model.state_dict() and list(model.named_buffers()) == []


def test_load_state_dict_loads_buffers_in_their_own_dtype():
    model = Counter()
    state = model.state_dict()
    state["running_mean"] = np.array([0.25, 4.0])          # float64 into a float32 buffer
    state["steps"] = np.array(12)
    model.load_state_dict(state)
    assert model.running_mean.dtype == np.float32 and model.steps.dtype == np.int64
    np.testing.assert_array_equal(model.running_mean.data, [0.25, 4.0])
    assert model.steps.item() == 12


def test_a_strict_load_without_a_persistent_buffer_raises_naming_it():
    model = Counter()
    state = model.state_dict()
    del state["steps"]
    with pytest.raises(ValueError, match="missing: steps"):
        model.load_state_dict(state)


def test_a_non_persistent_buffer_in_the_dict_is_unexpected():
    model = Counter()
    state = model.state_dict()
    state["mask"] = np.zeros(2, np.float32)
    result = model.load_state_dict(state, strict=False)
    assert result.unexpected_keys == ["mask"]
    np.testing.assert_array_equal(model.mask.data, np.ones(2))


def test_assigning_a_tensor_to_a_buffer_name_replaces_the_buffer():
    model = Counter()
    new = mg.tensor([3.0, 4.0])
    model.running_mean = new
    assert dict(model.named_buffers())["running_mean"] is new and "running_mean" in model.state_dict()


def test_assigning_what_is_not_a_tensor_to_a_buffer_raises_and_keeps_it():
    model = Counter()
    old = model.running_mean
    with pytest.raises(TypeError, match="buffer 'running_mean', got list"):
        model.running_mean = [1.0, 2.0]
    assert model.running_mean is old


def test_deleting_a_buffer_unregisters_it():
    model = Counter()
    del model.running_mean
    assert "running_mean" not in model.state_dict() and "running_mean" not in dict(model.named_buffers())


@pytest.mark.parametrize("name, tensor, error, message", [
    ("weight", mg.zeros(2), KeyError, "attribute 'weight' already exists"),
    ("a.b", mg.zeros(2), KeyError, "without '.'"),
    (3, mg.zeros(2), TypeError, "expected the name as a str, got int"),
    ("stats", np.zeros(2), TypeError, "expected a Tensor or None for buffer 'stats', got ndarray"),
])
def test_register_buffer_refuses_what_pytorch_refuses(name, tensor, error, message):
    model = nn.Linear(2, 2)
    with pytest.raises(error, match=message):
        model.register_buffer(name, tensor)
    assert list(model.named_buffers()) == []


def test_to_a_dtype_converts_floating_buffers_and_keeps_integer_ones():
    model = Counter().to(mg.float64)
    assert model.running_mean.dtype == np.float64 and model.mask.dtype == np.float64
    assert model.steps.dtype == np.int64
    assert dict(model.named_buffers())["running_mean"] is model.running_mean


def test_buffers_round_trip_through_save_and_load(tmp_path):
    source, target = Counter(), Counter()
    source.running_mean = mg.tensor([0.5, 1.5])
    mg.save(source, tmp_path / "counter.npz")
    target.load_state_dict(mg.load(tmp_path / "counter.npz"))
    np.testing.assert_array_equal(target.running_mean.data, [0.5, 1.5])


# ---- half, cuda, to(integer dtype) ---------------------------------------------------------------------

def test_half_makes_every_parameter_and_floating_buffer_float16():
    model = Counter()
    assert model.half() is model
    assert all(p.dtype == np.float16 for p in model.parameters()) and model.running_mean.dtype == np.float16


@pytest.mark.parametrize("call", [lambda m: m.cuda(), lambda m: m.cuda(0), lambda m: m.to("cuda")],
                         ids=["cuda()", "cuda(0)", "to('cuda')"])
def test_cuda_raises_the_cpu_only_error_naming_the_module(call):
    model = nn.Linear(2, 2)
    with pytest.raises(RuntimeError, match=r"^Linear\.(cuda|to): device 'cuda(:0)?' is not available; .*CPU only"):
        call(model)
    assert model.weight.dtype == np.float32


def test_to_an_integer_dtype_is_refused_before_anything_changes():
    model = Counter()
    with pytest.raises(TypeError, match="^Counter.to: expected a floating-point dtype, got int64"):
        model.to(mg.int64)
    assert model.fc.weight.dtype == np.float32 and model.running_mean.dtype == np.float32


# ---- repr ------------------------------------------------------------------------------------------------

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 1)

    def extra_repr(self):
        return "k=3"


def test_repr_with_settings_and_children_puts_each_on_its_own_line_as_pytorch():
    assert repr(Net()) == "Net(\n  k=3\n  (fc): Linear(in_features=2, out_features=1, bias=True)\n)"


def test_repr_indents_nested_children():
    assert repr(nn.Sequential(nn.Sequential(nn.Tanh()))) == "Sequential(\n  (0): Sequential(\n    (0): Tanh()\n  )\n)"


def test_relu_repr_shows_inplace_only_when_it_is_true():
    assert repr(nn.ReLU()) == "ReLU()" and repr(nn.ReLU(inplace=True)) == "ReLU(inplace=True)"


# ---- load_state_dict's result ---------------------------------------------------------------------------

def test_a_strict_load_returns_incompatible_keys_with_nothing_in_them():
    model = nn.Linear(2, 2)
    result = model.load_state_dict(model.state_dict())
    assert result == ([], []) and result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == "<All keys matched successfully>"


def test_a_non_strict_load_reports_missing_and_unexpected_keys_in_order():
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
    result = model.load_state_dict({"1.bias": np.zeros(1), "2.weight": np.zeros(1), "decoder": np.zeros(2)},
                                   strict=False)
    assert result.missing_keys == ["0.weight", "0.bias", "1.weight"]
    assert result.unexpected_keys == ["2.weight", "decoder"]
    assert repr(result) == ("_IncompatibleKeys(missing_keys=['0.weight', '0.bias', '1.weight'], "
                            "unexpected_keys=['2.weight', 'decoder'])")


def test_load_state_dict_takes_its_argument_by_pytorchs_name():
    model = nn.Linear(2, 1, dtype=np.float64)
    model.load_state_dict(state_dict={"weight": np.array([[1.0, 2.0]]), "bias": np.array([3.0])})
    np.testing.assert_array_equal(model.weight.data, [[1.0, 2.0]])


def test_a_non_strict_load_with_one_bad_shape_loads_none_of_the_matching_names():
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
    before = model.state_dict()
    with pytest.raises(ValueError, match=r"1\.weight: expected shape \(1, 2\), got \(2, 1\)"):
        model.load_state_dict({"0.weight": np.ones((2, 2)), "1.weight": np.ones((2, 1))}, strict=False)
    for name, array in model.state_dict().items():
        np.testing.assert_array_equal(array, before[name])


# ---- hx= ---------------------------------------------------------------------------------------------------

def sigmoid(v):
    return 1 / (1 + np.exp(-v))


def rnn_reference(x, h, w):
    return np.tanh(x @ w["weight_ih"].T + w["bias_ih"] + h @ w["weight_hh"].T + w["bias_hh"])


def gru_reference(x, h, w):
    xr, xz, xn = np.split(x @ w["weight_ih"].T + w["bias_ih"], 3, axis=-1)
    hr, hz, hn = np.split(h @ w["weight_hh"].T + w["bias_hh"], 3, axis=-1)
    r, z = sigmoid(xr + hr), sigmoid(xz + hz)
    n = np.tanh(xn + r * hn)
    return (1 - z) * n + z * h


def lstm_reference(x, state, w):
    h, c = state
    i, f, g, o = np.split(x @ w["weight_ih"].T + w["bias_ih"] + h @ w["weight_hh"].T + w["bias_hh"], 4, axis=-1)
    c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    return sigmoid(o) * np.tanh(c), c


def cell_weights(module):
    """A cell's weights, or a one-layer layer's under the cell's names."""
    return {name.removesuffix("_l0"): array for name, array in module.state_dict().items()}


B, I, H = 2, 3, 4


@pytest.mark.parametrize("kind, reference", [(nn.RNNCell, rnn_reference), (nn.GRUCell, gru_reference)])
def test_a_cell_takes_its_state_as_hx(kind, reference):
    cell = kind(I, H, dtype=np.float64)
    x, h = RNG.standard_normal((B, I)), RNG.standard_normal((B, H))
    np.testing.assert_allclose(cell(x, hx=h).data, reference(x, h, cell_weights(cell)), rtol=1e-12, atol=1e-14)


def test_an_lstm_cell_takes_its_state_pair_as_hx():
    cell = nn.LSTMCell(I, H, dtype=np.float64)
    x, h, c = RNG.standard_normal((B, I)), RNG.standard_normal((B, H)), RNG.standard_normal((B, H))
    got = cell(x, hx=(h, c))
    for a, b in zip(got, lstm_reference(x, (h, c), cell_weights(cell))):
        np.testing.assert_allclose(a.data, b, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kind, reference", [(nn.RNN, rnn_reference), (nn.GRU, gru_reference)])
def test_a_layer_takes_its_initial_state_as_hx(kind, reference):
    """One step of a one-layer layer is one cell step from h0."""
    layer = kind(I, H, dtype=np.float64)
    x, h0 = RNG.standard_normal((1, B, I)), RNG.standard_normal((1, B, H))
    output, h_n = layer(x, hx=h0)
    np.testing.assert_allclose(h_n.data[0], reference(x[0], h0[0], cell_weights(layer)), rtol=1e-12, atol=1e-14)


def test_an_lstm_layer_takes_its_initial_state_pair_as_hx():
    layer = nn.LSTM(I, H, dtype=np.float64)
    x, h0, c0 = RNG.standard_normal((1, B, I)), RNG.standard_normal((1, B, H)), RNG.standard_normal((1, B, H))
    _, (h_n, c_n) = layer(x, hx=(h0, c0))
    h, c = lstm_reference(x[0], (h0[0], c0[0]), cell_weights(layer))
    np.testing.assert_allclose(h_n.data[0], h, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(c_n.data[0], c, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("make, x, state", [
    (lambda: nn.RNNCell(I, H), np.zeros((B, I), np.float32), np.zeros((B, H), np.float32)),
    (lambda: nn.LSTMCell(I, H), np.zeros((B, I), np.float32), (np.zeros((B, H), np.float32),) * 2),
    (lambda: nn.GRUCell(I, H), np.zeros((B, I), np.float32), np.zeros((B, H), np.float32)),
    (lambda: nn.RNN(I, H), np.zeros((5, B, I), np.float32), np.zeros((1, B, H), np.float32)),
    (lambda: nn.LSTM(I, H), np.zeros((5, B, I), np.float32), (np.zeros((1, B, H), np.float32),) * 2),
    (lambda: nn.GRU(I, H, fused=True), np.zeros((5, B, I), np.float32), np.zeros((1, B, H), np.float32)),
], ids=["RNNCell", "LSTMCell", "GRUCell", "RNN", "LSTM", "GRU"])
def test_giving_the_state_both_positionally_and_as_hx_raises_naming_the_module(make, x, state):
    module = make()
    with pytest.raises(TypeError, match=f"^{type(module).__name__}: got the state twice, as the second argument "
                                        "and as hx="):
        module(x, state, hx=state)


# ---- Embedding: padding_idx, from_pretrained, PyTorch's options -------------------------------------------

def test_the_padding_row_starts_as_zeros():
    weight = nn.Embedding(6, 4, padding_idx=2).weight.data
    np.testing.assert_array_equal(weight[2], np.zeros(4))
    assert np.all(np.delete(weight, 2, axis=0) != 0)


def test_a_negative_padding_idx_counts_from_the_end():
    embedding = nn.Embedding(6, 4, padding_idx=-1)
    assert embedding.padding_idx == 5
    np.testing.assert_array_equal(embedding.weight.data[5], np.zeros(4))


def test_padding_idx_is_the_third_positional_argument_as_pytorchs():
    assert nn.Embedding(6, 4, 0).padding_idx == 0


def test_the_padding_row_gets_a_zero_gradient_and_the_others_their_counts():
    """d sum(Embedding(idx)) / d weight[k] = (times k occurs) * ones, but 0 for the padding row."""
    embedding = nn.Embedding(6, 4, padding_idx=1)
    embedding(np.array([[1, 3, 1], [0, 1, 3]])).sum().backward()
    counts = np.array([1, 0, 0, 2, 0, 0], dtype=np.float32)
    np.testing.assert_array_equal(embedding.weight.grad, counts[:, None] * np.ones((6, 4)))


def test_a_padding_position_still_returns_the_padding_rows_values():
    embedding = nn.Embedding(3, 2, padding_idx=0)
    embedding.load_state_dict({"weight": np.array([[7.0, 8.0], [1.0, 2.0], [3.0, 4.0]])})
    np.testing.assert_array_equal(embedding(np.array([2, 0])).data, [[3.0, 4.0], [7.0, 8.0]])


def test_an_sgd_step_leaves_the_padding_row_unchanged():
    embedding = nn.Embedding(5, 3, padding_idx=4)
    optimizer = mg.optim.SGD(embedding.parameters(), lr=0.5, momentum=0.9)
    before = embedding.weight.data.copy()
    (embedding(np.array([4, 1, 4])) ** 2).sum().backward()
    optimizer.step()
    np.testing.assert_array_equal(embedding.weight.data[4], before[4])
    np.testing.assert_allclose(embedding.weight.data[1], before[1] - 0.5 * 2 * before[1], rtol=1e-6)


@pytest.mark.parametrize("padding_idx", [6, -7, 1.0, True, "0"])
def test_a_padding_idx_outside_the_table_is_refused(padding_idx):
    with pytest.raises(ValueError, match=r"^Embedding: padding_idx must be an integer in \[-6, 6\) or None"):
        nn.Embedding(6, 4, padding_idx=padding_idx)


def test_embedding_repr_shows_padding_idx_as_pytorch():
    assert repr(nn.Embedding(6, 4)) == "Embedding(6, 4)"
    assert repr(nn.Embedding(6, 4, padding_idx=-2)) == "Embedding(6, 4, padding_idx=4)"


def test_from_pretrained_copies_the_embeddings_in_their_dtype_and_freezes_them():
    vectors = RNG.standard_normal((5, 3))
    embedding = nn.Embedding.from_pretrained(vectors)
    np.testing.assert_array_equal(embedding.weight.data, vectors)
    assert embedding.weight.dtype == np.float64 and not embedding.weight.requires_grad
    assert (embedding.num_embeddings, embedding.embedding_dim) == (5, 3)
    assert list(embedding.parameters()) == [embedding.weight]


def test_from_pretrained_takes_python_floats_in_the_default_dtype():
    assert nn.Embedding.from_pretrained([[1.0, 2.0], [3.0, 4.0]]).weight.dtype == np.float32


def test_from_pretrained_without_freezing_trains_the_rows_looked_up():
    embedding = nn.Embedding.from_pretrained(np.ones((4, 2)), freeze=False)
    embedding(np.array([3, 3, 0])).sum().backward()
    np.testing.assert_array_equal(embedding.weight.grad, [[1, 1], [0, 0], [0, 0], [2, 2]])


def test_from_pretrained_keeps_the_padding_rows_values_and_gives_it_no_gradient():
    vectors = np.arange(8.0).reshape(4, 2)
    embedding = nn.Embedding.from_pretrained(vectors, freeze=False, padding_idx=1)
    np.testing.assert_array_equal(embedding.weight.data, vectors)
    embedding(np.array([1, 2, 1])).sum().backward()
    np.testing.assert_array_equal(embedding.weight.grad, [[0, 0], [0, 0], [1, 1], [0, 0]])


def test_from_pretrained_does_not_draw_from_the_librarys_generator():
    mg.manual_seed(3)
    expected = mg.randn(4).data
    mg.manual_seed(3)
    nn.Embedding.from_pretrained(np.ones((100, 8)))
    np.testing.assert_array_equal(mg.randn(4).data, expected)


@pytest.mark.parametrize("embeddings", [np.ones(3), np.ones((2, 2, 2)), np.ones((2, 3), dtype=np.int64)])
def test_from_pretrained_refuses_what_is_not_a_2d_floating_array(embeddings):
    with pytest.raises(ValueError, match=r"^Embedding.from_pretrained: expected a 2-d floating-point array"):
        nn.Embedding.from_pretrained(embeddings)


def test_embedding_accepts_pytorchs_options_at_their_defaults():
    embedding = nn.Embedding(5, 3, max_norm=None, norm_type=2.0, scale_grad_by_freq=False, sparse=False,
                             device="cpu")
    assert embedding.weight.shape == (5, 3)


@pytest.mark.parametrize("option, value", [("max_norm", 1.0), ("norm_type", 1.0), ("scale_grad_by_freq", True),
                                           ("sparse", True)])
def test_embedding_refuses_other_values_of_pytorchs_options_naming_them(option, value):
    with pytest.raises(TypeError, match=f"^Embedding: {option}={value!r} is not supported"):
        nn.Embedding(5, 3, **{option: value})
    with pytest.raises(TypeError, match=f"^Embedding: {option}={value!r} is not supported"):
        nn.Embedding.from_pretrained(np.ones((5, 3)), **{option: value})


def test_apply_walks_a_deep_tree_without_recursion():
    """3,000 nested containers: apply visits every one, innermost first, with no RecursionError."""
    inner = nn.Identity()
    model = inner
    for _ in range(3000):
        model = nn.Sequential(model)
    visited = []
    model.apply(visited.append)
    assert len(visited) == 3001 and visited[0] is inner and visited[-1] is model


def test_apply_visits_each_module_once_even_in_a_module_that_holds_itself():
    inner = nn.Sequential(nn.Tanh())
    outer = nn.Sequential(inner)
    inner.loop = outer                                  # a cycle: inner -> outer -> inner
    visited = []
    outer.apply(visited.append)
    assert len(visited) == 3 and len({id(m) for m in visited}) == 3


# ---- empty slots: `self.bias = None` and register_parameter, as PyTorch keeps them ------------------

class ThreeParameters(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b, self.c = (nn.Parameter(mg.zeros(n)) for n in (2, 3, 1))


def names(module):
    return [name for name, _ in module.named_parameters()]


def test_none_in_a_parameters_place_empties_the_slot_and_a_parameter_fills_it_in_place():
    model = ThreeParameters()
    model.b = None
    assert model.b is None and names(model) == ["a", "c"] and list(model.state_dict()) == ["a", "c"]
    model.b = nn.Parameter(mg.ones(3))
    assert names(model) == ["a", "b", "c"] and list(model.state_dict()) == ["a", "b", "c"]
    model.b = None
    model.requires_grad_(False)         # (walks the slots: an empty one is skipped)
    assert [p.requires_grad for p in model.parameters()] == [False, False]


def test_none_in_a_childs_place_keeps_the_slot_in_the_repr_and_a_module_fills_it_in_place():
    model = nn.Sequential(nn.Linear(1, 2), nn.Tanh(), nn.Linear(2, 1))
    setattr(model, "1", None)
    assert [name for name, _ in model.named_children()] == ["0", "2"]
    assert "\n  (1): None\n" in repr(model)
    setattr(model, "1", nn.ReLU())
    assert [name for name, _ in model.named_children()] == ["0", "1", "2"]


def test_register_parameter_keeps_a_parameter_or_an_empty_slot():
    layer = nn.Linear(2, 3)
    layer.register_parameter("scale", None)
    assert layer.scale is None and names(layer) == ["weight", "bias"]
    layer.scale = nn.Parameter(mg.ones(3))
    layer.register_parameter("shift", nn.Parameter(mg.zeros(3)))
    assert names(layer) == ["weight", "bias", "scale", "shift"]
    assert list(layer.state_dict()) == ["weight", "bias", "scale", "shift"]


@pytest.mark.parametrize("name, value, error, words", [
    ("x.y", None, KeyError, "Linear.register_parameter: a name must be non-empty and without '.', got 'x.y'"),
    ("in_features", None, KeyError, "Linear.register_parameter: attribute 'in_features' already exists"),
    ("z", mg.zeros(2), TypeError, "Linear.register_parameter: cannot assign 'Tensor' as parameter 'z' "
                                  r"\(a Parameter or None expected\)"),
])
def test_register_parameter_refuses_what_pytorch_refuses_and_changes_nothing(name, value, error, words):
    layer = nn.Linear(2, 3)
    with pytest.raises(error, match=words):
        layer.register_parameter(name, value)
    assert names(layer) == ["weight", "bias"] and not hasattr(layer, "z")


def test_get_submodule_parameter_and_buffer_by_dotted_path_as_pytorchs():
    """PyTorch's Module.get_submodule / get_parameter / get_buffer, with its AttributeError messages."""
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    assert model.get_submodule("") is model and model.get_submodule("0") is model[0]
    assert model.get_parameter("0.weight") is model[0].weight and model.get_parameter("0.bias") is model[0].bias
    assert model.get_buffer("1.running_mean") is model[1].running_mean
    outer = nn.Sequential(model)
    assert outer.get_parameter("0.1.weight") is model[1].weight
    for call, message in [(lambda: model.get_submodule("5"), "Sequential has no attribute `5`"),
                          (lambda: model.get_submodule("0.weight"), "`weight` is not an nn.Module"),
                          (lambda: model.get_parameter("0.foo"), "Linear has no attribute `foo`"),
                          (lambda: model.get_parameter("1.running_mean"), "`running_mean` is not an nn.Parameter"),
                          (lambda: model.get_parameter("0"), "`0` is not an nn.Parameter"),
                          (lambda: model.get_parameter("x.weight"), "Sequential has no attribute `x`"),
                          (lambda: model.get_buffer("0.weight"), "`weight` is not a buffer"),
                          (lambda: model.get_buffer("1.nope"), "BatchNorm1d has no attribute `nope`")]:
        with pytest.raises(AttributeError) as caught:
            call()
        assert str(caught.value) == message
    no_bias = nn.Linear(2, 3, bias=False)
    with pytest.raises(AttributeError, match="`bias` is not an nn.Parameter"):
        no_bias.get_parameter("bias")


@pytest.mark.parametrize("target", [0, None])
def test_get_submodule_of_a_target_that_is_not_a_string_is_pytorchs_attribute_error(target):
    """PyTorch compares the target with "" and then splits it: a falsy non-string is not "this module"."""
    with pytest.raises(AttributeError, match="has no attribute 'split'"):
        nn.Linear(2, 3).get_submodule(target)
