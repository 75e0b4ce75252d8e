"""`torch.backends.cudnn`: settings a script may write and read back; no GPU library is here."""

deterministic = False       # PyTorch's defaults
benchmark = False
enabled = True
allow_tf32 = True


def is_available() -> bool:
    """False: there is no cuDNN here (CPU only)."""
    return False


def version() -> None:
    """None, as PyTorch's without cuDNN."""
    return None
