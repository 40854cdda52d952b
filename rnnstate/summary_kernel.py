"""rnnstate.summary's accumulation in one compiled pass (numba), for large batches.

It adds in exactly the order the numpy path does — per sequence from 0, step after step, then
the sequence's sum onto the running total, sequence after sequence — with no reassociation
(numba's default: no fastmath), so both paths give the same bits. numba is imported only when
this module is, which rnnstate.summary does only for a batch where it pays.
"""

import numpy as np

from rnnstate.engines.kernels import jit


@jit
def accumulate_steps(values, counted, sequence_total, sequence_squares, minimum, maximum, zeros,
                     left, right, low, high):  # fmt: skip
    """Add S steps' values (S, n, M), time-major, of the sequences where counted (S, n) is True:
    each sequence's own float64 sums sequence_total and sequence_squares (n, M), step after
    step; the running min and max; the counts of zeros, of values below `low` and above `high`
    (each (M,)); low and high in the values' dtype (rnnstate.summary.Thresholds.of). All in place;
    add_sequences ends the sums. Fewer than 2**31 rows (S * n) a call.

    Each sequence's S rows are added while its sums are in cache; the extremes and counts go to
    local arrays first, in loops LLVM vectorizes (np.minimum, not min(), which it does not).
    """
    S, n, M = values.shape
    smallest = np.full(M, np.inf, values.dtype)
    largest = np.full(M, -np.inf, values.dtype)
    zero = np.zeros(M, np.int32)  # int32: vectorized in twice the lanes of int64
    below = np.zeros(M, np.int32)
    above = np.zeros(M, np.int32)
    for s in range(n):
        for t in range(S):
            if not counted[t, s]:
                continue
            for m in range(M):
                value = np.float64(values[t, s, m])
                sequence_total[s, m] += value
                sequence_squares[s, m] += value * value
            for m in range(M):
                value = values[t, s, m]
                smallest[m] = np.minimum(smallest[m], value)
                largest[m] = np.maximum(largest[m], value)
                zero[m] += value == 0
                below[m] += value < low
                above[m] += value > high
    for m in range(M):
        minimum[m] = np.minimum(minimum[m], np.float64(smallest[m]))
        maximum[m] = np.maximum(maximum[m], np.float64(largest[m]))
        zeros[m] += zero[m]
        left[m] += below[m]
        right[m] += above[m]


@jit
def add_sequences(sequence_total, sequence_squares, total, squares):
    """total and squares (M,) += each sequence's sums (n, M), sequence after sequence."""
    n, M = sequence_total.shape
    for s in range(n):
        for m in range(M):
            total[m] += sequence_total[s, m]
            squares[m] += sequence_squares[s, m]
