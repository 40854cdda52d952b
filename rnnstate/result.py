"""Result: what one run produced, the checks that each h equals its row of o, and the
comparison of the engines with each other and with the exact answer."""

from dataclasses import dataclass

import numpy as np

from rnnstate.engines import LayerOutputs, NamedArrays
from rnnstate.spec import Spec
from rnnstate.weights import LayerWeights

# Largest |keras - numpy| / max(1, |keras|) that --check accepts, per element: absolute for
# values within ±1, relative beyond (a relu state of 1e4 carries float32 rounding of 1e-3).
ENGINE_TOLERANCE = 1e-5


@dataclass(frozen=True)
class StateCheck:
    """Which part of o one final hidden state of one sequence equals exactly, or why none does.

    The part is the output of the last step the layer read without a mask: for a forward layer
    with trailing padding, the last real step; for a backward layer (or half), the first.
    """

    state: str  # "h", or "h_fw" / "h_bw"
    sequence: int  # n, the sequence of the batch
    output: str | None  # the part it equals: "o[t=7]", "o", "o[t=0, 3:]", "o_bw[t=0]"; or None
    step: int | None  # the input step t of that row; None without return_sequences, or no part
    row: int | None  # that row's index in o's rows (processing order with --backwards), or None
    max_abs_diff: float | None  # largest |state - part|; None when there is no part to compare
    reason: str | None = None  # why no part of o equals the state, in words; None when one does
    note: str | None = None  # what else holds, in words (a sequence masked at every step)

    @property
    def equal(self) -> bool:
        """Whether the state equals a part of o, exactly."""
        return self.output is not None


@dataclass(frozen=True)
class ArrayDiff:
    """The largest difference between two engines in one array."""

    engines: tuple[str, str]  # (reference, other), e.g. ("keras", "numpy")
    name: str  # "o", "h", "c", "h_fw", ...
    max_abs_diff: float  # largest |reference - other|
    max_scaled_diff: float  # largest |reference - other| / max(1, |reference|): the tolerance's
    where: tuple[int, ...]  # index of that element, e.g. (n, t, m) in o with return_sequences


UNIT_ROUNDOFF = 2.0**-24  # float32's: one rounding moves a value by at most this, relatively
REACH_SAFETY = 10  # the tolerance is this many times the reach measured (rnnstate.reach)


@dataclass(frozen=True)
class Reach:
    """How close float32 can get to the exact answer on one layer and input, as measured by
    rnnstate.reach: the largest scaled distance from the exact answer of `runs` float32 runs of
    the same equations, each from the input, weights and initial states moved by one rounding."""

    runs: int  # float32 runs measured
    max_scaled_diff: float  # the largest of their distances to the exact answer (scaled)

    @property
    def amplification(self) -> float:
        """About how many times the layer magnifies one float32 rounding on this input."""
        return self.max_scaled_diff / UNIT_ROUNDOFF

    @property
    def tolerance(self) -> float:
        """What --check accepts: REACH_SAFETY times the reach, never less than 1e-5."""
        return max(ENGINE_TOLERANCE, REACH_SAFETY * self.max_scaled_diff)


@dataclass(frozen=True)
class CrossCheck:
    """How far the engines that ran are from each other, pair by pair, on the same run; with
    --check also each float32 engine's distance to the exact answer (float64), judged against
    what float32 can reach on this layer and input."""

    diffs: tuple[ArrayDiff, ...]  # the float32 engines pair by pair
    tolerance: float = ENGINE_TOLERANCE
    exact: tuple[ArrayDiff, ...] = ()  # each float32 engine against ("exact", engine)
    reach: Reach | None = None

    @property
    def agree(self) -> bool:
        """Every engine within tolerance of the exact answer, when it ran; else every array of
        every pair within tolerance."""
        if self.exact:
            return not self.differing
        return all(diff.max_scaled_diff <= self.tolerance for diff in self.diffs)

    @property
    def judged(self) -> list[str]:
        """The engines measured against the exact answer, in order."""
        return list(dict.fromkeys(diff.engines[1] for diff in self.exact))

    @property
    def differing(self) -> list[str]:
        """The engines with some array beyond tolerance of the exact answer."""
        return [engine for engine in self.judged if not self.within(engine)]

    def within(self, engine: str) -> bool:
        """Whether every array of `engine` is within tolerance of the exact answer."""
        return self.to_exact(engine).max_scaled_diff <= self.tolerance

    def to_exact(self, engine: str) -> ArrayDiff:
        """The array of `engine` farthest (scaled) from the exact answer."""
        mine = [diff for diff in self.exact if diff.engines[1] == engine]
        return max(mine, key=lambda diff: diff.max_scaled_diff)

    @property
    def largest(self) -> ArrayDiff:
        """The array whose largest (scaled) difference is largest."""
        return max(self.diffs, key=lambda diff: diff.max_scaled_diff)

    @property
    def pairs(self) -> list[tuple[str, str]]:
        """The pairs of engines compared, in order."""
        return list(dict.fromkeys(diff.engines for diff in self.diffs))

    def pair(self, engines: tuple[str, str]) -> "CrossCheck":
        """Only the comparison of one pair of engines."""
        return CrossCheck(tuple(d for d in self.diffs if d.engines == engines), self.tolerance)


def array_diff(engines: tuple[str, str], name: str, reference: np.ndarray, other: np.ndarray):
    """The largest |reference - other| in one array, the largest scaled by max(1,
    |reference|), and where that one is: an ArrayDiff."""
    reference = reference.astype(np.float64)
    diff = np.abs(reference - other)
    scaled = diff / np.maximum(1.0, np.abs(reference))
    where = np.unravel_index(int(np.argmax(scaled)), scaled.shape)
    return ArrayDiff(
        engines, name, float(diff.max()), float(scaled[where]), tuple(int(i) for i in where)
    )


def array_diffs(engines: tuple[str, str], reference: LayerOutputs, other: LayerOutputs):
    """array_diff of every output and state, in the reference's order."""
    arrays = {**other.outputs, **other.states}
    return [
        array_diff(engines, name, value, arrays[name])
        for name, value in [*reference.outputs.items(), *reference.states.items()]
    ]


def largest_scaled_diff(reference: LayerOutputs, other: LayerOutputs) -> float:
    """The largest scaled difference over every output and state of two runs."""
    return max(diff.max_scaled_diff for diff in array_diffs(("", ""), reference, other))


ENGINE_ORDER = ("keras", "numpy", "torch", "exact")  # the first of a pair is the reference


def compare_engines(runs: dict[str, LayerOutputs], reach: Reach | None = None) -> CrossCheck:
    """Compare every output and state of every pair of the float32 engines that ran, and of
    each against the exact engine's when it ran; `reach` (with the exact engine) sets the
    tolerance."""
    names = sorted((name for name in runs if name != "exact"), key=ENGINE_ORDER.index)
    diffs = []
    for a, b in ((a, b) for i, a in enumerate(names) for b in names[i + 1 :]):
        diffs.extend(array_diffs((a, b), runs[a], runs[b]))
    exact = []
    if "exact" in runs:
        for name in names:
            exact.extend(array_diffs(("exact", name), runs["exact"], runs[name]))
    tolerance = ENGINE_TOLERANCE if reach is None else reach.tolerance
    return CrossCheck(tuple(diffs), tolerance, tuple(exact), reach)


@dataclass(frozen=True)
class Result(NamedArrays):
    """Arrays in Keras's shapes, batch axis included, float32 (float64 from the exact engine).

    x (N, T, D). outputs: "o" ((N, T, M') with return_sequences, else (N, M')), or "o_fw" and
    "o_bw" for a bidirectional layer with merge none. states: h (c), or h_fw (c_fw) h_bw (c_bw),
    each (N, M), in Keras's order. With --backwards, o's rows are in processing order.
    gates: with --gates or --explain, the numpy engine's per-step trace, each (N, T, M).
    cross_check: the engines compared pairwise, whenever more than one ran (--check, or a
    trace beside another engine); with --check each also against the exact answer.
    initial_state: the states the run started from, if given; mask (N, T): True where a step
    counts, with --mask-value. plot() and the notebook display are attached by rnnstate.api
    (rnnstate.render.notebook): this module knows no renderer.
    """

    spec: Spec
    x: np.ndarray
    outputs: dict[str, np.ndarray]
    states: dict[str, np.ndarray]
    weights: LayerWeights
    gates: dict[str, np.ndarray] | None = None
    cross_check: CrossCheck | None = None
    initial_state: dict[str, np.ndarray] | None = None
    mask: np.ndarray | None = None

    def step_of_row(self, row: int) -> int:
        """The input step t that row `row` of o belongs to (rows run backwards with
        --backwards, which returns o in processing order)."""
        return self.spec.steps - 1 - row if self.spec.backwards else row

    def steps_of_rows(self) -> range:
        """The input step of every row of o, in row order (a range: T may be millions)."""
        T = self.spec.steps
        return range(T - 1, -1, -1) if self.spec.backwards else range(T)

    def largest_state(self) -> tuple[str, float]:
        """The state with the largest magnitude anywhere in the batch, and that magnitude."""
        magnitudes = {name: float(np.max(np.abs(value))) for name, value in self.states.items()}
        name = max(magnitudes, key=magnitudes.__getitem__)
        return name, magnitudes[name]

    def checks(self) -> list[StateCheck]:
        """Every final hidden state of every sequence against the part of o it should equal:
        the output of the last step the layer read without a mask. A state is said to equal it
        only when the two are exactly equal; otherwise the check says why in words."""
        states = ("h_fw", "h_bw") if self.spec.bidirectional else ("h",)
        return [self.state_check(state, n) for n in range(self.spec.batch) for state in states]

    def last_step_read(self, n: int, state: str) -> int | None:
        """The input step of sequence n that the layer of `state` (h, c, h_bw, ...) read last
        without a mask: the last one read forwards, the first one read backwards; None when
        every step is masked."""
        read = np.arange(self.spec.steps) if self.mask is None else np.flatnonzero(self.mask[n])
        if read.size == 0:
            return None
        backwards = self.spec.backwards or state.endswith("_bw")
        return int(read[0] if backwards else read[-1])

    def state_check(self, state: str, n: int) -> StateCheck:
        """The check of one hidden state ("h", "h_fw" or "h_bw") of sequence n."""
        spec = self.spec
        if spec.bidirectional and spec.merge in ("sum", "mul", "ave"):
            return StateCheck(
                state, n, None, None, None, None,
                f"merge_mode={spec.merge} mixes the two halves in o, so neither state can be "
                "read off it",
            )  # fmt: skip
        step = self.last_step_read(n, state)
        if step is None:
            start = "given with --initial-state" if spec.initial_state else "zeros"
            step = spec.steps - 1 if not (spec.backwards or state.endswith("_bw")) else 0
            name, part, row = self.output_part(state, n, step)
            if np.array_equal(self.states[state][n], part):  # zeros, from zero initial states
                return StateCheck(
                    state, n, name, None if row is None else step, row, 0.0, None,
                    f"every step of this sequence is masked: {state} is still its initial state "
                    f"({start}) and the layer's output is zeros",
                )  # fmt: skip
            return StateCheck(
                state, n, None, None, None, None,
                f"every step of this sequence is masked, so the layer wrote no output; {state} is "
                f"still its initial state ({start})",
            )  # fmt: skip
        name, part, row = self.output_part(state, n, step)
        value = self.states[state][n]
        diff = float(np.max(np.abs(value.astype(np.float64) - part)))
        if np.array_equal(value, part):
            return StateCheck(state, n, name, None if row is None else step, row, diff)
        return StateCheck(
            state, n, None, None, None, diff,
            f"it differs from {name}, the output of the last step the layer read, by {diff:g}",
        )  # fmt: skip

    def output_part(self, state: str, n: int, step: int) -> tuple[str, np.ndarray, int | None]:
        """The part of sequence n's output that holds `state` after input step `step`: its
        name, its values (M,), and its row in o (None without return_sequences)."""
        spec, M = self.spec, self.spec.units
        sequences = spec.return_sequences
        row = (spec.steps - 1 - step if spec.backwards else step) if sequences else None
        at = f"t={step}"
        if not spec.bidirectional:
            o = self.o[n]
            return (f"o[{at}]", o[row], row) if sequences else ("o", o, None)
        side = state[-2:]
        if spec.merge == "none":
            o = self.outputs[f"o_{side}"][n]
            return (f"o_{side}[{at}]", o[row], row) if sequences else (f"o_{side}", o, None)
        columns, shown = (slice(0, M), f":{M}") if side == "fw" else (slice(M, 2 * M), f"{M}:")
        o = self.o[n]
        if sequences:
            return f"o[{at}, {shown}]", o[row, columns], row
        return f"o[{shown}]", o[columns], None

    def trace_final_relation(self, name: str, n: int) -> str | None:
        """How the final row of traced quantity `name` (h_t, c_t, h_t_fw, ...) of sequence n
        stands to the layer's state: "=" exactly equal, "≈" within the engines' tolerance (on
        the keras engine the trace is numpy's), None otherwise."""
        bidirectional = self.spec.bidirectional
        base, side = (name[:-3], name[-3:]) if bidirectional else (name, "")
        final_row = 0 if side == "_bw" else -1
        traced, state = self.gates[name][n][final_row], self.states[base[0] + side][n]
        if np.array_equal(traced, state):
            return "="
        scaled = np.abs(traced.astype(np.float64) - state) / np.maximum(1.0, np.abs(state))
        return "≈" if np.max(scaled) <= ENGINE_TOLERANCE else None
