"""Small guards for students: what a notebook echoes, and dtype mix-ups that numpy would hide."""

import numpy as np
import pytest

import microgradseq as mg


def test_manual_seed_returns_none_so_a_notebook_echoes_nothing():
    assert mg.manual_seed(0) is None


def test_manual_seed_still_makes_randn_reproducible():
    mg.manual_seed(5)
    first = mg.randn(3).numpy().copy()
    mg.manual_seed(5)
    np.testing.assert_array_equal(mg.randn(3).numpy(), first)


def test_a_float32_linear_given_float64_input_names_the_module_and_both_dtypes():
    layer = mg.nn.Linear(3, 2)
    assert layer.weight.dtype == np.float32
    with pytest.raises(TypeError) as caught:
        layer(np.ones((1, 3)))                              # numpy's default is float64
    message = str(caught.value)
    assert "Linear" in message and "float32" in message and "float64" in message


def test_a_float64_linear_given_float32_input_raises_too():
    layer = mg.nn.Linear(3, 2, dtype=np.float64)
    with pytest.raises(TypeError, match="Linear.*float64.*float32"):
        layer(mg.tensor([[1.0, 2.0, 3.0]]))                 # a Python list becomes float32


def test_linear_accepts_matching_dtypes_and_python_lists():
    layer = mg.nn.Linear(3, 2)
    out = layer([[1.0, 2.0, 3.0]])
    assert out.dtype == np.float32
    expected = np.array([[1.0, 2.0, 3.0]]) @ layer.weight.numpy().T + layer.bias.numpy()
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)
    assert mg.nn.Linear(3, 2, dtype=np.float64)(np.ones((4, 3))).dtype == np.float64


@pytest.mark.parametrize("cell", [mg.nn.RNNCell, mg.nn.LSTMCell, mg.nn.GRUCell])
def test_a_cell_given_integer_codes_says_to_embed_or_one_hot_them(cell):
    """A character model's first mistake: the codes themselves fed to the cell (a newcomer's trial)."""
    with pytest.raises(ValueError, match=r"expected input of shape \(B, 4\) or \(4,\), got \(2,\); integer codes "
                                         r"\(int64\) are embedded \(nn.Embedding\) or one-hot encoded "
                                         r"\(F.one_hot\(x, 4\).float\(\)\) first"):
        cell(4, 3)(np.array([1, 2]))
    with pytest.raises(ValueError, match=r"got \(2, 5\)$"):        # floats of the wrong width: no such hint
        cell(4, 3)(np.zeros((2, 5), np.float32))
