"""Variable-length batches, as PyTorch's `torch.nn.utils.rnn`: padding and packing, and undoing them
(`unpad_sequence`, `unpack_sequence`: back to a list of sequences).

A batch of sequences of different lengths is either *padded*, every sequence
filled out to the longest, (T, B, *), or *packed*: the sequences sorted by
length, longest first, and their elements laid out step by step,

    data = [step 1 of every sequence, step 2 of every sequence that has one, ...]    (N, *)
    batch_sizes[t - 1] = how many sequences have a step t,

so the rows of step t are the batch_sizes[t - 1] longest sequences, a prefix of
the sorted batch, and a recurrent layer given a `PackedSequence` runs each
sequence for exactly its own length. `sorted_indices[j]` is the batch position
of the j-th longest sequence and `unsorted_indices` its inverse, the sorted
place of each batch position (both None for a batch packed with
enforce_sorted=True; with False they are given, as PyTorch's, even for a
batch that came sorted).

For sequences a, b, c of lengths 1, 3, 2: the order is b, c, a, so
sorted_indices = [1, 2, 0], unsorted_indices = [2, 0, 1], batch_sizes = [3, 2, 1]
and data = [b_1, c_1, a_1, b_2, c_2, b_3].

Packing and padding only pick elements: each is one indexing op (after a
concat), so gradients flow back through them by the rules of indexing and
concat, with no rule of their own.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Iterable, NamedTuple

import numpy as np

from ...checks import flag, is_int
from ...ops import concat
from ...tensor import Tensor, array_of, as_tensor, owned


class _PackedSequenceFields(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None
    unsorted_indices: Tensor | None


class PackedSequence(_PackedSequenceFields):
    """A packed batch, as PyTorch's: a named tuple (data, batch_sizes, sorted_indices, unsorted_indices).

    `data` (N, *) holds every sequence's elements step by step, `batch_sizes` (int64, no gradient)
    how many sequences have each step; see the module's docstring. Made by `pack_padded_sequence`
    and `pack_sequence`, and returned by `RNN`, `LSTM` and `GRU` given one. Given `sorted_indices`
    alone, `unsorted_indices` is its inverse, as in PyTorch.
    """

    __slots__ = ()

    def __new__(cls, data: Any, batch_sizes: Any = None, sorted_indices: Any = None,
                unsorted_indices: Any = None) -> "PackedSequence":
        if batch_sizes is None:                 # PyTorch's older form, PackedSequence((data, batch_sizes))
            if not (isinstance(data, (tuple, list)) and len(data) == 2):
                raise TypeError(f"PackedSequence: expected data and batch_sizes, or one pair (data, batch_sizes), "
                                f"got {type(data).__name__} alone")
            data, batch_sizes = data
        if unsorted_indices is None and sorted_indices is not None and _is_permutation(_indices(sorted_indices)):
            unsorted_indices = _inverse(_indices(sorted_indices))   # (one that is not is refused where it is used)
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args: Any, **kwargs: Any) -> "PackedSequence":
        """The packed sequence with its data converted as `Tensor.to` converts a tensor (the sizes and
        indices stay as they are); itself when nothing changes."""
        data = self.data.to(*args, **kwargs)
        return self if data is self.data else type(self)(data, *self[1:])

    @property
    def is_cuda(self) -> bool:
        """False: the data is on the CPU, the only device here."""
        return False

    def cpu(self) -> "PackedSequence":
        """Itself (the data is on the CPU), as PyTorch's `PackedSequence.cpu()` when it is already there."""
        return self.to("cpu")

    # PyTorch's casts of the data, each `self.to(dtype=...)` (torch/nn/utils/rnn.py)
    def double(self) -> "PackedSequence":
        return self.to(dtype=np.float64)

    def float(self) -> "PackedSequence":
        return self.to(dtype=np.float32)

    def half(self) -> "PackedSequence":
        return self.to(dtype=np.float16)

    def long(self) -> "PackedSequence":
        return self.to(dtype=np.int64)

    def int(self) -> "PackedSequence":
        return self.to(dtype=np.int32)

    def short(self) -> "PackedSequence":
        return self.to(dtype=np.int16)

    def char(self) -> "PackedSequence":
        return self.to(dtype=np.int8)

    def byte(self) -> "PackedSequence":
        return self.to(dtype=np.uint8)


def _indices(value: Any) -> np.ndarray:
    return array_of(value)


def _is_permutation(order: np.ndarray, size: int | None = None) -> bool:
    """Whether `order` is 1-D integers 0 .. size - 1 in some order (size: its own length by default)."""
    size = len(order) if size is None and order.ndim == 1 else size
    return (order.ndim == 1 and order.dtype.kind in "iu" and len(order) == size
            and np.array_equal(np.sort(order), np.arange(size)))


def _tensor(value: Any, name: str, where: str) -> Tensor:
    """`value` as a tensor, or TypeError naming `where` and `name`."""
    try:
        return as_tensor(value)
    except (TypeError, ValueError):
        raise TypeError(f"{where}: expected {name} as a tensor, got {type(value).__name__}") from None


def _inverse(order: np.ndarray) -> Tensor:
    """The inverse permutation: inverse[order[j]] = j."""
    inverse = np.empty(len(order), np.int64)
    inverse[order] = np.arange(len(order))
    return owned(inverse)


def checked_packed(sequence: Any, where: str) -> tuple[Tensor, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """(data, batch_sizes, sorted order, unsorted order) of a packed sequence, checked: batch sizes
    positive and non-increasing, summing to data's rows; each order None or a permutation of the batch."""
    if not isinstance(sequence, PackedSequence):
        raise TypeError(f"{where}: expected a PackedSequence (from pack_padded_sequence or pack_sequence), "
                        f"got {type(sequence).__name__}")
    data, sizes = _tensor(sequence.data, "data", where), _indices(sequence.batch_sizes)
    rows = len(data) if data.ndim else 0
    if (sizes.ndim != 1 or sizes.dtype.kind not in "iu" or not sizes.size or sizes.min() < 1
            or (np.diff(sizes) > 0).any() or sizes.sum() != rows):
        raise ValueError(f"{where}: expected batch_sizes of positive, non-increasing integers summing to the "
                         f"{rows} rows of data, got {sizes.tolist()}")
    orders = []
    for name in ("sorted_indices", "unsorted_indices"):
        value = getattr(sequence, name)
        order = None if value is None else _indices(value)
        if order is not None and not _is_permutation(order, int(sizes[0])):
            raise ValueError(f"{where}: expected {name} to be a permutation of the batch's {sizes[0]} positions, "
                             f"got {order.tolist()}")
        orders.append(order)
    return data, sizes, orders[0], orders[1]


def _lengths(lengths: Any, batch: int, steps: int, where: str, layout: str = "") -> np.ndarray:
    """The lengths as a 1-D integer array, one per sequence of the batch, each in 1..steps."""
    try:
        values = array_of(lengths)
    except (TypeError, ValueError):
        values = None
    if values is None or values.ndim != 1:
        shaped = values is not None and (values.ndim or isinstance(lengths, (Tensor, np.ndarray)))
        raise TypeError(f"{where}: expected lengths as a list or 1-D tensor of integers, got "
                        + (f"shape {values.shape}" if shaped else type(lengths).__name__))
    if len(values) != batch:
        raise ValueError(f"{where}: expected lengths of the batch's size {batch}, got {len(values)}"
                         + (f"; the input's first two axes {layout}: check batch_first" if layout else ""))
    if values.dtype.kind not in "iu":
        raise TypeError(f"{where}: expected integer lengths, got dtype {values.dtype}")
    if values.min() < 1 or values.max() > steps:
        raise ValueError(f"{where}: expected every length between 1 and the input's {steps} steps, "
                         f"got {values.tolist()}")
    return values.astype(np.int64)          # (unsigned lengths, a uint8 mask's sum say, would wrap in diff)


def _padding(value: Any, where: str) -> Any:
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(f"{where}: expected padding_value as a number, got {value!r}")
    return value


def _fits(value: Any, dtype: np.dtype, where: str) -> Any:
    """`value`, a padding value, if sequences of `dtype` can hold it (a fraction is cut to an integer
    as PyTorch's); else ValueError naming `where`, as PyTorch refuses NaN or -1 for integers or uint8."""
    if dtype.kind in "iu":
        limits = np.iinfo(dtype)
        if not (math.isfinite(value) and limits.min <= value < limits.max + 1):
            raise ValueError(f"{where}: padding_value {value!r} does not fit the sequences' dtype {dtype} "
                             f"(integers from {limits.min} to {limits.max})")
    return value


def _padded(pieces: list[Tensor], rows: np.ndarray, padding_value: Any) -> Tensor:
    """The rows of the pieces joined along axis 0, picked by `rows`; a row number one past the last
    picks the padding value. One concat and one indexing op: the gradient of each element goes
    back to where it was picked from."""
    first = pieces[0]
    pad = owned(np.full((1,) + first.shape[1:], padding_value, dtype=first.dtype))
    return concat(pieces + [pad])[rows]


def _pack(input: Any, lengths: Any, batch_first: bool, enforce_sorted: bool, where: str) -> PackedSequence:
    input = _tensor(input, "input", where)
    batch_first, enforce_sorted = flag(batch_first, "batch_first", where), flag(enforce_sorted, "enforce_sorted", where)
    if input.ndim < 2 or 0 in input.shape[:2]:
        layout = "(B, T, *)" if batch_first else "(T, B, *)"
        raise ValueError(f"{where}: expected input of shape {layout} with at least one step and one sequence, "
                         f"got {input.shape}")
    steps, batch = input.shape[:2][::-1] if batch_first else input.shape[:2]
    lengths = _lengths(lengths, batch, steps, where, f"{input.shape[:2]} were read as "
                       + ("(B, T) (batch_first=True)" if batch_first else "(T, B) (batch_first=False)"))
    if enforce_sorted:
        if (np.diff(lengths) > 0).any():
            raise RuntimeError(f"{where}: expected lengths sorted longest first (enforce_sorted=True), got "
                               f"{lengths.tolist()}; pass enforce_sorted=False to pack a batch in any order")
        order, sorted_indices = np.arange(batch), None
    else:
        order = np.argsort(-lengths, kind="stable")        # longest first; equal lengths keep their order
        sorted_indices = owned(order.astype(np.int64))
    batch_sizes = np.array([(lengths > t).sum() for t in range(lengths.max())], np.int64)
    times = np.repeat(np.arange(len(batch_sizes)), batch_sizes)             # each row's step ...
    entries = np.concatenate([order[:size] for size in batch_sizes])       # ... and batch position
    data = input[entries, times] if batch_first else input[times, entries]
    return PackedSequence(data, owned(batch_sizes), sorted_indices)


def pack_padded_sequence(input: Any, lengths: Any, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch, `input` (T, B, *) (or (B, T, *) with `batch_first`), whose sequence b has
    `lengths[b]` steps (a list or a 1-D integer tensor, each in 1..T).

    With `enforce_sorted=True` the lengths must be sorted longest first (else `RuntimeError`, as in
    PyTorch) and `sorted_indices` is None; with False any order is packed, longest first.
    The padding is never read, and the gradient reaches only the packed elements.
    """
    return _pack(input, lengths, batch_first, enforce_sorted, "pack_padded_sequence")


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False, padding_value: float = 0.0,
                        total_length: int | None = None) -> tuple[Tensor, Tensor]:
    """Undo packing: (padded (T, B, *) (or (B, T, *) with `batch_first`), lengths (B,) int64), in the
    batch's original order, with `padding_value` after each sequence's end. T is the longest length,
    or `total_length` when given (at least that).

    Sorted sequence j has a step t when batch_sizes[t - 1] > j; its element there is row
    (batch_sizes[0] + ... + batch_sizes[t - 2]) + j of data.
    """
    where = "pad_packed_sequence"
    data, batch_sizes, _, unsorted = checked_packed(sequence, where)
    batch_first, padding_value = flag(batch_first, "batch_first", where), _padding(padding_value, where)
    steps = len(batch_sizes)
    if total_length is not None and (not is_int(total_length) or total_length < steps):
        kind = "of" if is_int(total_length) else "as an integer of"
        raise ValueError(f"{where}: expected total_length {kind} at least the longest sequence's {steps} steps, "
                         f"got {total_length!r}")
    padding_value = _fits(padding_value, data.dtype, where)
    total = steps if total_length is None else int(total_length)
    batch = int(batch_sizes[0])
    place = np.arange(batch) if unsorted is None else unsorted          # each batch position's sorted place
    starts = np.cumsum(batch_sizes) - batch_sizes
    rows = np.full((total, batch), len(data))                           # one past the last row: padding
    rows[:steps] = np.where(place < batch_sizes[:, None], starts[:, None] + place, len(data))
    lengths = (batch_sizes > place[:, None]).sum(axis=1)
    return _padded([data], rows.T if batch_first else rows, padding_value), owned(lengths.astype(np.int64))


def _pad(sequences: Iterable, batch_first: bool, padding_value: Any, padding_side: str,
         where: str) -> tuple[Tensor, np.ndarray]:
    """(padded batch, lengths) of a list of tensors (L_i, *)."""
    try:
        sequences = list(sequences)
    except TypeError:
        raise TypeError(f"{where}: expected a list of tensors, got {type(sequences).__name__}") from None
    sequences = [_tensor(sequence, f"sequence {k}", where) for k, sequence in enumerate(sequences)]
    if not sequences:
        raise ValueError(f"{where}: expected at least one sequence, got none")
    batch_first, padding_value = flag(batch_first, "batch_first", where), _padding(padding_value, where)
    if padding_side not in ("right", "left"):
        raise ValueError(f"{where}: padding_side must be 'right' or 'left', got {padding_side!r}")
    first = sequences[0]
    for k, sequence in enumerate(sequences):
        if sequence.ndim == 0 or sequence.shape[1:] != first.shape[1:]:
            raise ValueError(f"{where}: expected every sequence of shape (L, *) with the same trailing shape "
                             f"{first.shape[1:]} as sequence 0, got shape {sequence.shape} for sequence {k}")
        if sequence.dtype != first.dtype:
            raise TypeError(f"{where}: expected sequences of one dtype, got {sequence.dtype} for sequence {k} "
                            f"and {first.dtype} for sequence 0")
    padding_value = _fits(padding_value, first.dtype, where)
    lengths = np.array([len(sequence) for sequence in sequences])
    steps, starts = lengths.max(), np.cumsum(lengths) - lengths
    position = np.arange(steps)[:, None] - (steps - lengths if padding_side == "left" else 0)     # (T, B)
    rows = np.where((position >= 0) & (position < lengths), starts + position, lengths.sum())
    return _padded(sequences, rows.T if batch_first else rows, padding_value), lengths


def pad_sequence(sequences: Iterable, batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """A list of B tensors (L_i, *) as one padded batch (T, B, *) (or (B, T, *) with `batch_first`),
    T the longest L_i, `padding_value` after each (before it with `padding_side="left"`)."""
    return _pad(sequences, batch_first, padding_value, padding_side, "pad_sequence")[0]


def pack_sequence(sequences: Iterable, enforce_sorted: bool = True) -> PackedSequence:
    """`pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)` for a list
    of tensors (L_i, *), each of at least one step."""
    where = "pack_sequence"
    padded, lengths = _pad(sequences, False, 0.0, "right", where)
    return _pack(padded, lengths, False, enforce_sorted, where)


def unpad_sequence(padded_sequences: Any, lengths: Any, batch_first: bool = False) -> list[Tensor]:
    """Undo `pad_sequence`: the B sequences of a padded batch (T, B, *) (or (B, T, *) with `batch_first`),
    each cut to its length, as a list of tensors (L_i, *): slices of the batch, so their gradients flow
    back into it."""
    where = "unpad_sequence"
    padded = _tensor(padded_sequences, "padded_sequences", where)
    batch_first = flag(batch_first, "batch_first", where)
    if padded.ndim < 2:
        raise ValueError(f"{where}: expected a padded batch of shape (T, B, *) (or (B, T, *) with batch_first), "
                         f"got shape {padded.shape}")
    batch, steps = (padded.shape[0], padded.shape[1]) if batch_first else (padded.shape[1], padded.shape[0])
    lengths = _lengths(lengths, batch, steps, where, f"{padded.shape[:2]} were read as "
                       + ("(B, T) (batch_first=True)" if batch_first else "(T, B) (batch_first=False)"))
    return [padded[b, :n] if batch_first else padded[:n, b] for b, n in enumerate(lengths.tolist())]


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """Undo `pack_sequence`: the list of tensors (L_i, *) a `PackedSequence` holds, in the batch's order."""
    checked_packed(packed_sequences, "unpack_sequence")
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)


__all__ = ["PackedSequence", "pack_padded_sequence", "pack_sequence", "pad_packed_sequence", "pad_sequence",
           "unpack_sequence", "unpad_sequence"]
