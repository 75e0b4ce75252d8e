"""How drawings look: labels escaped for DOT, numbers, and the gradient colour scale."""

from __future__ import annotations

import html
import math
import re
from typing import Any

import numpy as np

# Pale (small ||dL/dh_t||) to red (large): vanishing gradients fade, exploding ones burn.
PALETTE = ("#ffffcc", "#ffeda0", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c")
NAN_COLOUR = "#9e9ac8"      # a NaN norm: off the palette (violet), so it reads as neither small nor large
GREY = "gray60"
# Each parameter's edges in the ops view take a colour of their own, so where the lines of several
# run side by side each can be followed to its parameter (ColorBrewer's Dark2).
PARAMETER_COLOURS = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666")
# The names of the operands of ops whose order matters (a - b, x W^T + b), marking the edges into
# them in the ops view; `concat` and `stack` number theirs. Commutative ops (add, mul) are unmarked.
OPERANDS = {"sub": ("a", "b"), "div": ("a", "b"), "matmul": ("a", "b"), "pow": ("base", "exp"),
            "linear": ("x", "W", "b"), "where": ("true", "false"), "atan2": ("y", "x"),
            "fmod": ("a", "b"), "remainder": ("a", "b"), "floor_divide": ("a", "b"),
            "lerp": ("start", "end", "weight"), "solve": ("A", "B")}
NUMBERED = ("concat", "stack")
# The steps' summed losses (cells view): a colour of its own, so the sum is not read as the recurrence.
TOTAL_COLOUR = "#1b6e9e"
# Gradient norms are coloured on a log scale at least this many decades wide (from the largest
# norm's decade down), so norms of the same order share a colour and only real decay fades.
DECADES = 4
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_BEYOND_ASCII = re.compile(r"[^\x00-\x7f]")


def text(value: Any) -> str:
    """`value` escaped for an HTML label, in ASCII: control characters as `\\xNN`, other characters
    beyond ASCII as character references (`&#952;`, drawn as the character itself), those XML
    forbids (a lone surrogate) as `\\uNNNN`."""
    escaped = html.escape(_CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(value)))
    return escaped if escaped.isascii() else _BEYOND_ASCII.sub(_reference, escaped)


def _reference(match: re.Match) -> str:
    """One character beyond ASCII: `&#N;`, or written out where that would not do (a control
    character as `\\x80`, what XML forbids as `\\ud800`)."""
    code = ord(match.group())
    if code <= 0x9F:
        return f"\\x{code:02x}"
    if 0xD800 <= code <= 0xDFFF or code in (0xFFFE, 0xFFFF):
        return f"\\u{code:04x}"
    return f"&#{code};"


def html_label(*lines: str) -> str:
    """An HTML label of already-escaped lines."""
    return "<" + "<BR/>".join(lines) + ">"


def numbers(array: Any) -> str:
    """The values, 4 significant digits each; a zero is `0` whatever its sign (a `-0` draws the eye
    to nothing)."""
    values = np.asarray(array).reshape(-1)
    parts = ", ".join(f"{float(v) + 0.0:.4g}" for v in values)
    return parts if values.size == 1 else f"[{parts}]"


def norm(array: np.ndarray) -> float:
    return float(np.sqrt(np.sum(np.square(array, dtype=np.float64))))


def grad_scale(norms: dict[int, float], grad_range: tuple[float, float] | None) -> tuple[float, float]:
    """(low, high) of the colour scale in log10: `grad_range` when given, else from the
    largest norm's decade down at least DECADES decades."""
    if grad_range is not None:
        return math.log10(grad_range[0]), math.log10(grad_range[1])
    logs = [math.log10(v) for v in norms.values() if v > 0 and math.isfinite(v)] or [0.0]
    high = math.ceil(max(logs))
    return min(high - DECADES, math.floor(min(logs))), high


def log_norm(value: float) -> float:
    """log10 of a norm: -inf for 0, +inf for +inf, NaN for NaN."""
    return math.log10(value) if value > 0 or math.isnan(value) else -math.inf


def colour(value: float, low: float, high: float) -> str:
    """The palette colour for `value` (a log10) on the scale low..high: the palest at or below
    `low` (a zero norm too), the hottest at or above `high` (+inf too: an exploding gradient
    burns), NAN_COLOUR for NaN."""
    if math.isnan(value):
        return NAN_COLOUR
    if value >= high:
        return PALETTE[-1]
    if value <= low:
        return PALETTE[0]
    return PALETTE[round((value - low) / (high - low) * (len(PALETTE) - 1))]
