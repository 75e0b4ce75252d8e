"""PyTorch's `torch.nn.utils.parameters_to_vector` and `vector_to_parameters`
(torch/nn/utils/convert_parameters.py): a model's parameters as one flat vector and back, in the order
`parameters` gives them (`model.parameters()`'s), each parameter's entries in row-major order. Optimizers
that see the model as one vector (a line search, natural gradient, an evolution strategy) use them:

    theta = parameters_to_vector(model.parameters())
    vector_to_parameters(theta - step * direction, model.parameters())
"""

from __future__ import annotations

from typing import Iterable

from ...ops import concat
from ...optim.clip import _tensors
from ...tensor import Tensor


def parameters_to_vector(parameters: Tensor | Iterable[Tensor]) -> Tensor:
    """The parameters flattened and joined into one vector, as PyTorch's: a `concat` of their
    `reshape(-1)`s, so the gradient reaches each parameter (its slice of the vector's, reshaped). Mixed
    dtypes are promoted, as `cat` does. ValueError for no parameters."""
    tensors = _tensors(parameters, "parameters_to_vector")
    if not tensors:
        raise ValueError("parameters_to_vector: expected at least one parameter, got none")
    return concat([t.reshape(-1) for t in tensors])


def vector_to_parameters(vec: Tensor, parameters: Tensor | Iterable[Tensor]) -> None:
    """Each parameter's values set from its slice of the 1-d `vec`, in order, reshaped to its shape and
    cast to its dtype, as PyTorch's (`param.data = ...`: no history, vec's values only). The vector's
    length must be the parameters' total number of entries (ValueError naming both; PyTorch's leaves
    extra entries unread); nothing changes unless every check passes."""
    where = "vector_to_parameters"
    if not isinstance(vec, Tensor):
        raise TypeError(f"{where}: expected a Tensor, but got {type(vec).__name__}")
    tensors = _tensors(parameters, where)
    if vec.ndim != 1:
        raise ValueError(f"{where}: expected a 1-d vector, got shape {vec.shape}")
    sizes = [t.numel() for t in tensors]
    if vec.shape[0] != sum(sizes):
        raise ValueError(f"{where}: expected a vector of {sum(sizes)} values, one per entry of the "
                         f"{len(tensors)} parameters, got {vec.shape[0]}")
    pieces, start = [], 0
    for tensor, size in zip(tensors, sizes):
        pieces.append(vec.data[start:start + size].reshape(tensor.shape).astype(tensor.dtype))
        start += size
    for tensor, piece in zip(tensors, pieces):
        tensor.data = piece
