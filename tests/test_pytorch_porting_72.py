"""Porting, round 72: PYTORCH'S OWN TESTS OF ITS RECURRENT LAYERS AND PACKED SEQUENCES, written as PyTorch wrote
them with only the imports changed (`# differs:` marks each other change and why):

1. pytorch/pytorch test/nn/test_packed_sequence.py (0157c9eea1c01749eb0853d2d4742fff6959607a): the whole
   `PackedSequenceTest` but `test_to_memory_format` (a Conv2d in channels_last, nothing of packing): type casts of
   a PackedSequence, `test_wrong_order`, `pad_sequence` of a tuple, a tensor and a non-iterable, `total_length`,
   `to()`/`cpu()`, `pad_sequence`, `unpad_sequence`, `pack_sequence`, `unpack_sequence` and
   `pack_padded_sequence` (data, batch sizes, indices, its inverse and its gradient, its error messages).
2. pytorch/pytorch test/test_nn.py (74f2fa66feec00335f72813782f4802e80bff4cb), the CPU parts of the recurrent
   tests round 39 did not port (round 39 ported test_RNN_cell_no_broadcasting, test_LSTM_cell and its size checks,
   test_rnn_args_check, test_rnn_initial_hidden_state, test_projections_errors_on_gru_and_rnn,
   test_error_RNN_seq_len_zero, test_RNN_input_size_zero, test_rnn_fused, through for-ai/portability):
   `test_RNN_nonlinearity`, `test_RNN_nonlinearity_passed_as_arg`, `test_cudnn_forward_exception` (it runs on the
   CPU: no skip), `test_rnn_weight_norm`, and the CPU halves (`cuda=False`) of `test_RNN_dropout`,
   `test_RNN_dropout_state`, `test_RNN_change_dropout` and `_test_RNN_cpu_vs_cudnn` (its `forward_backward` on
   the CPU, whose results PyTorch compares with cuDNN's: here with hand-written numpy and central differences).
   Left out: the cuDNN and multi-GPU tests (`test_rnn_check_device`, `test_pack_sequence_batch_sizes_throw`,
   `test_cudnn_weight_format`, `test_RNN_cudnn_weight_norm`, ...) and every `proj_size` test (`proj_size` is not
   here: docs/pytorch.md).
Every source was read in the index at the commit named; none was written from memory.

What broke (two gaps, both fixed with this round):
  G1. `packed.cpu()`, `packed.long()`, `packed.double()` (and `float`, `half`, `int`, `short`, `char`, `byte`)
      were AttributeErrors: PyTorch's PackedSequence has them, each `self.to(dtype=...)` (torch/nn/utils/rnn.py);
      test_type_casts and test_to call them. docs/pytorch.md said only `to()` was here; now they are
      (microgradseq/nn/utils/rnn.py), with `is_cuda` (False).
  G2. `lstm._flat_weights` was an AttributeError, and `_flat_weights_names` was `list(module._parameters)`, so
      after `weight_norm(lstm, name='weight_ih_l0')` it listed `weight_ih_l0_g` and `_v` and no longer the weight.
      PyTorch's RNNBase keeps both lists fixed by the layer's shape, `_flat_weights` holding each weight (the
      tensor weight_norm computes, not a Parameter, in its place): test_rnn_weight_norm counts the Parameters in
      it. Now both are properties of that shape (microgradseq/nn/layers.py).

Met and left as documented (docs/pytorch.md; the lines say `differs:`):
  - `.data` is the read-only numpy array (`packed.data.data`, `tensor.data.new(...)`, `padded.grad.data.zero_()`,
    `rnn.weight_ih_l0.data.fill_(1)`, `input_val.data.data.requires_grad_(True)`, `x.data.copy_(y.data)`);
    `.grad` is a numpy array.
  - A bad argument raises ValueError or TypeError where PyTorch raises RuntimeError, with the library's messages
    (pad_sequence of an int, an empty batch to pack, a hidden state or input of the wrong size, `total_length`;
    unsorted lengths are a RuntimeError in both); messages are matched on the library's words.
  - `t.type()` names numpy's dtype ("int32", not "torch.IntTensor"); `torch.save` of a module writes its state
    dict, so test_RNN_dropout_state loads it into a new RNN.
  - `nonlinearity='garbage'` says "nonlinearity must be 'tanh' or 'relu'", PyTorch's "Unknown nonlinearity".
Changed for reasons outside the library: `unittest.TestCase` in place of torch.testing._internal's TestCase,
`self.assertEqual` on tensors as numpy's assert_array_equal / assert_allclose, `@set_default_dtype(torch.double)`
as `dtype=torch.double` given to the layer and the tensors, and smaller sizes where the loops are long.
"""

import io
import itertools
import random
import unittest
from itertools import product

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from porting_references import central, np_gru_cell, np_lstm_cell

import microgradseq as torch
import microgradseq.nn as nn
import microgradseq.nn.utils.rnn as rnn_utils


def close(actual, desired):
    """PyTorch's assertEqual on float32 tensors: rtol 1.3e-6, atol 1e-5."""
    assert_allclose(actual, desired, rtol=1.3e-6, atol=1e-5)


def close64(actual, desired):
    """PyTorch's assertEqual on float64 tensors: rtol 1e-7, atol 1e-7."""
    assert_allclose(as_np(actual), as_np(desired), rtol=1e-7, atol=1e-7)


def as_np(value):
    """A tensor, a list of numbers or None as what numpy's assert functions compare."""
    if value is None:
        return None
    return np.asarray(value.detach().numpy() if isinstance(value, torch.Tensor) else value)


# ==== 1. test/nn/test_packed_sequence.py ===========================================================

class PackedSequenceTest(unittest.TestCase):
    _type_by_name = {
        "torch.DoubleTensor": (torch.DoubleTensor, "double"),
        "torch.FloatTensor": (torch.FloatTensor, "float"),
        # We leave out `'torch.HalfTensor': (torch.HalfTensor, 'half'),`
        # because of an error in `pad_packed_sequence`
        # > AttributeError: 'torch.HalfTensor' object has no attribute 'fill_'
        "torch.LongTensor": (torch.LongTensor, "long"),
        "torch.IntTensor": (torch.IntTensor, "int"),
        "torch.ShortTensor": (torch.ShortTensor, "short"),
        "torch.CharTensor": (torch.CharTensor, "char"),
        "torch.ByteTensor": (torch.ByteTensor, "byte"),
    }
    # differs: t.type() names numpy's dtype; the dtype each of PyTorch's names stands for
    _dtype_by_name = {"torch.DoubleTensor": np.float64, "torch.FloatTensor": np.float32,
                      "torch.LongTensor": np.int64, "torch.IntTensor": np.int32, "torch.ShortTensor": np.int16,
                      "torch.CharTensor": np.int8, "torch.ByteTensor": np.uint8}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.batch_size = 5
        self.max_length = 6

    def _ordered_sequence(self, tensor_type):
        """Create ordered list of random sequences"""
        seqs = [
            tensor_type(random.randint(1, self.max_length))
            for _ in range(self.batch_size)
        ]
        if tensor_type == torch.ByteTensor:
            seqs = [s.random_(0, 256) for s in seqs]
        else:
            seqs = [s.random_(-128, 128) for s in seqs]
        ordered = sorted(seqs, key=len, reverse=True)
        return ordered

    def _padded_sequence(self, tensor_type):
        """Create Tensor of random padded sequences"""
        ordered = self._ordered_sequence(tensor_type)
        lengths = [len(i) for i in ordered]
        padded_tensor = rnn_utils.pad_sequence(ordered)
        return padded_tensor, lengths

    def test_type_casts(self):
        """Test type casting of `PackedSequence` against type casting of tensor"""
        for input_type, _ in self._type_by_name.values():
            for expected_type_str, (_, cast_str) in self._type_by_name.items():
                for enforce_sorted in [True, False]:
                    padded, lengths = self._padded_sequence(input_type)
                    packed = rnn_utils.pack_padded_sequence(
                        padded, lengths, enforce_sorted=enforce_sorted
                    )
                    # Apply cast to `PackedSequence` instance and unpack
                    masked = getattr(packed, cast_str)()
                    unpacked, lengths_out = rnn_utils.pad_packed_sequence(masked)
                    # differs: t.type() is numpy's name ("int32"), so the dtype is compared
                    self.assertEqual(unpacked.dtype, self._dtype_by_name[expected_type_str])
                    # differs: added, the values cast as numpy casts the padded batch
                    assert_array_equal(as_np(unpacked), as_np(padded).astype(unpacked.dtype))

    def test_wrong_order(self):
        a = torch.ones(25, 300)
        b = torch.ones(22, 300)
        b_a = rnn_utils.pad_sequence([b, a])
        self.assertRaises(
            RuntimeError,
            lambda: rnn_utils.pack_padded_sequence(b_a, [22, 25], enforce_sorted=True),
        )

    def test_pad_sequence_with_tensor_sequences(self):
        seq_tuple_input = torch.nn.utils.rnn.pad_sequence(
            (torch.tensor([[7, 6]]), torch.tensor([[-7, -1]]))
        )
        seq_tensor_input = torch.nn.utils.rnn.pad_sequence(
            torch.tensor([[[7, 6]], [[-7, -1]]])
        )
        assert_array_equal(as_np(seq_tuple_input), as_np(seq_tensor_input))
        self.assertEqual(seq_tuple_input.shape, torch.Size([1, 2, 2]))
        assert_array_equal(as_np(seq_tuple_input), [[[7, 6], [-7, -1]]])   # differs: added, the values

    def test_pad_sequence_with_non_iterable_sequences(self):
        # differs: a TypeError in the library's words (PyTorch: RuntimeError "Expected iterable for input
        # sequences, but got arg of type: int")
        msg = r"pad_sequence: expected a list of tensors, got int"
        with self.assertRaisesRegex(TypeError, msg):
            torch.nn.utils.rnn.pad_sequence(5)

    def test_total_length(self):
        padded, lengths = self._padded_sequence(torch.FloatTensor)
        max_length = max(lengths)
        packed = rnn_utils.pack_padded_sequence(padded, lengths)
        # test ValueError if total_length < max_length
        for total_length in (-1, 0, max_length - 1):
            for batch_first in (True, False):

                def err_fn():
                    rnn_utils.pad_packed_sequence(
                        packed, batch_first=batch_first, total_length=total_length
                    )

            # differs: the library's words (PyTorch: "Expected total_length to be at least the length of the
            # longest sequence in input")
            self.assertRaisesRegex(
                ValueError,
                r"pad_packed_sequence: expected total_length of at least the "
                r"longest sequence's \d+ steps",
                err_fn,
            )
        # test that pad_packed_sequence returns results of correct length
        for batch_first in (True, False):
            no_extra_pad, _ = rnn_utils.pad_packed_sequence(
                packed, batch_first=batch_first
            )
            for total_length_delta in (0, 1, 8):
                total_length = max_length + total_length_delta
                unpacked, lengths_out = rnn_utils.pad_packed_sequence(
                    packed, batch_first=batch_first, total_length=total_length
                )
                assert_array_equal(lengths, as_np(lengths_out))
                self.assertEqual(unpacked.size(1 if batch_first else 0), total_length)
                if total_length_delta == 0:
                    ref_output = no_extra_pad
                elif batch_first:
                    extra_pad = no_extra_pad.new_zeros(
                        self.batch_size, total_length_delta
                    )
                    ref_output = torch.cat([no_extra_pad, extra_pad], 1)
                else:
                    extra_pad = no_extra_pad.new_zeros(
                        total_length_delta, self.batch_size
                    )
                    ref_output = torch.cat([no_extra_pad, extra_pad], 0)
                assert_array_equal(as_np(unpacked), as_np(ref_output))
                # differs: added, against the padded batch itself
                expected = np.concatenate([as_np(padded), np.zeros((total_length_delta, self.batch_size))], 0)
                assert_array_equal(as_np(unpacked), expected.T if batch_first else expected)

    def test_to(self):
        for enforce_sorted in (True, False):
            padded, lengths = self._padded_sequence(torch.IntTensor)
            a = rnn_utils.pack_padded_sequence(
                padded, lengths, enforce_sorted=enforce_sorted
            ).cpu()

            self.assertIs(a, a.to("cpu"))
            self.assertIs(a, a.cpu())
            self.assertIs(a, a.to("cpu", dtype=torch.int32))
            # differs: assertEqual of two PackedSequences, field by field
            for got, want in zip(a.long(), a.to(torch.int64)):
                assert_array_equal(as_np(got), as_np(want))
            self.assertEqual(a.long().data.dtype, np.int64)   # differs: added

            if torch.cuda.is_available():   # differs: False here; the CUDA half is left out
                raise AssertionError("no CUDA here")

    def test_pad_sequence(self):
        def pad(tensor, length):
            return torch.cat(
                [
                    tensor,   # differs: `tensor.data` is the numpy array
                    tensor.new(   # differs: `tensor.data.new`, as above
                        length - tensor.size(0), *tensor.size()[1:]
                    ).zero_(),
                ]
            )

        # single dimensional
        a = torch.tensor([1, 2, 3])
        b = torch.tensor([4, 5])
        c = torch.tensor([6])

        # batch_first = true
        expected = torch.tensor([[4, 5, 0], [1, 2, 3], [6, 0, 0]])
        padded = rnn_utils.pad_sequence([b, a, c], True)
        assert_array_equal(as_np(padded), as_np(expected))

        # batch_first = false
        padded = rnn_utils.pad_sequence([b, a, c])
        assert_array_equal(as_np(padded), as_np(expected.transpose(0, 1)))

        # pad with non-zero value
        expected = torch.tensor([[4, 5, 1], [1, 2, 3], [6, 1, 1]])
        padded = rnn_utils.pad_sequence([b, a, c], True, 1)
        assert_array_equal(as_np(padded), as_np(expected))

        # Test pad sorted sequence
        expected = torch.tensor([[1, 2, 3], [4, 5, 0], [6, 0, 0]])
        padded = rnn_utils.pad_sequence([a, b, c], True)
        assert_array_equal(as_np(padded), as_np(expected))

        # more dimensions
        maxlen = 9
        for num_dim in (0, 1, 2, 3):
            sequences = []
            trailing_dims = [4] * num_dim
            for i in range(1, maxlen + 1):
                seq_len = i * i
                sequences.append(torch.rand(seq_len, 5, *trailing_dims))
            random.shuffle(sequences)
            expected = []
            for seq in sequences:
                expected.append(pad(seq, maxlen * maxlen))
            # batch first = true
            expected = torch.stack(expected)
            padded = rnn_utils.pad_sequence(sequences, True)
            assert_array_equal(as_np(padded), as_np(expected))

            # batch first = false
            padded = rnn_utils.pad_sequence(sequences)
            assert_array_equal(as_np(padded), as_np(expected.transpose(0, 1)))

    def test_unpad_sequence(self):
        # single dimensional
        a = torch.tensor([1, 2, 3])
        b = torch.tensor([4, 5])
        c = torch.tensor([6])
        sequences = [a, b, c]

        lengths = torch.as_tensor([v.size(0) for v in sequences])
        for batch_first in [True, False]:
            padded_sequences = rnn_utils.pad_sequence(
                sequences, batch_first=batch_first
            )
            unpadded_sequences = rnn_utils.unpad_sequence(
                padded_sequences, lengths, batch_first=batch_first
            )
            # differs: assertEqual of two lists of tensors, one by one
            self.assertEqual(len(sequences), len(unpadded_sequences))
            for want, got in zip(sequences, unpadded_sequences):
                assert_array_equal(as_np(got), as_np(want))

        # more dimensions
        maxlen = 9
        for num_dim in (0, 1, 2, 3):
            sequences = []
            trailing_dims = [4] * num_dim
            for i in range(1, maxlen + 1):
                seq_len = i * i
                sequences.append(torch.rand(seq_len, 5, *trailing_dims))
            random.shuffle(sequences)

            lengths = torch.as_tensor([v.size(0) for v in sequences])
            padded_sequences = rnn_utils.pad_sequence(
                sequences, batch_first=batch_first
            )
            unpadded_sequences = rnn_utils.unpad_sequence(
                padded_sequences, lengths, batch_first=batch_first
            )
            self.assertEqual(len(sequences), len(unpadded_sequences))   # differs: as above
            for want, got in zip(sequences, unpadded_sequences):
                assert_array_equal(as_np(got), as_np(want))

    def test_pack_sequence(self):
        def _compatibility_test(sequences, lengths, batch_first, enforce_sorted=False):
            padded = rnn_utils.pad_sequence(sequences, batch_first)
            packed = rnn_utils.pack_sequence(sequences, enforce_sorted)
            unpacked = rnn_utils.pad_packed_sequence(packed, batch_first)
            assert_array_equal(as_np(padded), as_np(unpacked[0]))
            pack_padded = rnn_utils.pack_padded_sequence(
                padded, lengths, batch_first, enforce_sorted
            )
            for got, want in zip(packed, pack_padded):   # differs: two PackedSequences, field by field
                assert_array_equal(as_np(got), as_np(want))

        # single dimensional
        a = torch.tensor([1, 2, 3])
        b = torch.tensor([4, 5])
        c = torch.tensor([6])
        packed = rnn_utils.pack_sequence([a, b, c], enforce_sorted=False)
        expected = torch.tensor([1, 4, 6, 2, 5, 3])
        assert_array_equal(as_np(packed.batch_sizes), [3, 2, 1])
        assert_array_equal(packed.data.data, as_np(expected))   # `.data.data` is the numpy array here
        assert_array_equal(as_np(packed.sorted_indices), [0, 1, 2])
        assert_array_equal(as_np(packed.unsorted_indices), [0, 1, 2])

        packed_unsorted = rnn_utils.pack_sequence([b, c, a], enforce_sorted=False)
        assert_array_equal(as_np(packed_unsorted.batch_sizes), [3, 2, 1])
        assert_array_equal(packed_unsorted.data.data, as_np(expected))
        assert_array_equal(as_np(packed_unsorted.sorted_indices), [2, 0, 1])
        assert_array_equal(as_np(packed_unsorted.unsorted_indices), [1, 2, 0])

        # single dimensional, enforce_sorted = True
        packed_enforce_sorted = rnn_utils.pack_sequence([a, b, c], enforce_sorted=True)
        assert_array_equal(as_np(packed_enforce_sorted.batch_sizes), [3, 2, 1])
        assert_array_equal(packed_enforce_sorted.data.data, as_np(expected))
        self.assertTrue(packed_enforce_sorted.sorted_indices is None)
        self.assertTrue(packed_enforce_sorted.unsorted_indices is None)

        # differs: the library's words (PyTorch: "must be sorted in decreasing order")
        with self.assertRaisesRegex(RuntimeError, "expected lengths sorted longest first"):
            rnn_utils.pack_sequence([b, c, a], enforce_sorted=True)

        with self.assertRaisesRegex(
            RuntimeError, "pass enforce_sorted=False"   # differs: PyTorch: "You can pass `enforce_sorted=False`"
        ):
            rnn_utils.pack_sequence([b, c, a], enforce_sorted=True)

        # more dimensions
        maxlen = 9
        for num_dim in (0, 1, 2, 3):
            sequences = []
            lengths = []
            trailing_dims = [4] * num_dim
            for i in range(maxlen, 0, -1):
                seq_len = i * i
                lengths.append(seq_len)
                sequences.append(torch.rand(seq_len, 5, *trailing_dims))
            unsorted_sequences = [s.clone() for s in sequences]
            random.shuffle(unsorted_sequences)
            unsorted_sequences_lengths = [t.size(0) for t in unsorted_sequences]

            # compatibility with other utilities
            for batch_first in (True, False):
                for enforce_sorted in (True, False):
                    _compatibility_test(sequences, lengths, batch_first, enforce_sorted)
                _compatibility_test(
                    unsorted_sequences, unsorted_sequences_lengths, batch_first
                )

    def test_unpack_sequence(self):
        # single dimensional
        a = torch.tensor([1, 2, 3])
        b = torch.tensor([4, 5])
        c = torch.tensor([6])
        sequences = [a, b, c]

        packed_sequences = rnn_utils.pack_sequence(sequences, enforce_sorted=False)
        unpacked_sequences = rnn_utils.unpack_sequence(packed_sequences)
        self.assertEqual(len(sequences), len(unpacked_sequences))   # differs: lists of tensors, one by one
        for want, got in zip(sequences, unpacked_sequences):
            assert_array_equal(as_np(got), as_np(want))

        # more dimensions
        maxlen = 9
        for num_dim in (0, 1, 2, 3):
            sequences = []
            trailing_dims = [4] * num_dim
            for i in range(1, maxlen + 1):
                seq_len = i * i
                sequences.append(torch.rand(seq_len, 5, *trailing_dims))
            random.shuffle(sequences)

            packed_sequences = rnn_utils.pack_sequence(sequences, enforce_sorted=False)
            unpacked_sequences = rnn_utils.unpack_sequence(packed_sequences)
            self.assertEqual(len(sequences), len(unpacked_sequences))   # differs: as above
            for want, got in zip(sequences, unpacked_sequences):
                assert_array_equal(as_np(got), as_np(want))

    def test_pack_padded_sequence(self):
        def generate_test_case(sorted_lengths, should_shuffle):
            def pad(tensor, length):
                return torch.cat(
                    [
                        tensor,
                        tensor.new(length - tensor.size(0), *tensor.size()[1:]).zero_(),
                    ]
                )

            max_length = sorted_lengths[0]
            batch_sizes = [
                sum(map(bool, filter(lambda x: x >= i, sorted_lengths)))
                for i in range(1, max_length + 1)
            ]
            offset = 0
            padded = torch.cat(
                [
                    pad(
                        i * 100 + torch.arange(1.0, 5 * l + 1).view(l, 1, 5), max_length
                    )
                    for i, l in enumerate(sorted_lengths, 1)
                ],
                1,
            )
            expected_data = [
                [
                    torch.arange(1.0, 6) + (i + 1) * 100 + 5 * n
                    for i in range(batch_size)
                ]
                for n, batch_size in enumerate(batch_sizes)
            ]
            expected_data = list(itertools.chain.from_iterable(expected_data))
            expected_data = torch.stack(expected_data, dim=0)

            if should_shuffle:
                # Shuffle the padded sequence to create an unsorted sequence
                permutation = list(range(len(sorted_lengths)))
                random.shuffle(permutation)

                unsorted_indices = torch.tensor(permutation)
                padded = padded.index_select(1, unsorted_indices)
                lengths = torch.tensor(sorted_lengths).index_select(0, unsorted_indices)
            else:
                unsorted_indices = None
                lengths = sorted_lengths

            return (
                padded.requires_grad_(),
                lengths,
                expected_data,
                batch_sizes,
                unsorted_indices,
            )

        test_cases = [
            # sorted_lengths, should_shuffle
            [[10, 8, 4, 2, 2, 2, 1], False],
            [[11, 10, 8, 6, 4, 3, 1], False],
            [[11, 10, 8, 6, 4, 3, 1], True],
        ]

        for test_case, batch_first in itertools.product(test_cases, (True, False)):
            sorted_lengths, should_shuffle = test_case
            (
                padded,
                lengths,
                expected_data,
                batch_sizes,
                unsorted_indices,
            ) = generate_test_case(sorted_lengths, should_shuffle)

            src = padded
            if batch_first:
                src = src.transpose(0, 1)

            # check output
            packed = rnn_utils.pack_padded_sequence(
                src, lengths, batch_first=batch_first, enforce_sorted=not should_shuffle
            )
            assert_array_equal(packed.data.data, as_np(expected_data))
            assert_array_equal(as_np(packed.batch_sizes), batch_sizes)
            assert_array_equal(as_np(packed.unsorted_indices), as_np(unsorted_indices))

            # test inverse
            unpacked, unpacked_len = rnn_utils.pad_packed_sequence(
                packed, batch_first=batch_first
            )
            assert_array_equal(as_np(unpacked), as_np(src))
            assert_array_equal(as_np(unpacked_len), as_np(lengths))

            # check grad
            if padded.grad is not None:
                padded.grad = None   # differs: `padded.grad.data.zero_()`; `.grad` is a numpy array here
            grad_output = torch.randn_like(unpacked)   # differs: `unpacked.data.clone().normal_()`, as above
            unpacked.backward(grad_output)
            if batch_first:
                grad_output = grad_output.transpose(0, 1)   # differs: `grad_output.transpose_(0, 1)`
            for i, l in enumerate(lengths):
                l = int(l)   # differs: a 0-d tensor as a numpy slice bound
                assert_array_equal(padded.grad[:l, i], as_np(grad_output[:l, i]))   # differs: `.grad.data`
                if l < 10:
                    self.assertEqual(abs(padded.grad[l:, i]).sum(), 0)

        # test error messages
        with self.assertRaisesRegex(
            RuntimeError, "pass enforce_sorted=False"   # differs: the library's words, as above
        ):
            packed = rnn_utils.pack_padded_sequence(torch.randn(3, 3), [1, 3, 2])
        # differs: a ValueError in the library's words (PyTorch: RuntimeError "... empty tensor")
        with self.assertRaisesRegex(ValueError, "with at least one step and one sequence"):
            packed = rnn_utils.pack_padded_sequence(torch.randn(0, 0), [])
        with self.assertRaisesRegex(ValueError, "with at least one step and one sequence"):
            packed = rnn_utils.pack_padded_sequence(
                torch.randn([0, 1, 10]), torch.randn([11, 14, 14, 2]), True
            )


def test_pack_padded_sequence_data_against_numpy_written_here():
    """Added: the packed rows of a batch made in numpy, step by step, longest first, for an unsorted batch."""
    rng = np.random.default_rng(72)
    lengths = [3, 5, 1, 4]
    padded = rng.standard_normal((5, 4, 2))
    packed = rnn_utils.pack_padded_sequence(torch.tensor(padded), lengths, enforce_sorted=False)
    order = np.argsort([-n for n in lengths], kind="stable")
    rows = [padded[t, b] for t in range(5) for b in order if lengths[b] > t]
    assert_array_equal(packed.data.numpy(), np.array(rows))
    assert_array_equal(packed.batch_sizes.numpy(), [4, 3, 3, 2, 1])
    assert_array_equal(packed.sorted_indices.numpy(), order)
    assert_array_equal(packed.unsorted_indices.numpy(), np.argsort(order))


# ==== 2. test/test_nn.py: the recurrent layers' CPU tests ===========================================

class TestNN(unittest.TestCase):
    def test_RNN_nonlinearity(self):
        rnn = torch.nn.RNN(1, 10)
        self.assertEqual(rnn.nonlinearity, 'tanh')

        rnn = torch.nn.RNN(1, 10, nonlinearity='relu')
        self.assertEqual(rnn.nonlinearity, 'relu')

        # differs: the library's words (PyTorch: "Unknown nonlinearity 'garbage'...")
        with self.assertRaisesRegex(ValueError, "nonlinearity must be 'tanh' or 'relu', got 'garbage'"):
            rnn = torch.nn.RNN(1, 10, nonlinearity='garbage')

    def test_RNN_nonlinearity_passed_as_arg(self):
        rnn = torch.nn.RNN(2, 3, 1, 'relu')
        self.assertEqual(rnn.nonlinearity, 'relu')

    def test_cudnn_forward_exception(self):
        rnns = [
            (nn.LSTM(10, 20, batch_first=True), (torch.zeros(1, 2, 19), torch.zeros(1, 2, 19))),
            # differs: the proj_size=10 LSTM is left out (no proj_size here, docs/pytorch.md)
            (nn.GRU(10, 20, batch_first=True), torch.zeros(1, 2, 19)),
            (nn.RNN(10, 20, batch_first=True), torch.zeros(1, 2, 19)),
        ]
        x_wrong = torch.randn(2, 3, 3)
        x_right = torch.randn(2, 3, 10)
        for rnn, hidden in rnns:
            # differs: ValueErrors in the library's words (PyTorch: RuntimeError "Expected hidden size (1, 2, 20),
            # got [1, 2, 19]" and "input.size(-1) must be equal to input_size. Expected 10, got 3")
            self.assertRaisesRegex(ValueError, r"expected h0 of shape \(1, 2, 20\), got \(1, 2, 19\)",
                                   rnn, x_right, hidden)
            self.assertRaisesRegex(ValueError, r"expected input of shape .* with I = 10, got \(2, 3, 3\)",
                                   rnn, x_wrong)

    def test_rnn_weight_norm(self):
        def check_weight_norm(l, name, num_params):
            # This Module has 4 or 5 parameters called:
            # 'weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0', weight_hr_l0

            # Applying weight norm on one of them causes it to become a tensor
            l = torch.nn.utils.weight_norm(l, name=name)
            self.assertEqual(
                sum(isinstance(p, torch.nn.Parameter) for p in l._flat_weights),
                num_params - 1,
            )

            # Removing the weight norm reparametrization restores the Parameter
            l = torch.nn.utils.remove_weight_norm(l, name=name)
            self.assertEqual(
                sum(isinstance(p, torch.nn.Parameter) for p in l._flat_weights),
                num_params,
            )

            # Make sure that, upon removal of the reparametrization, the
            # `._parameters` and `.named_parameters` contain the right params.
            # Specifically, the original weight ('weight_ih_l0') should be placed
            # back in the parameters, while the reparametrization components
            # ('weight_ih_l0_v' and 'weight_ih_l0_g') should be removed.
            self.assertTrue(name in l._parameters)
            self.assertIsNotNone(l._parameters[name])
            self.assertTrue(name + '_v' not in l._parameters)
            self.assertTrue(name + '_g' not in l._parameters)
            self.assertTrue(name in dict(l.named_parameters()))
            self.assertIsNotNone(dict(l.named_parameters())[name])
            self.assertTrue(name + '_v' not in dict(l.named_parameters()))
            self.assertTrue(name + '_g' not in dict(l.named_parameters()))

        check_weight_norm(torch.nn.LSTM(32, 32), 'weight_ih_l0', 4)
        # differs: the proj_size=16 LSTM ('weight_hr_l0') is left out (no proj_size here)

    # @unittest.skipIf(not TEST_CUDNN, "needs cudnn") and @set_default_dtype(torch.double): differs, the CPU half
    # runs, in float64 by dtype= (below)
    def test_RNN_dropout(self):
        # checking the assumption that cuDNN sticks dropout in between
        # RNN layers
        for p in (0, 0.276, 0.731, 1):
            for train in (True, False):
                for cuda in (False,):   # differs: (True, False); CPU only
                    rnn = nn.RNN(10, 1000, 2, bias=False, dropout=p, nonlinearity='relu',
                                 dtype=torch.double)   # differs: dtype= for @set_default_dtype(torch.double)
                    if cuda:
                        rnn.cuda()

                    if train:
                        rnn.train()
                    else:
                        rnn.eval()
                    # differs: `rnn.weight_ih_l0.data.fill_(1)` and the three others: `.data` is numpy here
                    for weight in (rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.weight_ih_l1, rnn.weight_hh_l1):
                        nn.init.constant_(weight, 1)
                    input = torch.ones(1, 1, 10, dtype=torch.double)
                    hx = torch.zeros(2, 1, 1000, dtype=torch.double)
                    if cuda:
                        input = input.cuda()
                        hx = hx.cuda()

                    output, hy = rnn(input, hx)
                    self.assertEqual(output.data.min(), output.data.max())
                    output_val = output.data[0][0][0]
                    if p == 0 or not train:
                        self.assertEqual(output_val, 10000)
                    elif p == 1:
                        self.assertEqual(output_val, 0)
                    else:
                        self.assertGreater(output_val, 8000)
                        self.assertLess(output_val, 12000)
                        denorm_mod = (output_val * (1 - p)) % 10
                        self.assertLess(min(denorm_mod, 10 - denorm_mod), 1e-2)

                    self.assertEqual(hy[0].data.min(), hy[0].data.max())
                    self.assertEqual(hy[1].data.min(), hy[1].data.max())
                    self.assertEqual(hy.data[0][0][0], 10)
                    self.assertEqual(hy.data[1][0][0], output_val)

    # @unittest.skipIf(not TEST_CUDNN, "needs cudnn"): differs, the CPU half runs; sizes 100 kept
    def test_RNN_dropout_state(self):
        for p in (0, 0.1234):
            for train in (True, False):
                for cuda in (False,):   # differs: (True, False); CPU only
                    rnn = nn.RNN(100, 100, 2, bias=False, dropout=p, nonlinearity='relu')
                    if cuda:
                        rnn.cuda()

                    if train:
                        rnn.train()
                    else:
                        rnn.eval()
                    input = torch.rand(1, 1, 100)
                    hx = torch.rand(2, 1, 100)
                    if cuda:
                        input = input.cuda()
                        hx = hx.cuda()

                    output1, hy1 = rnn(input, hx)
                    output2, hy2 = rnn(input, hx)

                    buf = io.BytesIO()
                    rnn_pickle = torch.save(rnn, buf)
                    buf.seek(0)
                    # weights_only=False as this is legacy code that saves the model
                    # differs: torch.save of a module writes its state dict (docs/pytorch.md): load it into a new RNN
                    rnn2 = nn.RNN(100, 100, 2, bias=False, dropout=p, nonlinearity='relu')
                    rnn2.load_state_dict(torch.load(buf, weights_only=False))
                    rnn2.train(train)   # differs: a loaded PyTorch module keeps its mode; the new one gets it
                    rnn2.flatten_parameters()
                    output3, hy3 = rnn2(input, hx)

                    if p == 0 or not train:
                        # differs: assertEqual's float32 tolerance (rtol 1.3e-6, atol 1e-5), as numpy's
                        # assert_allclose
                        close(as_np(output1), as_np(output2))
                        close(as_np(output1), as_np(output3))
                        close(as_np(hy1), as_np(hy2))
                        close(as_np(hy1), as_np(hy3))
                    else:
                        self.assertFalse(np.array_equal(as_np(output1), as_np(output2)))
                        self.assertFalse(np.array_equal(as_np(output1), as_np(output3)))
                        self.assertFalse(np.array_equal(as_np(hy1), as_np(hy2)))
                        self.assertFalse(np.array_equal(as_np(hy1), as_np(hy3)))

    # @unittest.skipIf(not TEST_CUDNN, "needs cudnn"), @set_default_dtype(torch.double): differs, as above
    def test_RNN_change_dropout(self):
        for train, cuda in product((True, False), (False,)):   # differs: repeat=2; CPU only
            rnn = nn.RNN(100, 100, 2, dropout=0, nonlinearity='relu', dtype=torch.double)
            input = torch.rand(3, 2, 100, dtype=torch.double)
            if cuda:
                input.data = input.data.cuda()
                rnn.cuda()

            if train:
                rnn.train()
            else:
                rnn.eval()

            prev_output = None
            # differs: assertEqual as numpy's assert_allclose with its float64 tolerance (close64)
            for p in (0, 0.5, 0, 0.7, 0.2, 1, 0.2, 0):
                rnn.dropout = p
                output1, hy1 = rnn(input)
                output2, hy2 = rnn(input)

                if p == 0 or p == 1 or not train:
                    close64(as_np(output1), as_np(output2))
                    close64(as_np(hy1), as_np(hy2))
                else:
                    self.assertFalse(np.array_equal(as_np(output1), as_np(output2)))
                    self.assertFalse(np.array_equal(as_np(hy1), as_np(hy2)))

                if prev_output is not None:
                    if not train:
                        close64(output1.data, prev_output)
                        close64(output2.data, prev_output)
                    else:
                        self.assertFalse(np.array_equal(output1.data, prev_output))
                        self.assertFalse(np.array_equal(output2.data, prev_output))
                prev_output = output1.data


# ---- _test_RNN_cpu_vs_cudnn's forward_backward on the CPU, against numpy ----------------------------

def forward_backward(cuda, rnn, input_val, grad_output, weights_val, hx_val, grad_hy,
                     cx_val=None, grad_cy=None):
    """test_nn.py's `forward_backward` (inside `_test_RNN_cpu_vs_cudnn`), as written but for the lines marked."""
    is_lstm = isinstance(rnn, nn.LSTM)

    for x_layer, y_layer in zip(rnn.all_weights, weights_val):
        for x, y in zip(x_layer, y_layer):
            with torch.no_grad():   # differs: `x.data.copy_(y.data)`; `.data` is the numpy array here
                x.copy_(y)

    if isinstance(input_val, rnn_utils.PackedSequence):
        input = rnn_utils.PackedSequence(
            input_val.data.detach().requires_grad_(True), input_val.batch_sizes)   # differs: `.data.data`
        input_var = input.data
    else:
        input = input_val.clone().requires_grad_(True)
        input_var = input
    if is_lstm:
        if cx_val is None:
            hx = (hx_val.clone().requires_grad_(True),
                  hx_val.add(1).requires_grad_(True))
        else:
            hx = (hx_val.clone().requires_grad_(True),
                  cx_val.add(1).requires_grad_(True))
    else:
        hx = hx_val.clone().requires_grad_(True)

    if cuda:   # differs: the CUDA lines are left out (False here)
        raise AssertionError("no CUDA here")

    output, hy = rnn(input, hx)

    if isinstance(output, rnn_utils.PackedSequence):
        output = output.data

    if is_lstm:
        if grad_cy is None:
            torch.autograd.backward([output, hy[0], hy[1]], [grad_output, grad_hy, grad_hy + 1])
        else:
            torch.autograd.backward([output, hy[0], hy[1]], [grad_output, grad_hy, grad_cy + 1])
    else:
        torch.autograd.backward([output, hy], [grad_output, grad_hy])

    # differs: `.grad` is the numpy array (PyTorch's `input_var.grad.data`)
    return {'output': output.data,
            'hy': hy[0].data if is_lstm else hy.data,
            'weights': rnn.all_weights,
            'grad_input': input_var.grad,
            'grad_hx': hx[0].grad if is_lstm else hx.grad,
            'cy': hy[1].data if is_lstm else None,
            'grad_cx': hx[1].grad if is_lstm else None}


def np_rnn(mode, weights, x, lengths, h0, c0, num_layers, directions, nonlinearity="tanh"):
    """Written here: a stacked (bidirectional) RNN/GRU/LSTM in numpy, each sequence b over its own lengths[b]
    steps of x (T, B, I) (the reverse direction from its own last step), as PyTorch's packed layers run.
    weights: per layer and direction [w_ih, w_hh, b_ih, b_hh] (biases may be absent). Returns the padded
    output (T, B, D*H) (zeros past each end), h_n and c_n (num_layers * D, B, H)."""
    steps, batch = x.shape[:2]
    hidden = h0.shape[-1]
    act = np.tanh if nonlinearity == "tanh" else (lambda z: np.maximum(z, 0))
    out = np.zeros((steps, batch, directions * hidden))
    h_n, c_n = np.zeros_like(h0), np.zeros_like(h0)
    for b in range(batch):
        n = lengths[b]
        layer_in = x[:n, b]
        for k in range(num_layers):
            outs = []
            for d in range(directions):
                w = weights[k * directions + d]
                w_ih, w_hh = w[0], w[1]
                b_ih, b_hh = (w[2], w[3]) if len(w) == 4 else (0.0, 0.0)
                h, c = h0[k * directions + d, b], c0[k * directions + d, b] if c0 is not None else None
                seq = np.zeros((n, hidden))
                for t in (range(n - 1, -1, -1) if d else range(n)):
                    if mode == "LSTM":
                        h, c = np_lstm_cell(layer_in[t], h, c, w_ih, w_hh, b_ih, b_hh)
                    elif mode == "GRU":
                        h = np_gru_cell(layer_in[t], h, w_ih, w_hh, b_ih, b_hh)
                    else:
                        h = act(layer_in[t] @ w_ih.T + b_ih + h @ w_hh.T + b_hh)
                    seq[t] = h
                outs.append(seq)
                h_n[k * directions + d, b] = h
                if c is not None:
                    c_n[k * directions + d, b] = c
            layer_in = np.concatenate(outs, axis=-1)
        out[:n, b] = layer_in
    return out, h_n, c_n


def packed_rows(padded, lengths):
    """The rows of a sorted padded batch (T, B, *) in packed order: step by step, the sequences that have it."""
    return np.array([padded[t, b] for t in range(padded.shape[0]) for b in range(padded.shape[1]) if lengths[b] > t])


@pytest.mark.parametrize("module, bias, bidirectional, batch_first, lens_as_tensor", [
    (nn.RNN, True, False, False, False), (nn.RNN, False, True, True, True),
    (nn.GRU, True, True, False, True), (nn.GRU, False, False, True, False),
    (nn.LSTM, True, False, True, True), (nn.LSTM, True, True, False, False),
])
def test_RNN_cpu_forward_backward_packed_against_numpy(module, bias, bidirectional, batch_first, lens_as_tensor):
    """`_test_RNN_cpu_vs_cudnn(0)`'s loop body with `variable_len`, its CPU half: forward_backward's outputs and
    gradients, which PyTorch compares with cuDNN's, compared with numpy written here (outputs, h_n, c_n) and
    central differences of the same loss in numpy (input and h0 gradients). Sizes and lengths as PyTorch's."""
    dtype = torch.double
    input_size, hidden_size, num_layers, seq_length, batch = 10, 6, 2, 7, 6
    num_directions = 2 if bidirectional else 1
    if batch_first:
        input_val = torch.randn(batch, seq_length, input_size, dtype=dtype)
        grad_output = torch.randn(batch, seq_length, hidden_size * num_directions, dtype=dtype)
    else:
        input_val = torch.randn(seq_length, batch, input_size, dtype=dtype)
        grad_output = torch.randn(seq_length, batch, hidden_size * num_directions, dtype=dtype)
    hx_val = torch.randn(num_layers * num_directions, batch, hidden_size, dtype=dtype)
    grad_hy = torch.randn(num_layers * num_directions, batch, hidden_size, dtype=dtype)
    lengths = [7, 5, 5, 2, 1, 1]
    if lens_as_tensor:
        lengths = torch.tensor(lengths, dtype=torch.long)
    padded_np = as_np(input_val)   # differs: kept for numpy before packing
    input_val = rnn_utils.pack_padded_sequence(input_val, lengths, batch_first=batch_first)
    grad_output = rnn_utils.pack_padded_sequence(grad_output, lengths, batch_first=batch_first).data
    rnn = module(input_size, hidden_size, num_layers, bias=bias, dropout=0,
                 bidirectional=bidirectional, batch_first=batch_first).to(dtype)
    outputs_cpu = forward_backward(False, rnn, input_val, grad_output, rnn.all_weights, hx_val, grad_hy)

    # written here: the same in numpy
    lens = [7, 5, 5, 2, 1, 1]
    x = padded_np.transpose(1, 0, 2) if batch_first else padded_np
    weights = [[as_np(w) for w in layer] for layer in rnn.all_weights]
    mode = module.__name__
    h0, g_out, g_hy = as_np(hx_val), as_np(grad_output), as_np(grad_hy)
    c0 = h0 + 1 if mode == "LSTM" else None

    def run(x, h0):
        out, h_n, c_n = np_rnn(mode, weights, x, lens, h0, None if c0 is None else h0 + 1, num_layers,
                               num_directions)
        return packed_rows(out, lens), h_n, c_n

    def loss(x, h0):
        out, h_n, c_n = run(x, h0)
        return (out * g_out).sum() + (h_n * g_hy).sum() + ((c_n * (g_hy + 1)).sum() if mode == "LSTM" else 0)

    out, h_n, c_n = run(x, h0)
    assert_allclose(outputs_cpu['output'], out, rtol=1e-10, atol=1e-12)
    assert_allclose(outputs_cpu['hy'], h_n, rtol=1e-10, atol=1e-12)
    if mode == "LSTM":
        assert_allclose(outputs_cpu['cy'], c_n, rtol=1e-10, atol=1e-12)
    picks = [(0, 0, 3), (4, 1, 0), (1, 3, 9), (0, 5, 2), (6, 0, 7), (2, 2, 5)]
    rows = {(t, b): r for r, (t, b) in enumerate((t, b) for t in range(7) for b in range(6) if lens[b] > t)}
    numeric = central(lambda v: loss(v, h0), x, picks)
    assert_allclose([outputs_cpu['grad_input'][rows[t, b], i] for t, b, i in picks], numeric, rtol=1e-6, atol=1e-8)
    picks_h = [(0, 0, 0), (num_layers * num_directions - 1, 4, 5), (1, 2, 3)]
    numeric_h = central(lambda v: loss(x, v), h0, picks_h)
    grad_h0 = outputs_cpu['grad_hx'] + (outputs_cpu['grad_cx'] if mode == "LSTM" else 0)   # c0 = h0 + 1 too
    assert_allclose([grad_h0[p] for p in picks_h], numeric_h, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_RNN_cpu_forward_backward_nonlinearity_against_numpy(nonlinearity):
    """`_test_RNN_cpu_vs_cudnn`'s last loop (`for nonlinearity in ('tanh', 'relu')`: an unpacked 2-layer RNN),
    its CPU half, against numpy written here and central differences of the weights' gradient."""
    dtype = torch.double
    input_size, hidden_size, num_layers, seq_length, batch, num_directions, bias = 10, 6, 2, 7, 6, 1, True
    hx_val = torch.randn(num_layers, batch, hidden_size, dtype=dtype)
    input_val = torch.randn(seq_length, batch, input_size, dtype=dtype)
    grad_output = torch.randn(
        seq_length, batch, hidden_size * num_directions, dtype=dtype)
    grad_hy = torch.randn(
        num_layers * num_directions, batch, hidden_size, dtype=dtype)

    rnn = nn.RNN(input_size, hidden_size, num_layers, bias=bias, nonlinearity=nonlinearity).to(dtype)
    outputs_cpu = forward_backward(False, rnn, input_val, grad_output, rnn.all_weights, hx_val, grad_hy)

    weights = [[as_np(w) for w in layer] for layer in rnn.all_weights]
    x, h0, g_out, g_hy = as_np(input_val), as_np(hx_val), as_np(grad_output), as_np(grad_hy)
    lens = [seq_length] * batch
    out, h_n, _ = np_rnn("RNN", weights, x, lens, h0, None, num_layers, 1, nonlinearity)
    assert_allclose(outputs_cpu['output'], out, rtol=1e-10, atol=1e-12)
    assert_allclose(outputs_cpu['hy'], h_n, rtol=1e-10, atol=1e-12)

    def loss_of_weight(value):
        changed = [list(layer) for layer in weights]
        changed[1][1] = value                       # weight_hh_l1
        o, h, _ = np_rnn("RNN", changed, x, lens, h0, None, num_layers, 1, nonlinearity)
        return (o * g_out).sum() + (h * g_hy).sum()

    picks = [(0, 0), (3, 5), (5, 2)]
    numeric = central(loss_of_weight, weights[1][1], picks)
    assert_allclose([rnn.weight_hh_l1.grad[p] for p in picks], numeric, rtol=1e-6, atol=1e-8)


def test_RNN_dropout_value_against_the_closed_form():
    """Added to test_RNN_dropout: with every weight 1, a ones input and a zero state, layer 0's relu gives 10 in
    each of the 1000 units, and layer 1's output is 10 * (number of units dropout kept) / (1 - p): a multiple of
    10 / (1 - p), the kept count between 0 and 1000."""
    p = 0.276
    rnn = nn.RNN(10, 1000, 2, bias=False, dropout=p, nonlinearity='relu', dtype=torch.double)
    for weight in rnn.parameters():
        nn.init.constant_(weight, 1)
    output, hy = rnn(torch.ones(1, 1, 10, dtype=torch.double), torch.zeros(2, 1, 1000, dtype=torch.double))
    kept = output.numpy()[0, 0, 0] * (1 - p) / 10
    assert abs(kept - round(kept)) < 1e-9 and 0 < round(kept) < 1000
    assert_allclose(hy.numpy()[0], np.full((1, 1000), 10.0))


# ---- the two fixes, checked directly ---------------------------------------------------------------

def test_flat_weights_keep_their_names_and_order_under_weight_norm():
    """G2: `_flat_weights_names` is fixed by the layer's shape, as PyTorch's; `_flat_weights` holds g v / |v|
    (computed here in numpy) in the weight's place while weight_norm is on, and the Parameter again after."""
    lstm = nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    names = lstm._flat_weights_names
    assert names[:4] == ['weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0']
    assert names[4:8] == [name + '_reverse' for name in names[:4]] and len(names) == 16
    torch.nn.utils.weight_norm(lstm, name='weight_hh_l0_reverse')
    assert lstm._flat_weights_names == names
    flat = lstm._flat_weights
    assert [isinstance(w, torch.nn.Parameter) for w in flat].count(False) == 1
    g, v = lstm.weight_hh_l0_reverse_g.numpy(), lstm.weight_hh_l0_reverse_v.numpy()
    assert_allclose(flat[5].numpy(), g * v / np.linalg.norm(v, axis=1, keepdims=True), rtol=1e-6)
    torch.nn.utils.remove_weight_norm(lstm, name='weight_hh_l0_reverse')
    assert lstm._flat_weights_names == names
    assert all(w is getattr(lstm, name) for w, name in zip(lstm._flat_weights, names))


def test_packed_sequence_casts_and_is_cuda():
    """G1: PyTorch's casts of a PackedSequence convert the data only, each as `to(dtype=...)`."""
    packed = rnn_utils.pack_sequence([torch.tensor([1.5, -2.0, 3.0]), torch.tensor([4.25])])
    for cast, dtype in [('double', np.float64), ('float', np.float32), ('half', np.float16), ('long', np.int64),
                        ('int', np.int32), ('short', np.int16), ('char', np.int8), ('byte', np.uint8)]:
        converted = getattr(packed, cast)()
        assert converted.data.dtype == dtype
        assert_array_equal(converted.data.numpy(), np.array([1.5, 4.25, -2.0, 3.0]).astype(dtype))
        assert converted.batch_sizes is packed.batch_sizes
    assert packed.float() is packed and packed.is_cuda is False
