"""PyTorch's `torch.nn.modules` paths, so a script's imports port: `from torch.nn.modules.conv import Conv2d`,
`torch.nn.modules.rnn.LSTM`, `from torch.nn.modules.batchnorm import _BatchNorm`,
`from torch.nn.modules.utils import _pair`. Each submodule is built from the table below and holds the
very classes of `mg.nn` (no second copies); like `mg.autograd.function`, it is registered in
`sys.modules`, so `import microgradseq.nn.modules.conv` works too. `mg.nn.modules` itself holds every
class, as PyTorch's."""

import collections.abc
import itertools
import sys
import types
from typing import Any, Callable

from . import (activations, adaptive, attention, cells, containers, conv, conv_transpose, dropout, embedding_bag,
               layers, lazy_conv, linear, losses, module, normalization, padding, pooling, resampling, transformer)


def _ntuple(n: int, name: str = "parse") -> Callable[[Any], tuple]:
    """PyTorch's `torch.nn.modules.utils._ntuple`: an iterable as a tuple, anything else repeated n times
    (`_pair(3)` is (3, 3), `_pair([1, 2])` (1, 2))."""
    def parse(x: Any) -> tuple:
        if isinstance(x, collections.abc.Iterable):
            return tuple(x)
        return tuple(itertools.repeat(x, n))
    parse.__name__ = name
    return parse


_single, _pair, _triple, _quadruple = (_ntuple(1, "_single"), _ntuple(2, "_pair"), _ntuple(3, "_triple"),
                                       _ntuple(4, "_quadruple"))

# PyTorch's file under torch/nn/modules/ -> what it defines that microgradseq has (its private bases where
# scripts import them by PyTorch's name: `isinstance(m, _BatchNorm)`, `class FocalLoss(_WeightedLoss)`)
_TABLE = {
    "module": (module.Module, module._IncompatibleKeys),
    "linear": (linear.Identity, linear.Linear, linear.Bilinear, linear.LazyLinear),
    "conv": (conv._ConvNd, conv.Conv1d, conv.Conv2d, conv.Conv3d, conv_transpose.ConvTranspose1d,
             conv_transpose.ConvTranspose2d, conv_transpose.ConvTranspose3d, lazy_conv.LazyConv1d,
             lazy_conv.LazyConv2d, lazy_conv.LazyConv3d, lazy_conv.LazyConvTranspose1d,
             lazy_conv.LazyConvTranspose2d, lazy_conv.LazyConvTranspose3d),
    "rnn": (layers.RNNBase, layers.RNN, layers.LSTM, layers.GRU, cells.RNNCell, cells.LSTMCell, cells.GRUCell),
    "activation": (activations.Threshold, activations.ReLU, activations.RReLU, activations.Hardtanh,
                   activations.ReLU6, activations.Sigmoid, activations.Hardsigmoid, activations.Tanh,
                   activations.SiLU, activations.Mish, activations.Hardswish, activations.ELU, activations.CELU,
                   activations.SELU, activations.GLU, activations.GELU, activations.Hardshrink,
                   activations.LeakyReLU, activations.LogSigmoid, activations.Softplus, activations.Softshrink,
                   attention.MultiheadAttention, activations.PReLU, activations.Softsign, activations.Tanhshrink,
                   activations.Softmin, activations.Softmax, activations.Softmax2d, activations.LogSoftmax),
    "loss": (losses._Loss, losses._WeightedLoss, losses.L1Loss, losses.NLLLoss, losses.NLLLoss2d,
             losses.PoissonNLLLoss, losses.GaussianNLLLoss, losses.KLDivLoss, losses.MSELoss, losses.BCELoss,
             losses.BCEWithLogitsLoss, losses.HingeEmbeddingLoss, losses.MultiLabelMarginLoss,
             losses.SmoothL1Loss, losses.HuberLoss, losses.SoftMarginLoss, losses.CrossEntropyLoss,
             losses.MultiLabelSoftMarginLoss, losses.CosineEmbeddingLoss, losses.MarginRankingLoss,
             losses.MultiMarginLoss, losses.TripletMarginLoss, losses.TripletMarginWithDistanceLoss, losses.CTCLoss),
    "container": (containers.Container, containers.Sequential, containers.ModuleList, containers.ModuleDict,
                  containers.ParameterList, containers.ParameterDict),
    "batchnorm": (normalization._NormBase, normalization._BatchNorm, normalization.BatchNorm1d,
                  normalization.BatchNorm2d, normalization.BatchNorm3d, normalization.LazyBatchNorm1d),
    "instancenorm": (normalization._InstanceNorm, normalization.InstanceNorm1d, normalization.InstanceNorm2d,
                     normalization.InstanceNorm3d),
    "normalization": (normalization.LocalResponseNorm, normalization.CrossMapLRN2d, normalization.LayerNorm,
                      normalization.GroupNorm, normalization.RMSNorm),
    "dropout": (dropout._DropoutNd, dropout.Dropout, dropout.Dropout1d, dropout.Dropout2d, dropout.Dropout3d,
                dropout.AlphaDropout, dropout.FeatureAlphaDropout),
    "pooling": (pooling.MaxPool1d, pooling.MaxPool2d, pooling.MaxPool3d, pooling.MaxUnpool1d, pooling.MaxUnpool2d,
                pooling.MaxUnpool3d, pooling.AvgPool1d, pooling.AvgPool2d, pooling.AvgPool3d, pooling.LPPool1d,
                pooling.LPPool2d, pooling.LPPool3d, pooling.AdaptiveMaxPool1d, pooling.AdaptiveMaxPool2d,
                pooling.AdaptiveMaxPool3d, pooling.AdaptiveAvgPool1d, pooling.AdaptiveAvgPool2d,
                pooling.AdaptiveAvgPool3d),
    "padding": (padding.CircularPad1d, padding.CircularPad2d, padding.CircularPad3d, padding.ConstantPad1d,
                padding.ConstantPad2d, padding.ConstantPad3d, padding.ReflectionPad1d, padding.ReflectionPad2d,
                padding.ReflectionPad3d, padding.ReplicationPad1d, padding.ReplicationPad2d,
                padding.ReplicationPad3d, padding.ZeroPad1d, padding.ZeroPad2d, padding.ZeroPad3d),
    "sparse": (linear.Embedding, embedding_bag.EmbeddingBag),
    "transformer": (transformer.TransformerEncoder, transformer.TransformerDecoder,
                    transformer.TransformerEncoderLayer, transformer.TransformerDecoderLayer,
                    transformer.Transformer),
    "upsampling": (resampling.Upsample, resampling.UpsamplingNearest2d, resampling.UpsamplingBilinear2d),
    "pixelshuffle": (linear.PixelShuffle, linear.PixelUnshuffle),
    "distance": (activations.PairwiseDistance, activations.CosineSimilarity),
    "flatten": (linear.Flatten, linear.Unflatten),
    "fold": (resampling.Fold, resampling.Unfold),
    "channelshuffle": (linear.ChannelShuffle,),
    "adaptive": (adaptive.AdaptiveLogSoftmaxWithLoss,),
    "utils": (_ntuple, _single, _pair, _triple, _quadruple),
}


def _submodule(file: str, values: tuple) -> types.ModuleType:
    """The module `torch.nn.modules.<file>` holding `values` under their own names, registered in sys.modules."""
    built = types.ModuleType(f"{__name__}.{file}", f"PyTorch's `torch.nn.modules.{file}`.")
    for value in values:
        setattr(built, value.__name__, value)
    sys.modules[built.__name__] = built
    return built


# the built submodules take the place of the sibling modules imported above under the same names
# (`mg.nn.modules.conv` is PyTorch's conv, not microgradseq/nn/conv.py), and every public class is here too
for _file, _values in _TABLE.items():
    globals()[_file] = _submodule(_file, _values)
    globals().update((value.__name__, value) for value in _values if not value.__name__.startswith("_"))
