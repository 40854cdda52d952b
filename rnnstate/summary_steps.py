"""rnnstate.summary's streamed path: the numpy engine's steps over one batch, each step's traced
values added to the statistics as soon as they are computed (rnnstate.summary_kernel), so the
trace (n, T, gates x M) is never recorded, transposed or read again.

The steps are the numpy engine's own (rnnstate.engines.numpy.make_step, BLAS products for
the batch); around them this module does what the engine's run_direction does (a masked step
carries the states over; --backwards and bidirectional run the steps in their order), keeping
only the last output. The sums run as rnnstate.summary's: per sequence, step after step in the
order the direction runs them (a bidirectional layer's backward half from the last input step),
then sequence after sequence onto the totals; so the batch size never changes them.
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


class StepSums:
    """One traced quantity's statistics of one batch, added step by step onto an
    rnnstate.summary.Accumulator (whose arrays it updates in place)."""

    def __init__(self, accumulator, n: int, low: float, high: float) -> None:
        units = len(accumulator.total)
        self.accumulator, self.low, self.high = accumulator, low, high
        self.sequence_total = np.zeros((n, units))  # float64
        self.sequence_squares = np.zeros((n, units))

    def add(self, values: np.ndarray, counted: np.ndarray) -> None:
        """Add one step's values (n, M) where counted (n,) is True."""
        from rnnstate.summary_kernel import accumulate_step

        a = self.accumulator
        accumulate_step(values, counted, self.sequence_total, self.sequence_squares, a.minimum,
                        a.maximum, a.zeros, a.left, a.right, self.low, self.high)  # fmt: skip

    def finish(self, counted: int) -> None:
        """End the batch: its sequences' sums onto the totals; `counted` steps in all."""
        from rnnstate.summary_kernel import add_sequences

        a = self.accumulator
        add_sequences(self.sequence_total, self.sequence_squares, a.total, a.squares)
        a.count += counted
        if not a.gate:  # counted all the same, shown for gates only
            a.left[:] = a.right[:] = 0


def run_direction(spec, x, w: Weights, states, mask, sums: dict[str, StepSums], suffix: str):
    """The steps of x (n, T, D) in the order given from `states` (updated in place), each step's
    trace added to sums[name + suffix]; mask (n, T) or None. Returns the last output (n, M)."""
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
            before = [state.copy() for state in states]
            step(t)
            for state, kept in zip(states, before, strict=True):
                np.copyto(state, kept, where=masked[t])  # masked: the states carry over
            output = np.where(masked[t], output, states[0])  # masked: the output repeats
        counted = everywhere if mask is None else mask[:, t]
        for name, values in step.trace().items():
            sums[name + suffix].add(values, counted)
    steps = n * T if mask is None else int(mask.sum())
    for name in engine.TRACE_NAMES[spec.cell]:
        sums[name + suffix].finish(steps)
    return output.copy()


def run_batch(
    spec: Spec,
    x: np.ndarray,
    weights: LayerWeights,
    initial_state: dict[str, np.ndarray] | None,
    mask: np.ndarray | None,
    sums: dict[str, StepSums],
) -> LayerOutputs:
    """Run x (n, T, D) through the layer of `spec` (its engine numpy, or exact in float64,
    return_sequences off) with every step's trace added to `sums` (by traced name, suffixed _fw
    and _bw when bidirectional). mask (n, T): True where a step counts. Returns the last
    outputs and the final states, as the engine would (no gates)."""
    dtype = np.float64 if spec.engine == "exact" else np.float32
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported by the caller
        x = np.asarray(x, dtype=dtype)
        weights = engine.weights_in(weights, dtype)
        if mask is not None:
            x = x * mask[:, :, None]  # as Keras's Masking layer passes it on
        n = x.shape[0]
        if not isinstance(weights, BidirectionalWeights):
            xs, ms = (x[:, ::-1], None if mask is None else mask[:, ::-1]) if spec.backwards \
                else (x, mask)  # fmt: skip
            states = engine.initial_states(spec, n, weights.units, initial_state, "", dtype)
            o = run_direction(spec, xs, weights, states, ms, sums, "")
            return LayerOutputs({"o": o}, dict(zip(spec.state_names, states, strict=True)))
        M = weights.units
        forward = engine.initial_states(spec, n, M, initial_state, "_fw", dtype)
        backward = engine.initial_states(spec, n, M, initial_state, "_bw", dtype)
        reversed_mask = None if mask is None else mask[:, ::-1]
        o_fw = run_direction(spec, x, weights.forward, forward, mask, sums, "_fw")
        o_bw = run_direction(spec, x[:, ::-1], weights.backward, backward, reversed_mask, sums,
                             "_bw")  # fmt: skip
        states = dict(zip(spec.state_names, [*forward, *backward], strict=True))
        return LayerOutputs(engine.merge(spec.merge, o_fw, o_bw), states)
