"""Views, as PyTorch's: a reshape that needs no copy (`view`, `reshape`, `squeeze`, `unsqueeze`, `flatten`,
`unflatten`, `view_as`) and a transpose (`t()`, `T`, `mT`, `transpose`, `permute`, `movedim`, `swapaxes`) are parts
of the tensor they were taken from, as a basic index is: a write into one goes into that tensor, and gradients
follow what was written. A reshape numpy must copy (the elements of a transpose merged) is a tensor of its own,
as PyTorch's `reshape` copies there. Expected values are hand-written numpy; gradients closed forms or central
differences in float64.
"""

from __future__ import annotations

import numpy as np
import pytest

import microgradseq as mg


def arange(*shape: int) -> mg.Tensor:
    return mg.tensor(np.arange(float(np.prod(shape))).reshape(shape))


VIEWS = {
    "view": (lambda t: t.view(-1), lambda a: a.reshape(-1)),
    "reshape": (lambda t: t.reshape(3, 2), lambda a: a.reshape(3, 2)),
    "flatten": (lambda t: t.flatten(), lambda a: a.reshape(-1)),
    "unflatten": (lambda t: t.unflatten(1, (3, 1)), lambda a: a.reshape(2, 3, 1)),
    "unsqueeze": (lambda t: t.unsqueeze(1), lambda a: a[:, None]),
    "squeeze": (lambda t: t.unsqueeze(0).squeeze(0), lambda a: a),
    "view_as": (lambda t: t.view_as(mg.zeros(3, 2)), lambda a: a.reshape(3, 2)),
    "t": (lambda t: t.t(), lambda a: a.T),
    "T": (lambda t: t.T, lambda a: a.T),
    "mT": (lambda t: t.mT, lambda a: a.T),
    "transpose": (lambda t: t.transpose(0, 1), lambda a: a.T),
    "permute": (lambda t: t.permute(1, 0), lambda a: a.T),
    "movedim": (lambda t: t.movedim(0, 1), lambda a: a.T),
    "swapaxes": (lambda t: t.swapaxes(0, 1), lambda a: a.T),
}


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_a_write_into_a_view_goes_into_its_tensor(name):
    take, take_numpy = VIEWS[name]
    base = np.arange(6.0).reshape(2, 3)
    x = mg.tensor(base)
    view = take(x)
    view += 10.0
    expected = base.copy()
    take_numpy(expected)[...] += 10.0           # numpy's view writes into `expected`, as PyTorch's would
    np.testing.assert_array_equal(x.numpy(), expected)
    np.testing.assert_array_equal(view.numpy(), take_numpy(expected))


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_an_item_written_into_a_view_lands_where_numpys_view_puts_it(name):
    take, take_numpy = VIEWS[name]
    x = arange(2, 3)
    view = take(x)
    position = (0,) * (view.ndim - 1) + (view.shape[-1] - 1,)
    view[position] = -7.0
    expected = np.arange(6.0).reshape(2, 3)
    take_numpy(expected)[position] = -7.0
    np.testing.assert_array_equal(x.numpy(), expected)


def test_a_reshape_numpy_must_copy_is_a_tensor_of_its_own_as_pytorchs_reshape():
    """x.t().reshape(-1) merges axes a transpose left apart: PyTorch's reshape copies there (and its view
    raises); a write into the copy leaves x alone."""
    x = arange(2, 3)
    flat = x.t().reshape(-1)
    flat[0] = 100.0
    np.testing.assert_array_equal(x.numpy(), np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(flat.numpy(), [100.0, 3.0, 1.0, 4.0, 2.0, 5.0])


def test_views_of_views_and_slices_write_to_the_top():
    """A view of a slice of a transpose: the write reaches x through every level, as PyTorch's."""
    a = np.arange(24.0).reshape(2, 3, 4)
    x = mg.tensor(a)
    part = x.transpose(0, 2)[1:3].unsqueeze(1)[:, :, ::2]
    part *= 0.0
    expected = a.copy()
    expected.swapaxes(0, 2)[1:3][:, None][:, :, ::2] *= 0.0
    assert (expected == 0).sum() == 1 + 8           # (the write changed something)
    np.testing.assert_array_equal(x.numpy(), expected)


def test_the_gradient_follows_a_write_through_a_view():
    """y = w * 1; y.view(2, 2)[0] = 3 * y.view(2, 2)[0]: dy/dw is 3 on the first two entries, 1 on the rest,
    and the written view's values are y's."""
    w = mg.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    y = w * 1.0
    square = y.view(2, 2)
    square[0] = square[0] * 3.0
    np.testing.assert_array_equal(y.numpy(), [3.0, 6.0, 3.0, 4.0])
    (y * mg.tensor([1.0, 10.0, 100.0, 1000.0])).sum().backward()
    np.testing.assert_array_equal(w.grad, [3.0, 30.0, 100.0, 1000.0])


def test_a_transposed_write_matches_central_differences():
    """f(x) = sum(c * x') where x' is x with x.t()[1] replaced by sin(x.t()[1]): the gradient against central
    differences of the same function in numpy."""
    rng = np.random.default_rng(0)
    a, c = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))

    def numpy_f(v: np.ndarray) -> float:
        out = v.copy()
        out.T[1] = np.sin(out.T[1])
        return float((c * out).sum())

    x = mg.tensor(a, requires_grad=True)
    y = x * 1.0
    column = y.t()[1]
    column.copy_(column.sin())
    (mg.tensor(c) * y).sum().backward()
    numeric = np.zeros_like(a)
    for i in np.ndindex(a.shape):
        step = np.zeros_like(a)
        step[i] = 1e-6
        numeric[i] = (numpy_f(a + step) - numpy_f(a - step)) / 2e-6
    np.testing.assert_allclose(x.grad, numeric, rtol=1e-7, atol=1e-9)


def test_a_view_catches_up_with_its_tensors_writes_before_its_own():
    """x written after the view was taken, then the view written: x keeps both writes (the view does not
    write its old values back)."""
    x = arange(2, 3)
    view = x.view(6)
    x[1, 1] = 40.0
    view[0] = -1.0
    np.testing.assert_array_equal(x.numpy(), [[-1.0, 1.0, 2.0], [3.0, 40.0, 5.0]])


def test_a_view_of_a_parameter_is_written_under_no_grad_and_refused_while_recording():
    """PyTorch: an in-place write into a view of a leaf that requires grad is an error while recording, and
    updates the leaf under no_grad (which stays a leaf)."""
    w = mg.tensor(np.zeros((2, 2)), requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        w.view(4)[0] = 1.0
    np.testing.assert_array_equal(w.numpy(), np.zeros((2, 2)))
    with mg.no_grad():
        w.t()[0, 1] = 5.0
    np.testing.assert_array_equal(w.numpy(), [[0.0, 0.0], [5.0, 0.0]])
    assert w.is_leaf and w.requires_grad


def test_detach_in_place_of_a_view_is_refused_as_pytorchs():
    h = mg.tensor(np.ones((2, 3)), requires_grad=True) * 2.0
    feed = h.unsqueeze(0)
    with pytest.raises(RuntimeError, match=r"detach_: .*t = t\.detach\(\)"):
        feed.detach_()
    assert feed.requires_grad
    assert not feed.detach().requires_grad


def test_an_in_place_shape_change_keeps_a_part_a_part():
    """q = x[:, 1:2]; q.squeeze_(1) and v = x.view(3, 2); v.t_(): PyTorch's views change their own shape and
    stay views; writes into them still reach x."""
    x = arange(2, 3)
    q = x[:, 1:2]
    q.squeeze_(1)
    assert q.shape == (2,)
    q[0] = 100.0
    v = x.view(3, 2)
    v.t_()
    assert v.shape == (2, 3)
    v[0, 1] = -5.0                              # x.view(3, 2)[1, 0]: x's flat entry 2
    np.testing.assert_array_equal(x.numpy(), [[0.0, 100.0, -5.0], [3.0, 4.0, 5.0]])


def test_an_in_place_shape_change_of_a_view_keeps_gradients_right():
    w = mg.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    y = w * 1.0
    z = y.view(2, 2)
    z.unsqueeze_(0)
    z[0, 1] = z[0, 1] * 3.0
    np.testing.assert_array_equal(y.numpy(), [1.0, 2.0, 9.0, 12.0])
    y.sum().backward()
    np.testing.assert_array_equal(w.grad, [1.0, 1.0, 3.0, 3.0])


def test_reading_a_view_needs_no_chain_deeper_than_the_limit():
    """h = h.view(...) in a loop: past 64 levels a view is a tensor of its own (a short chain held), as slices."""
    x = arange(4)
    h = x
    for _ in range(40):
        h = h.view(2, 2).view(4)
    h[0] = 9.0                                  # no error; the chain stops before x
    assert x.numpy()[0] == 0.0 and h.numpy()[0] == 9.0
