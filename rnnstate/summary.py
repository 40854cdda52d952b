"""What each unit does across a whole dataset: per-unit statistics of every traced quantity (the
states h_t and c_t, the gates), accumulated batch by batch in float64.

Each batch runs through the numpy engine (the exact one's float64 equations with engine="exact").
A large batch is streamed (rnnstate.summary_steps): each step's traced values are added to the
statistics as the engine computes them, and the trace is never recorded. A small one, one that
the engine runs compiled, or one with `top`, runs with the trace on and the trace's values are
added afterwards (Accumulator.add), sequence by sequence and within a sequence step by step, so
how the sequences are cut into batches does not change the sums' bits. The streamed path adds
step by step and within a step sequence by sequence: the same float64 sums of the same values
in another order, equal to the digits shown. Each unit's sums are of its values less its first
counted value (Accumulator.shift), so a unit that hardly moves keeps its std: the sum of squares
less the squared mean no longer cancels every digit. Counts (saturated steps, zeros) are
integers, exact by construction.
"""

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace

import numpy as np

from rnnstate.bins import SEQUENTIAL_ACTIVATIONS
from rnnstate.errors import SpecError
from rnnstate.spec import Spec
from rnnstate.unit_views import UnitRows
from rnnstate.weights import LayerWeights

# The gates of each cell: the recurrent activation's outputs, sigmoid-like, read against the
# saturation thresholds (the LSTM's output gate is "og" in the trace).
GATES: dict[str, tuple[str, ...]] = {"lstm": ("i", "f", "og"), "gru": ("z", "r"), "rnn": ()}
SORT_COLUMNS = ("unit", "mean", "std", "min", "max", "zeros", "left", "right")
# The values a gate takes, by recurrent activation, where they are bounded: the saturation
# thresholds must lie among them.
GATE_RANGES: dict[str, tuple[float, float]] = {
    **dict.fromkeys(SEQUENTIAL_ACTIVATIONS, (0.0, 1.0)),
    **dict.fromkeys(("tanh", "softsign", "hard_tanh"), (-1.0, 1.0)),
}
COMPILED_MIN_VALUES = 1 << 18  # a batch's values from which the compiled pass beats numpy's


def compiled_pays(size: int) -> bool:
    """Whether a batch of `size` values goes through the compiled pass: a large one, unless
    RNNSTATE_COMPILED says never (or always), as for the engine."""
    from rnnstate.engines.compiled import mode

    chosen = mode()
    return chosen == "always" if chosen != "auto" else size >= COMPILED_MIN_VALUES


@dataclass(frozen=True)
class Thresholds:
    """A gate's step is left-saturated below `low`, right-saturated above `high`. Raises
    SpecError (naming --left-below or --right-above) unless both are finite and low < high."""

    low: float = 0.1  # Karpathy, Johnson and Fei-Fei (2015)
    high: float = 0.9

    def __post_init__(self) -> None:
        for option, value in (("--left-below", self.low), ("--right-above", self.high)):
            if not math.isfinite(value):
                raise SpecError(option, f"{option} must be a finite number, got {value}")
        if not self.low < self.high:
            raise SpecError("--left-below", f"--left-below {self.low:g} must be below "
                                            f"--right-above {self.high:g}")  # fmt: skip

    def check_range(self, spec: Spec) -> None:
        """Raise SpecError (naming --left-below or --right-above) for a threshold outside the
        values the gates of `spec`'s layer take: [0, 1] for a sigmoid-like recurrent
        activation, [-1, 1] for a tanh-like one. Nothing for a cell without gates or an
        unbounded recurrent activation."""
        bounds = GATE_RANGES.get(spec.recurrent_activation)
        if not GATES[spec.cell] or bounds is None:
            return
        least, most = bounds
        for option, value in (("--left-below", self.low), ("--right-above", self.high)):
            if not least <= value <= most:
                raise SpecError(option, f"{option} {value:g} is outside [{least:g}, {most:g}], "
                                f"the values of the layer's {spec.recurrent_activation} gates; "
                                f"expected {least:g} <= --left-below < --right-above <= "
                                f"{most:g}")  # fmt: skip

    def of(self, dtype) -> tuple:
        """low and high in `dtype` (a numpy float type) such that a value v of that type is
        below the new low exactly when v < low, and above the new high exactly when v > high:
        for float32, the float32 rounded up from low and down from high (no float32 lies
        between the two roundings)."""
        low, high = np.array([self.low, self.high], dtype=dtype)
        if float(low) < self.low:  # compared in float64, not in dtype
            low = np.nextafter(low, dtype(np.inf))
        if float(high) > self.high:
            high = np.nextafter(high, dtype(-np.inf))
        return low, high


@dataclass(frozen=True)
class UnitStats:
    """One traced quantity's statistics, each an array over the M units, over the steps counted.

    left and right (fractions of steps below thresholds.low / above thresholds.high) and
    saturated are None for a quantity that is not a gate. dead: exactly 0 at every step counted;
    saturated: left- or right-saturated at every step counted.
    """

    name: str
    gate: bool
    mean: np.ndarray  # (M,) float64
    std: np.ndarray  # (M,) float64, the population standard deviation
    minimum: np.ndarray  # (M,)
    maximum: np.ndarray  # (M,)
    zeros: np.ndarray  # (M,) fraction of steps exactly 0
    dead: np.ndarray  # (M,) bool
    left: np.ndarray | None  # (M,) fraction of steps < low
    right: np.ndarray | None  # (M,) fraction of steps > high
    saturated: np.ndarray | None  # (M,) bool

    def column(self, name: str) -> np.ndarray | None:
        """The values of a --sort column (SORT_COLUMNS); None if this quantity has none."""
        return {
            "unit": np.arange(len(self.mean)), "mean": self.mean, "std": self.std,
            "min": self.minimum, "max": self.maximum, "zeros": self.zeros,
            "left": self.left, "right": self.right,
        }[name]  # fmt: skip


@dataclass(frozen=True)
class Place:
    """One (sequence, step) place of the input and a unit's value there, with the values at the
    counted steps around it (input step -> value)."""

    value: float
    sequence: int
    step: int  # the input step t (also on a --backwards layer)
    around: dict[int, float]


@dataclass(frozen=True)
class Summary:
    """Per-unit statistics of a layer over a dataset of `sequences` sequences of T steps.

    steps: the (sequence, step) places counted; masked: those skipped (--mask-value).
    stats: by traced name (h_t, c_t, i, f, g, og / z, r, h_hat / pre_activation; suffixed _fw
    and _bw on a bidirectional layer), in the trace's order.
    """

    spec: Spec  # the whole run: batch = every sequence, engine = the one that traced
    sequences: int
    steps: int
    masked: int
    batch_size: int
    thresholds: Thresholds
    stats: dict[str, UnitStats]
    top: "TopPlaces | None" = None  # with top: where that unit's quantity is largest
    across: UnitRows | None = None  # with across: that unit in the first sequences


class Accumulator:
    """Running float64 sums and integer counts of one traced quantity, per unit (M,)."""

    def __init__(self, name: str, units: int, gate: bool) -> None:
        self.name, self.gate = name, gate
        self.count = 0  # steps counted (the same for every unit)
        # each unit's first counted value (float64), taken off every value before it is summed
        self.shift: np.ndarray | None = None
        self.total = np.zeros(units)  # sum of the values less the shift
        self.squares = np.zeros(units)  # sum of the squares of the values less the shift
        self.minimum = np.full(units, np.inf)
        self.maximum = np.full(units, -np.inf)
        self.zeros = np.zeros(units, dtype=np.int64)
        self.left = np.zeros(units, dtype=np.int64)
        self.right = np.zeros(units, dtype=np.int64)

    def add(self, values: np.ndarray, counted: np.ndarray, thresholds: Thresholds) -> None:
        """Add values (n, T, M) at the steps where counted (n, T) is True.

        The sums run sequence by sequence and, within one, step by step, so cutting the
        sequences into other batches gives the same bits. A large batch goes through one
        compiled pass (rnnstate.summary_kernel), which adds in the same order.
        """
        if self.shift is None:
            if not counted.any():
                return  # nothing counted: nothing to add
            first = np.unravel_index(np.argmax(counted), counted.shape)  # (sequence, step)
            self.take_shift(values[first])
        if compiled_pays(values.size):
            from rnnstate.summary_kernel import accumulate_steps, add_sequences

            self.count += int(counted.sum())
            sums = np.zeros((2, *values.shape[::2]))  # each sequence's sum and sum of squares
            low, high = thresholds.of(values.dtype.type)
            accumulate_steps(values.transpose(1, 0, 2), counted.T, self.shift, sums[0], sums[1],
                             self.minimum, self.maximum, self.zeros, self.left, self.right,
                             low, high)  # fmt: skip
            add_sequences(sums[0], sums[1], self.total, self.squares)
            self.keep_saturation_of_gates()
            return
        n, T, M = values.shape
        per_sequence = np.zeros((n, M))  # float64
        per_sequence_squares = np.zeros((n, M))
        wide = np.empty((n, M))
        for t in range(T):
            where = counted[:, t, None]  # (n, 1)
            np.copyto(wide, values[:, t])  # float32 -> float64, exact
            wide -= self.shift
            np.add(per_sequence, wide, out=per_sequence, where=where)
            np.multiply(wide, wide, out=wide)
            np.add(per_sequence_squares, wide, out=per_sequence_squares, where=where)
        for s in range(n):  # one sequence after another, as the compiled pass adds them
            self.total += per_sequence[s]
            self.squares += per_sequence_squares[s]
        where = np.broadcast_to(counted[:, :, None], values.shape)
        self.count += int(counted.sum())
        self.minimum = np.minimum(
            self.minimum, values.min(axis=(0, 1), initial=np.inf, where=where)
        )
        self.maximum = np.maximum(
            self.maximum, values.max(axis=(0, 1), initial=-np.inf, where=where)
        )
        self.zeros += ((values == 0) & where).sum(axis=(0, 1))
        if self.gate:
            low, high = thresholds.of(values.dtype.type)
            self.left += ((values < low) & where).sum(axis=(0, 1))
            self.right += ((values > high) & where).sum(axis=(0, 1))

    def take_shift(self, first: np.ndarray) -> None:
        """The shift, once: each unit's first counted value, first (M,)."""
        if self.shift is None:
            self.shift = np.asarray(first, dtype=np.float64).copy()

    def keep_saturation_of_gates(self) -> None:
        """After a compiled pass, which counts saturated steps of every quantity: none kept for
        a quantity that is not a gate."""
        if not self.gate:
            self.left[:] = self.right[:] = 0

    def stats(self) -> UnitStats:
        """The statistics so far (NaN, and no flag, where no step was counted)."""
        counted = self.count > 0
        count = self.count if counted else np.nan
        shift = 0.0 if self.shift is None else self.shift
        # shift * count + total: the sum of the values, with one rounding for the product
        mean = (shift * count + self.total) / count
        offset = self.total / count  # the mean less the shift
        variance = np.maximum(self.squares / count - offset * offset, 0.0)
        missing = np.full_like(mean, np.nan)
        minimum, maximum = (self.minimum, self.maximum) if counted else (missing, missing)
        saturated = None
        if self.gate:
            saturated = counted & (self.left + self.right == self.count)
        return UnitStats(
            self.name, self.gate, mean, np.sqrt(variance), minimum.copy(), maximum.copy(),
            self.zeros / count, counted & (self.zeros == self.count),
            self.left / count if self.gate else None, self.right / count if self.gate else None,
            saturated,
        )  # fmt: skip


class TopPlaces:
    """The K places (sequence, input step) where one unit of one traced quantity is largest,
    over every counted step seen so far; ties go to the earlier sequence, then the earlier step,
    so the batch size does not change them. Each place keeps the values AROUND steps either
    side."""

    AROUND = 2

    def __init__(self, name: str, unit: int, count: int) -> None:
        self.name, self.unit, self.count = name, unit, count
        self.places: list[Place] = []

    def add(self, values: np.ndarray, counted: np.ndarray, first: int, backwards: bool) -> None:
        """Add values (n, T, M) of sequences first, first+1, ..., at the counted (n, T) steps;
        both in the trace's order (a --backwards layer's from the last input step)."""
        unit = values[:, :, self.unit].astype(np.float64)  # (n, T)
        if backwards:
            unit, counted = unit[:, ::-1], counted[:, ::-1]  # input order
        T = unit.shape[1]
        sequences, steps = np.nonzero(counted)  # in order: sequence, then step
        if len(self.places) == self.count:  # these later sequences must beat the last kept
            beats = unit[sequences, steps] > self.places[-1].value
            sequences, steps = sequences[beats], steps[beats]
        order = np.lexsort((steps, sequences, -unit[sequences, steps]))[: self.count]
        found = [
            Place(float(unit[s, t]), first + int(s), int(t), {
                int(u): float(unit[s, u]) for u in range(max(0, t - self.AROUND),
                                                         min(T, t + self.AROUND + 1))
                if counted[s, u]})
            for s, t in zip(sequences[order], steps[order], strict=True)
        ]  # fmt: skip
        merged = sorted([*self.places, *found], key=lambda p: (-p.value, p.sequence, p.step))
        self.places = merged[: self.count]


def is_gate(spec: Spec, name: str) -> bool:
    """Whether the traced `name` (maybe suffixed _fw or _bw) is one of the cell's gates."""
    return name.removesuffix("_fw").removesuffix("_bw") in GATES[spec.cell]


def traced_names(spec: Spec) -> list[str]:
    """The traced quantities of the layer of `spec`, in the trace's order."""
    from rnnstate.engines.numpy import TRACE_NAMES

    names = TRACE_NAMES[spec.cell]
    if not spec.bidirectional:
        return list(names)
    return [f"{name}_fw" for name in names] + [f"{name}_bw" for name in names]


def counted_steps(spec: Spec, mask: np.ndarray | None, n: int) -> np.ndarray:
    """(n, T) True where a step counts, in the trace's order: a --backwards layer's trace runs
    from the last input step to the first; a bidirectional one's is in input order."""
    if mask is None:
        return np.ones((n, spec.steps), dtype=bool)
    return mask[:, ::-1] if spec.backwards else mask


def summarize(
    spec: Spec,
    batches: Iterable[np.ndarray | tuple],
    weights: LayerWeights,
    batch_size: int,
    thresholds: Thresholds = Thresholds(),
    initial_state: dict[str, np.ndarray] | None = None,
    progress: Callable[[int], None] | None = None,
    top: tuple[int, int] | None = None,
    quantity: str = "h_t",
    across: tuple[int, int] | None = None,
) -> Summary:
    """Run every batch x (n, T, D) of the dataset through the layer of `spec` (spec.batch: the
    number of sequences in all; the numpy engine, or the exact one with engine="exact") with
    the trace on, and return the per-unit statistics. A batch may instead be a tuple (x, mask
    (n, T) or None, states by name or None): what a model sends its layer (its mask's masked
    steps are left out and counted). `initial_state`: states by name, each
    (spec.batch, M), cut along with the batches. `progress(sequences done)` after each batch.
    top (K, U): also keep the K places where unit U's `quantity` (a traced name: h_t, a gate;
    on a bidirectional layer with its half's suffix, h_t_fw) is largest. across (U, K): also
    keep unit U's `quantity` in the first K sequences (both halves of a bidirectional layer
    when `quantity` has no suffix). Raises SpecError for a unit or quantity the layer has not,
    thresholds outside its gates' values, or when one batch would not fit in memory;
    NumericError on overflow.
    """
    from rnnstate.api import ensure_finite, run_engines, step_mask
    from rnnstate.budget import ensure_fits
    from rnnstate.summary_steps import run_batch, streams

    thresholds.check_range(spec)
    top_name, across_names = followed(spec, quantity, top is not None)
    units = ([] if top is None else [top[1]]) + ([] if across is None else [across[0]])
    for unit in units:
        if not 0 <= unit < spec.units:
            raise SpecError("--unit", f"unit {unit} is not in the layer: M={spec.units}")
    engine = "exact" if spec.engine == "exact" else "numpy"
    spec = replace(spec, engine=engine, gates=True, return_sequences=False, check=False)
    size = min(batch_size, spec.batch)
    try:
        ensure_fits(replace(spec, batch=size))  # one batch at a time
    except SpecError as error:
        if size == 1:
            raise
        held = "--summary holds one batch of sequences at a time (-N above)"
        message = f"{error}; {held}: give a smaller --batch-size"
        raise SpecError("--batch-size", message) from None
    accumulators: dict[str, Accumulator] = {}
    places = None if top is None else TopPlaces(top_name, top[1], top[0])
    rows = None if across is None else UnitRows(across_names, across[0], across[1])
    done = masked = 0
    for batch in batches:
        x = batch[0] if isinstance(batch, tuple) else batch
        n = x.shape[0]
        if isinstance(batch, tuple):  # a model's layer input: x, its mask and states
            _, mask, states = batch
        else:
            mask = step_mask(x, spec.mask_value)
            states = initial_state and {k: v[done : done + n] for k, v in initial_state.items()}
        counted = counted_steps(spec, mask, n)
        masked += int(counted.size - counted.sum())
        kept = places is not None or rows is not None  # they need the trace itself
        if not kept and streams(spec, n, n * spec.steps * spec.units):
            for name in traced_names(spec):
                if name not in accumulators:
                    accumulators[name] = Accumulator(name, spec.units, is_gate(spec, name))
            run = run_batch(replace(spec, batch=n), x, weights, states, mask, accumulators,
                            thresholds)  # fmt: skip
            ensure_finite(replace(spec, batch=n), run, x, weights, states, mask)
        else:
            result = run_engines(replace(spec, batch=n), x, weights, states, None, mask)
            for name, values in result.gates.items():
                if name not in accumulators:
                    accumulators[name] = Accumulator(name, values.shape[2], is_gate(spec, name))
                accumulators[name].add(values, counted, thresholds)
            if places is not None:
                places.add(result.gates[top_name], counted, done, spec.backwards)
            if rows is not None:
                rows.add(result.gates, counted, spec.backwards)
        done += n
        if progress:
            progress(done)
    steps = done * spec.steps - masked
    stats = {name: accumulator.stats() for name, accumulator in accumulators.items()}
    return Summary(spec, done, steps, masked, batch_size, thresholds, stats, places, rows)


def followed(spec: Spec, quantity: str, ranked: bool) -> tuple[str, tuple[str, ...]]:
    """The traced name --top ranks and the names the across-sequences view keeps, for
    `quantity` (h_t, a gate, ...; on a bidirectional layer maybe suffixed _fw or _bw).
    Raises SpecError for a name the cell does not trace, and for --top on a bidirectional
    layer without the half."""
    from rnnstate.engines.numpy import TRACE_NAMES

    base = quantity.removesuffix("_fw").removesuffix("_bw")
    half = quantity[len(base) :]
    if half and not spec.bidirectional:
        raise SpecError("--direction", "--direction picks a half of a bidirectional layer; "
                                       "this one is not")  # fmt: skip
    if base not in TRACE_NAMES[spec.cell]:
        gates = GATES[spec.cell]
        others = ", ".join(n for n in TRACE_NAMES[spec.cell] if n not in gates)
        expected = f"a gate ({', '.join(gates)}) or {others}" if gates else \
            f"{others} (a {spec.keras_layer} has no gates)"  # fmt: skip
        raise SpecError("--gate", f"{spec.cell} traces no {quantity!r}; expected {expected}")
    if not spec.bidirectional:
        return base, (base,)
    if ranked and not half:
        raise SpecError("--direction", "--top on --bidirectional ranks one half: "
                                       "give --direction fw or bw")  # fmt: skip
    names = (quantity,) if half else (f"{base}_fw", f"{base}_bw")
    return names[0], names


def in_batches(x: np.ndarray, size: int) -> Iterator[np.ndarray]:
    """x (N, T, D) in batches of `size` sequences (the last may be smaller), as views."""
    for start in range(0, x.shape[0], size):
        yield x[start : start + size]
