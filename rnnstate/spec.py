"""Spec: every setting of one run, in one frozen dataclass, validated once."""

import importlib.util
import math
from dataclasses import asdict, dataclass
from typing import Literal

from rnnstate import activations
from rnnstate.errors import SpecError, shown_name

Cell = Literal["lstm", "gru", "rnn"]
Engine = Literal["keras", "numpy", "torch", "exact"]

CELLS: tuple[str, ...] = ("lstm", "gru", "rnn")
ENGINES: tuple[str, ...] = ("keras", "numpy", "torch", "exact")
MAX_SEED = 2**64 - 1  # seeds are written to JSON, whose readers stop at 64-bit integers
# --summary --top K: the places are kept as Python objects and merged at every batch, so K
# bounds the memory and time they take (K = 10^9 took 3.4 GB within a minute at N=20,000)
MAX_TOP = 10_000
MERGE_MODES: tuple[str, ...] = (
    "concat",
    "sum",
    "mul",
    "ave",
    "none",
)  # Keras merge_mode; none: None

# Gate blocks per cell, in Keras's order inside kernel, recurrent_kernel and bias.
GATE_BLOCKS: dict[str, tuple[str, ...]] = {
    "lstm": ("i", "f", "c", "o"),
    "gru": ("z", "r", "h"),
    "rnn": ("h",),
}

KERAS_LAYER_NAMES: dict[str, str] = {"lstm": "LSTM", "gru": "GRU", "rnn": "SimpleRNN"}


@dataclass(frozen=True)
class ModelSource:
    """Where a layer inspected inside a saved model comes from: the file, the layer's path in
    it, where its input came from, what masked its steps, and its settings that do nothing here."""

    path: str  # the saved model file
    layer: str  # the layer's name, "outer/inner" inside a nested model
    input_from: str  # in words: the model's input from a file, the layer's own input, the seed
    mask_from: str | None = None  # the layer that sent the step mask (Embedding, Masking), if any
    unused: tuple[str, ...] = ()  # settings of the layer that do nothing here, each in words
    seeded: bool = False  # x is drawn from the seed (otherwise the seed draws nothing)
    embedding: str | None = None  # the Embedding whose vectors are the layer's input, if any


@dataclass(frozen=True)
class Sources:
    """Where a run's x, weights and initial states came from when not drawn from the seed: a
    file's path, "array" for an array handed to rnnstate.run, None when drawn (or, for a
    model's layer, when its model supplied them: Spec.model says how)."""

    input: str | None = None  # x: the --input (or the model's input, or --layer-input) file
    weights: str | None = None  # the --weights file
    layout: str | None = None  # how the weights file was laid out: "keras" or "torch"
    prefix: str | None = None  # torch layout: the layer's key prefix in the state dict
    torch_layer: int | None = None  # torch layout: the layer of a stacked module
    initial_state: str | None = None  # the --initial-state file

    def words(self) -> str:
        """The sources as the header shows them: "input x.npy; weights w.pt (PyTorch, prefix
        'rnn.', layer 1)"; empty when nothing came from a file or an array."""
        parts = []
        if self.input is not None:
            parts.append(f"input {shown_name(self.input)}")
        if self.weights is not None:
            layout = "PyTorch state dict" if self.layout == "torch" else "Keras layout"
            if self.prefix is not None:
                layout += f", prefix {self.prefix!r}"
            if self.torch_layer is not None:
                layout += f", layer {self.torch_layer}"
            parts.append(f"weights {shown_name(self.weights)} ({layout})")
        if self.initial_state is not None:
            parts.append(f"initial state {shown_name(self.initial_state)}")
        return "; ".join(parts)


def state_names(cell: str, bidirectional: bool) -> tuple[str, ...]:
    """A layer's states in the order Keras returns them: h (c), or h_fw (c_fw) h_bw (c_bw)."""
    names = ("h", "c") if cell == "lstm" else ("h",)
    if bidirectional:
        return tuple(f"{name}_{side}" for side in ("fw", "bw") for name in names)
    return names


# PyTorch's CPU build (about 190 MB); plain `pip install torch` on Linux takes a CUDA build of GBs
TORCH_CPU_INSTALL = "pip install torch --index-url https://download.pytorch.org/whl/cpu"


def torch_installed() -> bool:
    """Whether PyTorch can be imported (found without importing it)."""
    return importlib.util.find_spec("torch") is not None


@dataclass(frozen=True)
class Spec:
    """What to run: the cell, the shapes (N, T, D) -> M, the seed and Keras's layer options."""

    cell: Cell  # "lstm", "gru" or "rnn" (Keras SimpleRNN)
    steps: int = 8  # T, time steps in the input
    features: int = 2  # D, features per step
    units: int = 3  # M, units of the layer (size of h and c)
    batch: int = 1  # N, sequences run side by side
    seed: int | None = 0  # spawns the weight and input streams; None when nothing is drawn
    return_sequences: bool = False  # Keras return_sequences: o is (N, T, M) instead of (N, M)
    reset_after: bool = True  # GRU only: Keras reset_after (bias (2, 3M) when True)
    activation: str = "tanh"  # Keras activation: the candidate (g, h_hat, SimpleRNN's h)
    recurrent_activation: str = "sigmoid"  # LSTM and GRU: Keras recurrent_activation, the gates
    unit_forget_bias: bool = True  # LSTM: drawn weights start the forget gate's bias at 1
    use_bias: bool = True  # Keras use_bias; False when a weights file has no bias
    engine: Engine = "keras"  # which implementation runs the layer
    backwards: bool = False  # Keras go_backwards: read the input from its last step to its first
    bidirectional: bool = False  # Keras Bidirectional: a forward and a backward copy of the layer
    merge: str = "concat"  # Bidirectional merge_mode for the two halves of o ("none": kept apart)
    mask_value: float | None = None  # Keras Masking: steps whose features all equal it are skipped
    initial_state: bool = False  # the run starts from given states instead of zeros
    gates: bool = False  # trace the gates and states at every step (numpy engine's equations)
    check: bool = False  # run both engines and compare their outputs and states
    explain: int | None = None  # an input step t whose arithmetic is worked out with the numbers
    unit: int | None = None  # with explain: write that unit's dot products out term by term
    direction: str | None = None  # with explain on a bidirectional layer: "fw", "bw", None both
    model: ModelSource | None = None  # the saved model the layer comes from (rnnstate model)
    sources: Sources = Sources()  # the files (or arrays) x, the weights and the states came from

    def __post_init__(self) -> None:
        if self.cell not in CELLS:
            raise SpecError(
                "CELL", f"unknown cell {self.cell!r}; expected one of {', '.join(CELLS)}"
            )
        if self.engine not in ENGINES:
            raise SpecError(
                "--engine", f"unknown engine {self.engine!r}; expected one of {', '.join(ENGINES)}"
            )
        for option, value in (
            ("--steps", self.steps),
            ("--features", self.features),
            ("--units", self.units),
            ("--batch", self.batch),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise SpecError(option, f"{option} must be a positive integer, got {value!r}")
        if self.seed is not None and (
            not isinstance(self.seed, int)
            or isinstance(self.seed, bool)
            or not (0 <= self.seed <= MAX_SEED)
        ):
            raise SpecError(
                "--seed", f"--seed must be an integer from 0 to 2**64-1, got {self.seed!r}"
            )
        if self.merge not in MERGE_MODES:
            raise SpecError("--merge", f"unknown merge mode {self.merge!r}; expected one of "
                            f"{', '.join(MERGE_MODES)}")  # fmt: skip
        if self.backwards and self.bidirectional:
            raise SpecError(
                "--backwards",
                "--backwards and --bidirectional do not combine: the backward half of a "
                "bidirectional layer already reads the input backwards",
            )
        self.check_activations()
        self.check_explain()
        if self.engine == "torch":
            if (problem := self.torch_problem()) is not None:
                raise SpecError("--engine", f"the torch engine cannot run this layer: {problem}")
            if not torch_installed():
                raise SpecError("--engine", f"torch is not installed: {TORCH_CPU_INSTALL}")
        if self.mask_value is not None and not math.isfinite(self.mask_value):
            raise SpecError(
                "--mask-value", f"--mask-value must be a finite number, got {self.mask_value}"
            )

    def check_activations(self) -> None:
        """Refuse activation names Keras does not take, a recurrent activation on a SimpleRNN,
        and non-element-wise activations where the numpy engine would have to compute them;
        store aliases under Keras's own name (swish -> silu)."""
        for option, field in (
            ("--activation", "activation"),
            ("--recurrent-activation", "recurrent_activation"),
        ):
            name = getattr(self, field)
            if (problem := activations.problem(name)) is not None:
                raise SpecError(option, problem)
            object.__setattr__(self, field, activations.canonical(name))
        if self.cell == "rnn" and self.recurrent_activation != "sigmoid":
            raise SpecError(
                "--recurrent-activation", "a SimpleRNN has no gates, so no recurrent activation"
            )
        numpy_needed = [
            option
            for option, needed in (
                ("--engine", self.engine in ("numpy", "exact")),
                ("--gates", self.gates),
                ("--check", self.check),
                ("--explain", self.explain is not None),
            )
            if needed
        ]
        for name in (self.activation, self.recurrent_activation):
            if numpy_needed and not activations.is_elementwise(name):
                raise SpecError(
                    numpy_needed[0],
                    f"{name} mixes the units of a step, so the numpy engine cannot compute it "
                    f"and {numpy_needed[0]} needs it; the keras engine alone runs {name}",
                )

    def check_explain(self) -> None:
        """Refuse an --explain step or --unit out of range, and --unit or --direction without
        what they refine."""
        if self.explain is not None and not 0 <= self.explain < self.steps:
            raise SpecError(
                "--explain",
                f"step {self.explain} is not in the input: T={self.steps} (0 to {self.steps - 1})",
            )
        if self.unit is not None:
            if self.explain is None:
                raise SpecError("--unit", "--unit refines --explain STEP; give both")
            if not 0 <= self.unit < self.units:
                raise SpecError(
                    "--unit", f"unit {self.unit} is not in the layer: M={self.units} "
                    f"(0 to {self.units - 1})",
                )  # fmt: skip
        if self.direction is not None:
            if self.direction not in ("fw", "bw"):
                raise SpecError("--direction", f"expected fw or bw, got {self.direction!r}")
            if not (self.bidirectional and self.explain is not None):
                raise SpecError(
                    "--direction", "--direction picks a half of --bidirectional for --explain"
                )

    def torch_problem(self) -> str | None:
        """Why PyTorch's nn.LSTM / nn.GRU / nn.RNN cannot express this layer, or None."""
        if self.cell == "gru" and not self.reset_after:
            return (
                "PyTorch's GRU is Keras's reset_after variant; this GRU has reset_after=False"
                + (" (--reset-before)" if self.model is None else "")
            )
        if self.cell == "rnn" and self.activation not in ("tanh", "relu"):
            return f"nn.RNN's nonlinearity is tanh or relu, not {self.activation}"
        if self.cell != "rnn" and (self.activation, self.recurrent_activation) != (
            "tanh",
            "sigmoid",
        ):
            return (
                f"nn.{self.keras_layer} has tanh and sigmoid built in, not "
                f"{self.activation} and {self.recurrent_activation}"
            )
        if self.bidirectional and self.merge != "concat":
            return f"a bidirectional PyTorch layer concatenates its halves, not merge {self.merge}"
        if self.masked:
            return "PyTorch has no step masks (packed sequences drop padding, a different rule)"
        return None

    @property
    def masked(self) -> bool:
        """Whether the layer's steps are masked: by --mask-value or by its model."""
        return self.mask_value is not None or self.model_masked

    @property
    def model_masked(self) -> bool:
        """Whether the layer's steps are masked by what its model sends it (Embedding, Masking)."""
        return self.model is not None and self.model.mask_from is not None

    @property
    def traced(self) -> bool:
        """Whether the run needs the numpy engine's per-step trace (--gates or --explain)."""
        return self.gates or self.explain is not None

    @property
    def gate_count(self) -> int:
        """k: the number of gate blocks stacked in the weights (4 LSTM, 3 GRU, 1 SimpleRNN)."""
        return len(GATE_BLOCKS[self.cell])

    @property
    def state_names(self) -> tuple[str, ...]:
        """The states in the order Keras returns them: h (c), or h_fw (c_fw) h_bw (c_bw)."""
        return state_names(self.cell, self.bidirectional)

    @property
    def output_names(self) -> tuple[str, ...]:
        """The layer's outputs: o, or o_fw and o_bw for a bidirectional layer with merge none."""
        return ("o_fw", "o_bw") if self.bidirectional and self.merge == "none" else ("o",)

    @property
    def output_units(self) -> int:
        """Units in o's last axis: 2M for a bidirectional concat, else M."""
        return 2 * self.units if self.bidirectional and self.merge == "concat" else self.units

    @property
    def keras_layer(self) -> str:
        """The Keras class name of the layer: LSTM, GRU or SimpleRNN."""
        return KERAS_LAYER_NAMES[self.cell]

    def config(self) -> dict:
        """Every setting but the cell and engine, as JSON values; `reset_after` only for a GRU,
        `recurrent_activation` for an LSTM or GRU, `unit_forget_bias` for an LSTM, `merge` only
        for a bidirectional layer, `explain`, `unit` and `direction` only when explaining,
        `model` only for a layer of a saved model; `seed` None (null) when nothing was drawn
        from it; `sources`: the files (or arrays) x, the weights and the states came from."""
        settings = asdict(self)
        del settings["cell"], settings["engine"]
        if self.cell != "gru":
            del settings["reset_after"]
        if self.cell == "rnn":
            del settings["recurrent_activation"]
        if self.cell != "lstm":
            del settings["unit_forget_bias"]
        if not self.bidirectional:
            del settings["merge"]
        if self.explain is None:
            del settings["explain"], settings["unit"], settings["direction"]
        if self.model is None:
            del settings["model"]
        else:
            settings["model"]["unused"] = list(self.model.unused)
        return settings

    @classmethod
    def from_config(cls, cell: str, engine: str, config: dict) -> "Spec":
        """The Spec whose config() is `config` (as a JSON document or a saved .npz holds it).
        Raises SpecError for a setting that is not a Spec's, or out of range."""
        settings = dict(config)
        known = set(cls.__dataclass_fields__) - {"cell", "engine"}
        if unknown := sorted(set(settings) - known):
            raise SpecError("config", f"unknown settings {', '.join(unknown)}")
        if settings.get("model") is not None:
            model = dict(settings["model"])
            model["unused"] = tuple(model.get("unused", ()))
            settings["model"] = model
        try:
            if settings.get("model") is not None:
                settings["model"] = ModelSource(**settings["model"])
            settings["sources"] = Sources(**settings.get("sources") or {})
            return cls(cell, engine=engine, **settings)
        except TypeError as error:  # a key of model or sources that is not theirs
            raise SpecError("config", f"not a run's config: {error}") from None
