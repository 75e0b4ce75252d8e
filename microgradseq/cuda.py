"""PyTorch's `torch.cuda`, for scripts that ask: there is no GPU here (microgradseq runs on numpy).

    device = mg.device("cuda" if mg.cuda.is_available() else "cpu")     # "cpu"

`mg.cuda.amp` is PyTorch's deprecated `torch.cuda.amp` (`from torch.cuda.amp import GradScaler` ports).
"""

import sys
from typing import NoReturn

from .amp import cuda as amp

sys.modules[__name__ + ".amp"] = amp        # (`import microgradseq.cuda.amp`: this is a module, not a package)


def is_available() -> bool:
    """False: nothing here runs on a GPU."""
    return False


def device_count() -> int:
    """0 GPUs."""
    return 0


def current_device() -> int:
    """No device to name: raises AssertionError, as PyTorch's does on a build without CUDA (its `_lazy_init()`
    raises "Torch not compiled with CUDA enabled"), so a script's `except AssertionError` fallback runs."""
    raise AssertionError("mg.cuda.current_device: there is no current CUDA device, microgradseq runs on the CPU "
                         "only (PyTorch's says: Torch not compiled with CUDA enabled)")


def manual_seed(seed: int) -> None:
    """Seeds no GPU generator (there are none); as PyTorch's on a machine without CUDA, nothing happens.
    `mg.manual_seed` seeds the generator microgradseq draws from."""


manual_seed_all = manual_seed


def empty_cache() -> None:
    """Frees no GPU memory (there is none held); as PyTorch's on a machine without CUDA, nothing happens."""


class _CudaTensorType(type):
    """A legacy CUDA tensor type (`torch.cuda.FloatTensor`, ...), as PyTorch's on a machine without CUDA: no
    tensor is one (`isinstance(t, torch.cuda.FloatTensor)` is False, so a script's check of where a tensor
    lives takes its CPU branch), and making one raises TypeError, as PyTorch's."""

    def __instancecheck__(cls, other: object) -> bool:
        return False

    def __call__(cls, *args: object, **kwargs: object) -> NoReturn:
        raise TypeError(f"mg.cuda.{cls.__name__}: there are no CUDA tensors here, microgradseq runs on the CPU "
                        f"only (PyTorch's says: type torch.cuda.{cls.__name__} not available)")

    def __repr__(cls) -> str:
        return f"<legacy CUDA tensor type {cls.__name__}: not available>"


_NAMES = ("FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor", "ShortTensor", "CharTensor",
          "ByteTensor", "BoolTensor")
(FloatTensor, DoubleTensor, HalfTensor, LongTensor, IntTensor, ShortTensor, CharTensor, ByteTensor,
 BoolTensor) = (_CudaTensorType(name, (), {"__module__": __name__}) for name in _NAMES)
