"""PyTorch's dtype names (`torch.float32`, `torch.long`, ...) as the numpy dtypes they mean, so that
`mg.tensor(ids, dtype=mg.long)` and `t.to(mg.float64)` read as they do in PyTorch.
(`float`, `int`, `bool` here are the names `mg.float`, `mg.int`, `mg.bool`: float32, int32, bool.)"""

import numpy as np

float16 = half = np.float16
float32 = float = np.float32       # noqa: A001  (torch.float is float32)
float64 = double = np.float64
int8, int16, uint8 = np.int8, np.int16, np.uint8
int32 = int = np.int32             # noqa: A001  (torch.int is int32)
int64 = long = np.int64
bool = np.bool_                    # noqa: A001

BOOL_DTYPE = np.dtype(np.bool_)    # the one bool dtype object numpy gives every bool array (`a.dtype is BOOL_DTYPE`)


# PyTorch's legacy names of its CPU tensor types (`torch.FloatTensor`, `x.type('torch.LongTensor')`) and the
# dtypes they stand for: creation.py's typed constructors and `Tensor.type` read them from here.
LEGACY_TENSOR_TYPES = {"FloatTensor": np.float32, "DoubleTensor": np.float64, "HalfTensor": np.float16,
                       "LongTensor": np.int64, "IntTensor": np.int32, "ShortTensor": np.int16, "CharTensor": np.int8,
                       "ByteTensor": np.uint8, "BoolTensor": np.bool_}

def float_dtype_of(data, default: np.dtype) -> np.dtype:
    """The dtype PyTorch gives a tensor made from a (nested) list of numbers with floats (or complex
    numbers) in it: `default` for Python numbers, a numpy scalar's (or a tensor's) own dtype, promoted
    together: `[1.5, 2.0]` is the default dtype, `[np.float64(1.5), 2.0]` float64."""
    own, plain, parts = [], False, [data]
    while parts:
        part = parts.pop()
        if isinstance(part, (list, tuple)):
            parts.extend(part)
            continue
        dtype = getattr(part, "dtype", None)
        if dtype is None:
            plain = True                        # a Python number
        elif np.dtype(dtype).kind in "fc":
            own.append(np.dtype(dtype))         # a numpy float (or complex) scalar, an array or a tensor
    return np.result_type(*own, *([default] if plain or not own else []))
