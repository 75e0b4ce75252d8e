"""Truncated backpropagation through time: the truncation operator and the TBPTT(k1, k2) runner."""

from .blocks import tbptt_blocks
from .data import batchify, next_step_pairs
from .runner import TBPTTResult, tbptt, update_steps
from .truncate import sever, truncate

__all__ = ["TBPTTResult", "batchify", "next_step_pairs", "sever", "tbptt", "tbptt_blocks", "truncate",
           "update_steps"]
