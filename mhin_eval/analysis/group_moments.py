"""Mean and variance of many groups at once, equal bit for bit to ``np.mean`` and ``np.var(ddof=1)`` of
each group on its own, so vectorized code keeps every tie and every exact zero (a zero sd, a zero
difference) of the one-group-at-a-time code it replaces.

numpy adds a contiguous float64 array by pairwise summation (fewer than 8 values left to right; up to
128 in eight running sums combined as ((r0+r1)+(r2+r3))+((r4+r5)+(r6+r7)) and the rest added after;
longer arrays split in two at a multiple of 8): numpy/_core/src/umath/loops_utils.h.src, ``pairwise_sum``;
Higham (1993), SIAM J Sci Comput 14:783. Groups of one length are summed together as the rows of a block.
"""

from __future__ import annotations

import numpy as np


def _pairwise_sum(block: np.ndarray) -> np.ndarray:
    """Row sums of a (groups x n) block in numpy's pairwise order for a row of length n."""
    n = block.shape[1]
    if n < 8:
        total = np.zeros(block.shape[0])
        for i in range(n):
            total = total + block[:, i]
        return total
    if n <= 128:
        r = block[:, :8].copy()
        end = n - n % 8
        for i in range(8, end, 8):
            r += block[:, i : i + 8]
        total = ((r[:, 0] + r[:, 1]) + (r[:, 2] + r[:, 3])) + ((r[:, 4] + r[:, 5]) + (r[:, 6] + r[:, 7]))
        for i in range(end, n):
            total = total + block[:, i]
        return total
    half = n // 2
    half -= half % 8
    return _pairwise_sum(block[:, :half]) + _pairwise_sum(block[:, half:])


def group_moments(values: np.ndarray, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, variance with ddof 1) of consecutive groups of ``values`` with the given ``sizes``.

    Groups of size 0 get NaN means, groups of size 0 or 1 NaN variances."""
    values = np.asarray(values, dtype=float)
    sizes = np.asarray(sizes, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    mean = np.full(len(sizes), np.nan)
    var = np.full(len(sizes), np.nan)
    for n in np.unique(sizes[sizes > 0]):
        which = np.flatnonzero(sizes == n)
        block = values[starts[which, None] + np.arange(n)]
        m = _pairwise_sum(block) / n
        mean[which] = m
        if n > 1:
            deviation = block - m[:, None]
            var[which] = _pairwise_sum(deviation * deviation) / (n - 1)
    return mean, var
