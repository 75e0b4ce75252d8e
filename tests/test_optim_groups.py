"""Optimizers' param groups, step-time checks, closures, zero_grad and state dtypes, as PyTorch's
`torch.optim.Optimizer` defines them; values checked against hand-written numpy."""

import math

import numpy as np
import pytest

import microgradseq as mg
from microgradseq.optim import SGD, Adam, AdamW, Optimizer, RMSprop


def parameter(values, dtype=np.float64) -> mg.Tensor:
    return mg.tensor(np.array(values, dtype=dtype), requires_grad=True)


# ---- groups -------------------------------------------------------------------------------------

def test_group_dicts_take_their_own_options_and_the_defaults_for_the_rest():
    """{'params': ..., 'lr': ...}: an option a group gives is its own, the others the constructor's."""
    a, b = parameter([1.0]), parameter([2.0])
    optimizer = SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1, momentum=0.9)
    first, second = optimizer.param_groups
    assert (first["lr"], first["momentum"]) == (0.1, 0.9)
    assert (second["lr"], second["momentum"]) == (0.5, 0.9)
    assert first["params"] == [a] and second["params"] == [b]


def test_each_group_steps_with_its_own_learning_rate():
    """Plain SGD: p -= lr_of_its_group * grad."""
    a, b = parameter([1.0, 1.0]), parameter([2.0])
    optimizer = SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    a.grad, b.grad = np.array([1.0, -2.0]), np.array([4.0])
    optimizer.step()
    np.testing.assert_allclose(a.data, [1.0 - 0.1, 1.0 + 0.2], rtol=1e-15)
    np.testing.assert_allclose(b.data, [2.0 - 0.5 * 4.0], rtol=1e-15)


def test_a_group_may_hold_a_single_tensor():
    """As PyTorch: {'params': p} stands for {'params': [p]}."""
    p = parameter([1.0])
    assert Adam([{"params": p}]).param_groups[0]["params"] == [p]


def test_changing_a_groups_lr_takes_effect_at_the_next_step():
    """for g in optimizer.param_groups: g['lr'] *= 0.5 halves the next step."""
    p = parameter([0.0])
    optimizer = SGD([p], lr=0.2)
    p.grad = np.array([1.0])
    optimizer.step()
    for group in optimizer.param_groups:
        group["lr"] *= 0.5
    optimizer.step()
    np.testing.assert_allclose(p.data, [-0.2 - 0.1], rtol=1e-15)


def test_add_param_group_trains_the_new_parameters_with_their_options():
    """add_param_group: the new group's own lr, the defaults for the rest; a state entry each."""
    a, b = parameter([1.0]), parameter([1.0, 1.0])
    optimizer = SGD([a], lr=0.1, weight_decay=0.5)
    optimizer.add_param_group({"params": [b], "lr": 0.01})
    assert optimizer.param_groups[1]["weight_decay"] == 0.5 and len(optimizer.state) == 2
    b.grad = np.array([1.0, 2.0])
    optimizer.step()
    np.testing.assert_allclose(b.data, 1.0 - 0.01 * (np.array([1.0, 2.0]) + 0.5 * 1.0), rtol=1e-15)
    np.testing.assert_array_equal(a.data, [1.0])


def test_add_param_group_refuses_a_parameter_already_trained_and_changes_nothing():
    """A tensor in two groups would be updated twice (PyTorch refuses it too)."""
    a = parameter([1.0])
    optimizer = SGD([a], lr=0.1)
    with pytest.raises(ValueError, match="SGD.add_param_group: .*appears more than once"):
        optimizer.add_param_group({"params": [parameter([2.0]), a]})
    assert len(optimizer.param_groups) == 1 and len(optimizer.state) == 1


def test_add_param_group_refuses_a_bad_option_naming_it():
    optimizer = Adam([parameter([1.0])])
    with pytest.raises(ValueError, match=r"Adam.add_param_group: param_groups\[1\]\['eps'\] must be a finite "
                                         r"number >= 0, got -1"):
        optimizer.add_param_group({"params": [parameter([2.0])], "eps": -1})
    assert len(optimizer.param_groups) == 1


@pytest.mark.parametrize("params, error, message", [
    ([parameter([1.0]), {"params": [parameter([1.0])]}], TypeError, "not a mix"),
    ({parameter([1.0])}, TypeError, "not a set"),
    ([{"lr": 0.1}], TypeError, "a param group must be a dict with a 'params' entry"),
    ([{"params": [parameter([1.0])], "lr": math.nan}], ValueError, r"param_groups\[0\]\['lr'\]"),
], ids=["mixed", "set", "no params", "bad lr"])
def test_bad_groups_raise_naming_the_optimizer(params, error, message):
    with pytest.raises(error, match=f"SGD: .*{message}"):
        SGD(params, lr=0.1)


# ---- options checked at every step -------------------------------------------------------------

def adam_after_one_step():
    p = parameter([1.0, 2.0])
    optimizer = Adam([p], lr=0.1)
    p.grad = np.array([0.5, -0.5])
    optimizer.step()
    return p, optimizer


@pytest.mark.parametrize("option, value, message", [
    ("lr", math.nan, r"Adam.step: param_groups\[0\]\['lr'\] must be a finite number >= 0, got nan"),
    ("betas", (1.0, 0.999), r"Adam.step: param_groups\[0\]\['betas'\]\[0\] must be in \[0, 1\), got 1.0"),
    ("eps", -1e-8, r"Adam.step: param_groups\[0\]\['eps'\] must be a finite number >= 0"),
    ("amsgrad", "yes", r"Adam.step: param_groups\[0\]\['amsgrad'\] must be True or False"),
])
def test_an_option_made_invalid_after_construction_is_refused_at_step_and_changes_nothing(option, value, message):
    """The step checks every group's options before it computes anything (betas[0] = 1 would
    otherwise divide by 1 - 1^t = 0): a ValueError, parameters and state as they were."""
    p, optimizer = adam_after_one_step()
    data, state = p.data.copy(), {k: np.copy(v) for k, v in optimizer.state[0].items()}
    optimizer.param_groups[0][option] = value
    p.grad = np.array([1.0, 1.0])
    with pytest.raises(ValueError, match=message):
        optimizer.step()
    np.testing.assert_array_equal(p.data, data)
    assert optimizer.state[0].keys() == state.keys()
    for key in state:
        np.testing.assert_array_equal(optimizer.state[0][key], state[key])


def test_an_option_removed_from_a_group_is_named_at_step():
    p, optimizer = adam_after_one_step()
    del optimizer.param_groups[0]["eps"]
    with pytest.raises(ValueError, match=r"Adam.step: param_groups\[0\]\['eps'\] is missing"):
        optimizer.step()


def test_a_groups_params_changed_by_hand_are_refused_at_step():
    """The state is kept in the order of the parameters: adding one to a group's list by hand
    (instead of add_param_group) is refused before anything changes."""
    p, optimizer = adam_after_one_step()
    stranger = parameter([5.0])
    stranger.grad = np.array([1.0])
    optimizer.param_groups[0]["params"].append(stranger)
    with pytest.raises(ValueError, match="Adam.step: the parameters in param_groups are not those"):
        optimizer.step()
    np.testing.assert_array_equal(stranger.data, [5.0])


def test_nesterov_made_invalid_after_construction_is_refused_at_step():
    optimizer = SGD([parameter([1.0])], lr=0.1, momentum=0.9, nesterov=True)
    optimizer.param_groups[0]["momentum"] = 0.0
    with pytest.raises(ValueError, match=r"SGD.step: param_groups\[0\]: nesterov=True needs momentum > 0"):
        optimizer.step()


# ---- single-group attributes ----------------------------------------------------------------

def test_lr_reads_and_sets_the_only_groups_lr():
    """optimizer.lr (kept from earlier versions) is param_groups[0]['lr'] when there is one group."""
    p = parameter([0.0])
    optimizer = SGD([p], lr=0.1)
    assert optimizer.lr == 0.1
    optimizer.lr = 0.05
    assert optimizer.param_groups[0]["lr"] == 0.05
    p.grad = np.array([1.0])
    optimizer.step()
    np.testing.assert_allclose(p.data, [-0.05], rtol=1e-15)


def test_setting_an_option_attribute_sets_the_groups_option():
    """optimizer.momentum = 0.5 is no stray attribute: the group's momentum changes."""
    optimizer = SGD([parameter([0.0])], lr=0.1)
    optimizer.momentum = 0.5
    assert optimizer.param_groups[0]["momentum"] == 0.5


def test_lr_with_several_groups_is_an_attribute_error_pointing_at_param_groups():
    optimizer = SGD([{"params": [parameter([0.0])]}, {"params": [parameter([0.0])], "lr": 0.5}], lr=0.1)
    with pytest.raises(AttributeError, match=r"SGD.lr: this optimizer has 2 param groups.*param_groups\[i\]\['lr'\]"):
        optimizer.lr


def test_state_takes_a_parameter_as_key_as_pytorch():
    """optimizer.state[p] is p's dict (state[i] too, i its number)."""
    a, b = parameter([1.0]), parameter([2.0])
    optimizer = Adam([a, b], lr=0.1)
    b.grad = np.array([1.0])
    optimizer.step()
    assert optimizer.state[b] is optimizer.state[1] and optimizer.state[b]["step"] == 1
    assert optimizer.state[a] == {}
    assert [p for p, _ in optimizer.state.items()] == [a, b]


# ---- closure and zero_grad ---------------------------------------------------------------------

def test_step_calls_the_closure_and_returns_its_loss():
    """step(closure): the closure recomputes the gradient, the step uses it, its loss comes back."""
    w = parameter([3.0])
    optimizer = SGD([w], lr=0.1)

    def closure():
        optimizer.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    loss = optimizer.step(closure)
    assert loss.item() == 9.0
    np.testing.assert_allclose(w.data, [3.0 - 0.1 * 6.0], rtol=1e-15)


def test_the_closure_records_gradients_even_inside_no_grad():
    """As torch's step, which runs the closure under enable_grad."""
    w = parameter([2.0])
    optimizer = SGD([w], lr=0.5)

    def closure():
        loss = (w * w).sum()
        loss.backward()
        return loss

    with mg.no_grad():
        optimizer.step(closure)
    np.testing.assert_allclose(w.data, [2.0 - 0.5 * 4.0], rtol=1e-15)


def test_zero_grad_without_set_to_none_gives_new_zero_arrays_of_the_parameters_dtype():
    """set_to_none=False: a gradient becomes zeros of the parameter's shape and dtype (a new array:
    the old one is not written into); a parameter without one keeps None, as in PyTorch."""
    a, b = parameter([[1.0, 2.0]], dtype=np.float32), parameter([3.0])
    a.grad = np.array([[5.0, 6.0]], dtype=np.float32)
    old = a.grad
    SGD([a, b], lr=0.1).zero_grad(set_to_none=False)
    np.testing.assert_array_equal(a.grad, np.zeros((1, 2)))
    assert a.grad.dtype == np.float32 and b.grad is None
    np.testing.assert_array_equal(old, [[5.0, 6.0]])


def test_zero_grad_set_to_none_must_be_a_bool():
    with pytest.raises(ValueError, match="SGD.zero_grad: set_to_none must be True or False"):
        SGD([parameter([1.0])], lr=0.1).zero_grad(set_to_none="no")


# ---- state dtypes ------------------------------------------------------------------------------

def test_state_follows_its_parameter_to_float32_after_model_float():
    """Adam made on a float64 model keeps float64 moments; after model.float() the next step casts
    them to float32 (as PyTorch's load_state_dict casts state to its parameter's dtype) and
    computes in float32."""
    model = mg.nn.Linear(1, 1, rng=np.random.default_rng(0), dtype=np.float64)
    optimizer = Adam(model.parameters(), lr=0.1)
    weight = model.weight
    weight.grad = np.array([[0.5]])
    optimizer.step()
    m, v = optimizer.state[0]["exp_avg"], optimizer.state[0]["exp_avg_sq"]
    model.float()
    start = weight.data.copy()
    weight.grad = np.array([[0.25]], dtype=np.float32)
    optimizer.step()
    state = optimizer.state[0]
    assert {state["exp_avg"].dtype, state["exp_avg_sq"].dtype, weight.dtype} == {np.dtype(np.float32)}
    f32 = np.float32
    g = f32(0.25)
    m2 = f32(0.9) * m.astype(f32) + f32(0.1) * g
    v2 = f32(0.999) * v.astype(f32) + f32(0.001) * g * g
    expected = start - (0.1 / (1 - 0.9 ** 2)) * m2 / (np.sqrt(v2) / math.sqrt(1 - 0.999 ** 2) + 1e-8)
    np.testing.assert_allclose(weight.data, expected, rtol=1e-6)


def test_a_state_array_that_is_not_floating_point_is_refused_at_step():
    """An integer moment (set by hand) cannot be cast meaningfully: ValueError, nothing changes."""
    p = parameter([1.0])
    optimizer = SGD([p], lr=0.1, momentum=0.9)
    optimizer.state[0]["momentum_buffer"] = np.array([1])
    p.grad = np.array([1.0])
    with pytest.raises(ValueError, match="SGD.step: parameter 0's momentum_buffer must be a floating-point "
                                         "array, got dtype int64"):
        optimizer.step()
    np.testing.assert_array_equal(p.data, [1.0])


@pytest.mark.parametrize("kind", [SGD, Adam, AdamW, RMSprop])
def test_every_optimizer_lists_its_options_in_each_group(kind):
    """param_groups[0] holds every option of the constructor (PyTorch's names), and the parameters."""
    p = parameter([1.0])
    group = kind([p]).param_groups[0]
    assert group["params"] == [p]
    assert set(group) - {"params"} == set(kind([parameter([1.0])]).defaults)
    assert {"lr", "weight_decay", "maximize"} <= set(group)


def test_the_base_class_takes_defaults_for_a_subclass_of_yours():
    """Optimizer(params, defaults): a subclass reads its options from the group it is given."""

    class SignDescent(Optimizer):
        def __init__(self, params, lr=0.5):
            super().__init__(params, {"lr": lr})

        def update(self, data, grad, state, group):
            return data - group["lr"] * np.sign(grad)

    a, b = parameter([1.0]), parameter([1.0])
    optimizer = SignDescent([{"params": [a]}, {"params": [b], "lr": 0.25}])
    a.grad, b.grad = np.array([3.0]), np.array([-3.0])
    optimizer.step()
    np.testing.assert_array_equal(a.data, [0.5])
    np.testing.assert_array_equal(b.data, [1.25])


# ---- named parameters (PyTorch 2.6 and later) -----------------------------------------------------

def _tiny_model():
    mg.manual_seed(0)
    return mg.nn.Linear(3, 2, dtype=np.float64)


def test_named_parameters_train_as_the_parameters_do_and_keep_their_names():
    """optim.SGD(model.named_parameters()): p -= lr * grad, as with model.parameters(), and the
    group keeps the names in 'param_names', in order (PyTorch's layout)."""
    model = _tiny_model()
    before = {name: p.data.copy() for name, p in model.named_parameters()}
    optimizer = SGD(model.named_parameters(), lr=0.5)
    assert optimizer.param_groups[0]["param_names"] == ["weight", "bias"]
    x = np.array([[1.0, -2.0, 0.5]])
    model(mg.tensor(x)).sum().backward()
    optimizer.step()
    # d(sum of x W^T + b)/dW = 1 x (one row of ones times x), d/db = 1
    np.testing.assert_allclose(model.weight.data, before["weight"] - 0.5 * np.ones((2, 1)) * x)
    np.testing.assert_allclose(model.bias.data, before["bias"] - 0.5)


def test_named_parameters_in_group_dicts_and_in_the_state_dict():
    model = _tiny_model()
    optimizer = Adam([{"params": [("weight", model.weight)]}, {"params": [("bias", model.bias)], "lr": 0.1}])
    saved = optimizer.state_dict()
    assert [g["param_names"] for g in saved["param_groups"]] == [["weight"], ["bias"]]
    assert [g["params"] for g in saved["param_groups"]] == [[0], [1]]


def test_loading_a_state_dict_takes_its_names_or_keeps_ours_when_it_has_none():
    """PyTorch: names in the loaded groups replace the optimizer's; without them, the optimizer's stay."""
    model = _tiny_model()
    optimizer = SGD(model.named_parameters(), lr=0.1)
    renamed = optimizer.state_dict()
    renamed["param_groups"][0]["param_names"] = ["w", "b"]
    optimizer.load_state_dict(renamed)
    assert optimizer.param_groups[0]["param_names"] == ["w", "b"]
    unnamed = SGD(_tiny_model().parameters(), lr=0.1).state_dict()
    optimizer.load_state_dict(unnamed)
    assert optimizer.param_groups[0]["param_names"] == ["w", "b"]


def test_names_given_for_some_parameters_only_are_refused():
    model = _tiny_model()
    with pytest.raises(ValueError, match=r"SGD: .*item 1 has no name"):
        SGD([("weight", model.weight), model.bias], lr=0.1)


def test_a_group_with_names_cannot_join_groups_without_and_nothing_changes():
    """PyTorch's rule: every group with names, or none."""
    model = _tiny_model()
    optimizer = SGD([model.weight], lr=0.1)
    with pytest.raises(ValueError, match=r"SGD.add_param_group: .*with names to groups without them"):
        optimizer.add_param_group({"params": [("bias", model.bias)]})
    assert len(optimizer.param_groups) == 1 and optimizer.params == [model.weight]
    named = SGD([("weight", model.weight)], lr=0.1)
    with pytest.raises(ValueError, match=r"without names to groups with them"):
        named.add_param_group({"params": [model.bias]})
    assert len(named.param_groups) == 1
