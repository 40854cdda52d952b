"""The activations a recurrent layer may name, what each one is, and where it saturates.

Names only, no numpy, so the command line can offer them without paying for an import. The
numpy functions themselves are in rnnstate.engines.activations.

Keras 3 accepts these by name (keras.activations.get). Element-wise ones act on each unit alone
and both engines compute them; softmax, log_softmax and sparsemax mix the units of a step, so
only the keras engine runs them; glu and threshold cannot serve a layer by name at all.
"""

from dataclasses import dataclass

ELEMENTWISE: tuple[str, ...] = (
    "tanh",
    "sigmoid",
    "hard_sigmoid",
    "relu",
    "relu6",
    "leaky_relu",
    "linear",
    "elu",
    "selu",
    "celu",
    "softsign",
    "softplus",
    "silu",
    "gelu",
    "exponential",
    "hard_silu",
    "mish",
    "log_sigmoid",
    "hard_tanh",
    "squareplus",
    "soft_shrink",
    "hard_shrink",
    "sparse_plus",
    "sparse_sigmoid",
    "tanh_shrink",
)
ALIASES: dict[str, str] = {"swish": "silu", "hard_swish": "hard_silu"}  # Keras's other names
NOT_ELEMENTWISE: tuple[str, ...] = ("softmax", "log_softmax", "sparsemax")
UNUSABLE: dict[str, str] = {
    "glu": "glu halves the units it is given, so the layer's states would no longer fit",
    "threshold": "threshold needs two arguments that a name cannot give",
}
NAMES: tuple[str, ...] = (*ELEMENTWISE, *ALIASES, *NOT_ELEMENTWISE)  # what --activation takes

# Activations whose values have no bound on one side: a state built from them can grow without
# limit.
UNBOUNDED = frozenset(
    {"relu", "leaky_relu", "linear", "elu", "selu", "celu", "softplus", "silu", "gelu"}
    | {"exponential", "hard_silu", "mish", "squareplus", "soft_shrink", "hard_shrink"}
    | {"sparse_plus", "tanh_shrink", "log_sigmoid"}
)


@dataclass(frozen=True)
class Saturation:
    """Where an activation's output stops following its input, for the --gates marks.

    band: outputs outside (low, high) lie near an asymptote (sigmoid, tanh); flat: outputs
    exactly at these values sit where the gradient is zero (hard_sigmoid's 0 and 1, relu's 0).
    words: the same for a reader.
    """

    band: tuple[float, float] | None
    flat: tuple[float, ...]
    words: str

    def marks(self, value: float) -> bool:
        """Whether one value counts as saturated."""
        outside = self.band is not None and not self.band[0] <= value <= self.band[1]
        return outside or value in self.flat


SATURATION: dict[str, Saturation] = {
    "sigmoid": Saturation((0.05, 0.95), (), "sigmoid below 0.05 or above 0.95"),
    "tanh": Saturation((-0.95, 0.95), (), "tanh beyond ±0.95"),
    "softsign": Saturation((-0.95, 0.95), (), "softsign beyond ±0.95"),
    "hard_sigmoid": Saturation(None, (0.0, 1.0), "hard_sigmoid at exactly 0 or 1 (flat)"),
    "sparse_sigmoid": Saturation(None, (0.0, 1.0), "sparse_sigmoid at exactly 0 or 1 (flat)"),
    "hard_tanh": Saturation(None, (-1.0, 1.0), "hard_tanh at exactly ±1 (flat)"),
    "relu": Saturation(None, (0.0,), "relu at exactly 0: the unit is dead at that step"),
    "relu6": Saturation(None, (0.0, 6.0), "relu6 at exactly 0 (dead) or 6 (capped)"),
}


def canonical(name: str) -> str:
    """The name Keras's get_config gives an activation: swish -> silu, hard_swish -> hard_silu."""
    return ALIASES.get(name, name)


def is_elementwise(name: str) -> bool:
    """Whether the numpy engine can compute `name`."""
    return canonical(name) in ELEMENTWISE


def problem(name: str) -> str | None:
    """Why `name` cannot be a layer's activation, or None when it can."""
    if name in UNUSABLE:
        return UNUSABLE[name]
    if name not in NAMES:
        return f"unknown activation {name!r}; expected one of {', '.join(NAMES)}"
    return None
