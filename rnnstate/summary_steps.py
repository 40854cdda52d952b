"""rnnstate.summary's streamed path: the numpy engine's steps over one batch, each step's traced
values added to the statistics as soon as they are computed (rnnstate.summary_kernel), where
they are, so the trace (n, T, gates x M) is never recorded, copied or read again.

The steps are the numpy engine's own (rnnstate.engines.numpy.make_step, BLAS products for the
batch); around them this module does what the engine's run_direction does (a masked step carries
the states over; --backwards and bidirectional run the steps in their order), keeping only the
last output.
"""

import numpy as np

from rnnstate.engines import LayerOutputs
from rnnstate.engines import numpy as engine
from rnnstate.spec import Spec
from rnnstate.weights import BidirectionalWeights, LayerWeights, Weights


def streams(spec: Spec, n: int, values: int) -> bool:
    """Whether a batch of n sequences with `values` traced values per quantity takes this path:
    where the engine runs its numpy loop (not its compiled kernels, which keep their own trace)
    and the statistics' compiled pass pays (rnnstate.summary.compiled_pays)."""
    from rnnstate.engines import compiled
    from rnnstate.summary import compiled_pays

    dtype = "float64" if spec.engine == "exact" else "float32"
    return not compiled.pays(spec, spec.steps, n, dtype) and compiled_pays(values)


class BatchSums:
    """The statistics of one batch's steps in one direction, added onto rnnstate.summary
    Accumulators (in TRACE_NAMES order, their arrays updated when the batch ends): each step's
    values are added where the engine computed them (its trace_blocks, no copy), in one
    compiled pass a block (summary_kernel.accumulate_rows), onto the batch's own sums, less
    each unit's shift (the first counted row's values, where the accumulators have none yet).

    Each step's values are added sequence after sequence and then onto the batch's float64
    sums, and the batch's onto the totals. So the sums do not depend on how the sequences are
    cut into batches to the digits shown, where Accumulator.add's would to the bit. Tried and
    measured slower (bench_summary): each sequence's own sums over buffers of 8 steps copied
    aside (bit-identical to Accumulator.add, 1.27x the bare run against 1.1x), and a worker
    thread adding the buffers (the bare run's BLAS threads already use both cores)."""

    def __init__(self, accumulators, dtype, thresholds) -> None:
        self.accumulators = accumulators
        self.parts, width = [], 0  # each quantity's units in the arrays below, side by side
        for a in accumulators:
            self.parts.append(slice(width, width + len(a.total)))
            width += len(a.total)
        self.low, self.high = thresholds.of(dtype)
        self.total, self.squares = np.zeros(width), np.zeros(width)
        self.minimum, self.maximum = np.full(width, np.inf), np.full(width, -np.inf)
        self.zeros, self.left, self.right = (np.zeros(width, np.int64) for _ in range(3))
        self.shift = self.shifts()

    def shifts(self) -> np.ndarray | None:
        """The quantities' Accumulator.shift side by side (width,); None before they have one."""
        if any(a.shift is None for a in self.accumulators):
            return None
        return np.concatenate([a.shift for a in self.accumulators])

    def add(self, blocks: list[np.ndarray], counted: np.ndarray) -> None:
        """Add one step: blocks (n, kM), k quantities each in order, where counted (n,) is True."""
        from rnnstate.summary_kernel import accumulate_rows

        if self.shift is None:  # the first counted row sets the shifts
            if not counted.any():
                return  # nothing counted: nothing to add
            row = np.concatenate([block[np.argmax(counted)] for block in blocks])  # (width,)
            for a, part in zip(self.accumulators, self.parts, strict=True):
                a.take_shift(row[part])
            self.shift = self.shifts()
        start = 0
        for block in blocks:
            part = slice(start, start + block.shape[1])
            accumulate_rows(block, counted, self.shift[part], self.total[part], self.squares[part],
                            self.minimum[part], self.maximum[part], self.zeros[part],
                            self.left[part], self.right[part], self.low, self.high)  # fmt: skip
            start = part.stop

    def finish(self, counted: int) -> None:
        """End the batch: its sums onto the accumulators'; `counted` steps in all."""
        for a, part in zip(self.accumulators, self.parts, strict=True):
            a.total += self.total[part]
            a.squares += self.squares[part]
            np.minimum(a.minimum, self.minimum[part], out=a.minimum)
            np.maximum(a.maximum, self.maximum[part], out=a.maximum)
            a.zeros += self.zeros[part]
            a.left += self.left[part]
            a.right += self.right[part]
            a.count += counted
            a.keep_saturation_of_gates()


def run_direction(spec, x, w: Weights, states, mask, sums: BatchSums) -> np.ndarray:
    """The steps of x (n, T, D) in the order given from `states` (updated in place), each step's
    trace added to `sums`; mask (n, T) or None. Returns the last output (n, M)."""
    n, T, _ = x.shape
    step = engine.make_step(spec, x, w, states)
    everywhere = np.ones(n, dtype=bool)
    output = states[0]
    if mask is not None:
        masked = ~mask.T[:, :, None]  # (T, n, 1), True where the step is skipped
        counted = np.ascontiguousarray(mask.T)  # (T, n)
        output = np.zeros_like(states[0])  # Keras: zeros before the first output
    for t in range(T):
        if mask is None:
            step(t)
        else:
            output = engine.masked_step(step, t, states, masked[t], output)
        sums.add(step.trace_blocks(), everywhere if mask is None else counted[t])
    sums.finish(n * T if mask is None else int(mask.sum()))
    return output.copy()


def run_batch(
    spec: Spec,
    x: np.ndarray,
    weights: LayerWeights,
    initial_state: dict[str, np.ndarray] | None,
    mask: np.ndarray | None,
    accumulators: dict,
    thresholds,
) -> LayerOutputs:
    """Run x (n, T, D) through the layer of `spec` (its engine numpy, or exact in float64,
    return_sequences off) with every step's trace added to `accumulators` (rnnstate.summary
    Accumulators by traced name, suffixed _fw and _bw when bidirectional). mask (n, T): True
    where a step counts.
    thresholds: rnnstate.summary.Thresholds. Returns the last outputs and the final states,
    as the engine would (no gates)."""
    dtype = np.float64 if spec.engine == "exact" else np.float32
    n = x.shape[0]

    def sums(suffix: str) -> BatchSums:
        chosen = [accumulators[name + suffix] for name in engine.TRACE_NAMES[spec.cell]]
        return BatchSums(chosen, dtype, thresholds)

    with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported by the caller
        x = np.asarray(x, dtype=dtype)
        weights = engine.weights_in(weights, dtype)
        if mask is not None:
            x = x * mask[:, :, None]  # as Keras's Masking layer passes it on
        if not isinstance(weights, BidirectionalWeights):
            xs, ms = (x[:, ::-1], None if mask is None else mask[:, ::-1]) if spec.backwards \
                else (x, mask)  # fmt: skip
            states = engine.initial_states(spec, n, weights.units, initial_state, "", dtype)
            o = run_direction(spec, xs, weights, states, ms, sums(""))
            return LayerOutputs({"o": o}, dict(zip(spec.state_names, states, strict=True)))
        M = weights.units
        forward = engine.initial_states(spec, n, M, initial_state, "_fw", dtype)
        backward = engine.initial_states(spec, n, M, initial_state, "_bw", dtype)
        reversed_mask = None if mask is None else mask[:, ::-1]
        o_fw = run_direction(spec, x, weights.forward, forward, mask, sums("_fw"))
        o_bw = run_direction(spec, x[:, ::-1], weights.backward, backward, reversed_mask,
                             sums("_bw"))  # fmt: skip
        states = dict(zip(spec.state_names, [*forward, *backward], strict=True))
        return LayerOutputs(engine.merge(spec.merge, o_fw, o_bw), states)
