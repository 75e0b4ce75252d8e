"""Bad input gets a clear error naming what was wrong, and nothing is lost: found by a review of
the public API with wrong shapes, types and values."""

import collections
import copy
import io
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import microgradseq as mg


# ---- saving and loading -----------------------------------------------------------------------------

@pytest.mark.parametrize("state, message", [
    ({"": np.ones(1)}, "names must be non-empty strings"),
    ({"w": np.ones(1), "f": print}, r"cannot store obj\[.f.\]"),
    ({"w": np.array(["a"])}, "'w' is not a numeric array"),
])
def test_a_failed_save_leaves_the_old_file_as_it_was(tmp_path, state, message):
    path = tmp_path / "model.npz"
    mg.save({"w": np.arange(3.0)}, path)
    before = path.read_bytes()
    with pytest.raises(TypeError, match=message):
        mg.save(state, path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["model.npz"]


def test_names_numpy_would_take_for_its_own_arguments_are_saved_like_any_other(tmp_path):
    """np.savez(file, **arrays) takes `file` and `allow_pickle` for itself: neither may be lost."""
    path = tmp_path / "model.npz"
    mg.save({"file": np.ones(2), "allow_pickle": np.zeros(1), "w": np.arange(3.0)}, path)
    loaded = mg.load(path)
    assert sorted(loaded) == ["allow_pickle", "file", "w"]
    np.testing.assert_array_equal(loaded["file"], np.ones(2))


@pytest.mark.parametrize("content", ["zip", "text"])
def test_load_rejects_a_file_that_is_not_an_archive_of_arrays(tmp_path, content):
    path = tmp_path / "foreign.npz"
    if content == "zip":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("readme.txt", b"hi")
    else:
        path.write_text("hello")
    with pytest.raises(ValueError, match="is not a readable .npz file") as error:
        mg.load(path)
    assert "pickle" not in str(error.value)


@pytest.mark.parametrize("name", ["w\x00x", "w\nx", "tab\t", "\x7f", "\ud800"],
                         ids=["NUL", "newline", "tab", "DEL", "lone surrogate"])
def test_save_refuses_a_name_load_could_not_give_back_and_writes_nothing(tmp_path, name):
    path = tmp_path / "model.npz"
    mg.save({"w": np.arange(3.0)}, path)
    before = path.read_bytes()
    with pytest.raises(ValueError, match="save: the name .* holds a control character"):
        mg.save({"ok": np.ones(1), name: np.ones(1)}, path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["model.npz"]


def test_save_refuses_a_name_too_long_for_a_zip_member_and_writes_nothing(tmp_path):
    path = tmp_path / "model.npz"
    mg.save({"w": np.ones(1)}, tmp_path / "model.npz")
    before = path.read_bytes()
    with pytest.raises(ValueError, match="save: the name 'aaa.*is 70000 bytes long in UTF-8; a member "
                                         "name holds at most 65531"):
        mg.save({"a" * 70_000: np.ones(1)}, path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["model.npz"]


def test_save_never_touches_a_users_file_named_like_a_partial_save(tmp_path):
    """`<path>.partial` may be the user's own: a save, good or failed, neither overwrites nor
    deletes it (the temporary file has a name of its own)."""
    path, partial = tmp_path / "model.npz", tmp_path / "model.npz.partial"
    partial.write_bytes(b"the user's own notes")
    mg.save({"w": np.arange(3.0)}, path)
    with pytest.raises(TypeError):
        mg.save({"w": np.array(["text"])}, path)
    assert partial.read_bytes() == b"the user's own notes"
    assert sorted(os.listdir(tmp_path)) == ["model.npz", "model.npz.partial"]


def test_a_saved_file_gets_the_permissions_any_new_file_gets(tmp_path):
    """The temporary file is made with the umask's permissions, not mkstemp's owner-only ones."""
    reference = tmp_path / "plain"
    reference.write_bytes(b"")
    mg.save({"w": np.ones(1)}, tmp_path / "model.npz")
    assert (tmp_path / "model.npz").stat().st_mode == reference.stat().st_mode


def test_a_save_that_fails_while_writing_leaves_the_old_file_and_no_temporary_one(tmp_path, monkeypatch):
    """A write that fails halfway (a full disk, say): the old checkpoint is as it was, and the
    temporary file is gone."""
    path = tmp_path / "model.npz"
    mg.save({"w": np.arange(3.0)}, path)
    before = path.read_bytes()

    def write_array_then_fail(member, array, allow_pickle):
        member.write(b"half an array")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np.lib.format, "write_array", write_array_then_fail)
    with pytest.raises(OSError, match="No space left on device"):
        mg.save({"w": np.ones(1000)}, path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["model.npz"]


def test_save_into_a_missing_folder_names_the_folder_not_a_temporary_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="save: there is no folder .*missing to write model.npz"):
        mg.save({"w": np.ones(1)}, tmp_path / "missing" / "model.npz")
    assert os.listdir(tmp_path) == []


def _archive(tmp_path, members):
    """An .npz-like zip holding (name, bytes) members as given."""
    path = tmp_path / "crafted.npz"
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members:
            archive.writestr(name, content)
    return path


def _npy(array=None, header=None):
    """The bytes of an NPY file: an array's, or a bare header dict followed by 8 bytes."""
    buffer = io.BytesIO()
    if header is None:
        np.lib.format.write_array(buffer, array, allow_pickle=False)
    else:
        np.lib.format.write_array_header_1_0(buffer, header)
        buffer.write(bytes(8))
    return buffer.getvalue()


def test_load_refuses_a_member_that_is_not_an_npy_file(tmp_path):
    path = _archive(tmp_path, [("w.npy", b"raw bytes, no NPY header")])
    with pytest.raises(ValueError, match="load: .* is not a readable .npz file") as error:
        mg.load(path)
    assert "b'" not in str(error.value)


def test_load_refuses_a_name_held_twice(tmp_path):
    with pytest.warns(UserWarning, match="Duplicate name"):
        path = _archive(tmp_path, [("w.npy", _npy(np.zeros(2))), ("w.npy", _npy(np.ones(2)))])
    with pytest.raises(ValueError, match="load: .*holds 'w.npy' more than once"):
        mg.load(path)


def test_load_refuses_a_header_claiming_a_huge_shape_before_allocating_it(tmp_path):
    """A header claiming 8 TB over 8 bytes of data: ValueError, not a MemoryError."""
    header = {"descr": "<f8", "fortran_order": False, "shape": (10 ** 12,)}
    path = _archive(tmp_path, [("w.npy", _npy(header=header))])
    with pytest.raises(ValueError, match=r"load: .*claims shape \(1000000000000,\) .* but holds 8 bytes"):
        mg.load(path)


def test_load_refuses_an_npy_member_holding_objects(tmp_path):
    header = {"descr": "|O", "fortran_order": False, "shape": (1,)}
    path = _archive(tmp_path, [("w.npy", _npy(header=header))])
    with pytest.raises(ValueError, match="load: .*holds dtype object, not a numeric array"):
        mg.load(path)


@pytest.mark.parametrize("call, message", [
    (lambda f: mg.save({"w": np.ones(1)}, f), r"save: f is a text file; open it in binary mode \('wb'\)"),
    (lambda f: mg.load(f), r"load: f is a text file; open it in binary mode \('rb'\)"),
])
def test_save_and_load_refuse_a_text_file_object(call, message):
    with pytest.raises(TypeError, match=message):
        call(io.StringIO())


# ---- gradients and optimizers --------------------------------------------------------------------------

def test_a_grad_of_the_wrong_shape_is_refused_so_no_optimizer_half_updates():
    w = mg.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(ValueError, match=r"grad: expected an array of shape \(3,\), got shape \(5, 3\)"):
        w.grad = np.ones((5, 3))
    assert w.grad is None


@pytest.mark.parametrize("make, message", [
    (lambda p: mg.optim.SGD(p, lr="0.1"), "SGD: lr must be a finite number >= 0, got '0.1'"),
    (lambda p: mg.optim.SGD(p, lr=float("inf")), "SGD: lr must be a finite number >= 0"),
    (lambda p: mg.optim.SGD(p, lr=True), "SGD: lr must be a finite number >= 0"),
    (lambda p: mg.optim.Adam(p, betas=0.9), r"Adam: betas must be a pair"),
    (lambda p: mg.optim.Adam(p, betas=("0.9", 0.999)), r"Adam: betas\[0\] must be in \[0, 1\), got '0.9'"),
    (lambda p: mg.optim.Adam(p, betas=(0.9, float("nan"))), r"Adam: betas\[1\] must be in \[0, 1\), got nan"),
])
def test_optimizer_settings_that_are_not_finite_numbers_are_refused(make, message):
    with pytest.raises(ValueError, match=message):
        make([mg.tensor(np.ones(2), requires_grad=True)])


OPTIMIZERS = {
    "SGD": lambda ps: mg.optim.SGD(ps, lr=0.1, momentum=0.9),
    "Adam": lambda ps: mg.optim.Adam(ps, lr=0.1),
    "AdamW": lambda ps: mg.optim.AdamW(ps, lr=0.1),
    "RMSprop": lambda ps: mg.optim.RMSprop(ps, momentum=0.5, centered=True),
}


@pytest.mark.parametrize("kind", OPTIMIZERS)
def test_an_optimizer_step_that_fails_changes_no_parameter_grad_or_state(kind):
    """A parameter given an array of another shape behind the optimizer's back: the step
    refuses before it updates anything, the parameters before it in the list included, and
    Adam's step count stays where it was."""
    first, second = (mg.tensor(np.array(v), requires_grad=True) for v in ([1.0, 2.0], [3.0, 4.0, 5.0]))
    optimizer = OPTIMIZERS[kind]([first, second])
    first.grad, second.grad = np.array([0.5, 0.5]), np.array([0.5, 0.5, 0.5])
    optimizer.step()
    second._replace_data(np.ones(5))            # (.data = ... refuses another shape); grads stay
    data, state = [p.data.copy() for p in (first, second)], copy.deepcopy(optimizer.state)
    with pytest.raises(ValueError, match=rf"{kind}.step: parameter 1 is float64 of shape \(5,\) but "
                                         r"its grad is float64 of shape \(3,\); no parameter was changed"):
        optimizer.step()
    for p, before in zip((first, second), data):
        np.testing.assert_array_equal(p.data, before)
    np.testing.assert_array_equal(first.grad, [0.5, 0.5])
    assert len(optimizer.state) == 2
    for now, before in zip(optimizer.state, state):
        assert now.keys() == before.keys()
        for key in now:
            np.testing.assert_array_equal(now[key], before[key], err_msg=key)


@pytest.mark.parametrize("kind", OPTIMIZERS)
@pytest.mark.parametrize("make, message", [
    (lambda: mg.tensor(np.ones(2)), "item 1 is a tensor that does not require grad"),
    (lambda: mg.tensor(np.ones(2), requires_grad=True) * 2.0, "item 1 is the result of an op, not a leaf"),
], ids=["constant", "op result"])
def test_optimizers_refuse_a_tensor_they_cannot_train(kind, make, message):
    trained = mg.tensor(np.ones(2), requires_grad=True)
    with pytest.raises(ValueError, match=f"{kind}: {message}"):
        OPTIMIZERS[kind]([trained, make()])


@pytest.mark.parametrize("kind", OPTIMIZERS)
def test_an_optimizer_given_none_says_it_wants_an_iterable_of_tensors(kind):
    with pytest.raises(TypeError, match=rf"{kind}: expected an iterable of Tensors \(such as "
                                        r"model.parameters\(\)\), got NoneType"):
        OPTIMIZERS[kind](None)


def test_gradcheck_fails_a_nan_gradient_and_leaves_every_grad_as_it_was():
    """sqrt of a negative number under a where that never picks it: autodiff gives NaN (0 * NaN),
    finite differences 1. The closed-over weight's grad is untouched, a failure or not."""
    x = mg.tensor(np.array([-1.0, -2.0]), requires_grad=True)
    weight = mg.tensor(np.array([3.0]), requires_grad=True)
    weight.grad = np.array([7.0])
    with np.errstate(invalid="ignore"), pytest.raises(mg.GradcheckError, match="autodiff gives nan"):
        mg.gradcheck(lambda t: (mg.where(np.array([False, False]), t.sqrt(), t) * weight).sum(), [x])
    np.testing.assert_array_equal(weight.grad, [7.0])
    assert x.grad is None
    with pytest.raises(ValueError, match="gradcheck: eps must be a finite number, positive"):
        mg.gradcheck(lambda t: (t * t).sum(), x, eps=float("nan"))
    assert mg.gradcheck(lambda t: (t * t).sum(), mg.tensor(np.ones(3), requires_grad=True))   # one tensor


@pytest.mark.parametrize("inputs", [np.ones(3), None], ids=["ndarray", "None"])
def test_gradcheck_wants_tensors_not_an_array_or_none(inputs):
    with pytest.raises(TypeError, match="gradcheck: inputs must be a Tensor or an iterable of Tensors, "
                                        "got (ndarray|NoneType)"):
        mg.gradcheck(lambda t: (t * t).sum(), inputs)


def test_gradcheck_takes_a_modules_parameters_as_they_come():
    linear = mg.nn.Linear(3, 2, rng=np.random.default_rng(0), dtype=np.float64)
    assert mg.gradcheck(lambda *params: (linear(np.ones((2, 3))) ** 2).sum(), linear.parameters())


def test_gradcheck_with_no_input_requiring_grad_says_there_is_nothing_to_check():
    calls = collections.Counter()

    def fn(t):
        calls["fn"] += 1
        return (t * t).sum()

    with pytest.raises(ValueError, match="gradcheck: no input requires grad, so there is nothing to check"):
        mg.gradcheck(fn, [mg.tensor(np.ones(2), dtype=np.float64)])
    assert calls["fn"] == 0


def test_gradcheck_on_float32_inputs_says_finite_differences_need_float64():
    x = mg.tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    with pytest.raises(mg.GradcheckError, match="input 0 is float32: finite differences need float64"):
        mg.gradcheck(lambda t: (t ** 3).sum(), [x])
    np.testing.assert_array_equal(x.data, np.array([1.0, 2.0], dtype=np.float32))
    assert x.grad is None and x.dtype == np.float32


def test_gradcheck_gives_each_input_its_own_values_back_even_when_fn_raises():
    """Inputs are perturbed by giving them new arrays; afterwards each holds its own values,
    also when fn fails halfway through the finite differences."""
    x = mg.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    calls = collections.Counter()

    def fn(t):
        calls["fn"] += 1
        if calls["fn"] == 4:
            raise RuntimeError("fn failed")
        return (t * t).sum()

    with pytest.raises(RuntimeError, match="fn failed"):
        mg.gradcheck(fn, [x])
    np.testing.assert_array_equal(x.data, [1.0, 2.0, 3.0])
    assert mg.gradcheck(lambda t: (t * t).sum(), [x]) and x.grad is None
    np.testing.assert_array_equal(x.data, [1.0, 2.0, 3.0])


# ---- modules -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("make, message", [
    (lambda: mg.nn.Linear(0, 3), "Linear: in_features must be a positive integer, got 0"),
    (lambda: mg.nn.Linear(-1, 3), "Linear: in_features must be a positive integer, got -1"),
    (lambda: mg.nn.RNN(3, 0), "RNN: hidden_size must be a positive integer, got 0"),
    (lambda: mg.nn.LSTM(3, 4, num_layers=True), "LSTM: num_layers must be a positive integer, got True"),
    (lambda: mg.nn.GRU(3, 4, batch_first="no"), "GRU: batch_first must be True or False, got 'no'"),
    (lambda: mg.nn.GRUCell(3, 2.5), "GRUCell: hidden_size must be a positive integer, got 2.5"),
    (lambda: mg.nn.Embedding(0, 4), "Embedding: num_embeddings must be a positive integer, got 0"),
])
def test_module_sizes_and_flags_are_checked(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("state", [None, [("weight", np.ones((2, 3)))]])
def test_load_state_dict_wants_a_mapping(state):
    linear = mg.nn.Linear(3, 2)
    with pytest.raises(TypeError, match="load_state_dict: expected a dict of name -> array, got"):
        linear.load_state_dict(state)


@pytest.mark.parametrize("call, message", [
    (lambda m: mg.nn.Linear(2, 3, bias="no"), "Linear: bias must be True or False, got 'no'"),
    (lambda m: m.load_state_dict(m.state_dict(), strict="no"),
     "load_state_dict: strict must be True or False, got 'no'"),
    (lambda m: m.train("x"), r"Linear.train: mode must be True or False, got 'x'"),
], ids=["bias", "strict", "train"])
def test_flags_must_be_bools_not_anything_truthy(call, message):
    model = mg.nn.Linear(3, 2)
    before = model.state_dict()
    with pytest.raises(ValueError, match=message):
        call(model)
    assert model.training is True
    for name, array in model.state_dict().items():
        np.testing.assert_array_equal(array, before[name])


@pytest.mark.parametrize("call, message", [
    (lambda: mg.randn(2, rng="x"), "randn: rng must be a numpy.random.Generator .* got str"),
    (lambda: mg.nn.Linear(2, 3, rng="x"), "Linear: rng must be a numpy.random.Generator .* got str"),
    (lambda: mg.nn.Embedding(2, 3, rng=0), "Embedding: rng must be a numpy.random.Generator .* got int"),
    (lambda: mg.rand(2, rng="x"), "rand: rng must be a numpy.random.Generator .* got str"),
    (lambda: mg.multinomial([0.5, 0.5], 1, rng=0), "multinomial: rng must be a numpy.random.Generator .* got int"),
    (lambda: mg.nn.init.uniform_(mg.zeros(2), rng=0), "uniform_: rng must be a numpy.random.Generator .* got int"),
    (lambda: mg.nn.init.normal_(mg.zeros(2), rng=0), "normal_: rng must be a numpy.random.Generator .* got int"),
    (lambda: mg.nn.init.orthogonal_(mg.zeros((2, 2)), rng=0),
     "orthogonal_: rng must be a numpy.random.Generator .* got int"),
    (lambda: mg.nn.init.xavier_uniform_(mg.zeros((2, 2)), rng=3),
     "xavier_uniform_: rng must be a numpy.random.Generator .* got int"),
    (lambda: mg.nn.functional.dropout(mg.ones(2), 0.5, rng=0),
     "dropout: rng must be a numpy.random.Generator .* got int"),
], ids=["randn", "Linear", "Embedding", "rand", "multinomial", "uniform_", "normal_", "orthogonal_", "xavier_uniform_",
        "dropout"])
def test_an_rng_that_is_not_a_generator_is_a_type_error_naming_the_function(call, message):
    with pytest.raises(TypeError, match=message):
        call()


def test_load_state_dict_names_a_ragged_list_and_changes_nothing():
    model = mg.nn.Linear(2, 2)
    before = model.state_dict()
    with pytest.raises(ValueError, match=r"load_state_dict for Linear: weight: expected a numeric array, "
                                         r"got a ragged list \(no parameter was changed\)"):
        model.load_state_dict({"weight": [[1.0, 2.0], [3.0]], "bias": [0.0, 0.0]})
    for name, array in model.state_dict().items():
        np.testing.assert_array_equal(array, before[name])


# ---- ops and tensors ---------------------------------------------------------------------------------

@pytest.mark.parametrize("call, error, message", [
    (lambda a: a.sum(axis=5), ValueError, r"sum: axis 5 is not an axis \(or distinct axes\) of shape \(2, 3\)"),
    (lambda a: a.max(axis="x"), ValueError, r"max: axis 'x' is not an axis"),
    (lambda a: a.mean(axis=(0, 0)), ValueError, r"mean: axis \(0, 0\) is not an axis \(or distinct axes\)"),
    (lambda a: mg.stack([a, a], axis=5), ValueError, "stack: axis 5 is out of range for a result with 3 axes"),
    (lambda a: mg.concat([a, a], axis=-3), ValueError, "concat: axis -3 is out of range for a result with 2 axes"),
    (lambda a: mg.concat(a), TypeError, r"concat: expected a sequence of tensors, got a single Tensor of shape \(2, 3\)"),
    (lambda a: mg.where(np.ones(5, bool), a, a), ValueError,
     r"where: condition of shape \(5,\) and operands of shapes \(2, 3\) and \(2, 3\) cannot be broadcast"),
    (lambda a: mg.tensor("abc"), TypeError, "tensor: expected numbers, got str data of dtype <U3"),
    (lambda a: mg.tensor(None), TypeError, "tensor: expected numbers, got NoneType data of dtype object"),
    (lambda a: mg.viz.step("x"), TypeError, "step: a time step is an integer"),
    (lambda a: mg.viz.step(-1), ValueError, r"step: time steps are numbered from 1 \(0 for what comes before the "
                                            r"first, h_0\), got -1"),
])
def test_bad_arguments_to_ops_name_the_op_and_what_was_wrong(call, error, message):
    with pytest.raises(error, match=message):
        call(mg.tensor(np.ones((2, 3))))


def test_ops_take_numpy_arrays_as_constants_wherever_a_tensor_is_expected():
    x = np.array([[0.5, -1.0, 2.0]])
    np.testing.assert_allclose(mg.ops.exp(x).data, np.exp(x))
    np.testing.assert_allclose(mg.functional.softmax(x).data, np.exp(x) / np.exp(x).sum())
    weight = np.ones((2, 3))
    np.testing.assert_allclose(mg.functional.linear(mg.tensor(x), weight).data, x @ weight.T)


def test_draw_takes_named_parameters_as_they_come_and_checks_max_steps():
    linear = mg.nn.Linear(2, 1, dtype=np.float64)
    loss = linear(np.ones((1, 2))).sum()
    source = mg.draw(loss, params=linear.named_parameters(), view="ops").source
    assert "weight" in source
    with pytest.raises(ValueError, match="draw: max_steps must be None or an integer of at least 2, got 3.0"):
        mg.draw(loss, max_steps=3.0)


# ---- truncated BPTT ----------------------------------------------------------------------------------

@pytest.mark.parametrize("arguments, message", [
    ({"optimizer": [1]}, "tbptt: optimizer must have step\\(\\) and zero_grad\\(\\), got list"),
    ({"on_update": 5}, "tbptt: on_update must be callable, got int"),
])
def test_tbptt_checks_its_callbacks_before_any_step(arguments, message):
    calls = collections.Counter()

    def step(x, h):
        calls["step"] += 1
        return x, h

    with pytest.raises(TypeError, match=message):
        mg.bptt.tbptt(step, None, [np.ones(1)] * 3, [None] * 3, lambda o, y: o.sum(), 2, 2, **arguments)
    assert calls["step"] == 0


@pytest.mark.parametrize("sequence, batch_size, error, message", [
    (5, 2, TypeError, "batchify: expected a sequence .* got int"),
    (np.float64(5.0), 2, TypeError, "batchify: expected a sequence .* got float64"),
    ([1, 2, 3], 0, ValueError, "batchify: batch_size must be a positive integer, got 0"),
])
def test_batchify_names_what_it_wanted(sequence, batch_size, error, message):
    with pytest.raises(error, match=message):
        mg.bptt.batchify(sequence, batch_size)


def _counting_rnn():
    """h = tanh(w h + x): the weight w, a Counter of calls, and step and loss_fn that count theirs."""
    w = mg.tensor(np.array([0.5]), requires_grad=True)
    calls = collections.Counter()

    def step(x, h):
        calls["step"] += 1
        h = (w * h + x).tanh()
        return h, h

    def loss_fn(output, target):
        calls["loss_fn"] += 1
        return ((output - target) ** 2).sum()

    return w, calls, step, loss_fn


def _tiny_run(wrap_step=lambda step: step, wrap_loss=lambda loss_fn: loss_fn, **overrides):
    """TBPTT(1, 2) of h = tanh(w h + x) over 3 steps, its step and loss_fn wrapped, other
    arguments overridden; it must raise. Returns the weight, how often step, loss_fn and
    on_update ran, and the pytest ExceptionInfo."""
    w, calls, step, loss_fn = _counting_rnn()
    arguments = dict(step=wrap_step(step), state=mg.tensor(np.zeros(1)), inputs=[np.ones(1)] * 3,
                     targets=[np.zeros(1)] * 3, loss_fn=wrap_loss(loss_fn), k1=1, k2=2,
                     on_update=lambda u, loss: calls.update(["on_update"]))
    arguments.update(overrides)
    with pytest.raises((TypeError, ValueError)) as error:
        mg.bptt.tbptt(**arguments)
    return w, calls, error


@pytest.mark.parametrize("inputs, message", [
    ((np.ones(1) for _ in range(3)), "inputs must be indexable by step with a length .* got generator; "
                                     r"an iterator or generator has no length: pass list\(...\)"),
    (iter([np.ones(1)] * 3), r"inputs must be indexable .* got list_iterator; .* pass list\(...\)"),
    (None, "inputs must be indexable by step with a length .* got NoneType"),
    (np.float64(1.0), "inputs must be indexable by step with a length .* got float64"),
], ids=["generator", "iterator", "None", "0-d"])
def test_tbptt_wants_inputs_it_can_index_by_step_before_any_step(inputs, message):
    w, calls, error = _tiny_run(inputs=inputs)
    assert error.type is TypeError and error.match("tbptt: " + message)
    assert calls["step"] == 0 and w.grad is None


def test_tbptt_names_the_missing_steps_of_dict_targets_before_any_step():
    w, calls, error = _tiny_run(targets={0: np.zeros(1), 2: np.zeros(1), 3: np.zeros(1)})
    assert error.type is ValueError
    assert error.match(r"tbptt: targets is a dict without the keys \[1\] .*give None for a step without")
    assert calls["step"] == 0 and w.grad is None


@pytest.mark.parametrize("returned, error_type, message", [
    (lambda loss: float(loss.item()), TypeError, "got float at step 1"),
    (lambda loss: None, TypeError, "got NoneType at step 1"),
    (lambda loss: loss * mg.tensor(np.ones(3)), ValueError, r"got shape \(3,\) at step 1; reduce it"),
], ids=["float", "None", "non-scalar"])
def test_tbptt_checks_what_loss_fn_returns_before_the_first_backward(returned, error_type, message):
    w, calls, error = _tiny_run(wrap_loss=lambda loss_fn: lambda o, y: returned(loss_fn(o, y)))
    assert error.type is error_type
    assert error.match("tbptt: loss_fn must return a one-element Tensor, " + message)
    assert calls["step"] == 1 and calls["on_update"] == 0 and w.grad is None


@pytest.mark.parametrize("returned, message", [
    (lambda out, h: h, r"step must return a pair \(output, new_state\), got a Tensor at step 1"),
    (lambda out, h: (out, h, h),
     r"step must return a pair \(output, new_state\), got a tuple of 3 at step 1"),
    (lambda out, h: (out, {"h": h}), "the state step returned at step 1 holds a dict; a state is a Tensor"),
    (lambda out, h: (out, h.data), "the state step returned at step 1 holds a ndarray; a state is a Tensor"),
], ids=["a tensor", "a 3-tuple", "a dict state", "an ndarray state"])
def test_tbptt_checks_what_step_returns_before_the_first_backward(returned, message):
    w, calls, error = _tiny_run(wrap_step=lambda step: lambda x, h: returned(*step(x, h)))
    assert error.type is TypeError and error.match("tbptt: " + message)
    assert calls["step"] == 1 and calls["on_update"] == 0 and w.grad is None


@pytest.mark.parametrize("state, name", [({"h": mg.tensor(np.zeros(1))}, "dict"), (np.zeros(1), "ndarray"),
                                         ((mg.tensor(np.zeros(1)), 0.0), "float")])
def test_tbptt_checks_the_initial_state_before_any_step(state, name):
    w, calls, error = _tiny_run(state=state)
    assert error.type is TypeError and error.match(f"tbptt: the initial state holds a {name}; a state is")
    assert calls["step"] == 0 and w.grad is None


def test_gradcheck_takes_a_zero_d_input():
    assert mg.gradcheck(lambda s: s * s, [mg.tensor(np.array(2.0), requires_grad=True)])
    with pytest.raises(mg.GradcheckError, match="input 0 .shape ()"):
        mg.gradcheck(_wrong_square, [mg.tensor(np.array(2.0), requires_grad=True)])


def _wrong_square(s):
    """s^2 with a gradient of s instead of 2s (a custom op whose rule is wrong)."""
    from microgradseq.tensor import Rules, result
    rule = (lambda g, kept: g * kept,)
    return result("wrong_square", s._data * s._data, (s,), Rules(vjp=rule, jvp=rule), (s._data,))


def test_gradcheck_of_an_input_fn_does_not_use_ignores_its_stale_grad():
    """An input fn ignores has gradient 0 whatever its .grad held before (and keeps that .grad)."""
    a, b = mg.tensor(np.ones(2), requires_grad=True), mg.tensor(np.ones(2), requires_grad=True)
    b.grad = np.array([5.0, 5.0])
    assert mg.gradcheck(lambda a, b: (a * a).sum(), [a, b])
    np.testing.assert_array_equal(b.grad, [5.0, 5.0])


@pytest.mark.parametrize("runner", ["tbptt", "tbptt_blocks", "rtrl"])
def test_a_dict_of_targets_shorter_than_the_inputs_is_named_by_its_missing_keys(runner):
    """A dict of targets missing keys is named as such (docs/api.md), also when it is shorter than
    `inputs` too: its length says less than which steps it lacks."""
    w, calls, step, loss_fn = _counting_rnn()

    def step_block(xs, h):
        return [step(x, h)[0] for x in xs], h

    arguments = dict(state=mg.tensor(np.zeros(1)), inputs=[np.ones(1)] * 6, targets={0: np.zeros(1)},
                     loss_fn=loss_fn, k1=2)
    with pytest.raises(ValueError, match=rf"{runner}: targets is a dict without the keys \[1, 2, 3, 4, 5\] "
                                         r"\(steps are read as targets\[0\] .. targets\[5\]\); give None"):
        if runner == "rtrl":
            mg.bptt.rtrl(step, params=[w], **arguments)
        else:
            getattr(mg.bptt, runner)(step_block if runner == "tbptt_blocks" else step, k2=2, **arguments)
    assert calls["step"] == 0 and w.grad is None


# ---- initialisers, makers and seeds (from a reliability audit: NaN weights, raw numpy errors) ----------

@pytest.mark.parametrize("call, error, message", [
    (lambda w: mg.nn.init.normal_(w, mean=float("nan")), ValueError, "normal_: mean must be a finite number, got nan"),
    (lambda w: mg.nn.init.normal_(w, std=-1), ValueError, "normal_: std must be >= 0, got -1"),
    (lambda w: mg.nn.init.uniform_(w, 1, 0), ValueError, "uniform_: expected a <= b, got a=1, b=0"),
    (lambda w: mg.nn.init.uniform_(w, float("nan"), 1), ValueError, "uniform_: a must be a finite number"),
    (lambda w: mg.nn.init.orthogonal_(w, gain=float("nan")), ValueError, "orthogonal_: gain must be a finite number"),
    (lambda w: mg.nn.init.xavier_uniform_(w, gain="2"), ValueError, "xavier_uniform_: gain must be a finite number"),
    (lambda w: mg.nn.init.constant_(w, mg.tensor([1.0, 2.0])), TypeError,
     r"constant_: val must be a number, got Tensor of shape \(2,\)"),
    (lambda w: mg.nn.init.zeros_(np.ones(3)), TypeError, "zeros_: expected a Tensor .*got ndarray"),
    (lambda w: mg.nn.init.uniform_(mg.tensor([1, 2])), TypeError, "uniform_: expected a floating-point tensor"),
])
def test_initialisers_check_their_arguments_and_leave_the_weight(call, error, message):
    w = mg.nn.Parameter(np.arange(6.0).reshape(3, 2))
    with pytest.raises(error, match=message):
        call(w)
    np.testing.assert_array_equal(w.data, np.arange(6.0).reshape(3, 2))


def test_constant_takes_a_one_element_tensor_as_pytorchs_does():
    w = mg.nn.Parameter(np.zeros((2, 2)))
    mg.nn.init.constant_(w, mg.tensor(0.5))
    np.testing.assert_array_equal(w.data, np.full((2, 2), 0.5))


@pytest.mark.parametrize("call, error, message", [
    (lambda: mg.zeros(-1), ValueError, r"zeros: a size must be integers >= 0, such as \(2, 3\), got \(-1,\)"),
    (lambda: mg.ones(2.5), ValueError, r"ones: a size must be integers >= 0.*got \(2.5,\)"),
    (lambda: mg.randn(None), ValueError, r"randn: a size must be integers >= 0.*got \(None,\)"),
    (lambda: mg.rand((2, -3)), ValueError, r"rand: a size must be integers >= 0.*got \(2, -3\)"),
    (lambda: mg.empty(-2), ValueError, r"empty: a size must be integers >= 0"),
    (lambda: mg.full((2,), "x"), TypeError, "full: fill_value must be a number, got str"),
    (lambda: mg.manual_seed(2 ** 64), ValueError,
     r"manual_seed: seed must be an integer from -2\*\*63 to 2\*\*64 - 1, got 18446744073709551616"),
    (lambda: mg.manual_seed(1.5), ValueError, r"manual_seed: seed must be an integer from -2\*\*63 to 2\*\*64 - 1, got 1.5"),
])
def test_makers_and_the_seed_name_themselves_and_what_they_wanted(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_an_optimizer_state_dict_listing_parameters_by_something_else_than_numbers_is_refused():
    p = mg.tensor(np.zeros(2), requires_grad=True)
    optimizer = mg.optim.SGD([p], lr=0.1)
    saved = optimizer.state_dict()
    saved["param_groups"][0]["params"] = [[0]]
    with pytest.raises(ValueError, match=r"SGD.load_state_dict: param_groups list parameters by number .*got \[0\]"):
        optimizer.load_state_dict(saved)


@pytest.mark.parametrize("call, error, message", [
    (lambda: mg.zeros((0, 3)).max(dim=0), ValueError, r"max: no maximum over an empty axis \(shape \(0, 3\), dim 0\)"),
    (lambda: mg.zeros((0, 3)).min(dim=0), ValueError, r"min: no minimum over an empty axis"),
    (lambda: mg.zeros((2, 2)).max(dim=2), IndexError, r"max: dim 2 is out of range for a tensor of shape \(2, 2\)"),
    (lambda: mg.tensor(np.array([1], np.uint8)) + 300, OverflowError, "add: Python integer 300 out of bounds for uint8"),
], ids=["max(dim) of an empty axis", "min(dim) of an empty axis", "max(dim) out of range", "uint8 + 300"])
def test_reductions_along_a_dim_and_integer_overflow_name_the_op(call, error, message):
    """(numpy's own messages came through: 'attempt to get argmax of an empty sequence', ...)"""
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("version", ["1.24.4", "1.26.4"])
def test_numpy_1_is_refused_at_import_with_the_version_found(version):
    """numpy 1.x casts by value: a float32 0-d array times a Python float is float64 there (numpy 2 keeps float32,
    NEP 50), so a float32 model would drift into float64, and uint8 + 300 would widen instead of raising. The
    package needs numpy 2."""
    with pytest.raises(ImportError, match=rf"microgradseq needs numpy 2.0 or later, found numpy {version}"):
        mg._require_numpy_2(version)


def test_importing_the_package_under_numpy_1_raises_import_error():
    code = ("import numpy\nnumpy.__version__ = '1.26.4'\ntry:\n    import microgradseq\n"
            "except ImportError as error:\n    print(error)\n")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert "microgradseq needs numpy 2.0 or later, found numpy 1.26.4" in done.stdout, done.stderr


@pytest.mark.parametrize("version", ["2.0.0", "2.4.6", "3.0.0rc1"])
def test_numpy_2_and_later_are_taken(version):
    assert mg._require_numpy_2(version) is None
