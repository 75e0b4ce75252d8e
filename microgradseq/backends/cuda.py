"""`torch.backends.cuda` (torch/backends/cuda/__init__.py): settings a GPU script writes and reads back.
Nothing runs on a GPU here (numpy's float32 matmul never uses TF32), so they change nothing:

    torch.backends.cuda.matmul.allow_tf32 = True        # PyTorch's default False
    with torch.backends.cuda.sdp_kernel(enable_flash=False): ...
"""

from __future__ import annotations

import contextlib
import warnings
from typing import Iterator

from ..checks import flag, user_stacklevel


class _Matmul:
    """`torch.backends.cuda.matmul`: cuBLAS's settings, with PyTorch's defaults."""
    allow_tf32 = False
    allow_fp16_reduced_precision_reduction = True
    allow_bf16_reduced_precision_reduction = True


matmul = _Matmul()

_sdp = {"flash": True, "mem_efficient": True, "math": True, "cudnn": True}     # PyTorch's defaults


def is_built() -> bool:
    """False: microgradseq has no CUDA build."""
    return False


def flash_sdp_enabled() -> bool:
    """Whether flash attention is switched on (it changes nothing here)."""
    return _sdp["flash"]


def enable_flash_sdp(enabled: bool) -> None:
    """Switch flash attention on or off (kept for `flash_sdp_enabled()`)."""
    _sdp["flash"] = flag(enabled, "enabled", "enable_flash_sdp")


def mem_efficient_sdp_enabled() -> bool:
    """Whether memory-efficient attention is switched on (it changes nothing here)."""
    return _sdp["mem_efficient"]


def enable_mem_efficient_sdp(enabled: bool) -> None:
    """Switch memory-efficient attention on or off (kept for `mem_efficient_sdp_enabled()`)."""
    _sdp["mem_efficient"] = flag(enabled, "enabled", "enable_mem_efficient_sdp")


def math_sdp_enabled() -> bool:
    """Whether the math attention is switched on (the one attention here: it runs whatever this says)."""
    return _sdp["math"]


def enable_math_sdp(enabled: bool) -> None:
    """Switch the math attention on or off (kept for `math_sdp_enabled()`)."""
    _sdp["math"] = flag(enabled, "enabled", "enable_math_sdp")


def cudnn_sdp_enabled() -> bool:
    """Whether cuDNN attention is switched on (it changes nothing here)."""
    return _sdp["cudnn"]


def enable_cudnn_sdp(enabled: bool) -> None:
    """Switch cuDNN attention on or off (kept for `cudnn_sdp_enabled()`)."""
    _sdp["cudnn"] = flag(enabled, "enabled", "enable_cudnn_sdp")


@contextlib.contextmanager
def sdp_kernel(enable_flash: bool = True, enable_math: bool = True, enable_mem_efficient: bool = True,
               enable_cudnn: bool = True) -> Iterator[None]:
    """The four attention switches set inside the block and restored after it, with PyTorch's
    FutureWarning (its replacement is `torch.nn.attention.sdpa_kernel`)."""
    warnings.warn("`torch.backends.cuda.sdp_kernel()` is deprecated. In the future, this context manager will be "
                  "removed. Please see `torch.nn.attention.sdpa_kernel()` for the new context manager, with updated "
                  "signature.", FutureWarning, stacklevel=user_stacklevel())
    wanted = {"flash": enable_flash, "math": enable_math, "mem_efficient": enable_mem_efficient,
              "cudnn": enable_cudnn}
    wanted = {name: flag(value, f"enable_{name}", "sdp_kernel") for name, value in wanted.items()}
    previous = dict(_sdp)
    _sdp.update(wanted)
    try:
        yield
    finally:
        _sdp.update(previous)
