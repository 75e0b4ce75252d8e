"""How tensors print: `set_printoptions`, as PyTorch's (digits, how many entries before eliding, line
width, scientific notation). `Tensor.__repr__` reads `options`."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .checks import is_int

# The default profile: at most 4 digits, the same number in every entry ([1.2346, 2.0000], [0., 1.]), as
# PyTorch's; arrays of more than 20 entries elided to 3 at each end (PyTorch elides past 1,000: a
# course's prints stay short here); numpy's line width, 75.
DEFAULT = {"precision": 4, "threshold": 20, "edgeitems": 3, "linewidth": 75, "sci_mode": None}
PROFILES = {"default": DEFAULT, "short": dict(DEFAULT, precision=2, edgeitems=2),
            "full": dict(DEFAULT, threshold=math.inf)}
options = dict(DEFAULT)


def set_printoptions(precision: int | None = None, threshold: float | None = None, edgeitems: int | None = None,
                     linewidth: int | None = None, profile: str | None = None, sci_mode: bool | None = None) -> None:
    """Set how every later tensor prints, as torch.set_printoptions: `profile` ("default", "short",
    "full") first, then each option given; `sci_mode` True (always scientific notation), False
    (never: every float with `precision` digits) or None (numpy's choice), reset to None unless given."""
    if profile is not None:
        if profile not in PROFILES:
            raise ValueError(f"set_printoptions: profile must be one of {sorted(PROFILES)}, got {profile!r}")
        options.update(PROFILES[profile])
    for name, value in (("precision", precision), ("edgeitems", edgeitems), ("linewidth", linewidth)):
        if value is not None:
            if not is_int(value) or value < 0:
                raise ValueError(f"set_printoptions: {name} must be an integer >= 0, got {value!r}")
            options[name] = int(value)
    if threshold is not None:
        if not isinstance(threshold, (int, float)) or threshold < 0:
            raise ValueError(f"set_printoptions: threshold must be a number >= 0, got {threshold!r}")
        options["threshold"] = threshold
    if sci_mode not in (None, True, False):
        raise ValueError(f"set_printoptions: sci_mode must be True, False or None, got {sci_mode!r}")
    options["sci_mode"] = sci_mode


def array_text(data: Any) -> str:
    """The array as a tensor prints it, under the current options."""
    precision, sci_mode = options["precision"], options["sci_mode"]
    threshold = options["threshold"]
    formatter = ({"float_kind": lambda x: f"{x:.{precision}e}"} if sci_mode else None)
    return np.array2string(data, separator=", ", precision=precision,
                           threshold=int(min(threshold, 2 ** 62)), edgeitems=options["edgeitems"],
                           max_line_width=options["linewidth"], suppress_small=sci_mode is False,
                           floatmode="fixed" if sci_mode is False else "maxprec_equal", formatter=formatter,
                           prefix="tensor(")
