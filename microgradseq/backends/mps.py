"""`torch.backends.mps`: Apple's GPU backend, never available here (CPU only)."""


def is_available() -> bool:
    """False: CPU only."""
    return False


def is_built() -> bool:
    """False: CPU only."""
    return False
