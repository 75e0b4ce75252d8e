"""The primitive ops. Every differentiable computation in microgradseq is built from these."""

from .elementwise import (abs, add, clip, div, exp, log, mul, neg, power, relu, sigmoid, sqrt,
                          sub, tanh, where)
from .linalg import linear, matmul
from .reduce import max, mean, sum
from .shape import concat, getitem, reshape, stack, transpose

__all__ = ["abs", "add", "clip", "concat", "div", "exp", "getitem", "linear", "log", "matmul", "max",
           "mean", "mul", "neg", "power", "relu", "reshape", "sigmoid", "sqrt", "stack", "sub",
           "sum", "tanh", "transpose", "where"]
