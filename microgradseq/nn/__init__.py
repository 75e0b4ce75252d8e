"""Modules: parameters, linear maps, normalisation, recurrent cells and sequence layers, attention and
transformers."""

from ..parameter import UninitializedParameter
from . import functional, init, parameter, utils
from .activations import (CELU, ELU, GELU, GLU, SELU, CosineSimilarity, Hardshrink, Hardsigmoid, Hardswish, Hardtanh,
                          LeakyReLU, LogSigmoid, LogSoftmax, Mish, PairwiseDistance, PReLU, ReLU, ReLU6, Sigmoid, SiLU,
                          Softmax, Softmin, Softplus, Softshrink, Softsign, Tanh, Tanhshrink, Threshold)
from .activations import Softmax2d
from .activations import RReLU
from .adaptive import AdaptiveLogSoftmaxWithLoss
from .cells import GRUCell, LSTMCell, RNNCell
from .containers import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from .containers import Container
from .conv import Conv1d, Conv2d
from .conv_transpose import ConvTranspose1d, ConvTranspose2d
from .dropout import AlphaDropout, Dropout, Dropout1d, Dropout2d, FeatureAlphaDropout
from .dropout import Dropout3d
from .layers import GRU, LSTM, RNN
from .layers import RNNBase
from .linear import Embedding, Flatten, Identity, LazyLinear, Linear, Unflatten
from .linear import Bilinear, PixelShuffle, PixelUnshuffle
from .linear import ChannelShuffle
from .lazy_conv import LazyConv1d, LazyConv2d
from .conv_transpose import ConvTranspose3d
from .lazy_conv import LazyConv3d, LazyConvTranspose1d, LazyConvTranspose2d, LazyConvTranspose3d
from .resampling import Fold, Unfold, Upsample, UpsamplingBilinear2d, UpsamplingNearest2d
from .embedding_bag import EmbeddingBag
from .losses import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, CTCLoss, HuberLoss, KLDivLoss, L1Loss, MSELoss,
                     NLLLoss, SmoothL1Loss)
from .losses import NLLLoss2d
from .losses import (CosineEmbeddingLoss, GaussianNLLLoss, HingeEmbeddingLoss, MarginRankingLoss, MultiLabelMarginLoss,
                     MultiLabelSoftMarginLoss, MultiMarginLoss, PoissonNLLLoss, SoftMarginLoss, TripletMarginLoss,
                     TripletMarginWithDistanceLoss)
from .module import Module, Parameter
from .normalization import BatchNorm1d, GroupNorm, LayerNorm, LazyBatchNorm1d, RMSNorm
from .normalization import InstanceNorm1d, InstanceNorm2d
from .normalization import BatchNorm2d, BatchNorm3d, CrossMapLRN2d, InstanceNorm3d, LocalResponseNorm
from .padding import (CircularPad1d, CircularPad2d, ConstantPad1d, ConstantPad2d, ReflectionPad1d, ReflectionPad2d,
                      ReplicationPad1d, ReplicationPad2d, ZeroPad1d, ZeroPad2d)
from .pooling import AdaptiveAvgPool1d, AdaptiveMaxPool1d, AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d
from .pooling import AdaptiveAvgPool2d, AdaptiveMaxPool2d
from .conv import Conv3d
from .padding import CircularPad3d, ConstantPad3d, ReflectionPad3d, ReplicationPad3d, ZeroPad3d
from .pooling import (AdaptiveAvgPool3d, AdaptiveMaxPool3d, AvgPool3d, LPPool1d, LPPool2d, LPPool3d, MaxPool3d,
                      MaxUnpool1d, MaxUnpool2d, MaxUnpool3d)
from .attention import MultiheadAttention
from .transformer import (Transformer, TransformerDecoder, TransformerDecoderLayer, TransformerEncoder,
                          TransformerEncoderLayer)
from . import modules        # torch.nn.modules.conv, ..., .utils (modules.py), after every class above

__all__ = ["BCELoss", "BCEWithLogitsLoss", "BatchNorm1d", "CELU", "Conv1d", "CosineSimilarity", "CrossEntropyLoss",
           "Dropout", "ELU", "Embedding", "Flatten", "GELU", "GLU", "GRU", "GRUCell", "Hardshrink", "Hardsigmoid",
           "Hardswish", "Hardtanh", "HuberLoss", "Identity", "KLDivLoss", "L1Loss", "LSTM", "LSTMCell", "LayerNorm",
           "LazyBatchNorm1d", "LazyLinear", "LeakyReLU", "Linear", "LogSigmoid", "LogSoftmax", "MSELoss", "Mish",
           "Module", "ModuleDict", "ModuleList", "NLLLoss", "PReLU", "PairwiseDistance", "Parameter", "ParameterDict",
           "ParameterList", "RNN", "RNNCell", "ReLU", "ReLU6", "SELU", "Sequential", "SiLU", "Sigmoid", "SmoothL1Loss",
           "Softmax", "Softmin", "Softplus", "Softshrink", "Softsign", "Tanh", "Tanhshrink", "Threshold", "Unflatten",
           "UninitializedParameter", "functional", "init", "parameter", "utils"]
__all__ += ["GroupNorm", "RMSNorm"]
__all__ += ["AdaptiveAvgPool1d", "AdaptiveMaxPool1d", "AvgPool1d", "MaxPool1d"]
__all__ += ["AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "AvgPool2d", "Conv2d", "MaxPool2d"]
__all__ += ["CTCLoss"]
__all__ += ["CosineEmbeddingLoss", "GaussianNLLLoss", "HingeEmbeddingLoss", "MarginRankingLoss", "MultiLabelMarginLoss",
            "MultiLabelSoftMarginLoss", "MultiMarginLoss", "PoissonNLLLoss", "SoftMarginLoss", "TripletMarginLoss",
            "TripletMarginWithDistanceLoss"]
__all__ += ["MultiheadAttention", "Transformer", "TransformerDecoder", "TransformerDecoderLayer", "TransformerEncoder",
            "TransformerEncoderLayer"]
__all__ += ["AlphaDropout", "Bilinear", "CircularPad1d", "CircularPad2d", "ConstantPad1d", "ConstantPad2d",
            "Dropout1d", "Dropout2d", "EmbeddingBag", "FeatureAlphaDropout", "InstanceNorm1d", "InstanceNorm2d",
            "PixelShuffle", "PixelUnshuffle", "ReflectionPad1d", "ReflectionPad2d", "ReplicationPad1d",
            "ReplicationPad2d", "Softmax2d", "ZeroPad1d", "ZeroPad2d"]
__all__ += ["AdaptiveLogSoftmaxWithLoss"]
__all__ += ["ConvTranspose1d", "ConvTranspose2d"]
__all__ += ["ChannelShuffle", "Fold", "Unfold", "Upsample", "UpsamplingBilinear2d", "UpsamplingNearest2d"]
__all__ += ["BatchNorm2d", "BatchNorm3d", "Container", "CrossMapLRN2d", "Dropout3d", "InstanceNorm3d",
            "LocalResponseNorm", "NLLLoss2d", "RNNBase", "RReLU"]
__all__ += ["AdaptiveAvgPool3d", "AdaptiveMaxPool3d", "AvgPool3d", "CircularPad3d", "ConstantPad3d", "Conv3d",
            "LPPool1d", "LPPool2d", "LPPool3d", "MaxPool3d", "MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d",
            "ReflectionPad3d", "ReplicationPad3d", "ZeroPad3d"]
__all__ += ["LazyConv1d", "LazyConv2d"]
__all__ += ["ConvTranspose3d", "LazyConv3d", "LazyConvTranspose1d", "LazyConvTranspose2d", "LazyConvTranspose3d"]
__all__ += ["modules"]
