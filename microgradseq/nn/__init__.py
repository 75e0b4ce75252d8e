"""Modules: parameters, linear maps, normalisation, recurrent cells and sequence layers."""

from ..parameter import UninitializedParameter
from . import functional, init, utils
from .activations import GELU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .cells import GRUCell, LSTMCell, RNNCell
from .containers import ModuleDict, ModuleList, Sequential
from .dropout import Dropout
from .layers import GRU, LSTM, RNN
from .linear import Embedding, Flatten, Identity, LazyLinear, Linear
from .losses import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, KLDivLoss, L1Loss, MSELoss, NLLLoss,
                     SmoothL1Loss)
from .module import Module, Parameter
from .normalization import BatchNorm1d, LayerNorm, LazyBatchNorm1d

__all__ = ["BCELoss", "BCEWithLogitsLoss", "BatchNorm1d", "CrossEntropyLoss", "Dropout", "Embedding", "Flatten",
           "GELU", "GRU", "GRUCell", "HuberLoss", "Identity", "KLDivLoss", "L1Loss", "LSTM", "LSTMCell",
           "LayerNorm", "LazyBatchNorm1d", "LazyLinear", "Linear", "LogSoftmax", "MSELoss", "Module", "ModuleDict",
           "ModuleList", "NLLLoss", "Parameter", "RNN", "RNNCell", "ReLU", "Sequential", "Sigmoid", "SmoothL1Loss",
           "Softmax", "Tanh", "UninitializedParameter", "functional", "init", "utils"]
