"""What explore's controls say: the run's settings, sized by the user's files, and the command
line that prints what the app shows. No Textual here."""

import dataclasses
import shlex

import numpy as np

from rnnstate.models import LayerData
from rnnstate.weights import LayerWeights

NUMBERS = ("steps", "features", "units", "batch", "seed")
SIZE_FLAGS = {"steps": "-T", "features": "-D", "units": "-M", "batch": "-N", "seed": "--seed"}
LAYER_CONTROLS = ("cell", "features", "units", "direction", "merge", "activation",
                  "recurrent_activation", "reset_after", "use_bias", "unit_forget_bias",
                  "mask_value")  # fmt: skip


def direction_name(bidirectional: bool, backwards: bool) -> str:
    """The direction control's value for a layer: forward, backwards or bidirectional."""
    return "bidirectional" if bidirectional else "backwards" if backwards else "forward"


@dataclasses.dataclass(frozen=True)
class UserData:
    """What the user's files give the explorer (None: drawn from the seed, or zeros): x
    (N, T, D), the weights, and the initial states by name (each (N, M))."""

    x: np.ndarray | None = None
    weights: LayerWeights | None = None
    initial_state: dict[str, np.ndarray] | None = None


@dataclasses.dataclass
class Settings:
    """What the controls say: the run's settings, as the cell commands take them."""

    cell: str = "lstm"
    steps: int = 8
    features: int = 2
    units: int = 3
    batch: int = 1
    seed: int = 0
    return_sequences: bool = True
    direction: str = "forward"  # forward, backwards or bidirectional
    merge: str = "concat"
    activation: str = "tanh"
    recurrent_activation: str = "sigmoid"
    reset_after: bool = True
    use_bias: bool = True
    unit_forget_bias: bool = True
    mask_value: float | None = None
    engine: str = "numpy"
    input_path: str | None = None  # x, or the model's input with model_path
    weights_path: str | None = None
    prefix: str | None = None  # which layer of a PyTorch state dict in weights_path
    torch_layer: int | None = None
    initial_state_path: str | None = None
    model_path: str | None = None  # a saved model whose layer `layer` is explored
    layer: str | None = None
    layer_input_path: str | None = None  # the model's layer's own input
    sequence: int = 0  # the sequence n of the batch shown

    @classmethod
    def of_layer(cls, data: LayerData, **chosen) -> "Settings":
        """The settings of a saved model's layer (models.LayerData), with `chosen` (engine,
        seed, the model's file names ...), sized by the input and initial states it runs on."""
        layer, settings = data.layer, data.layer.settings
        if chosen.get("steps") is None:
            chosen["steps"] = layer.steps or cls.steps
        drawn = cls(
            cell=layer.cell,
            features=layer.features,
            units=layer.units,
            return_sequences=settings["return_sequences"],
            direction=direction_name(settings["bidirectional"], settings["backwards"]),
            merge=settings.get("merge", "concat"),
            activation=settings["activation"],
            recurrent_activation=settings.get("recurrent_activation", "sigmoid"),
            reset_after=settings.get("reset_after", True),
            layer=layer.path,
            **{name: value for name, value in chosen.items() if value is not None},
        )
        return drawn.sized(UserData(data.x, None, data.initial_state))

    def sized(self, data: UserData) -> "Settings":
        """The settings with the sizes and the bias that the user's files decide."""
        sizes = {}
        state = next(iter(data.initial_state.values())) if data.initial_state else None
        if state is not None and state.ndim == 2:  # (N, M); another shape is said by the run
            sizes.update(batch=state.shape[0], units=state.shape[1])
        if data.x is not None:
            sizes.update(batch=data.x.shape[0], steps=data.x.shape[1], features=data.x.shape[2])
        if data.weights is not None:
            weights = data.weights
            sizes.update(features=weights.features, units=weights.units, use_bias=weights.use_bias)
        return dataclasses.replace(self, **sizes)

    def fixed(self) -> set[str]:
        """The controls a file decides (the model's layer, the input, the weights)."""
        fixed = set()
        if self.model_path:
            fixed.update(LAYER_CONTROLS)
        if self.input_path or self.layer_input_path:
            fixed.update(("steps", "batch") if self.model_path else ("steps", "features", "batch"))
            if self.model_path:
                fixed.add("seed")  # x and the weights are the model's: the seed draws nothing
        if self.weights_path:
            fixed.update(("features", "units", "use_bias", "unit_forget_bias"))
        if self.initial_state_path:
            fixed.update(("batch", "units"))
        return fixed

    def command(self, view: str, step: int) -> str:
        """The command line that shows what the app shows (the view at the step cursor)."""
        words = self.model_words() if self.model_path else self.cell_words()
        if self.batch > 1:
            words += ["--only", str(self.sequence)]
        words += ["--engine", self.engine]
        if view == "heatmap":
            words.append("--heatmap")
        if view == "explain":
            words += ["--explain", str(step)]
        if view == "memory":
            words.append("--memory")
        return " ".join(map(shell_word, words))

    def model_words(self) -> list[str]:
        """rnnstate model PATH --layer NAME with the input and what the controls change."""
        words = ["rnnstate", "model", self.model_path, "--layer", self.layer]
        if self.input_path:
            words += ["--input", self.input_path]
        elif self.layer_input_path:
            words += ["--layer-input", self.layer_input_path]
        else:
            words += ["-T", str(self.steps), "-N", str(self.batch), "--seed", str(self.seed)]
        if self.initial_state_path:
            words += ["--initial-state", self.initial_state_path]
        return [*words, "--sequences" if self.return_sequences else "--no-sequences"]

    def cell_words(self) -> list[str]:
        """rnnstate CELL with every setting the controls give."""
        words = ["rnnstate", self.cell]
        for name in NUMBERS:
            if name in ("steps", "features", "batch") and self.input_path:
                continue
            if name in ("features", "units") and self.weights_path:
                continue
            words += [SIZE_FLAGS[name], str(getattr(self, name))]
        words.append("--sequences" if self.return_sequences else "--no-sequences")
        if self.direction == "backwards":
            words.append("--backwards")
        if self.direction == "bidirectional":
            words += ["--bidirectional", "--merge", self.merge]
        if self.activation != "tanh":
            words += ["--activation", self.activation]
        if self.cell != "rnn" and self.recurrent_activation != "sigmoid":
            words += ["--recurrent-activation", self.recurrent_activation]
        if self.cell == "gru" and not self.reset_after:
            words.append("--reset-before")
        if not (self.use_bias or self.weights_path):
            words.append("--no-bias")
        if self.cell == "lstm" and not (self.unit_forget_bias or self.weights_path):
            words.append("--no-unit-forget-bias")
        if self.mask_value is not None:
            words += ["--mask-value", repr(self.mask_value)]  # the float exactly
        for option, value in (("--input", self.input_path), ("--weights", self.weights_path),
                              ("--prefix", self.prefix), ("--torch-layer", self.torch_layer),
                              ("--initial-state", self.initial_state_path)):  # fmt: skip
            if value is not None:
                words += [option, str(value)]
        return words

    def saved_name(self, suffix: str, memory: bool = False) -> str:
        """The file `s`, `j` or `p` writes in the current folder: named by the cell and its
        sizes, or by the model's layer (its path with / as -); `-memory` before the suffix when
        it holds the influence (the memory view's)."""
        suffix = ("-memory" if memory else "") + suffix
        if self.model_path:
            return f"rnnstate-{self.layer.replace('/', '-')}-T{self.steps}{suffix}"
        return f"rnnstate-{self.cell}-T{self.steps}-M{self.units}-seed{self.seed}{suffix}"


def shell_word(word: str) -> str:
    """`word` quoted for a POSIX shell as shlex.quote does, or as $'...' (bash, zsh) where it
    holds a character a terminal would not show as itself (a control character): pasted back,
    the command names the same file."""
    if word.isprintable():
        return shlex.quote(word)
    escaped = "".join(
        {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\t": "\\t", "\r": "\\r"}.get(c)
        or (c if c.isprintable() else f"\\x{ord(c):02x}" if ord(c) < 128 else f"\\U{ord(c):08x}")
        for c in word
    )
    return f"$'{escaped}'"
