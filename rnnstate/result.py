"""Result: what one run produced, the checks that each h equals its row of o, and the
comparison of the two engines."""

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
    """How a final hidden state compares with the part of the output it should equal."""

    state: str  # "h", or "h_fw" / "h_bw"
    output: str  # that part of the output, e.g. "o[t=7]", "o", "o[t=0, 3:]", "o_bw[t=0]"
    step: int | None  # the input step t of that row, or None without return_sequences
    equal: bool  # equal exactly
    max_abs_diff: float  # largest |h - part| over batch and units


@dataclass(frozen=True)
class ArrayDiff:
    """The largest difference between the engines in one array."""

    name: str  # "o", "h", "c", "h_fw", ...
    max_abs_diff: float  # largest |keras - numpy|
    max_scaled_diff: float  # largest |keras - numpy| / max(1, |keras|): what the tolerance bounds
    where: tuple[int, ...]  # index of that element, e.g. (n, t, m) in o with return_sequences


@dataclass(frozen=True)
class CrossCheck:
    """How far the numpy engine's outputs and states are from Keras's on the same run."""

    diffs: tuple[ArrayDiff, ...]
    tolerance: float = ENGINE_TOLERANCE

    @property
    def agree(self) -> bool:
        """Every array within tolerance."""
        return all(diff.max_scaled_diff <= self.tolerance for diff in self.diffs)

    @property
    def largest(self) -> ArrayDiff:
        """The array whose largest (scaled) difference is largest."""
        return max(self.diffs, key=lambda diff: diff.max_scaled_diff)


def array_diff(name: str, keras: np.ndarray, numpy: np.ndarray) -> ArrayDiff:
    """The largest |keras - numpy| in one array, the largest scaled by max(1, |keras|), and
    where that one is."""
    reference = keras.astype(np.float64)
    diff = np.abs(reference - numpy)
    scaled = diff / np.maximum(1.0, np.abs(reference))
    where = np.unravel_index(int(np.argmax(scaled)), scaled.shape)
    return ArrayDiff(name, float(diff.max()), float(scaled[where]), tuple(int(i) for i in where))


def compare_engines(keras: LayerOutputs, numpy: LayerOutputs) -> CrossCheck:
    """Compare every output and state of the two engines."""
    pairs = [*keras.outputs.items(), *keras.states.items()]
    mine = {**numpy.outputs, **numpy.states}
    return CrossCheck(tuple(array_diff(name, value, mine[name]) for name, value in pairs))


@dataclass(frozen=True)
class Result(NamedArrays):
    """Arrays in Keras's shapes, batch axis included, all float32.

    x (N, T, D). outputs: "o" ((N, T, M') with return_sequences, else (N, M')), or "o_fw" and
    "o_bw" for a bidirectional layer with merge none. states: h (c), or h_fw (c_fw) h_bw (c_bw),
    each (N, M), in Keras's order. With --backwards, o's rows are in processing order.
    gates: with spec.gates, the numpy engine's per-step trace, each (N, T, M).
    cross_check: the engines compared, whenever both ran (--check, or --gates on keras).
    initial_state: the states the run started from, if given; mask (N, T): True where a step
    counts, with --mask-value.
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

    def largest_state(self) -> tuple[str, float]:
        """The state with the largest magnitude anywhere in the batch, and that magnitude."""
        magnitudes = {name: float(np.max(np.abs(value))) for name, value in self.states.items()}
        name = max(magnitudes, key=magnitudes.__getitem__)
        return name, magnitudes[name]

    def checks(self) -> list[StateCheck]:
        """Each final hidden state against the part of o Keras makes it equal: the last row
        processed (for a bidirectional concat, h_fw = o[t=T-1, :M] and h_bw = o[t=0, M:]).
        Empty for the merge modes sum, mul and ave, which mix the two halves."""
        spec, T, M = self.spec, self.spec.steps, self.spec.units
        sequences = spec.return_sequences
        if not spec.bidirectional:
            last = self.step_of_row(T - 1)
            part = self.o[:, -1] if sequences else self.o
            return [state_check("h", self.h, f"o[t={last}]" if sequences else "o", last, part)]
        forward_row, backward_row = (T - 1, 0)
        if spec.merge == "concat":
            o = self.o
            fw = o[:, forward_row, :M] if sequences else o[:, :M]
            bw = o[:, backward_row, M:] if sequences else o[:, M:]
            names = (
                (f"o[t={T - 1}, :{M}]", f"o[t=0, {M}:]") if sequences else (f"o[:{M}]", f"o[{M}:]")
            )
        elif spec.merge == "none":
            o_fw, o_bw = self.outputs["o_fw"], self.outputs["o_bw"]
            fw = o_fw[:, forward_row] if sequences else o_fw
            bw = o_bw[:, backward_row] if sequences else o_bw
            names = (f"o_fw[t={T - 1}]", "o_bw[t=0]") if sequences else ("o_fw", "o_bw")
        else:
            return []
        steps = (T - 1, 0) if sequences else (None, None)
        return [
            state_check("h_fw", self.states["h_fw"], names[0], steps[0], fw),
            state_check("h_bw", self.states["h_bw"], names[1], steps[1], bw),
        ]


def state_check(
    state: str, h: np.ndarray, output: str, step: int | None, part: np.ndarray
) -> StateCheck:
    """Compare a state h (N, M) with the part of o (N, M) it should equal."""
    diff = float(np.max(np.abs(h.astype(np.float64) - part)))
    return StateCheck(state, output, step, bool(np.array_equal(h, part)), diff)
