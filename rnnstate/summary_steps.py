"""rnnstate.summary's streamed path: the numpy engine's steps over one batch, each step's traced
values added to the statistics as soon as they are computed (rnnstate.summary_kernel), so the
trace (n, T, gates x M) is never recorded, transposed or read again.

The steps are the numpy engine's own (rnnstate.engines.numpy.make_step, BLAS products for the
batch); around them this module does what the engine's run_direction does (a masked step carries
the states over; --backwards and bidirectional run the steps in their order), keeping only the
last output. The statistics are added CHUNK_STEPS steps at a time. The sums run as
rnnstate.summary's: per sequence, step after step in the order the direction runs them, then
sequence after sequence onto the totals; so the batch size never changes them.
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


CHUNK_STEPS = 8  # steps copied aside before they are added


class BatchSums:
    """The statistics of one batch's steps in one direction, added onto rnnstate.summary
    Accumulators (their arrays updated in place): each step's values are copied into a buffer
    of CHUNK_STEPS steps, and a full buffer is added in one compiled pass, each sequence's
    float64 sums staying in cache over its CHUNK_STEPS steps (the sums are those of adding
    step after step).

    A worker thread adding a buffer while the engine ran on was tried: on two cores it took
    as long (bench_summary), the bare run's BLAS threads already using both."""

    def __init__(self, accumulators, n: int, dtype, thresholds) -> None:
        K, M = len(accumulators), len(accumulators[0].total)
        self.accumulators = accumulators
        self.low, self.high = thresholds.of(dtype)
        self.sequence_sums = np.zeros((K, 2, n, M))  # each sequence's sum and sum of squares
        self.values = np.empty((K, CHUNK_STEPS, n, M), dtype)
        self.counted = np.empty((CHUNK_STEPS, n), dtype=bool)
        self.filled = 0

    def add(self, values: list[np.ndarray], counted: np.ndarray) -> None:
        """Add one step: values (n, M) of each quantity, where counted (n,) is True."""
        for k, quantity in enumerate(values):
            self.values[k, self.filled] = quantity
        self.counted[self.filled] = counted
        self.filled += 1
        if self.filled == CHUNK_STEPS:
            self.add_buffer()

    def add_buffer(self) -> None:
        """Add the steps in the buffer, and empty it."""
        from rnnstate.summary_kernel import accumulate_steps

        steps, counted = self.filled, self.counted[: self.filled]
        for k, a in enumerate(self.accumulators):
            accumulate_steps(self.values[k, :steps], counted, self.sequence_sums[k, 0],
                             self.sequence_sums[k, 1], a.minimum, a.maximum, a.zeros, a.left,
                             a.right, self.low, self.high)  # fmt: skip
        self.filled = 0

    def finish(self, counted: int) -> None:
        """End the batch: the last steps added, its sequences' sums onto the totals; `counted`
        steps in all."""
        from rnnstate.summary_kernel import add_sequences

        if self.filled:
            self.add_buffer()
        for k, a in enumerate(self.accumulators):
            add_sequences(self.sequence_sums[k, 0], self.sequence_sums[k, 1], a.total, a.squares)
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
        output = np.zeros_like(states[0])  # Keras: zeros before the first output
    for t in range(T):
        if mask is None:
            step(t)
        else:
            output = engine.masked_step(step, t, states, masked[t], output)
        sums.add(list(step.trace().values()), everywhere if mask is None else mask[:, t])
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
        return BatchSums(chosen, n, dtype, thresholds)

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
