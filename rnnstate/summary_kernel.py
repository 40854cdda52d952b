"""rnnstate.summary's accumulation of one batch in one compiled pass (numba), for large batches.

It adds in exactly the order the numpy path does — per sequence from 0, step after step, then
the sequence's sum onto the running total, sequence after sequence — with no reassociation
(numba's default: no fastmath), so both paths give the same bits. numba is imported only when
this module is, which rnnstate.summary does only for a batch where it pays.
"""

import numpy as np

from rnnstate.engines.kernels import jit


@jit
def accumulate(values, counted, total, squares, minimum, maximum, zeros, left, right, low, high):
    """Add values (n, T, M) at the steps where counted (n, T) is True to the running float64
    total and squares, the min and max, and the counts of zeros and of steps below `low` and
    above `high` (each (M,), updated in place)."""
    n, T, M = values.shape
    sequence_total = np.empty(M)
    sequence_squares = np.empty(M)
    for s in range(n):
        sequence_total[:] = 0.0
        sequence_squares[:] = 0.0
        for t in range(T):
            if not counted[s, t]:
                continue
            for m in range(M):
                value = np.float64(values[s, t, m])
                sequence_total[m] += value
                sequence_squares[m] += value * value
                minimum[m] = min(minimum[m], value)
                maximum[m] = max(maximum[m], value)
                zeros[m] += value == 0.0
                left[m] += value < low
                right[m] += value > high
        for m in range(M):
            total[m] += sequence_total[m]
            squares[m] += sequence_squares[m]


@jit
def accumulate_step(values, counted, sequence_total, sequence_squares, minimum, maximum, zeros,
                    left, right, low, high):  # fmt: skip
    """Add one step's values (n, M) of the sequences where counted (n,) is True to their own
    float64 sums sequence_total and sequence_squares (n, M), and to the running min and max and
    the counts of zeros and of values below `low` and above `high` (each (M,)); all in place.
    Step after step, these are the sums accumulate takes; add_sequences ends them."""
    n, M = values.shape
    for s in range(n):
        if not counted[s]:
            continue
        for m in range(M):
            value = np.float64(values[s, m])
            sequence_total[s, m] += value
            sequence_squares[s, m] += value * value
            minimum[m] = min(minimum[m], value)
            maximum[m] = max(maximum[m], value)
            zeros[m] += value == 0.0
            left[m] += value < low
            right[m] += value > high


@jit
def add_sequences(sequence_total, sequence_squares, total, squares):
    """total and squares (M,) += each sequence's sums (n, M), sequence after sequence."""
    n, M = sequence_total.shape
    for s in range(n):
        for m in range(M):
            total[m] += sequence_total[s, m]
            squares[m] += sequence_squares[s, m]
