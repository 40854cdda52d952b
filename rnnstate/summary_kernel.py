"""rnnstate.summary's accumulation in compiled passes (numba), for large batches.

accumulate_steps adds a recorded trace in exactly the order Accumulator.add's numpy path does —
per sequence from 0, step after step, then the sequence's sum onto the running total, sequence
after sequence — with no reassociation (numba's default: no fastmath), so both give the same
bits. accumulate_rows adds one step of a streamed batch (rnnstate.summary_steps) as the engine
computes it. numba is imported only when this module is, which rnnstate.summary does only for a
batch where it pays.
"""

import numpy as np

from rnnstate.engines.kernels import jit


@jit
def accumulate_steps(values, counted, shift, sequence_total, sequence_squares, minimum, maximum,
                     zeros, left, right, low, high):  # fmt: skip
    """Add S steps' values (S, n, M), time-major, of the sequences where counted (S, n) is True:
    each sequence's own float64 sums sequence_total and sequence_squares (n, M) of the values
    less shift (M,), step after step; the running min and max; the counts of zeros, of values
    below `low` and above `high` (each (M,)); low and high in the values' dtype
    (rnnstate.summary.Thresholds.of). All in place; add_sequences ends the sums. Fewer than
    2**31 rows (S * n) a call.

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
                value = np.float64(values[t, s, m]) - shift[m]
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


@jit
def accumulate_rows(values, counted, shift, total, squares, minimum, maximum, zeros, left, right,
                    low, high):  # fmt: skip
    """Add one step's values (n, W) of the sequences where counted (n,) is True: the float64
    sum and sum of squares of the values less shift (W,), sequence after sequence, onto total
    and squares; the running min and max; the counts of zeros, of values below `low` and above
    `high` (each (W,), in place; low and high in the values' dtype, Thresholds.of).

    The step's sums and extremes go to local arrays first, in loops LLVM vectorizes over W
    (np.minimum, not min(), which it does not), then onto the running ones once.
    """
    n, W = values.shape
    step_total = np.zeros(W)
    step_squares = np.zeros(W)
    smallest = np.full(W, np.inf, values.dtype)
    largest = np.full(W, -np.inf, values.dtype)
    zero = np.zeros(W, np.int32)  # int32: vectorized in twice the lanes of int64
    below = np.zeros(W, np.int32)
    above = np.zeros(W, np.int32)
    for s in range(n):
        if not counted[s]:
            continue
        for w in range(W):
            value = np.float64(values[s, w]) - shift[w]
            step_total[w] += value
            step_squares[w] += value * value
        for w in range(W):
            value = values[s, w]
            smallest[w] = np.minimum(smallest[w], value)
            largest[w] = np.maximum(largest[w], value)
            zero[w] += value == 0
            below[w] += value < low
            above[w] += value > high
    for w in range(W):
        total[w] += step_total[w]
        squares[w] += step_squares[w]
        minimum[w] = np.minimum(minimum[w], np.float64(smallest[w]))
        maximum[w] = np.maximum(maximum[w], np.float64(largest[w]))
        zeros[w] += zero[w]
        left[w] += below[w]
        right[w] += above[w]
