"""Review round 31: four changes of the day, read against PyTorch's semantics.

1. tensor_hooks.PrunedPass stops at a non-leaf it differentiates with respect to (`g = grad(loss, h)`, then
   `h.backward(g)`). PyTorch's engine (cyyever/pytorch, torch/csrc/autograd/engine.cpp, commit
   0d188885a9a2a7bf3e73e414d541f43102429260, `Engine::evaluate_function` and `call_tensor_pre_hooks`): a node
   with `captures_` but not `needed_` gets its tensor pre-hooks (register_hook, then retain_grad's) run on its
   gradient, the hooked gradient captured, and returns without `call_function` or `release_variables`.
   Which nodes are `needed_`: `GraphTask::init_to_execute` (pytorch/pytorch, same path, commit
   e1253a956f6866469eafd88cc3bfb4627f4b1efc): `.grad()` sets `captures_` on an input's node, `.backward()`
   sets `needed_`, and a node is needed when a child is. Found: a hook on h made the pass walk (run, free)
   h's node, so `h.backward(g)` failed and a Function at h ran its backward (fixed: `_hook_stops` runs the
   hooks when the walk is over); `loss2.backward(inputs=[h])` inside a hook of an outer pass left its own
   gradient in h's node, which the outer pass then used as its partial sum (fixed in `_pass_into`).
   (PyTorch's `backward(inputs=[h])` marks h's node `needed_` and calls `h.retain_grad()`,
   torch/csrc/autograd/python_engine.cpp of cyyever/pytorch at 2b57df542d7667578600b9501b8649ba7d84d6de, so
   its node runs and is freed there; here it is not freed: more permissive, not tested as a requirement.)
2. `_freed_for_outer`: a backward() inside a hook that frees nodes an enclosing pass still needs raises.
   Found: only the innermost enclosing pass was checked, so a pass two levels in lost the outermost pass's
   gradient silently (fixed: every enclosing pass is checked); freeing the node the outer pass is walking
   gave a TypeError (fixed in round 32: RuntimeError, as PyTorch's outer pass, its saved tensors released).
3. mg.vjp / jacobian(rev) also differentiate an input read through a closure. Found: the caller's own
   tensor is the target of the pass, so its own hooks run and change the result, and its `.grad` is the
   pass's buffer (a backward into it from another thread during the pass is lost and leaks into the vjp);
   strict xfails, fixed in round 33 (tests/test_engine_scratch_33.py). (PyTorch's torch.autograd.functional.vjp,
   torch/autograd/functional.py of pytorch/pytorch at 05bcb61d4f31e8778226123f0ff0e24f6efdf7ed,
   `_grad_preprocess`, differentiates `inp.detach()` copies: no hook of the caller's tensor runs and nothing
   of it is touched.)
4. `mg.Tensor(int or bool ndarray)` is the default float dtype. PyTorch's legacy constructor
   (cyyever/pytorch, torch/csrc/utils/tensor_new.cpp, commit 391c99a6f7e4f3159979867c59ff2c8812e1fcc0:
   `legacy_new_from_sequence` calls `internal_new_from_data` with type_inference=false, whose numpy branch is
   `PyArray_Check`, true for subclasses). Found: an ndarray subclass (np.load's memmap) kept its ints (fixed);
   the library's own Tensor(...) calls with arrays all pass a dtype (pinned below).

Expected values are closed forms written out by hand, never the library's own output."""

import io
import threading

import numpy as np
import pytest

import microgradseq as mg
from microgradseq import tensor_hooks

X = np.array([1.0, 2.0, 3.0])
U = np.array([1.0, -1.0, 2.0])


def leaf(values=X):
    return mg.tensor(np.array(values, dtype=np.float64), requires_grad=True)


def square_function(calls):
    """A Function computing a * a whose backward counts its calls in `calls`."""
    class Square(mg.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a * a

        @staticmethod
        def backward(ctx, g):
            calls.append(1)
            a, = ctx.saved_tensors
            return 2 * a * g
    return Square


# ---- 1. a pass that stops at a non-leaf input ---------------------------------------------------------------

def test_grad_of_a_hooked_non_leaf_runs_its_hook_and_leaves_its_node_for_h_backward():
    """h = x^2 with a hook, loss = sum(h^2): grad(loss, h) = 2h (the hook sees it) and h's node is neither run
    nor freed, as PyTorch's captured-but-not-needed node, so h.backward(g) gives x.grad = 2h * 2x = 4x^3 (the
    hook runs again there, on g). It had walked h's node to run the hook, freeing it."""
    x = leaf()
    h = x * x
    seen = []
    h.register_hook(lambda g: seen.append(np.array(g.numpy())))
    g, = mg.autograd.grad((h * h).sum(), [h])
    np.testing.assert_allclose(g.numpy(), 2 * X ** 2)
    h.backward(g)
    np.testing.assert_allclose(x.grad, 4 * X ** 3)
    assert len(seen) == 2
    np.testing.assert_allclose(seen[0], 2 * X ** 2)
    np.testing.assert_allclose(seen[1], 2 * X ** 2)


def test_a_hook_that_returns_a_tensor_at_the_stop_node_is_what_grad_returns():
    """PyTorch captures `new_inputs` after the tensor pre-hooks: grad returns the hooked gradient 3 * 2h."""
    x = leaf()
    h = x * x
    h.register_hook(lambda g: g * 3)
    g, = mg.autograd.grad((h * h).sum(), [h])
    np.testing.assert_allclose(g.numpy(), 6 * X ** 2)


@pytest.mark.parametrize("hooked", [False, True])
def test_a_function_at_the_input_is_not_run_by_grad_but_by_the_backward_that_follows(hooked):
    """h = Square(x): grad(sum(h^2), h) does not call Square.backward (the node is captured, not executed);
    h.backward(g) calls it once: x.grad = 2x * 2h = 4x^3. With a hook on h it had run and freed it."""
    calls = []
    x = leaf()
    h = square_function(calls).apply(x)
    if hooked:
        h.register_hook(lambda g: None)
    g, = mg.autograd.grad((h * h).sum(), [h])
    assert calls == []
    h.backward(g)
    assert calls == [1]
    np.testing.assert_allclose(x.grad, 4 * X ** 3)


def test_backward_inputs_of_a_hooked_non_leaf_gives_the_hooked_gradient_and_runs_the_hook_once():
    """loss.backward(inputs=[h]) with h's hook doubling: h.grad = 2 * 2h (PyTorch's retain_grad hook runs after
    the tensor pre-hooks), the hook ran once, and x.grad is untouched."""
    x = leaf()
    h = x * x
    calls = []
    h.register_hook(lambda g: (calls.append(1), g * 2)[1])
    (h * h).sum().backward(inputs=[h])
    np.testing.assert_allclose(h.grad, 4 * X ** 2)
    assert calls == [1] and x.grad is None


def test_several_inputs_on_one_path_walk_the_upper_one_and_stop_at_the_lower_one():
    """h1 = x^2, h2 = sin(h1), loss = sum(h2^2): g2 = 2 sin(h1), g1 = 2 sin(h1) cos(h1). h2's node leads to h1,
    so it runs and is freed (PyTorch's needed_ node too); h1's is kept: h1.backward(g1) gives g1 * 2x."""
    x = leaf()
    h1 = x * x
    h2 = h1.sin()
    g1, g2 = mg.autograd.grad((h2 * h2).sum(), [h1, h2])
    np.testing.assert_allclose(g2.numpy(), 2 * np.sin(X ** 2))
    np.testing.assert_allclose(g1.numpy(), 2 * np.sin(X ** 2) * np.cos(X ** 2))
    h1.backward(g1)
    np.testing.assert_allclose(x.grad, 2 * np.sin(X ** 2) * np.cos(X ** 2) * 2 * X)
    with pytest.raises(RuntimeError, match="already been freed"):
        h2.backward(g2)


def test_an_input_that_is_also_an_output_and_a_batched_grad_keep_the_node():
    """grad([h, sum(h^2)], h, [u, 1]) = u + 2h; is_grads_batched rows of the identity give diag(2h); then
    h.backward(ones) still gives 2x."""
    x = leaf()
    h = x * x
    g, = mg.autograd.grad([h, (h * h).sum()], [h], grad_outputs=[U, np.array(1.0)], retain_graph=True)
    np.testing.assert_allclose(g.numpy(), U + 2 * X ** 2)
    rows, = mg.autograd.grad(h * h, [h], grad_outputs=np.eye(3), is_grads_batched=True)
    np.testing.assert_allclose(rows.numpy(), np.diag(2 * X ** 2))
    h.backward(np.ones(3))
    np.testing.assert_allclose(x.grad, 2 * X)


def test_allow_unused_and_anomaly_mode_with_a_stop_node():
    """An unused input is None; under detect_anomaly the two-stage backward gives 4x^3 as without it."""
    x = leaf()
    with mg.autograd.detect_anomaly():
        h = x * x
        unused = x.sin()
        g, none = mg.autograd.grad((h * h).sum(), [h, unused], allow_unused=True)
        assert none is None
        h.backward(g)
    np.testing.assert_allclose(x.grad, 4 * X ** 3)


@pytest.mark.parametrize("inner", ["backward_inputs", "grad"])
def test_a_pass_inside_a_hook_that_stops_at_h_leaves_the_outer_pass_its_partial_sum(inner):
    """Outer loss = sum(sin h) + sum(3h), h = x^2; y = sin h's hook runs a pass from sum(h^2) that stops at h.
    The outer pass has 3 in h's node when the hook runs and must find it there: x.grad = (cos h + 3) 2x.
    `backward(inputs=[h])` had left its own 2h in the node, giving (cos h + 2h) 2x."""
    x = leaf()
    h = x * x
    y = h.sin()
    loss2 = (h * h).sum()

    def run_inner(g):
        if inner == "grad":
            mg.autograd.grad(loss2, [h], retain_graph=True)
        else:
            loss2.backward(inputs=[h], retain_graph=True)
    y.register_hook(run_inner)
    (y.sum() + (h * 3).sum()).backward()
    np.testing.assert_allclose(x.grad, (np.cos(X ** 2) + 3) * 2 * X)


# ---- 2. a pass inside a pass that frees what an enclosing pass needs ---------------------------------------

def test_a_pass_two_levels_in_that_frees_the_outermost_passes_node_raises():
    """A walks y = sin h (h = x^2); y's hook runs B over z = cos x; z's hook runs C, sum(h^2).backward(), which
    frees h's node. B does not need it, A does: PyTorch's A would raise on h's released node. The check saw
    only B's order, and A skipped the freed node, losing cos(h) 2x silently."""
    x = leaf()
    h = x * x
    y = h.sin()
    z = x.cos()
    c_loss, b_loss = (h * h).sum(), (z * 1).sum()
    z.register_hook(lambda g: c_loss.backward())
    y.register_hook(lambda g: b_loss.backward())
    with pytest.raises(RuntimeError, match="outer pass has still to walk"):
        y.sum().backward()


def test_three_levels_that_keep_their_graphs_add_every_passes_gradient():
    """The same with retain_graph=True in B and C: nothing refused, x.grad = cos(h) 2x - sin x + 4x^3."""
    x = leaf()
    h = x * x
    y = h.sin()
    z = x.cos()
    c_loss, b_loss = (h * h).sum(), (z * 1).sum()
    z.register_hook(lambda g: c_loss.backward(retain_graph=True))
    y.register_hook(lambda g: b_loss.backward(retain_graph=True))
    y.sum().backward()
    np.testing.assert_allclose(x.grad, np.cos(X ** 2) * 2 * X - np.sin(X) + 4 * X ** 3)


def test_checkpoint_and_a_function_backward_running_passes_of_their_own_are_not_refused():
    """Recomputation and a Function's backward walk graphs of their own: x.grad of sum(tanh(x w)^2) is
    2 t (1 - t^2) w, and a Function whose backward runs grad() and backward() on fresh leaves gives 6x."""
    x, w = leaf(), leaf([0.5, -1.0, 2.0])
    y = mg.utils.checkpoint.checkpoint(lambda a: (a * w).tanh(), x, use_reentrant=False)
    (y * y).sum().backward()
    t = np.tanh(X * w.numpy())
    np.testing.assert_allclose(x.grad, 2 * t * (1 - t ** 2) * w.numpy())

    class Inner(mg.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a * a

        @staticmethod
        def backward(ctx, g):
            a, = ctx.saved_tensors
            with mg.enable_grad():
                b = a.detach().requires_grad_()
                gb, = mg.autograd.grad((b * b).sum(), [b])
                b.sin().sum().backward()
            return gb * g
    x2 = leaf()
    (Inner.apply(x2) * 3).sum().backward()
    np.testing.assert_allclose(x2.grad, 6 * X)


def test_an_exception_in_an_inner_pass_leaves_no_order_behind_and_threads_keep_their_own():
    """A hook's inner pass that raises (caught by the hook) leaves the outer pass right and the thread's
    stack of walked orders empty; three threads each running a nested pass at once get d/dx of
    sum(sin x^2) + sum(x^4) = cos(x^2) 2x + 4x^3 for their own x."""
    x = leaf()
    h = x * x
    y = h.sin()
    bad = x * 5
    bad.register_hook(lambda g: 1 / 0)
    bad_loss = bad.sum()

    def run_inner(g):
        with pytest.raises(ZeroDivisionError):
            bad_loss.backward(retain_graph=True)
    y.register_hook(run_inner)
    y.sum().backward()
    np.testing.assert_allclose(x.grad, np.cos(X ** 2) * 2 * X)
    assert tensor_hooks._walking.orders == []

    errors = []

    def run(k):
        try:
            for _ in range(20):
                xk = leaf(X * k)
                hk = xk * xk
                yk = hk.sin()
                other = (hk * hk).sum()
                yk.register_hook(lambda g, other=other: other.backward(retain_graph=True))
                yk.sum().backward()
                v = X * k
                np.testing.assert_allclose(xk.grad, np.cos(v ** 2) * 2 * v + 4 * v ** 3)
        except Exception as error:      # (reported below: an assertion in a thread does not fail the test)
            errors.append(repr(error))
    threads = [threading.Thread(target=run, args=(k,)) for k in (1.0, 0.5, 0.25)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_an_inner_pass_freeing_the_node_the_outer_pass_is_walking_raises_runtime_error():
    """y = x * w with a hook running sum(y).backward(): the inner pass frees y's node while the outer pass is
    between its two rules. PyTorch: the hook is a tensor pre-hook of MulBackward0, the inner pass releases its
    saved x and w, and the outer call_function then raises RuntimeError ("Trying to backward through the
    graph a second time")."""
    x, w = leaf(), leaf(2 * X)
    y = x * w
    s = y.sum()
    done = []

    def run_inner(g):
        if not done:
            done.append(1)
            s.backward()
    y.register_hook(run_inner)
    with pytest.raises(RuntimeError):
        (y * 3).sum().backward()


# ---- 3. vjp and jacobian(rev) of a tensor fn reads through a closure ----------------------------------------

def test_vjp_of_a_non_leaf_read_through_a_closure_keeps_its_graph_and_value():
    """h = x^2 (history), fn(a) = a sin(h): u^T J = u (sin h + h cos h); x's graph is intact afterwards
    (sum(h).backward() gives 2x). jacobian rev and fwd agree on fn(a) = a h: diag(2h)."""
    x = leaf()
    h = x * x
    _, (g,) = mg.vjp(lambda a: a * h.sin(), [h], U)
    hv = X ** 2
    np.testing.assert_allclose(g, U * (np.sin(hv) + hv * np.cos(hv)))
    np.testing.assert_allclose(mg.jacobian(lambda a: a * h, h), np.diag(2 * hv))
    np.testing.assert_allclose(mg.jacobian(lambda a: a * h, h, mode="fwd"), np.diag(2 * hv))
    h.sum().backward()
    np.testing.assert_allclose(x.grad, 2 * X)


def test_vjp_of_a_hooked_non_leaf_read_through_a_closure_does_not_free_its_graph():
    """The same h with a hook: the vjp pass stops at h (it had walked and freed h's node to run the hook)."""
    x = leaf()
    h = x * x
    h.register_hook(lambda g: None)
    mg.vjp(lambda a: a * h.sin(), [h], U)
    h.sum().backward()
    np.testing.assert_allclose(x.grad, 2 * X)


def test_vjp_of_the_same_tensor_twice_credits_the_closure_to_its_first_slot_as_jvp():
    """fn(a, b) = a b + p^2 at a = b = p: slot a gets u (b + 2p) = 3pu, slot b gets u a = pu; jvp along
    (1, 0) and (0, 1) gives 3p and p, and p.grad is left as it was (7)."""
    p = leaf()
    p.grad = np.full(3, 7.0)

    def fn(a, b):
        return a * b + p * p
    _, (ga, gb) = mg.vjp(fn, [p, p], U)
    np.testing.assert_allclose(ga, 3 * X * U)
    np.testing.assert_allclose(gb, X * U)
    np.testing.assert_allclose(mg.jvp(fn, [p, p], [np.ones(3), np.zeros(3)])[1], 3 * X)
    np.testing.assert_allclose(mg.jvp(fn, [p, p], [np.zeros(3), np.ones(3)])[1], X)
    np.testing.assert_array_equal(p.grad, np.full(3, 7.0))


def test_vjp_of_a_fn_returning_the_input_itself_and_of_a_cut_state():
    """fn(a) = h (the caller's non-leaf, returned as it is): u^T I = u, h's graph intact. A cut state (no
    history) is a constant to the closure: fn(a) = a c gives u c."""
    x = leaf()
    h = x * 2
    _, (g,) = mg.vjp(lambda a: h, [h], U)
    np.testing.assert_allclose(g, U)
    h.sum().backward()
    np.testing.assert_allclose(x.grad, [2.0, 2.0, 2.0])
    c = (leaf() * 2).detach()
    _, (gc,) = mg.vjp(lambda a: a * c, [c], U)
    np.testing.assert_allclose(gc, U * 2 * X)


def test_vjp_leaves_the_hooks_of_its_input_alone():
    """fn(a) = a p (p read through a closure): u^T J = 2pu, as mg.jvp gives. A hook on p zeroing its gradient
    must neither run nor change that (PyTorch's functional vjp differentiates detached copies; jvp here runs
    no hook); it ran and the closure part came out 0: pu (fixed in round 33)."""
    p = leaf()
    calls = []
    p.register_hook(lambda g: (calls.append(1), g * 0)[1])
    _, (g,) = mg.vjp(lambda a: a * p, [p], U)
    np.testing.assert_allclose(mg.jvp(lambda a: a * p, [p], [U])[1], 2 * X * U)
    assert calls == []
    np.testing.assert_allclose(g, 2 * X * U)


def test_a_backward_into_the_parameter_from_another_thread_during_vjp_keeps_both_apart():
    """While mg.vjp's pass runs (a hook of fn's output starts another thread and waits for it), that thread
    runs sum(p^2).backward(): p.grad must be 2p afterwards and the vjp of fn(a) = a p still 2pu. (PyTorch's
    grad() captures gradients in its GraphTask, never in .grad, so a concurrent backward does not meet it; here
    the pass's stand-in nodes since round 33.)"""
    p = leaf()
    other = (p * p).sum()

    def fn(a):
        y = a * p
        y.register_hook(lambda g: _in_a_thread(other.backward))
        return y
    _, (g,) = mg.vjp(fn, [p], U)
    np.testing.assert_allclose(p.grad, 2 * X)
    np.testing.assert_allclose(g, 2 * X * U)


def _in_a_thread(work):
    thread = threading.Thread(target=work)
    thread.start()
    thread.join()


# ---- 4. the legacy constructor's dtype, and the library's own calls with arrays ------------------------------

def _saved_memmap(tmp_path, array):
    path = tmp_path / "values.npy"
    np.save(path, array)
    return np.load(path, mmap_mode="r")


def test_the_legacy_constructor_reads_an_int_memmap_as_the_default_float_as_an_int_array(tmp_path):
    """np.load(..., mmap_mode="r") gives an ndarray subclass; PyTorch's PyArray_Check takes it, and
    type_inference=false makes it the default float dtype, as mg.Tensor of a plain int array is here."""
    ints = _saved_memmap(tmp_path, np.array([1, 2, 3]))
    made = mg.Tensor(ints)
    assert made.dtype == mg.get_default_dtype() == mg.Tensor(np.array([1, 2, 3])).dtype
    np.testing.assert_array_equal(made.numpy(), [1.0, 2.0, 3.0])


def test_a_parameter_of_an_int_memmap_keeps_its_ints(tmp_path):
    """nn.Parameter(array) keeps the array's dtype (the library's choice, pinned by round 51), a memmap too."""
    ints = _saved_memmap(tmp_path, np.array([4, 5]))
    assert mg.nn.Parameter(ints, requires_grad=False).dtype == np.int64


def test_the_legacy_constructor_of_bools_uint8_float16_and_an_int_tensor():
    """Bools and uint8 become the default float (1.0 and 0.0, 255.0); a float16 array keeps its dtype (the
    documented difference: PyTorch's is float32); an int tensor keeps int64 (PyTorch's Tensor(other) is
    other.alias())."""
    bools = mg.Tensor(np.array([True, False]))
    assert bools.dtype == mg.get_default_dtype()
    np.testing.assert_array_equal(bools.numpy(), [1.0, 0.0])
    np.testing.assert_array_equal(mg.Tensor(np.array([255], np.uint8)).numpy(), [255.0])
    assert mg.Tensor(np.array([1.5], np.float16)).dtype == np.float16
    assert mg.Tensor(mg.tensor([1, 2])).dtype == np.int64


def test_the_librarys_own_makers_and_loaders_keep_int_and_bool_arrays():
    """from_numpy, LongTensor, BoolTensor, mg.save/mg.load, a BatchNorm's num_batches_tracked through
    load_state_dict and Module.to(float64), and the DataLoader's collated labels stay int64 or bool, as
    PyTorch's do (from_numpy shares the array's dtype; default_collate uses torch.as_tensor)."""
    ints = np.array([3, 1, 2])
    assert mg.from_numpy(ints).dtype == np.int64
    assert mg.LongTensor(ints).dtype == np.int64
    assert mg.BoolTensor(np.array([True])).dtype == np.bool_
    buffer = io.BytesIO()
    mg.save({"index": mg.tensor(ints), "mask": mg.tensor([True, False])}, buffer)
    buffer.seek(0)
    loaded = mg.load(buffer)
    assert loaded["index"].dtype == np.int64 and loaded["mask"].dtype == np.bool_
    np.testing.assert_array_equal(loaded["index"].numpy(), ints)
    norm = mg.nn.BatchNorm1d(3)
    norm.load_state_dict({**norm.state_dict(), "num_batches_tracked": np.array(5)})
    norm.to(mg.float64)
    assert norm.num_batches_tracked.dtype == np.int64 and norm.num_batches_tracked.item() == 5
    batches = [(np.zeros(2, np.float32), np.int64(3)), (np.zeros(2, np.float32), np.int64(1))]
    _, labels = next(iter(mg.utils.data.DataLoader(batches, batch_size=2)))
    assert labels.dtype == np.int64
    np.testing.assert_array_equal(labels.numpy(), [3, 1])


def test_clone_as_a_function_and_its_memory_format_as_pytorchs():
    """torch.clone(input, *, memory_format=torch.preserve_format) is a function too; the format is checked
    (channels_last needs 4 axes) and changes no value; d clone(x)/dx = 1."""
    x = mg.tensor(np.array([[1.0, -2.0], [3.0, 0.5]]), requires_grad=True)
    y = mg.clone(x, memory_format=mg.preserve_format)
    assert y.tolist() == [[1.0, -2.0], [3.0, 0.5]]
    (y * mg.tensor(np.array([[2.0, 3.0], [4.0, 5.0]]))).sum().backward()
    np.testing.assert_array_equal(x.grad, [[2.0, 3.0], [4.0, 5.0]])
    with pytest.raises(ValueError, match="clone: memory_format=.*channels_last needs a 4-d tensor"):
        x.clone(memory_format=mg.channels_last)
    with pytest.raises(TypeError, match="clone: memory_format must be a torch.memory_format"):
        mg.clone(x, memory_format="preserve")
