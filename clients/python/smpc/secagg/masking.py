"""Applying and removing the mask streams of secure aggregation (step 3 and the modeller's step 5), vectorised."""

from __future__ import annotations

import numpy as np

from ..crypto.field import add_into, sub_into
from ..crypto.prg import MaskPrg, pair_mask_context, self_mask_context
from .params import SessionParameters

#: Elements generated per PRG call: bounded memory (8 MiB per stream) on long vectors.
SLICE = 1 << 20


def apply_stream(acc: np.ndarray, p: SessionParameters, seed: bytes, context: bytes, sign: int) -> None:
    """``acc ← acc ± PRG(seed, context)`` over the whole vector, in slices."""
    prg = MaskPrg(seed, context, p.q)
    op = add_into if sign > 0 else sub_into
    size = min(SLICE, acc.size)
    scratch = np.empty(size + 3, dtype=np.uint64)  # keystream, then the stream's elements
    for off in range(0, acc.size, SLICE):
        n = min(SLICE, acc.size - off)
        # the keystream view is consumed before the scratch is reused as the reduction's temporary
        op(acc[off:off + n], prg.fill(scratch, n, off), p.q)


def self_context(p: SessionParameters, party: int) -> bytes:
    """The self-mask context of ``party``."""
    return self_mask_context(p.session_id, p.round, party)


def pair_context(p: SessionParameters, i: int, j: int) -> bytes:
    """The pair-mask context of ``{i, j}``."""
    return pair_mask_context(p.session_id, p.round, i, j)
