"""From a third porting audit (a GRU seq2seq, an LSTM classifier, an RNN from scratch, a char-RNN
generator, an autograd lesson): `backward(gradient=...)` as PyTorch's tutorial writes it, `F.one_hot`,
and item assignment filling a buffer. Values against numpy or closed forms; no PyTorch."""

import numpy as np
import pytest

import microgradseq as mg
import microgradseq.nn.functional as F

RNG = np.random.default_rng(3)


# ---- backward with PyTorch's argument names ---------------------------------------------------

def test_backward_takes_pytorchs_gradient_keyword_for_the_vector_jacobian_product():
    """Q = 3a^3 - b^2 (PyTorch's autograd tutorial), Q.backward(gradient=v): a.grad = 9a^2 v, b.grad = -2b v."""
    a = mg.tensor([2.0, 3.0], requires_grad=True)
    b = mg.tensor([6.0, 4.0], requires_grad=True)
    v = np.array([1.0, 0.5], dtype=np.float32)
    (3 * a ** 3 - b ** 2).backward(gradient=mg.tensor(v))
    np.testing.assert_allclose(a.grad, 9 * np.array([2.0, 3.0]) ** 2 * v)
    np.testing.assert_allclose(b.grad, -2 * np.array([6.0, 4.0]) * v)


def test_backward_refuses_both_spellings_of_the_gradient_at_once():
    x = mg.tensor([1.0], requires_grad=True)
    with pytest.raises(TypeError, match="backward: got both grad= and gradient="):
        (x * 2).backward(np.ones(1), gradient=np.ones(1))


def test_backward_takes_retain_graph_none_as_pytorchs_default_and_frees_the_graph():
    x = mg.tensor([1.0, -2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=None)
    np.testing.assert_allclose(x.grad, [2.0, -4.0])
    with pytest.raises(RuntimeError, match="already been freed"):
        y.backward()                                    # freed, as after retain_graph=False


def test_backward_takes_create_graph_false_and_says_what_to_do_for_true():
    x = mg.tensor([3.0], requires_grad=True)
    (x * x).sum().backward(None, True, False)           # PyTorch's positional order
    np.testing.assert_allclose(x.grad, [6.0])
    with pytest.raises(NotImplementedError, match=r"backward: create_graph=True .* not supported; mg.jvp"):
        (x * x).sum().backward(create_graph=True)


# ---- F.one_hot --------------------------------------------------------------------------------

def test_one_hot_is_rows_of_the_identity_as_int64():
    tokens = RNG.integers(0, 5, size=(3, 4))
    got = F.one_hot(mg.tensor(tokens), num_classes=6)
    assert got.dtype == np.int64 and got.shape == (3, 4, 6) and not got.requires_grad
    np.testing.assert_array_equal(got.data, np.eye(6, dtype=np.int64)[tokens])
    np.testing.assert_array_equal(F.one_hot(mg.tensor([0, 2, 1])).data, np.eye(3)[[0, 2, 1]])   # max + 1 classes


def test_one_hot_inputs_of_a_from_scratch_rnn_step_pass_the_gradient_to_the_weights():
    """x_t = one_hot(tokens).float(); h = x_t @ W: dL/dW = x_t^T g, i.e. row c of W gets the g of the tokens equal to c."""
    tokens = np.array([1, 3, 1])
    W = mg.tensor(RNG.standard_normal((4, 2)), requires_grad=True)
    g = RNG.standard_normal((3, 2))
    (F.one_hot(mg.tensor(tokens), 4).double() @ W).backward(g)
    expected = np.zeros((4, 2))
    np.add.at(expected, tokens, g)
    np.testing.assert_allclose(W.grad, expected)


@pytest.mark.parametrize("call, error, message", [
    (lambda: F.one_hot(mg.tensor([0.0, 1.0]), 2), TypeError, "one_hot: expected an integer tensor .* got dtype float32"),
    (lambda: F.one_hot(mg.tensor([0, 3]), 3), ValueError, r"one_hot: expected class indices in \[0, 3\), got values from 0 to 3"),
    (lambda: F.one_hot(mg.tensor([-1, 0]), 3), ValueError, r"one_hot: expected class indices in \[0, 3\)"),
    (lambda: F.one_hot(mg.tensor([1]), 2.0), ValueError, "one_hot: expected num_classes a non-negative integer"),
    (lambda: F.one_hot(mg.zeros(0, dtype=np.int64)), ValueError, "one_hot: cannot infer num_classes from an empty"),
])
def test_one_hot_refuses_what_it_cannot_encode_naming_itself(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ---- item assignment: a buffer filled row by row --------------------------------------------------------

def test_a_buffer_filled_row_by_row_ports_as_written():
    """seq2seq tutorials fill `outputs[t] = out` step by step: each row is written, and its gradient
    goes back to the step that made it."""
    steps = [mg.tensor([1.0, 2.0], requires_grad=True, dtype=mg.float64) for _ in range(3)]
    outputs = mg.zeros(3, 2, dtype=mg.float64)
    for t, step in enumerate(steps):
        outputs[t] = step * (t + 1)
    np.testing.assert_array_equal(outputs.data, [[1, 2], [2, 4], [3, 6]])
    outputs.sum().backward()
    assert [s.grad.tolist() for s in steps] == [[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]


def test_init_of_p_data_says_to_pass_the_parameter_itself():
    """Seq2seq tutorials initialise with nn.init.uniform_(param.data, -0.08, 0.08); here .data is a read-only array."""
    gru = mg.nn.GRU(2, 3)
    before = gru.weight_ih_l0.data.copy()
    for init in (lambda a: mg.nn.init.uniform_(a, -0.08, 0.08), mg.nn.init.zeros_):
        with pytest.raises(TypeError, match=r"expected a Tensor \(a parameter\), got ndarray: p.data is the "
                                            r"parameter's read-only array here, pass the parameter itself"):
            init(gru.weight_ih_l0.data)
    np.testing.assert_array_equal(gru.weight_ih_l0.data, before)
    mg.nn.init.uniform_(gru.weight_ih_l0, -0.08, 0.08)
    assert np.abs(gru.weight_ih_l0.data).max() <= 0.08


# ---- devices: PyTorch's boilerplate runs, and only the CPU is usable --------------------------

def test_the_device_boilerplate_of_a_pytorch_script_picks_the_cpu_and_runs():
    device = mg.device("cuda" if mg.cuda.is_available() else "cpu")
    assert device == "cpu" and device.type == "cpu" and str(device) == "cpu" and mg.cuda.device_count() == 0
    model = mg.nn.Linear(3, 2).to(device)
    x = mg.randn(4, 3, device=device)
    np.testing.assert_allclose(model(x.to(device)).data, x.data @ model.weight.data.T + model.bias.data, rtol=1e-6)
    assert x.device == device and model.weight.device.type == "cpu"


@pytest.mark.parametrize("make, expected", [
    (lambda d: mg.zeros(2, 3, device=d), np.zeros((2, 3))),
    (lambda d: mg.ones((2,), device=d), np.ones(2)),
    (lambda d: mg.full((2,), 7.0, device=d), np.full(2, 7.0)),
    (lambda d: mg.arange(4, device=d), np.arange(4)),
    (lambda d: mg.eye(2, device=d), np.eye(2)),
    (lambda d: mg.linspace(0, 1, 3, device=d), np.array([0.0, 0.5, 1.0])),
    (lambda d: mg.empty(2, device=d), np.zeros(2)),
    (lambda d: mg.zeros_like(np.ones((1, 2)), device=d), np.zeros((1, 2))),
    (lambda d: mg.ones_like(np.ones(3), device=d), np.ones(3)),
    (lambda d: mg.tensor([1.0, 2.0], device=d), np.array([1.0, 2.0])),
    (lambda d: mg.as_tensor([1, 2], device=d), np.array([1, 2])),
])
@pytest.mark.parametrize("device", [None, "cpu", "cpu:0", mg.device("cpu"), mg.device("cpu", 0)])
def test_tensor_makers_take_a_cpu_device_and_make_the_same_values(make, expected, device):
    np.testing.assert_array_equal(make(device).data, expected)


@pytest.mark.parametrize("make", [
    lambda d: mg.zeros(2, device=d), lambda d: mg.randn(2, device=d), lambda d: mg.rand(2, device=d),
    lambda d: mg.randint(0, 3, (2,), device=d), lambda d: mg.randperm(3, device=d),
    lambda d: mg.randn_like(np.ones(2), device=d), lambda d: mg.rand_like(np.ones(2), device=d),
    lambda d: mg.tensor([1.0], device=d), lambda d: mg.as_tensor([1.0], device=d),
])
def test_a_tensor_maker_given_another_device_names_itself_and_the_device(make):
    with pytest.raises(RuntimeError, match=r"^\w+: device 'cuda:0' is not available"):
        make(mg.device("cuda", 0))


def test_random_makers_draw_the_same_numbers_with_a_cpu_device_as_without():
    mg.manual_seed(5)
    plain = [mg.randn(3).data, mg.rand(2).data, mg.randint(0, 9, (4,)).data, mg.randperm(5).data]
    mg.manual_seed(5)
    cpu = [mg.randn(3, device="cpu").data, mg.rand(2, device="cpu").data,
           mg.randint(0, 9, (4,), device="cpu").data, mg.randperm(5, device="cpu").data]
    for a, b in zip(plain, cpu):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name, error", [(3, TypeError), ("", TypeError), ("cuda:x", ValueError),
                                         ("cpu:0:1", ValueError)])
def test_device_refuses_what_is_not_a_device_name(name, error):
    with pytest.raises(error, match="^device: expected"):
        mg.device(name)


def test_device_equals_its_name_and_hashes_as_it():
    assert mg.device("cpu", 0) == "cpu:0" and mg.device("cpu:0") == mg.device("cpu", 0)
    assert mg.device("cpu") != mg.device("cuda") and {mg.device("cpu"): 1}["cpu"] == 1
    assert repr(mg.device("cuda", 1)) == "device(type='cuda', index=1)"


# ---- inference_mode: PyTorch's newer no_grad ----------------------------------------------------

def test_inference_mode_records_nothing_as_a_block_and_as_a_decorator():
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    with mg.inference_mode():
        assert not (w * 2).requires_grad
    assert (w * 2).requires_grad

    @mg.inference_mode
    def bare():
        return (w * 2).requires_grad

    @mg.inference_mode()
    def called():
        return (w * 2).requires_grad
    assert bare() is False and called() is False and (w * 2).requires_grad


def test_inference_mode_false_turns_recording_on_as_pytorchs():
    """PyTorch's InferenceMode(false) sets grad mode on (inference mode off means grad mode on), inside
    no_grad and inside inference_mode() too; each block puts back what it found."""
    w = mg.tensor([1.0], requires_grad=True)
    with mg.inference_mode(False):
        assert (w * 2).requires_grad
    with mg.no_grad(), mg.inference_mode(False):
        assert (w * 2).requires_grad
    with mg.inference_mode():
        with mg.inference_mode(mode=False):
            assert (w * 2).requires_grad
        assert not (w * 2).requires_grad
    assert (w * 2).requires_grad

    @mg.inference_mode(False)
    def recorded():
        return (w * 2).requires_grad
    with mg.no_grad():
        assert recorded() is True and not (w * 2).requires_grad
    with pytest.raises(ValueError, match="inference_mode: mode must be True or False, got 'yes'"):
        mg.inference_mode("yes")


def test_one_inference_mode_object_serves_many_blocks():
    """A script may make the block once (`ctx = torch.inference_mode()`) and enter it every batch,
    nested in itself too."""
    w = mg.tensor([1.0], requires_grad=True)
    block = mg.inference_mode()
    for _ in range(3):
        with block:
            assert not (w * 2).requires_grad
            with block:
                assert not (w * 2).requires_grad
            assert not (w * 2).requires_grad
        assert (w * 2).requires_grad


def test_a_device_block_and_cuda_empty_cache_port_as_on_a_machine_without_a_gpu():
    """`with torch.device(device):` makes the block's tensors there (the CPU: as anywhere here);
    another device raises naming it. `torch.cuda.empty_cache()` does nothing without CUDA."""
    with mg.device("cpu") as device:
        x = mg.zeros(2)
    assert device == "cpu" and x.device == "cpu"
    with pytest.raises(RuntimeError, match=r"^device: device 'cuda:0' is not available"):
        with mg.device("cuda", 0):
            pass
    assert mg.cuda.empty_cache() is None


def test_a_tensor_is_not_on_cuda_and_cuda_names_itself_and_the_device():
    t = mg.zeros(2)
    assert t.is_cuda is False and t.cuda("cpu") is t
    for args, device in (((), "cuda"), ((1,), "cuda:1"), (("cuda:0",), "cuda:0")):
        with pytest.raises(RuntimeError, match=f"^cuda: device '{device}' is not available"):
            t.cuda(*args)
