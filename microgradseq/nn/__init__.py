"""Modules: parameters, linear maps, recurrent cells and sequence layers."""

from .. import functional
from . import utils
from .cells import GRUCell, LSTMCell, RNNCell
from .layers import GRU, LSTM, RNN
from .linear import Embedding, Linear
from .module import Module, Parameter

__all__ = ["Embedding", "GRU", "GRUCell", "LSTM", "LSTMCell", "Linear", "Module", "Parameter",
           "RNN", "RNNCell", "functional", "utils"]
