"""Modules: parameters, linear maps, recurrent cells and sequence layers."""

from . import functional, init, utils
from .activations import ReLU, Sigmoid, Tanh
from .cells import GRUCell, LSTMCell, RNNCell
from .containers import ModuleList, Sequential
from .dropout import Dropout
from .layers import GRU, LSTM, RNN
from .linear import Embedding, Linear
from .losses import CrossEntropyLoss, MSELoss, NLLLoss
from .module import Module, Parameter

__all__ = ["CrossEntropyLoss", "Dropout", "Embedding", "GRU", "GRUCell", "LSTM", "LSTMCell", "Linear", "MSELoss",
           "Module", "ModuleList", "NLLLoss", "Parameter", "RNN", "RNNCell", "ReLU", "Sequential", "Sigmoid", "Tanh",
           "functional", "init", "utils"]
