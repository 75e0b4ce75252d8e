"""Modules: parameters, linear maps, recurrent cells and sequence layers."""

from . import functional, init, utils
from .activations import LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .cells import GRUCell, LSTMCell, RNNCell
from .containers import ModuleDict, ModuleList, Sequential
from .dropout import Dropout
from .layers import GRU, LSTM, RNN
from .linear import Embedding, Flatten, Identity, Linear
from .losses import CrossEntropyLoss, MSELoss, NLLLoss
from .module import Module, Parameter

__all__ = ["CrossEntropyLoss", "Dropout", "Embedding", "Flatten", "GRU", "GRUCell", "Identity", "LSTM", "LSTMCell",
           "Linear", "LogSoftmax", "MSELoss", "Module", "ModuleDict", "ModuleList", "NLLLoss", "Parameter", "RNN",
           "RNNCell", "ReLU", "Sequential", "Sigmoid", "Softmax", "Tanh", "functional", "init", "utils"]
