"""Tests written from a mutation check of session 29's changes (dtype promotion in ops/elementwise.py,
ops/shape.py's cat/stack, ops/linalg.py's bool products, fill values (checks.fill_number), Tensor.type,
GradScaler.load_state_dict's checks, the per-task open blocks of metadata.py, utils/data's checks,
Function gradients, the drawings' loss sum and operand names): each pins a behaviour that a
hand-made wrong implementation changed without any other test noticing. Expected values come from
PyTorch's documented behaviour, the library's own docstrings, or hand-written numpy, never from the
library's output."""

import numpy as np
import pytest
from test_raw_errors_left import _function

import microgradseq as mg
from microgradseq import viz
from microgradseq.utils.data import (ChainDataset, IterableDataset, SequentialSampler, Subset, SubsetRandomSampler,
                                     TensorDataset, default_collate)


# ---- cat/stack of several dtypes: every piece's dtype counts, not just the first two ------------------

def test_cat_of_three_dtypes_promotes_over_all_of_them():
    # torch.cat promotes over every input: int64, bool and float32 give float32 (torch.result_type)
    pieces = [mg.tensor(np.array([1, 2], dtype=np.int64)), mg.tensor(np.array([True])),
              mg.tensor(np.array([0.5], dtype=np.float32))]
    y = mg.cat(pieces)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y.numpy(), np.array([1, 2, 1, 0.5], dtype=np.float32))


def test_stack_of_three_dtypes_promotes_over_all_of_them():
    pieces = [mg.tensor(np.array([1], dtype=np.int64)), mg.tensor(np.array([False])),
              mg.tensor(np.array([2.5], dtype=np.float32))]
    assert mg.stack(pieces).dtype == np.float32


# ---- products: only two bools are refused ---------------------------------------------------------

def test_a_bool_matrix_times_a_float_one_is_numpys_promoted_product():
    # docs/pytorch.md: products of two dtypes keep numpy's promotion; only bool @ bool is refused
    A = np.array([[True, False], [True, True]])
    B = np.array([[1.0], [2.0]])
    y = mg.tensor(A) @ mg.tensor(B)
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y.numpy(), A.astype(np.float64) @ B)


# ---- fill values ------------------------------------------------------------------------------------

def test_new_full_of_a_fill_value_with_axes_names_fill_value():
    t = mg.zeros(2)
    with pytest.raises(ValueError, match=r"^new_full: fill_value must be a number or a 0-d tensor"):
        t.new_full((2,), mg.tensor([1.0, 2.0]))


# ---- Tensor.type: legacy type names and Tensor itself ----------------------------------------------

# PyTorch's CPU tensor types (torch.FloatTensor, ...) and their dtypes, as its docs' table of tensor types
LEGACY = {"FloatTensor": np.float32, "DoubleTensor": np.float64, "HalfTensor": np.float16,
          "LongTensor": np.int64, "IntTensor": np.int32, "ShortTensor": np.int16, "CharTensor": np.int8,
          "ByteTensor": np.uint8, "BoolTensor": np.bool_}


@pytest.mark.parametrize("name", sorted(LEGACY))
@pytest.mark.parametrize("prefix", ["torch.", ""])
def test_type_of_a_legacy_tensor_type_name_converts_to_its_dtype(name, prefix):
    t = mg.tensor(np.array([1.0, 0.0, 3.0]))
    y = t.type(prefix + name)
    assert y.dtype == LEGACY[name]
    np.testing.assert_array_equal(y.numpy(), np.array([1.0, 0.0, 3.0]).astype(LEGACY[name]))


def test_type_of_tensor_is_the_default_dtype_as_it_is_set():
    # torch.Tensor is the default tensor type: DoubleTensor after set_default_dtype(torch.float64)
    before = mg.get_default_dtype()
    mg.set_default_dtype(np.float64)
    try:
        assert mg.tensor(np.array([1, 2], dtype=np.int64)).type(mg.Tensor).dtype == np.float64
    finally:
        mg.set_default_dtype(before)


# ---- GradScaler.load_state_dict: the bounds the constructor holds to -------------------------------

SCALER_STATE = {"scale": 8.0, "growth_factor": 2.0, "backoff_factor": 0.5, "growth_interval": 5,
                "_growth_tracker": 1}


@pytest.mark.parametrize("name, value, text", [
    ("scale", True, "scale must be a number"),                      # a bool is no number here
    ("scale", 0.0, "scale must be > 0"),                            # the bound itself is out
    ("growth_factor", 1.0, r"growth_factor must be > 1.0"),         # PyTorch asserts growth_factor > 1
    ("backoff_factor", 0.0, r"backoff_factor must be in \(0, 1\)"),
    ("backoff_factor", 1.0, r"backoff_factor must be in \(0, 1\)"),  # PyTorch asserts backoff_factor < 1
    ("_growth_tracker", -1, r"_growth_tracker must be an integer in \[0, growth_interval\)"),
])
def test_grad_scaler_load_state_dict_refuses_each_bound(name, value, text):
    # the docstring: a ValueError naming an entry the constructor would refuse; nothing changes then
    scaler = mg.amp.GradScaler(init_scale=64.0, growth_interval=7)
    before = scaler.state_dict()
    with pytest.raises(ValueError, match=f"GradScaler.load_state_dict: {text}"):
        scaler.load_state_dict({**SCALER_STATE, name: value})
    assert scaler.state_dict() == before


def test_grad_scaler_load_state_dict_takes_0d_arrays_as_numbers():
    scaler = mg.amp.GradScaler(init_scale=64.0)
    scaler.load_state_dict({key: np.array(value) for key, value in SCALER_STATE.items()})
    assert scaler.state_dict() == SCALER_STATE


def test_to_a_class_that_is_no_dtype_is_a_type_error_naming_it():
    # PyTorch: t.to(torch.Tensor) is a TypeError (no overload of to takes a class); numpy would read object
    with pytest.raises(TypeError, match=r"^to: expected a dtype, a device or a tensor, got the class 'Tensor'"):
        mg.tensor([1.0]).to(mg.Tensor)


# ---- a layer's h_n is stamped with its last step -----------------------------------------------------

def test_packed_sequences_h_n_is_stamped_with_the_number_of_steps_not_of_rows():
    # lengths [3, 2]: 3 time steps (batch_sizes [2, 2, 1]) but 5 packed rows; h_n is h_3
    mg.manual_seed(0)
    rnn = mg.nn.RNN(2, 3)
    packed = mg.nn.utils.rnn.pack_padded_sequence(mg.randn(3, 2, 2), [3, 2])
    _, h_n = rnn(packed)
    assert h_n._node.step == 3


# ---- metadata's open blocks: leaving one forgets only that one ---------------------------------------

def test_blocks_left_out_of_order_each_put_back_what_they_found():
    """A generator's `with no_grad()` runs in its caller's context: suspended at its yield while the caller
    opens a step, then finished before the step is left. Leaving no_grad forgets only its own entry
    (leave_block's docstring), so the step, left afterwards, still finds its own."""
    from microgradseq import autograd

    def producer():
        with mg.no_grad():
            yield mg.is_grad_enabled()

    gen = producer()
    assert next(gen) is False
    step = mg.viz.step(2)
    step.__enter__()
    with pytest.raises(StopIteration):
        next(gen)                                   # no_grad left while the step is open
    assert mg.is_grad_enabled() and autograd.current_step.get() == 2
    step.__exit__(None, None, None)
    assert autograd.current_step.get() is None


# ---- utils.data: what is no batch, no sequence of indices, no sized source ---------------------------

class _Stream(IterableDataset):
    def __iter__(self):
        return iter(range(3))


@pytest.mark.parametrize("batch", [{}, {"a": 1}])
def test_default_collate_of_a_dict_is_no_batch_a_type_error(batch):
    # the docstring: a batch that is not a list is a TypeError naming default_collate (an empty dict too:
    # it is no empty list of items)
    with pytest.raises(TypeError, match=r"^default_collate: expected a batch, a list of a dataset's items, got dict"):
        default_collate(batch)


@pytest.mark.parametrize("indices", [{0, 1}, frozenset([1])])
def test_subsets_of_a_set_of_indices_name_themselves(indices):
    # a set has a length but no order (no __getitem__): not a sequence of indices
    with pytest.raises(TypeError, match=r"^Subset: expected indices a sequence of indices"):
        Subset(TensorDataset(mg.ones(3)), indices)
    with pytest.raises(TypeError, match=r"^SubsetRandomSampler: expected indices a sequence of indices"):
        SubsetRandomSampler(indices)


def test_a_stream_without_a_length_is_named_an_iterable_style_dataset():
    with pytest.raises(TypeError, match=r"an iterable-style dataset \(IterableDataset\) has none"):
        len(SequentialSampler(_Stream()))
    with pytest.raises(TypeError, match=r"^ChainDataset: expected a dataset with a length .*IterableDataset"):
        len(ChainDataset([_Stream()]))


def test_a_sequential_sampler_of_a_dataset_whose_own_len_fails_keeps_that_error():
    class Broken:
        def __len__(self):
            raise TypeError("my own length is broken")
    with pytest.raises(TypeError, match="^my own length is broken$"):
        len(SequentialSampler(Broken()))


# ---- Function gradients and complex log_prob ----------------------------------------------------------

@pytest.mark.parametrize("grad", [True, np.True_])
def test_a_function_whose_backward_gives_a_bool_names_the_gradient_type(grad):
    # PyTorch: "expected Variable or None (got bool)"; a bool is no gradient, not a number to broadcast
    x, y = mg.randn(3, requires_grad=True), mg.randn(3)
    out = _function(lambda g: (grad, None)).apply(x, y).sum()
    with pytest.raises(TypeError, match=r"^Scale\.backward: expected the gradient for argument 0 as a Tensor .*got "
                                        r"(bool|bool_)"):
        out.backward()


def test_a_continuous_distributions_log_prob_of_a_complex_value_is_its_formula():
    # only discrete supports refuse complex values; Normal(0, 1) at z: -z^2 / 2 - log(sqrt(2 pi))
    z = 1 + 1j
    value = mg.distributions.Normal(mg.tensor(0.0), mg.tensor(1.0)).log_prob(mg.tensor(z))
    assert complex(value.item()) == pytest.approx(-z ** 2 / 2 - np.log(np.sqrt(2 * np.pi)), rel=1e-6)


# ---- drawings: the running loss total and operand names ---------------------------------------------

def _cell_loop(combine):
    """Four RNN-cell steps; each step's term from its readout, combined by `combine(loss, term, t)`."""
    mg.manual_seed(0)
    cell, readout, criterion = mg.nn.RNNCell(3, 4), mg.nn.Linear(4, 2), mg.nn.MSELoss()
    x, y = mg.randn(4, 1, 3), mg.randn(4, 1, 2)
    h, loss = None, None
    for t in range(4):
        with viz.step(t + 1):
            h = cell(x[t], h)
            out = readout(h)
            loss = combine(loss, criterion(out, y[t]) + criterion(out, 2 * y[t]), t)
    total = loss if isinstance(loss, mg.Tensor) else mg.stack(loss).sum()
    total.backward(retain_graph=True)
    return viz.draw(total, dict(cell.named_parameters())).source


def test_an_add_within_one_step_is_no_running_loss_total():
    # each step adds two of its own losses; the steps' terms are stacked, never added step to step:
    # _running_total counts only adds reading an EARLIER step's output box
    source = _cell_loop(lambda terms, term, t: (terms or []) + [term])
    assert "loss_sum_key" not in source and "+ loss" not in source


def test_a_running_difference_is_no_running_loss_total():
    # only `add`s sum the steps' losses (_running_total's docstring); loss - term is drawn as a plain edge
    source = _cell_loop(lambda loss, term, t: term if loss is None else loss - term)
    assert "loss_sum_key" not in source and "+ loss" not in source


def test_a_join_of_one_tensor_numbers_no_operand():
    # operand_mark: none for one operand (cat of a single tensor)
    w = mg.randn(3, requires_grad=True)
    y = mg.cat([w]).sum()
    y.backward(retain_graph=True)
    assert "headlabel" not in viz.draw(y, {"w": w}).source
