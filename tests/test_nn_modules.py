"""`mg.nn` modules: parameters, names, state dicts, save/load, errors and graph metadata.

References are the parameter table of docs/api.md, numpy formulas and closed forms;
nothing is checked only against the library's own earlier output.
"""

import math
import re

import numpy as np
import pytest

import microgradseq as mg
from microgradseq.autograd import topological_order


def assert_unchanged(module, before):
    """Every parameter still holds exactly the arrays in `before` (a state dict taken earlier)."""
    after = module.state_dict()
    assert after.keys() == before.keys()
    for name in before:
        np.testing.assert_array_equal(after[name], before[name], err_msg=name)


# ---- names, shapes, initialisation -------------------------------------------------

I, H = 3, 5


def cell_names(gates):
    return [("weight_ih", (gates * H, I)), ("weight_hh", (gates * H, H)),
            ("bias_ih", (gates * H,)), ("bias_hh", (gates * H,))]


def layer_names(gates):
    names = []
    for k, width in enumerate([I, H]):
        names += [(f"weight_ih_l{k}", (gates * H, width)), (f"weight_hh_l{k}", (gates * H, H)),
                  (f"bias_ih_l{k}", (gates * H,)), (f"bias_hh_l{k}", (gates * H,))]
    return names


PARAMETER_TABLE = [
    pytest.param(lambda: mg.nn.Linear(I, H), [("weight", (H, I)), ("bias", (H,))], id="Linear"),
    pytest.param(lambda: mg.nn.Embedding(7, H), [("weight", (7, H))], id="Embedding"),
    pytest.param(lambda: mg.nn.RNNCell(I, H), cell_names(1), id="RNNCell"),
    pytest.param(lambda: mg.nn.LSTMCell(I, H), cell_names(4), id="LSTMCell"),
    pytest.param(lambda: mg.nn.GRUCell(I, H), cell_names(3), id="GRUCell"),
    pytest.param(lambda: mg.nn.RNN(I, H, num_layers=2), layer_names(1), id="RNN"),
    pytest.param(lambda: mg.nn.LSTM(I, H, num_layers=2), layer_names(4), id="LSTM"),
    pytest.param(lambda: mg.nn.GRU(I, H, num_layers=2), layer_names(3), id="GRU"),
]


@pytest.mark.parametrize("make, expected", PARAMETER_TABLE)
def test_parameter_names_and_shapes_follow_the_spec_table(make, expected):
    """named_parameters lists PyTorch's names, in PyTorch's order, with PyTorch's shapes."""
    got = [(name, p.shape) for name, p in make().named_parameters()]
    assert got == expected


@pytest.mark.parametrize("make, expected", [
    pytest.param(lambda: mg.nn.Linear(I, H, bias=False), ["weight"], id="Linear"),
    pytest.param(lambda: mg.nn.RNNCell(I, H, bias=False), ["weight_ih", "weight_hh"], id="RNNCell"),
    pytest.param(lambda: mg.nn.LSTMCell(I, H, bias=False), ["weight_ih", "weight_hh"], id="LSTMCell"),
    pytest.param(lambda: mg.nn.GRUCell(I, H, bias=False), ["weight_ih", "weight_hh"], id="GRUCell"),
    pytest.param(lambda: mg.nn.LSTM(I, H, num_layers=2, bias=False),
                 ["weight_ih_l0", "weight_hh_l0", "weight_ih_l1", "weight_hh_l1"], id="LSTM"),
])
def test_bias_false_omits_the_biases(make, expected):
    """With bias=False there are only weights."""
    assert [name for name, _ in make().named_parameters()] == expected


def test_parameters_are_parameters_that_require_grad():
    """Every parameter is an mg.nn.Parameter (a Tensor) that requires grad."""
    for p in mg.nn.GRU(I, H, num_layers=2).parameters():
        assert isinstance(p, mg.nn.Parameter) and isinstance(p, mg.Tensor)
        assert p.requires_grad


@pytest.mark.parametrize("make, bound", [
    pytest.param(lambda: mg.nn.Linear(64, 10), 1 / math.sqrt(64), id="Linear: 1/sqrt(in)"),
    pytest.param(lambda: mg.nn.RNNCell(10, 16), 1 / math.sqrt(16), id="RNNCell"),
    pytest.param(lambda: mg.nn.LSTMCell(10, 16), 1 / math.sqrt(16), id="LSTMCell"),
    pytest.param(lambda: mg.nn.GRUCell(10, 16), 1 / math.sqrt(16), id="GRUCell"),
    pytest.param(lambda: mg.nn.RNN(10, 16, num_layers=2), 1 / math.sqrt(16), id="RNN"),
    pytest.param(lambda: mg.nn.LSTM(10, 16, num_layers=2), 1 / math.sqrt(16), id="LSTM"),
    pytest.param(lambda: mg.nn.GRU(10, 16, num_layers=2), 1 / math.sqrt(16), id="GRU"),
])
def test_initialisation_is_uniform_within_the_bound(make, bound):
    """Every value lies in [-bound, bound] and the values fill that range (max |w| near the bound)."""
    values = np.concatenate([p.data.ravel() for p in make().parameters()])
    assert np.all(np.abs(values) <= bound)
    assert np.abs(values).max() > 0.95 * bound
    assert abs(values.mean()) < 0.1 * bound


def test_manual_seed_makes_construction_reproducible():
    """The same seed gives the same weights; a different seed gives different ones."""
    mg.manual_seed(11)
    first = mg.nn.LSTM(I, H, num_layers=2).state_dict()
    mg.manual_seed(11)
    again = mg.nn.LSTM(I, H, num_layers=2).state_dict()
    mg.manual_seed(12)
    other = mg.nn.LSTM(I, H, num_layers=2).state_dict()
    for name in first:
        np.testing.assert_array_equal(first[name], again[name])
        assert not np.array_equal(first[name], other[name])


def test_rng_argument_makes_construction_reproducible_whatever_the_global_seed():
    """Two modules built from generators with the same seed are equal, even after different manual_seed."""
    mg.manual_seed(1)
    first = mg.nn.GRUCell(I, H, rng=np.random.default_rng(7)).state_dict()
    mg.manual_seed(2)
    again = mg.nn.GRUCell(I, H, rng=np.random.default_rng(7)).state_dict()
    other = mg.nn.GRUCell(I, H, rng=np.random.default_rng(8)).state_dict()
    for name in first:
        np.testing.assert_array_equal(first[name], again[name])
        assert not np.array_equal(first[name], other[name])


def test_parameter_dtype_follows_default_dtype_and_dtype_argument():
    """Parameters are float32 by default, float64 with dtype= or set_default_dtype."""
    assert all(p.dtype == np.float32 for p in mg.nn.LSTM(I, H).parameters())
    assert all(p.dtype == np.float64 for p in mg.nn.LSTM(I, H, dtype=np.float64).parameters())
    mg.set_default_dtype(np.float64)
    try:
        assert all(p.dtype == np.float64 for p in mg.nn.Linear(I, H).parameters())
    finally:
        mg.set_default_dtype(np.float32)


# ---- Linear and Embedding ------------------------------------------------------------

def test_linear_computes_x_times_weight_transposed_plus_bias():
    """Linear(x) = x @ W.T + b, for a batch and for a single vector."""
    linear = mg.nn.Linear(3, 2, dtype=np.float64)
    w, b = linear.weight.data, linear.bias.data
    x = np.arange(12.0).reshape(4, 3) / 7
    np.testing.assert_allclose(linear(x).data, x @ w.T + b, rtol=1e-12)
    np.testing.assert_allclose(linear(x[0]).data, x[0] @ w.T + b, rtol=1e-12)


def test_linear_gradients_are_the_closed_forms():
    """For L = sum(G * (x W^T + b)): dL/dW = G^T x, dL/db = sum of G's rows, dL/dx = G W."""
    rng = np.random.default_rng(0)
    linear = mg.nn.Linear(3, 2, dtype=np.float64)
    x = mg.tensor(rng.normal(size=(4, 3)), requires_grad=True)
    g = rng.normal(size=(4, 2))
    (linear(x) * g).sum().backward()
    np.testing.assert_allclose(linear.weight.grad, g.T @ x.data, rtol=1e-12)
    np.testing.assert_allclose(linear.bias.grad, g.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(x.grad, g @ linear.weight.data, rtol=1e-12)


def test_embedding_returns_the_indexed_rows():
    """Embedding(indices) is weight[indices], for any index shape."""
    embedding = mg.nn.Embedding(6, 4)
    indices = np.array([[1, 3, 1], [0, 5, 3]])
    out = embedding(indices)
    assert out.shape == (2, 3, 4)
    for a in range(2):
        for b in range(3):
            np.testing.assert_array_equal(out.data[a, b], embedding.weight.data[indices[a, b]])


def test_embedding_gradient_adds_up_repeated_indices():
    """d sum(Embedding(idx)) / d weight[k] = (times k occurs in idx) * ones; unused rows get 0."""
    embedding = mg.nn.Embedding(6, 4)
    indices = np.array([[1, 3, 1], [0, 1, 3]])   # 0 once, 1 three times, 3 twice
    embedding(indices).sum().backward()
    counts = np.array([1, 3, 0, 2, 0, 0], dtype=np.float32)
    np.testing.assert_array_equal(embedding.weight.grad, counts[:, None] * np.ones((6, 4)))


# ---- Module behaviour ----------------------------------------------------------------

class Tagger(mg.nn.Module):
    """A small user model: an RNN and a readout."""

    def __init__(self):
        super().__init__()
        self.rnn = mg.nn.RNN(I, H)
        self.readout = mg.nn.Linear(H, 2)

    def forward(self, x):
        output, _ = self.rnn(x)
        return self.readout(output)


class Stack(mg.nn.Module):
    """Two levels of nesting."""

    def __init__(self):
        super().__init__()
        self.encoder = Tagger()
        self.scale = mg.nn.Parameter(np.ones(2, dtype=np.float32))


def test_named_parameters_of_a_nested_module_are_dotted():
    """A user Module's parameters come out as rnn.weight_hh_l0, readout.weight, ..."""
    assert [name for name, _ in Tagger().named_parameters()] == [
        "rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0",
        "readout.weight", "readout.bias"]


def test_named_parameters_nest_to_any_depth():
    """Own parameters keep their bare name; a grandchild's is encoder.rnn.weight_ih_l0."""
    names = [name for name, _ in Stack().named_parameters()]
    assert names[0] == "scale"
    assert names[1:] == ["encoder.rnn.weight_ih_l0", "encoder.rnn.weight_hh_l0", "encoder.rnn.bias_ih_l0",
                         "encoder.rnn.bias_hh_l0", "encoder.readout.weight", "encoder.readout.bias"]


def test_parameters_matches_named_parameters():
    """parameters() yields the same objects as named_parameters(), in the same order."""
    model = Tagger()
    assert [id(p) for p in model.parameters()] == [id(p) for _, p in model.named_parameters()]


def test_zero_grad_clears_every_gradient_so_the_next_pass_does_not_accumulate():
    """After zero_grad every grad is cleared, and a second backward gives the first pass's grads again."""
    model = Tagger()
    x = np.random.default_rng(0).normal(size=(4, 2, I)).astype(np.float32)
    model(x).sum().backward()
    first = {name: p.grad.copy() for name, p in model.named_parameters()}
    model.zero_grad()
    for p in model.parameters():
        assert p.grad is None or not np.any(p.grad)
    model(x).sum().backward()
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad, first[name], rtol=1e-6)


def test_zero_grad_with_set_to_none_false_gives_zeros_where_there_was_a_gradient():
    """As PyTorch's Module.zero_grad: None by default (set_to_none=True), else zeros of each parameter's
    shape and dtype, and only where a gradient was."""
    model = mg.nn.Linear(3, 2)
    model(np.ones((4, 3), dtype=np.float32)).sum().backward()
    model.bias.grad = None
    model.zero_grad(set_to_none=False)
    assert model.weight.grad.shape == (2, 3) and model.weight.grad.dtype == np.float32
    assert not model.weight.grad.any() and model.bias.grad is None
    model.zero_grad(set_to_none=True)
    assert model.weight.grad is None
    with pytest.raises(ValueError, match="Linear.zero_grad: set_to_none must be True or False"):
        model.zero_grad(set_to_none=None)


def test_lazy_linear_takes_in_features_at_the_first_call_into_the_same_parameters():
    """An optimizer made before the first call trains the parameters the call gives their shape; the
    module is then a Linear, and another input size is refused as Linear refuses it."""
    lazy = mg.nn.LazyLinear(3, rng=np.random.default_rng(0))
    weight, bias = lazy.weight, lazy.bias
    optimizer = mg.optim.SGD(lazy.parameters(), lr=0.1)
    assert lazy.in_features == 0 and weight.shape == (3, 0)
    x = np.ones((2, 4), dtype=np.float32)
    lazy(x).sum().backward()
    assert type(lazy) is mg.nn.Linear and lazy.weight is weight and weight.shape == (3, 4)
    assert np.all(np.abs(weight.numpy()) <= 0.5) and repr(lazy) == "Linear(in_features=4, out_features=3, bias=True)"
    before = weight.numpy().copy()
    optimizer.step()
    np.testing.assert_allclose(weight.numpy(), before - 0.1 * 2, rtol=1e-6)       # (dL/dW = the 2 rows of ones)
    assert bias.grad.tolist() == [2.0, 2.0, 2.0]
    with pytest.raises(ValueError, match=r"Linear: expected input of shape \(..., 4\), got \(2, 5\)"):
        lazy(np.ones((2, 5), dtype=np.float32))


def test_lazy_modules_take_their_sizes_from_a_state_dict_before_their_first_call():
    """The resume pattern: build the model, load the checkpoint, then train (PyTorch materialises
    uninitialised parameters from a state dict); nn.init refuses an uninitialised parameter."""
    source = mg.nn.Linear(4, 3)
    lazy = mg.nn.LazyLinear(3)
    weight = lazy.weight
    with pytest.raises(ValueError, match="constant_: the parameter is not initialised yet"):
        mg.nn.init.constant_(lazy.bias, 0.5)
    lazy.load_state_dict(source.state_dict())
    assert type(lazy) is mg.nn.Linear and lazy.in_features == 4 and lazy.weight is weight
    assert type(weight) is mg.nn.Parameter and np.array_equal(weight.numpy(), source.weight.numpy())
    with pytest.raises(ValueError, match=r"weight: expected shape \(3, 0\), got \(2, 4\)"):
        mg.nn.LazyLinear(3).load_state_dict(mg.nn.Linear(4, 2).state_dict())
    norm = mg.nn.LazyBatchNorm1d()
    norm.load_state_dict(mg.nn.BatchNorm1d(5).state_dict())
    assert type(norm) is mg.nn.BatchNorm1d and norm.num_features == 5 and norm.running_var.shape == (5,)


def test_add_module_keeps_a_slot_for_none_which_a_module_may_fill_later():
    holder = mg.nn.Module()
    holder.add_module("head", None)
    assert holder.head is None and list(holder.named_children()) == []
    assert repr(holder) == "Module(\n  (head): None\n)"
    holder.add_module("head", mg.nn.ReLU())
    assert [name for name, _ in holder.named_children()] == ["head"]


def test_add_module_registers_a_child_as_assigning_it_does_and_checks_the_name():
    holder = mg.nn.Module()
    assert holder.add_module("head", mg.nn.Linear(2, 2)) is None
    holder.register_module("spare", None)
    assert [name for name, _ in holder.named_modules()] == ["", "head"] and holder.spare is None
    with pytest.raises(TypeError, match="Module.add_module: expected the name as a str, got int"):
        holder.add_module(3, mg.nn.ReLU())
    with pytest.raises(KeyError, match="a name must be non-empty and without '.'"):
        holder.add_module("a.b", mg.nn.ReLU())
    with pytest.raises(TypeError, match="Module.add_module: expected a Module or None for 'x', got Tensor"):
        holder.add_module("x", mg.zeros(2))


def test_normal_draws_from_numbers_with_a_size_or_from_tensors_of_means_and_stds():
    mg.manual_seed(0)
    first = mg.normal(0.0, 1.0, (2, 3))
    mg.manual_seed(0)
    assert first.dtype == np.float32 and mg.normal(0.0, 1.0, size=(2, 3)).tolist() == first.tolist()
    draws = mg.normal(mg.tensor([0.0, 100.0], dtype=mg.float64), 1e-3)
    assert draws.dtype == np.float64 and np.allclose(draws.numpy(), [0.0, 100.0], atol=0.01)
    with pytest.raises(TypeError, match="normal: with numbers for mean and std, give the size"):
        mg.normal(0.0, 1.0)
    with pytest.raises(ValueError, match="normal: expected a finite mean and a finite std >= 0"):
        mg.normal(0.0, -1.0, (2,))
    assert mg.normal(mg.tensor(0.0, dtype=mg.float64), mg.tensor(1.0, dtype=mg.float64)).dtype == np.float64
    with pytest.raises(TypeError, match="normal: expected a floating-point dtype, got int64"):
        mg.normal(0, 1, (3,), dtype=mg.int64)
    with pytest.raises(TypeError, match="normal: expected floating-point tensors of means and stds, got int64"):
        mg.normal(mg.tensor([1, 2]), 1.0)
    with pytest.raises(ValueError, match=r"normal: mean of shape \(2,\) and std of shape \(3,\) cannot be broadcast"):
        mg.normal(mg.zeros(2), mg.ones(3))


def test_train_and_eval_set_the_flag_on_every_submodule():
    """Modules start in training mode; eval() and train() switch the whole tree and return it."""
    model = Stack()
    modules = [model, model.encoder, model.encoder.rnn, model.encoder.readout]
    assert all(m.training for m in modules)
    assert model.eval() is model
    assert not any(m.training for m in modules)
    assert model.train() is model
    assert all(m.training for m in modules)


def test_call_runs_forward():
    """module(x) is module.forward(x)."""
    model = Tagger()
    x = np.ones((2, 1, I), dtype=np.float32)
    np.testing.assert_array_equal(model(x).data, model.forward(x).data)


# ---- state_dict / load_state_dict ------------------------------------------------------

def test_state_dict_holds_copies_in_parameter_order():
    """state_dict maps dotted names to numpy arrays; writing into them leaves the module alone."""
    model = Tagger()
    before = {name: p.data.copy() for name, p in model.named_parameters()}
    state = model.state_dict()
    assert list(state) == list(before)
    for name, array in state.items():
        assert isinstance(array, np.ndarray)
        array[...] = 42.0
    for name, p in model.named_parameters():
        np.testing.assert_array_equal(p.data, before[name])


def test_load_state_dict_round_trip_copies_every_value():
    """Loading one model's state into another makes every parameter equal, and later edits don't leak."""
    source, target = Tagger(), Tagger()
    state = {name: np.full(p.shape, i + 0.5, dtype=np.float32)
             for i, (name, p) in enumerate(source.named_parameters())}
    target.load_state_dict(state)
    for name, p in target.named_parameters():
        np.testing.assert_array_equal(p.data, state[name])
    state["readout.bias"][...] = -1.0
    np.testing.assert_array_equal(target.readout.bias.data, np.full(2, 5.5, dtype=np.float32))


def test_loaded_model_computes_the_numpy_formula_with_the_loaded_weights():
    """After load_state_dict, Linear uses exactly the loaded weight and bias."""
    linear = mg.nn.Linear(2, 2, dtype=np.float64)
    linear.load_state_dict({"weight": np.array([[1.0, 2.0], [3.0, 4.0]]), "bias": np.array([0.5, -0.5])})
    np.testing.assert_allclose(linear(np.array([1.0, -1.0])).data, [-1.0 + 0.5, -1.0 - 0.5])


def fresh_state(model, value=9.0):
    """A complete, valid state dict whose every value differs from the model's."""
    return {name: np.full(p.shape, value, dtype=np.float32) for name, p in model.named_parameters()}


def test_load_state_dict_rejects_an_unexpected_key_and_changes_nothing():
    """An unknown name raises ValueError naming it; no parameter is touched."""
    model = Tagger()
    before = model.state_dict()
    state = fresh_state(model)
    state["rnn.weight_hh_l9"] = np.zeros((H, H))
    with pytest.raises(ValueError, match=r"weight_hh_l9"):
        model.load_state_dict(state)
    assert_unchanged(model, before)


def test_load_state_dict_rejects_a_missing_key_and_changes_nothing():
    """A missing name raises ValueError naming it; no parameter is touched."""
    model = Tagger()
    before = model.state_dict()
    state = fresh_state(model)
    del state["readout.bias"]
    with pytest.raises(ValueError, match=r"readout\.bias"):
        model.load_state_dict(state)
    assert_unchanged(model, before)


def test_load_state_dict_rejects_a_wrong_shape_and_changes_nothing():
    """A wrong shape raises ValueError naming the parameter and both shapes; nothing is touched."""
    model = Tagger()
    before = model.state_dict()
    state = fresh_state(model)
    state["rnn.weight_hh_l0"] = np.zeros((H, H + 1))
    with pytest.raises(ValueError) as error:
        model.load_state_dict(state)
    message = str(error.value)
    assert "rnn.weight_hh_l0" in message
    assert str((H, H)) in message and str((H, H + 1)) in message
    assert_unchanged(model, before)


def test_load_state_dict_rejects_the_last_entry_without_loading_the_earlier_ones():
    """A bad value at the end of the dict still leaves the earlier, valid parameters unchanged."""
    model = Tagger()
    before = model.state_dict()
    state = fresh_state(model)
    state["readout.bias"] = np.zeros(3)
    with pytest.raises(ValueError, match=r"readout\.bias"):
        model.load_state_dict(state)
    assert_unchanged(model, before)


def test_load_state_dict_non_strict_ignores_unknown_and_missing_keys():
    """strict=False loads the names it knows, skips unknown ones and keeps parameters not given."""
    model = Tagger()
    before = model.state_dict()
    model.load_state_dict({"readout.weight": np.ones((2, H)), "decoder.weight": np.zeros(3)}, strict=False)
    np.testing.assert_array_equal(model.readout.weight.data, np.ones((2, H)))
    for name, array in before.items():
        if name != "readout.weight":
            np.testing.assert_array_equal(model.state_dict()[name], array)


def test_load_state_dict_non_strict_still_rejects_a_wrong_shape():
    """strict=False forgives names, not shapes."""
    model = Tagger()
    before = model.state_dict()
    with pytest.raises(ValueError, match=r"readout\.weight"):
        model.load_state_dict({"readout.weight": np.ones((H, 2))}, strict=False)
    assert_unchanged(model, before)


def test_load_state_dict_casts_to_each_parameters_dtype():
    """float64 values load into a float32 model as float32, and float32 into float64."""
    narrow = mg.nn.Linear(2, 3)
    narrow.load_state_dict({"weight": np.full((3, 2), 0.1, dtype=np.float64), "bias": np.zeros(3)})
    assert narrow.weight.dtype == np.float32
    np.testing.assert_array_equal(narrow.weight.data, np.full((3, 2), np.float32(0.1)))
    wide = mg.nn.Linear(2, 3, dtype=np.float64)
    wide.load_state_dict({"weight": np.full((3, 2), 0.1, dtype=np.float32), "bias": np.arange(3)})
    assert wide.weight.dtype == np.float64 and wide.bias.dtype == np.float64
    np.testing.assert_array_equal(wide.bias.data, [0.0, 1.0, 2.0])


def test_load_state_dict_refuses_casts_that_change_the_numbers_and_changes_nothing():
    """Floats into an integer buffer would truncate (2.7 -> 2, NaN -> a huge negative number), and a
    float64 beyond float32's range would become inf: refused, naming each, before anything loads."""
    model = mg.nn.Linear(2, 3)
    model.register_buffer("seen", mg.tensor(np.array([0, 0])))
    before = model.state_dict()
    state = {"weight": np.full((3, 2), 1e40), "bias": np.zeros(3), "seen": np.array([2.7, np.nan])}
    with pytest.raises(ValueError) as caught:
        model.load_state_dict(state)
    message = str(caught.value)
    assert "weight: values beyond the range of float32" in message
    assert "seen: expected int64 or numbers of a kind that casts to it, got float64" in message
    assert_unchanged(model, before)
    with pytest.raises(ValueError, match="seen: values beyond the range of int32"):
        small = mg.nn.Linear(2, 3)
        small.register_buffer("seen", mg.tensor(np.array([0, 0], np.int32)))
        small.load_state_dict({**small.state_dict(), "seen": np.array([2 ** 32 + 5, 1])})   # (would wrap to 5)
    model.load_state_dict({"weight": np.full((3, 2), np.inf), "bias": np.zeros(3), "seen": np.array([1, 2])})
    assert np.isinf(model.weight.data).all() and model.seen.data.tolist() == [1, 2]     # inf stays inf


# ---- save / load -------------------------------------------------------------------------

def test_save_then_load_round_trips_a_module(tmp_path):
    """mg.load(path) returns the saved state dict; loading it reproduces every parameter."""
    source, target = Tagger(), Tagger()
    path = tmp_path / "tagger.npz"
    mg.save(source, path)
    state = mg.load(path)
    assert set(state) == {name for name, _ in source.named_parameters()}
    target.load_state_dict(state)
    for (name, p), (_, q) in zip(source.named_parameters(), target.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=name)
        assert q.dtype == p.dtype


def test_save_writes_a_plain_npz_that_numpy_reads_without_pickle(tmp_path):
    """The file is an ordinary .npz: numpy opens it with allow_pickle=False."""
    linear = mg.nn.Linear(2, 3)
    path = tmp_path / "linear.npz"
    mg.save(linear, path)
    with np.load(path, allow_pickle=False) as archive:
        np.testing.assert_array_equal(archive["weight"], linear.weight.data)
        np.testing.assert_array_equal(archive["bias"], linear.bias.data)


def test_save_accepts_a_dict_of_arrays(tmp_path):
    """A plain dict of arrays round-trips too."""
    arrays = {"a": np.arange(3.0), "b": np.eye(2, dtype=np.float32)}
    path = tmp_path / "arrays.npz"
    mg.save(arrays, path)
    loaded = mg.load(path)
    assert set(loaded) == {"a", "b"}
    for name in arrays:
        np.testing.assert_array_equal(loaded[name], arrays[name])
        assert loaded[name].dtype == arrays[name].dtype


def test_load_refuses_object_arrays_instead_of_unpickling(tmp_path):
    """A .npz holding a pickled object array raises ValueError: pickle is never used."""
    path = tmp_path / "objects.npz"
    np.savez(path, weight=np.array([{"evil": 1}], dtype=object))
    with pytest.raises(ValueError):
        mg.load(path)


def test_load_of_a_missing_file_raises_file_not_found(tmp_path):
    """No file, FileNotFoundError naming the path."""
    with pytest.raises(FileNotFoundError, match="nothing-here"):
        mg.load(tmp_path / "nothing-here.npz")


def test_load_of_a_truncated_file_raises_a_clear_value_error(tmp_path):
    """Half a saved file raises ValueError that names the file."""
    path = tmp_path / "model.npz"
    mg.save(Tagger(), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=re.escape(str(path))):
        mg.load(path)


def test_load_of_a_foreign_file_raises_value_error(tmp_path):
    """A text file is not a saved state dict: ValueError naming the file."""
    path = tmp_path / "notes.npz"
    path.write_text("weight_ih_l0: 1 2 3\n")
    with pytest.raises(ValueError, match=re.escape(str(path))):
        mg.load(path)


def test_load_of_a_single_npy_array_raises_value_error(tmp_path):
    """A lone .npy array is not a dict of arrays."""
    path = tmp_path / "weight.npy"
    np.save(path, np.zeros(3))
    with pytest.raises(ValueError):
        mg.load(path)


def test_a_failed_load_leaves_the_module_unchanged(tmp_path):
    """If reading a (truncated) file fails, the model keeps every parameter it had."""
    model = Tagger()
    before = model.state_dict()
    path = tmp_path / "model.npz"
    mg.save(Tagger(), path)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ValueError):
        model.load_state_dict(mg.load(path))
    assert_unchanged(model, before)


def test_loading_a_file_of_another_architecture_leaves_the_module_unchanged(tmp_path):
    """A readable file saved from a different model fails load_state_dict and changes nothing."""
    model = Tagger()
    before = model.state_dict()
    path = tmp_path / "lstm.npz"
    mg.save(mg.nn.LSTM(I, H), path)
    with pytest.raises(ValueError):
        model.load_state_dict(mg.load(path))
    assert_unchanged(model, before)


# ---- errors: shapes ----------------------------------------------------------------------

INPUT_WIDTH_ERRORS = [
    pytest.param(lambda: mg.nn.Linear(3, 2), np.zeros((4, 5)), "Linear", "3", id="Linear"),
    pytest.param(lambda: mg.nn.RNNCell(3, 2), np.zeros((4, 5)), "RNNCell", "(B, 3)", id="RNNCell"),
    pytest.param(lambda: mg.nn.LSTMCell(3, 2), np.zeros((4, 5)), "LSTMCell", "(B, 3)", id="LSTMCell"),
    pytest.param(lambda: mg.nn.GRUCell(3, 2), np.zeros(5), "GRUCell", "(3,)", id="GRUCell-unbatched"),
    pytest.param(lambda: mg.nn.RNN(3, 2), np.zeros((6, 4, 5)), "RNN", "3", id="RNN"),
    pytest.param(lambda: mg.nn.LSTM(3, 2), np.zeros((6, 4, 5)), "LSTM", "3", id="LSTM"),
    pytest.param(lambda: mg.nn.GRU(3, 2, batch_first=True), np.zeros((4, 6, 5)), "GRU", "3", id="GRU"),
]


@pytest.mark.parametrize("make, x, class_name, expected", INPUT_WIDTH_ERRORS)
def test_wrong_input_width_raises_value_error_naming_module_and_shapes(make, x, class_name, expected):
    """Input of the wrong width: ValueError with the class name, the expected width and the given shape."""
    with pytest.raises(ValueError) as error:
        make()(x)
    message = str(error.value)
    assert message.startswith(class_name + ":")
    assert expected in message
    assert str(x.shape) in message


@pytest.mark.parametrize("make, x, state, class_name, expected", [
    pytest.param(lambda: mg.nn.RNNCell(3, 4, dtype=np.float64), np.zeros((2, 3)), np.zeros((2, 5)), "RNNCell", (2, 4),
                 id="RNNCell"),
    pytest.param(lambda: mg.nn.GRUCell(3, 4, dtype=np.float64), np.zeros((2, 3)), np.zeros((3, 4)), "GRUCell", (2, 4),
                 id="GRUCell-batch"),
    pytest.param(lambda: mg.nn.GRUCell(3, 4, dtype=np.float64), np.zeros(3), np.zeros((1, 4)), "GRUCell", (4,),
                 id="GRUCell-unbatched"),
    pytest.param(lambda: mg.nn.LSTMCell(3, 4, dtype=np.float64), np.zeros((2, 3)), (np.zeros((2, 4)), np.zeros((2, 6))),
                 "LSTMCell", (2, 4), id="LSTMCell-c"),
    pytest.param(lambda: mg.nn.RNN(3, 4, num_layers=2, dtype=np.float64), np.zeros((5, 2, 3)), np.zeros((1, 2, 4)), "RNN",
                 (2, 2, 4), id="RNN"),
    pytest.param(lambda: mg.nn.GRU(3, 4, dtype=np.float64), np.zeros((5, 3)), np.zeros((1, 2, 4)), "GRU", (1, 4),
                 id="GRU-unbatched"),
    pytest.param(lambda: mg.nn.LSTM(3, 4, dtype=np.float64), np.zeros((5, 2, 3)), (np.zeros((1, 2, 4)), np.zeros((1, 2, 5))),
                 "LSTM", (1, 2, 4), id="LSTM-c0"),
])
def test_wrong_hidden_state_shape_raises_value_error_naming_module_and_shapes(make, x, state,
                                                                              class_name, expected):
    """A state of the wrong shape: ValueError with the class name, the expected and the given shape."""
    given = state[1].shape if isinstance(state, tuple) else state.shape
    with pytest.raises(ValueError) as error:
        make()(x, state)
    message = str(error.value)
    assert message.startswith(class_name + ":")
    assert str(expected) in message
    assert str(given) in message


def test_missing_state_means_zeros():
    """layer(x) equals layer(x, zeros) for each kind of layer and cell."""
    x = np.random.default_rng(0).normal(size=(4, 2, I)).astype(np.float32)
    zeros = np.zeros((1, 2, H), dtype=np.float32)
    rnn, lstm = mg.nn.RNN(I, H), mg.nn.LSTM(I, H)
    np.testing.assert_array_equal(rnn(x)[0].data, rnn(x, zeros)[0].data)
    np.testing.assert_array_equal(lstm(x)[0].data, lstm(x, (zeros, zeros))[0].data)
    cell = mg.nn.GRUCell(I, H)
    np.testing.assert_array_equal(cell(x[0]).data, cell(x[0], zeros[0]).data)


# ---- graph metadata ----------------------------------------------------------------------

def labelled_steps(root, label):
    """The list of step stamps of every node labelled `label` in the graph behind `root`."""
    return [node.step for node in topological_order(root._node) if node.label == label]


def test_lstm_layer_nodes_carry_gate_labels_and_time_steps():
    """An LSTM over T = 3 makes 'f_gate', 'i_gate', 'g_gate', 'o_gate' nodes at steps 1, 2, 3."""
    output, _ = mg.nn.LSTM(I, H)(np.ones((3, 2, I), dtype=np.float32))
    for gate in ("i_gate", "f_gate", "g_gate", "o_gate"):
        assert sorted(labelled_steps(output, gate)) == [1, 2, 3]


def test_every_layer_of_a_stack_is_stamped_with_the_step():
    """With num_layers=2 each step has two 'f_gate' nodes, one per layer."""
    output, _ = mg.nn.LSTM(I, H, num_layers=2)(np.ones((3, 2, I), dtype=np.float32))
    assert sorted(labelled_steps(output, "f_gate")) == [1, 1, 2, 2, 3, 3]


@pytest.mark.parametrize("make, labels", [
    pytest.param(lambda: mg.nn.RNN(I, H), ["h"], id="RNN"),
    pytest.param(lambda: mg.nn.GRU(I, H), ["r_gate", "z_gate", "n_gate", "h"], id="GRU"),
    pytest.param(lambda: mg.nn.LSTM(I, H), ["c", "h"], id="LSTM"),
])
def test_layer_nodes_are_labelled_and_numbered_from_one(make, labels):
    """Each labelled node of a T = 4 unroll appears once per step, steps 1..4."""
    output, _ = make()(np.ones((4, I), dtype=np.float32))
    for label in labels:
        assert sorted(labelled_steps(output, label)) == [1, 2, 3, 4], label


# ---- the layer's output array -------------------------------------------------------------

@pytest.mark.parametrize("make", [
    pytest.param(lambda: mg.nn.RNN(I, H), id="RNN"),
    pytest.param(lambda: mg.nn.LSTM(I, H), id="LSTM"),
    pytest.param(lambda: mg.nn.GRU(I, H, num_layers=2), id="GRU"),
])
def test_layer_output_is_read_only_because_backward_reads_its_states(make):
    """The steps write h_t straight into the output array, and the graph saves those same
    arrays; writing into the output would change them, so the output is read-only."""
    output, _ = make()(np.ones((4, 2, I), dtype=np.float32))
    assert not output.data.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        output.data[0] = 0.0



def test_a_layer_given_a_state_that_is_not_a_tensor_names_itself():
    with pytest.raises(TypeError, match=r"RNN: expected h0 as a tensor of shape \(1, 1, 3\), got tuple"):
        mg.nn.RNN(2, 3)(mg.zeros(4, 1, 2), (mg.zeros(1, 1, 3),))


@pytest.mark.parametrize("make, x, state", [
    (lambda: mg.nn.RNNCell(3, 4), np.zeros((2, 3)), None),
    (lambda: mg.nn.LSTMCell(3, 4), np.zeros((2, 3), np.float32), (np.zeros((2, 4)), np.zeros((2, 4), np.float32))),
    (lambda: mg.nn.GRU(3, 4), np.zeros((5, 2, 3)), None),
    (lambda: mg.nn.LSTM(3, 4), np.zeros((5, 2, 3), np.float32), (np.zeros((1, 2, 4), np.float32), np.zeros((1, 2, 4)))),
], ids=["RNNCell input", "LSTMCell h", "GRU input", "LSTM c0"])
def test_a_float_input_or_state_of_another_dtype_is_refused_as_pytorch(make, x, state):
    """A float32 module given float64 data raises (numpy would promote silently, and the model would
    run in float64), as PyTorch and Linear do; the message names the module and both dtypes."""
    with pytest.raises(TypeError, match=r"(RNNCell|LSTMCell|GRU|LSTM): expected .* of dtype float32 "
                                        r"\(the module's\), got float64"):
        make()(x, state)


@pytest.mark.parametrize("make, x", [
    (lambda: mg.nn.RNNCell(2, 3), np.array([[1, 2]])),
    (lambda: mg.nn.Linear(2, 3), np.array([[1, 2]])),
    (lambda: mg.nn.GRU(2, 3), np.ones((4, 1, 2), dtype=np.int64)),
], ids=["RNNCell", "Linear", "GRU"])
def test_an_integer_input_is_refused_as_pytorch(make, x):
    """Integer data would make a float32 module compute in float64 (numpy promotes int64 with
    float32 to float64): refused, naming the module, both dtypes and the cast to make."""
    with pytest.raises(TypeError, match=r"expected input of dtype float32 \(the module's\), got int64: "
                                        r"cast it to float32"):
        make()(x)
