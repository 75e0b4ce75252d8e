"""Porting aids: PyTorch's `torch.nn.modules.<file>` import paths (the very classes of `mg.nn`) and
`torch.nn.modules.utils._pair` & co., the deprecated init spellings without the underscore, `ctx.saved_variables`
and `torch.backends.cudnn.flags(...)`. Expected values are PyTorch's documented behaviour, written by hand."""

import importlib
import pathlib
import warnings

import numpy as np
import pytest

import microgradseq as mg
from microgradseq import nn

API = (pathlib.Path(__file__).parent.parent / "docs" / "api.md").read_text()

# PyTorch's file under torch/nn/modules/ -> classes a script imports from it
PATHS = {"module": ["Module"], "linear": ["Identity", "Linear", "Bilinear", "LazyLinear"],
         "conv": ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d", "LazyConv2d"],
         "rnn": ["RNNBase", "RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"],
         "activation": ["ReLU", "GELU", "Softmax", "MultiheadAttention", "PReLU", "Tanh", "LeakyReLU"],
         "loss": ["MSELoss", "CrossEntropyLoss", "NLLLoss", "BCEWithLogitsLoss", "CTCLoss", "HuberLoss"],
         "container": ["Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict", "Container"],
         "batchnorm": ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "LazyBatchNorm1d"],
         "instancenorm": ["InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d"],
         "normalization": ["LayerNorm", "GroupNorm", "RMSNorm", "LocalResponseNorm", "CrossMapLRN2d"],
         "dropout": ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout"],
         "pooling": ["MaxPool1d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "LPPool1d", "MaxUnpool2d"],
         "padding": ["ConstantPad1d", "ReflectionPad2d", "ReplicationPad3d", "ZeroPad2d", "CircularPad1d"],
         "sparse": ["Embedding", "EmbeddingBag"],
         "transformer": ["Transformer", "TransformerEncoder", "TransformerEncoderLayer", "TransformerDecoder",
                         "TransformerDecoderLayer"],
         "upsampling": ["Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d"],
         "pixelshuffle": ["PixelShuffle", "PixelUnshuffle"], "distance": ["PairwiseDistance", "CosineSimilarity"],
         "flatten": ["Flatten", "Unflatten"], "fold": ["Fold", "Unfold"], "channelshuffle": ["ChannelShuffle"],
         "adaptive": ["AdaptiveLogSoftmaxWithLoss"]}


@pytest.mark.parametrize("file", sorted(PATHS))
def test_each_torch_nn_modules_path_gives_the_very_class_of_nn(file):
    submodule = importlib.import_module(f"microgradseq.nn.modules.{file}")
    assert submodule is getattr(nn.modules, file)
    assert submodule.__name__ == f"microgradseq.nn.modules.{file}"
    for name in PATHS[file]:
        assert getattr(submodule, name) is getattr(nn, name), (file, name)
        assert getattr(nn.modules, name) is getattr(nn, name), name        # torch.nn.modules.Conv2d


def test_the_import_statements_a_script_writes_port():
    from microgradseq.nn.modules.conv import Conv2d
    from microgradseq.nn.modules.module import Module
    from microgradseq.nn.modules.utils import _pair, _quadruple, _single, _triple
    import microgradseq.nn.modules.rnn

    assert Conv2d is mg.nn.Conv2d and Module is mg.nn.Module
    assert microgradseq.nn.modules.rnn.LSTM is mg.nn.LSTM
    assert [f.__name__ for f in (_single, _pair, _triple, _quadruple)] == ["_single", "_pair", "_triple", "_quadruple"]


def test_the_private_bases_scripts_subclass_or_test_for_are_the_library_s():
    from microgradseq.nn.modules.batchnorm import _BatchNorm
    from microgradseq.nn.modules.conv import _ConvNd
    from microgradseq.nn.modules.dropout import _DropoutNd
    from microgradseq.nn.modules.instancenorm import _InstanceNorm
    from microgradseq.nn.modules.loss import _Loss, _WeightedLoss

    assert isinstance(nn.BatchNorm2d(3), _BatchNorm) and not isinstance(nn.LayerNorm(3), _BatchNorm)
    assert isinstance(nn.Conv2d(1, 2, 3), _ConvNd) and isinstance(nn.ConvTranspose1d(1, 2, 3), _ConvNd)
    assert isinstance(nn.Dropout2d(), _DropoutNd) and isinstance(nn.InstanceNorm1d(3), _InstanceNorm)
    assert issubclass(nn.CrossEntropyLoss, _WeightedLoss) and issubclass(nn.MSELoss, _Loss)


def test_no_second_copy_of_a_class_is_made():
    """Every class reachable under nn.modules' submodules is an attribute of nn or of the file defining it."""
    for file in PATHS:
        for value in vars(getattr(nn.modules, file)).values():
            if isinstance(value, type):
                defining = importlib.import_module(value.__module__)
                assert getattr(defining, value.__name__) is value


@pytest.mark.parametrize("name, n", [("_single", 1), ("_pair", 2), ("_triple", 3), ("_quadruple", 4)])
def test_ntuple_repeats_a_value_and_gives_an_iterable_as_a_tuple(name, n):
    parse = getattr(importlib.import_module("microgradseq.nn.modules.utils"), name)
    assert parse(3) == (3,) * n and parse(0.5) == (0.5,) * n and parse(None) == (None,) * n
    for iterable, expected in [([1, 2], (1, 2)), ((4, 5, 6), (4, 5, 6)), (range(3), (0, 1, 2)), ("ab", ("a", "b")),
                               (iter([7]), (7,)), ([], ())]:
        result = parse(iterable)
        assert type(result) is tuple and result == expected      # as given: its length is not checked


DEPRECATED = [("uniform", dict(a=-2.0, b=3.0)), ("normal", dict(mean=1.0, std=0.5)), ("constant", dict(val=0.25)),
              ("xavier_uniform", dict(gain=2.0)), ("xavier_normal", {}), ("kaiming_uniform", dict(a=0.1)),
              ("kaiming_normal", dict(mode="fan_out", nonlinearity="relu")), ("orthogonal", dict(gain=1.5))]


@pytest.mark.parametrize("old, arguments", DEPRECATED)
def test_a_deprecated_init_spelling_warns_and_draws_what_the_underscore_one_draws(old, arguments):
    mg.manual_seed(7)
    expected = getattr(nn.init, old + "_")(mg.zeros(4, 6, dtype=mg.float64), **arguments).numpy().copy()
    tensor = mg.zeros(4, 6, dtype=mg.float64)
    mg.manual_seed(7)
    with pytest.warns(FutureWarning) as caught:
        returned = getattr(nn.init, old)(tensor, **arguments)
    assert returned is tensor and getattr(nn.init, old).__name__ == old
    assert str(caught[0].message) == f"`nn.init.{old}` is now deprecated in favor of `nn.init.{old}_`."
    assert caught[0].filename == __file__                     # the warning points at the caller's line
    np.testing.assert_array_equal(tensor.numpy(), expected)


def test_a_deprecated_init_spelling_passes_the_generator_and_the_underscore_one_s_errors():
    tensor = mg.zeros(3, dtype=mg.float64)
    nn.init.uniform_(tensor, rng=np.random.default_rng(3))
    expected = tensor.numpy().copy()
    with pytest.warns(FutureWarning):
        nn.init.uniform(tensor, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(tensor.numpy(), expected)
    before = tensor.numpy().copy()
    with pytest.warns(FutureWarning), pytest.raises(ValueError, match=r"normal_: std must be a finite number"):
        nn.init.normal(tensor, std=float("nan"))
    np.testing.assert_array_equal(tensor.numpy(), before)


class _Square(mg.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        with pytest.warns(DeprecationWarning, match=r"^'saved_variables' is deprecated; use 'saved_tensors'$"):
            variables = ctx.saved_variables
        assert variables == ctx.saved_tensors and variables[0] is ctx.saved_tensors[0]
        return 2 * variables[0] * grad


def test_saved_variables_is_saved_tensors_after_pytorch_s_deprecation_warning():
    x = mg.tensor([1.0, -2.0, 3.5], dtype=mg.float64, requires_grad=True)
    _Square.apply(x).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, -4.0, 7.0])      # d(x^2)/dx = 2x


CUDNN = ("enabled", "benchmark", "deterministic", "allow_tf32")


def _cudnn():
    return {name: getattr(mg.backends.cudnn, name) for name in CUDNN}


def test_cudnn_flags_sets_pytorch_s_defaults_inside_the_block_and_restores_the_settings():
    cudnn = mg.backends.cudnn
    cudnn.benchmark, cudnn.deterministic, cudnn.allow_tf32 = True, True, False
    before = _cudnn()
    with cudnn.flags():
        assert _cudnn() == dict(enabled=False, benchmark=False, deterministic=False, allow_tf32=True)
    assert _cudnn() == before
    with cudnn.flags(enabled=True, benchmark=True, deterministic=None, allow_tf32=None):   # None: left as it is
        assert _cudnn() == dict(enabled=True, benchmark=True, deterministic=True, allow_tf32=False)
    assert _cudnn() == before


def test_cudnn_flags_restores_the_settings_after_an_exception_and_nested_blocks():
    before = _cudnn()
    with pytest.raises(KeyError):
        with mg.backends.cudnn.flags(enabled=False, deterministic=True):
            with mg.backends.cudnn.flags(enabled=True, benchmark=True):
                assert _cudnn()["benchmark"] and _cudnn()["enabled"]
                raise KeyError("inside")
    assert _cudnn() == before


def test_cudnn_flags_refuses_a_value_that_is_not_a_bool_before_changing_anything():
    before = _cudnn()
    with pytest.raises(ValueError, match=r"cudnn.flags: deterministic must be True or False, got 'yes'"):
        with mg.backends.cudnn.flags(enabled=True, deterministic="yes"):
            pass
    assert _cudnn() == before


def test_docs_list_the_porting_aids():
    for text in ("microgradseq.nn.modules.conv import Conv2d", "_pair", "`nn.init.uniform`, `normal`",
                 "saved_variables", "cudnn.flags("):
        assert text in API, text
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert nn.init.uniform_.__name__ == "uniform_"           # the underscore spellings do not warn
