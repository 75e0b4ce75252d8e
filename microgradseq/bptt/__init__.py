"""Training through time: the truncation operator, the TBPTT(k1, k2) runner, and the online
learners that need no tape of the past (RTRL, and its rank-one estimate UORO)."""

from .blocks import tbptt_blocks
from .data import batchify, next_step_pairs
from .rtrl import rtrl, uoro
from .runner import TBPTTResult, tbptt, update_steps
from .truncate import sever, truncate

__all__ = ["TBPTTResult", "batchify", "next_step_pairs", "rtrl", "sever", "tbptt", "tbptt_blocks", "truncate",
           "update_steps", "uoro"]
