"""Spec: every setting of one run, in one frozen dataclass, validated once."""

from dataclasses import asdict, dataclass
from typing import Literal

from rnnstate.errors import SpecError

Cell = Literal["lstm", "gru", "rnn"]
Engine = Literal["keras", "numpy"]

CELLS: tuple[str, ...] = ("lstm", "gru", "rnn")
ENGINES: tuple[str, ...] = ("keras", "numpy")

# Gate blocks per cell, in Keras's order inside kernel, recurrent_kernel and bias.
GATE_BLOCKS: dict[str, tuple[str, ...]] = {
    "lstm": ("i", "f", "c", "o"),
    "gru": ("z", "r", "h"),
    "rnn": ("h",),
}

KERAS_LAYER_NAMES: dict[str, str] = {"lstm": "LSTM", "gru": "GRU", "rnn": "SimpleRNN"}


@dataclass(frozen=True)
class Spec:
    """What to run: the cell, the shapes (N, T, D) -> M, the seed and Keras's layer options."""

    cell: Cell  # "lstm", "gru" or "rnn" (Keras SimpleRNN)
    steps: int = 8  # T, time steps in the input
    features: int = 2  # D, features per step
    units: int = 3  # M, units of the layer (size of h and c)
    batch: int = 1  # N, sequences run side by side
    seed: int = 0  # spawns the weight and input streams
    return_sequences: bool = False  # Keras return_sequences: o is (N, T, M) instead of (N, M)
    reset_after: bool = True  # GRU only: Keras reset_after (bias (2, 3M) when True)
    use_bias: bool = True  # Keras use_bias; False when a weights file has no bias
    engine: Engine = "keras"  # which implementation runs the layer
    gates: bool = False  # trace the gates and states at every step (numpy engine's equations)
    check: bool = False  # run both engines and compare their o, h and c

    def __post_init__(self) -> None:
        if self.cell not in CELLS:
            raise SpecError("CELL", f"unknown cell {self.cell!r}; expected one of {CELLS}")
        if self.engine not in ENGINES:
            raise SpecError(
                "--engine", f"unknown engine {self.engine!r}; expected one of {ENGINES}"
            )
        for option, value in (
            ("--steps", self.steps),
            ("--features", self.features),
            ("--units", self.units),
            ("--batch", self.batch),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise SpecError(option, f"{option} must be a positive integer, got {value!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise SpecError("--seed", f"--seed must be a non-negative integer, got {self.seed!r}")

    @property
    def gate_count(self) -> int:
        """k: the number of gate blocks stacked in the weights (4 LSTM, 3 GRU, 1 SimpleRNN)."""
        return len(GATE_BLOCKS[self.cell])

    @property
    def keras_layer(self) -> str:
        """The Keras class name of the layer: LSTM, GRU or SimpleRNN."""
        return KERAS_LAYER_NAMES[self.cell]

    def config(self) -> dict:
        """Every setting but the cell and engine, as JSON values; `reset_after` only for a GRU."""
        settings = asdict(self)
        del settings["cell"], settings["engine"]
        if self.cell != "gru":
            del settings["reset_after"]
        return settings
