"""Mutation check of session 34's library changes: tests that kill the hand-made mutants the suite let through.

72 mutants of the session's changes (git diff 745a2bc 4264a6d -- microgradseq), each applied alone and run against
the test files of its area (5 to 19 files each; test_pytorch_porting_23 left out: at 4264a6d it still expected
`unsqueeze_` of a part to be refused, which 17d4dce corrected after): 52 killed there, 14 by the tests here,
6 equivalent, none left.

- reshape / transpose as parts, made_part_of (15): 9 killed; killed here: transpose's Rearranged with forward
  and back swapped, or both the forward permutation, or both the inverse (with two axes they are one; a
  permute(1, 2, 0) shows them), `depth < PART_DEPTH` (64 levels of views or slices still write into the top; it was 16 when counted).
  Equivalent: `seen` set to the part's array or None (the part is then always read again from its base: the same
  values and gradients, a node more).
- part_at / with_part / parts_in_step / write_through (9): 6 killed; killed here: a level taken as it is when its
  `seen` is its base's array although that base was itself read again (x written, then a slice of x.view(...)).
  Equivalent: every level always read again; `seen` not brought up to date after a write (the same, later).
- _shaped_in_place (10): 9 killed (si3 `change(self)` and si9 `before = self` make a part of itself, so the
  chain walk never ends: killed by a hang); killed here: the view's tangent not taken (inside mg.jvp, a t_() on
  a view; an unsqueeze_ would not show it, the old tangent broadcasts).
- getitem_copy, narrow, _narrowed, narrow_copy (15): 11 killed; killed here: getitem_copy keeping numpy's view
  of x's array (the existing check ran after a write had replaced it), the `begin >= 0` check dropped (start
  -5 of 3 gave an empty slice), narrow_copy's bad dim named as narrow's. Equivalent: as_tensor on a Tensor.
- the GRU step's narrow_copy (4): 3 killed. Equivalent: a slice of h_proj (the same values and gradients;
  r * h_n then holds h_proj's whole array, the memory the change saves).
- mg.autograd.no_grad and the other names in grad_mode.py (6), cuda.current_device (2): all killed.
- optimizers (8): 6 killed; killed here: a 0-d complex parameter let through, initial_lr in the defaults named
  `param_groups[None]['initial_lr']`. LBFGS's message cut (3): killed here (no cut, a cut at 8, at 800).

No library bug found. Expected values are hand-written numpy (numpy's own views written into), closed forms and
reprs, never the library's output.
"""

import numpy as np
import pytest

import microgradseq as mg


# ---- narrow_copy / getitem_copy: an array of its own ----------------------------------------------------------

@pytest.mark.parametrize("dim, start, length", [(1, 1, 2), (0, 0, 2), (-1, -3, 3)])
def test_narrow_copy_shares_no_memory_with_its_input_before_any_write(dim, start, length):
    """torch.narrow_copy's result is a new tensor (not a view): before any write, its array holds none of the
    input's memory (mutant: getitem_copy without np.array, a numpy view of x's array)."""
    a = np.arange(12.0).reshape(3, 4)
    x = mg.tensor(a)
    y = mg.narrow_copy(x, dim, start, length)
    axis = dim % 2
    begin = start % a.shape[axis] if start < 0 else start
    expected = np.take(a, np.arange(begin, begin + length), axis=axis)
    np.testing.assert_array_equal(y.numpy(), expected)
    assert not np.may_share_memory(y.numpy(), x.numpy())
    assert y.numpy().base is None or not np.may_share_memory(y.numpy().base, x.numpy())


@pytest.mark.parametrize("call, message", [
    (lambda x: mg.narrow_copy(x, 5, 0, 1), r"^narrow_copy: dim 5 is out of range"),
    (lambda x: mg.narrow_copy(x, 0, -5, 1), r"^narrow_copy: start -5 and length 1 do not fit an axis of size 3"),
    (lambda x: x.narrow(0, -5, 1), r"^narrow: start -5 and length 1 do not fit an axis of size 3"),
    (lambda x: x.narrow(1, -9, 2), r"^narrow: start -9 and length 2 do not fit an axis of size 4"),
])
def test_narrow_refuses_a_start_before_the_first_entry_and_names_its_caller(call, message):
    """A negative start counts from the end, so start < -size is out of range (PyTorch's narrow: "start out of
    range"), not an empty slice; narrow_copy's errors name narrow_copy, a bad dim's included (mutants: the
    `begin >= 0` check dropped, _axis told "narrow")."""
    x = mg.tensor(np.arange(12.0).reshape(3, 4))
    with pytest.raises(IndexError, match=message):
        call(x)


# ---- transpose as a part: a permutation that is not its own inverse ------------------------------------------

def test_a_write_into_a_three_axis_permute_lands_where_numpys_view_puts_it():
    """p = x.permute(1, 2, 0): its inverse is (2, 0, 1), another permutation, so writing p back into x, and
    reading x's newer entries into p, must use the right one of the two (mutants: forward and back swapped, or
    both the forward one; with 2 axes the two are the same)."""
    a = np.arange(24.0).reshape(2, 3, 4)
    x = mg.tensor(a.copy())
    p = x.permute(1, 2, 0)
    assert p.shape == (3, 4, 2)
    p[1, 2, 0] = -1.0
    expected = a.copy()
    expected.transpose(1, 2, 0)[1, 2, 0] = -1.0               # numpy's view writes into `expected`
    np.testing.assert_array_equal(x.numpy(), expected)
    assert expected[0, 1, 2] == -1.0
    x[1, 0, 3] = 50.0                                          # x written: p must catch up before its own write
    p[0, 1, 1] = 7.0
    expected[1, 0, 3] = 50.0
    expected.transpose(1, 2, 0)[0, 1, 1] = 7.0
    np.testing.assert_array_equal(x.numpy(), expected)
    np.testing.assert_array_equal(p.numpy(), expected.transpose(1, 2, 0))


def test_the_gradient_through_a_write_into_a_three_axis_permute():
    """y = w * 1; p = y.permute(2, 0, 1); p[0] = p[0] * 3: y's entries y[:, :, 0] are tripled, so dsum(y)/dw is
    3 there and 1 elsewhere (closed form)."""
    w = mg.tensor(np.arange(1.0, 25.0).reshape(2, 3, 4), requires_grad=True)
    y = w * 1.0
    p = y.permute(2, 0, 1)
    p[0] = p[0] * 3.0
    expected = np.arange(1.0, 25.0).reshape(2, 3, 4)
    expected[:, :, 0] *= 3.0
    np.testing.assert_array_equal(y.numpy(), expected)
    y.sum().backward()
    grad = np.ones((2, 3, 4))
    grad[:, :, 0] = 3.0
    np.testing.assert_array_equal(w.grad, grad)


def test_a_chain_of_sixty_four_views_still_writes_into_the_top_and_sixty_five_do_not():
    """PART_DEPTH is 64: a view 64 levels down is still a part (a write reaches x), the 65th is a tensor of its
    own, as getitem's parts (mutant: `depth < PART_DEPTH` in made_part_of)."""
    for levels, reaches in ((64, True), (65, False)):
        x = mg.tensor(np.arange(4.0))
        h = x
        for _ in range(levels):
            h = h.view(4)
        h[0] = 9.0
        assert h.numpy()[0] == 9.0
        assert x.numpy()[0] == (9.0 if reaches else 0.0)
        sliced = mg.tensor(np.arange(4.0))
        s = sliced
        for _ in range(levels):
            s = s[:]
        s[0] = 9.0
        assert sliced.numpy()[0] == (9.0 if reaches else 0.0)


def test_narrow_is_a_view_and_narrow_copy_is_not():
    """torch.narrow returns a view (a write into it goes into x); narrow_copy a tensor of its own (mutant: narrow
    made with getitem_copy)."""
    a = np.arange(12.0).reshape(3, 4)
    x = mg.tensor(a.copy())
    n = x.narrow(1, 1, 2)
    n[2, 1] = -3.0
    expected = a.copy()
    expected[2, 2] = -3.0
    np.testing.assert_array_equal(x.numpy(), expected)
    c = mg.narrow_copy(x, 1, 1, 2)
    c[0, 0] = 99.0
    np.testing.assert_array_equal(x.numpy(), expected)


def test_an_in_place_shape_change_of_a_view_carries_its_tangent():
    """Inside mg.jvp, z = y.view(2, 2); z.unsqueeze_(0) gives z the tangent of the unsqueezed view: for
    f(w) = (w * 2).view(2, 2).unsqueeze_(0) * 1, J v = 2 v reshaped to (1, 2, 2) (mutant: the part's tangent
    left as the old view's)."""
    def f(w):
        y = w * 2.0
        z = y.view(2, 2)
        z.unsqueeze_(0)
        return z * 1.0

    v = np.array([1.0, -2.0, 0.5, 3.0])
    out, tangent = mg.jvp(f, mg.tensor([1.0, 2.0, 3.0, 4.0]), mg.tensor(v))
    np.testing.assert_array_equal(out.numpy(), np.array([2.0, 4.0, 6.0, 8.0]).reshape(1, 2, 2))
    tangent = np.asarray(tangent.numpy() if hasattr(tangent, "numpy") else tangent)
    assert tangent.shape == (1, 2, 2)                          # (a (2, 2) tangent would broadcast in the check)
    np.testing.assert_array_equal(tangent, (2 * v).reshape(1, 2, 2))


def test_a_slice_of_a_view_catches_up_with_a_write_into_the_top_tensor():
    """x written after p = x.view(2, 3)[0] was taken: p's own base (the view) has not been written, but the view is
    behind x, so p must be read again from the view's new values before p's write (mutant: a level taken as it is
    when its `seen` is its base's array, though the base itself was read again)."""
    a = np.arange(6.0)
    x = mg.tensor(a.copy())
    v = x.view(2, 3)
    p = v[0]
    x[1] = 50.0
    p[2] = 7.0
    np.testing.assert_array_equal(x.numpy(), [0.0, 50.0, 7.0, 3.0, 4.0, 5.0])
    np.testing.assert_array_equal(p.numpy(), [0.0, 50.0, 7.0])
    np.testing.assert_array_equal(v.numpy(), [[0.0, 50.0, 7.0], [3.0, 4.0, 5.0]])


def test_a_transposed_in_place_view_carries_its_tangent():
    """Inside mg.jvp: z = (w * 2).view(2, 3); z.t_(); f = z * c. J v = (2 v).reshape(2, 3).T * c by hand (mutant:
    the part's tangent left as the (2, 3) view's, which an unsqueeze_ alone would not show)."""
    c = np.arange(1.0, 7.0).reshape(3, 2)

    def f(w):
        z = (w * 2.0).view(2, 3)
        z.t_()
        return z * mg.tensor(c)

    w = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    v = np.array([1.0, -2.0, 0.5, 3.0, 0.0, -1.0])
    out, tangent = mg.jvp(f, mg.tensor(w), mg.tensor(v))
    np.testing.assert_array_equal(out.numpy(), (2 * w).reshape(2, 3).T * c)
    tangent = np.asarray(tangent.numpy() if hasattr(tangent, "numpy") else tangent)
    assert tangent.shape == (3, 2)
    np.testing.assert_array_equal(tangent, (2 * v).reshape(2, 3).T * c)


# ---- optimizers: complex parameters, initial_lr, LBFGS's message ---------------------------------------------

def test_a_complex_zero_dim_parameter_is_refused_too():
    """A 0-d complex leaf is complex all the same (mutant: the check skipped for 0-d tensors)."""
    z = mg.tensor(np.complex128(1 + 1j), requires_grad=True)
    with pytest.raises(TypeError, match=r"^SGD: item 0 is a complex tensor \(complex128\)"):
        mg.optim.SGD([z], lr=0.1)


def test_a_bad_initial_lr_in_the_defaults_is_named_plainly():
    """An Optimizer made with defaults holding 'initial_lr' (a subclass's) names it as `initial_lr`, not as a
    group's entry (mutant: always `param_groups[{index}]['initial_lr']`, giving `param_groups[None]`)."""
    w = mg.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match=r"^Optimizer: initial_lr must be a finite number >= 0, got -1\.0$"):
        mg.optim.Optimizer([w], {"lr": 0.1, "initial_lr": -1.0})


def _lbfgs_saved_with(value):
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    optimizer = mg.optim.LBFGS([a], lr=0.5, history_size=3)

    def closure():
        optimizer.zero_grad()
        loss = (a * a).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    saved = optimizer.state_dict()
    saved["state"][0]["ro"][-1] = value
    return optimizer, saved


@pytest.mark.parametrize("value", ["abcdefghijklmnopqrstuvwxyz", "y" * 300])
def test_lbfgs_shows_a_bad_saved_number_up_to_eighty_characters(value):
    """The bad value's repr, cut at 80 characters: a short one whole, a long one to exactly its first 80 (mutants:
    no cut, a cut at 8 or at 800)."""
    optimizer, saved = _lbfgs_saved_with(value)
    with pytest.raises(ValueError) as caught:
        optimizer.load_state_dict(saved)
    prefix = "LBFGS.load_state_dict: LBFGS's ro["
    message = str(caught.value)
    assert message.startswith(prefix)
    assert message.split(" must be a number, got ", 1)[1] == repr(value)[:80]
