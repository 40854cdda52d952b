"""--memory with --check: the influence ‖∂s/∂x_t‖ worked out two more ways, each compared with
the exact backpropagation of rnnstate.memory (float64, from the exact engine's trace).

- keras: Keras's own gradients, tf.GradientTape's batch Jacobian of the Keras layer (the class
  and settings the keras engine runs) built with dtype float64, the run's weights cast to
  float64, called with the run's mask and initial states inside tf.function; one backward pass
  per unit of the state in turn (without pfor: it traces in seconds, not tens of them).
- torch: torch autograd on PyTorch's nn.LSTM / nn.GRU / nn.RNN in float64, where PyTorch can
  express the layer (tanh and sigmoid built in, a GRU of the reset_after variant, no masks).

Each way gives the full Jacobian of every final state by x, (N, M, T, D), reduced to the same
norm as rnnstate.memory. TensorFlow and torch are imported inside the functions that use them.
"""

from dataclasses import dataclass, replace

import numpy as np

from rnnstate.memory import FLOAT64_BYTES, MARGIN, Memory
from rnnstate.spec import GATE_BLOCKS, Spec, torch_installed
from rnnstate.weights import LayerWeights

TOLERANCE = 1e-6  # relative; float64 gradients of one function, rounded apart by about 1e-13
FLOOR = 1e-30  # below this share of a state's largest influence, a step counts as no influence
RELATIVE = (
    "|other - exact| / max(|exact|, 1e-30 x the largest influence on that state in that "
    "sequence), the largest over sequences and steps"
)


@dataclass(frozen=True)
class WayDiff:
    """One way's influence on one state against the exact one: the largest relative difference
    and where it is, (n, t)."""

    way: str  # "keras" or "torch"
    state: str  # h, c, h_fw ...
    max_rel_diff: float
    where: tuple[int, int]


@dataclass(frozen=True)
class GradientCheck:
    """The influence of the run worked out by Keras (and torch where it can) against the exact
    answer: per way and state the largest relative difference; the ways in words; the ways that
    could not run and why."""

    diffs: tuple[WayDiff, ...]
    methods: dict[str, str]  # way -> how it computed the gradients, in words
    skipped: dict[str, str]  # way -> why it did not run
    tolerance: float = TOLERANCE
    unit: int | None = None  # the influence on this unit of each state only

    @property
    def ways(self) -> list[str]:
        """The ways that ran, in order."""
        return list(dict.fromkeys(diff.way for diff in self.diffs))

    def within(self, way: str) -> bool:
        """Whether every state's influence by `way` is within tolerance of the exact one."""
        return all(d.max_rel_diff <= self.tolerance for d in self.diffs if d.way == way)

    @property
    def differing(self) -> list[str]:
        """The ways with some state beyond tolerance."""
        return [way for way in self.ways if not self.within(way)]

    @property
    def agree(self) -> bool:
        """Every way that ran within tolerance of the exact influence."""
        return not self.differing


def torch_problem(spec: Spec) -> str | None:
    """Why torch autograd cannot work out this layer's influence, or None. How a bidirectional
    layer merges its outputs does not touch its final states, so any merge is taken. What
    the layer itself asks of PyTorch comes first: it holds where PyTorch is installed, too."""
    problem = replace(spec, merge="concat").torch_problem()
    if problem is None and not torch_installed():
        return "PyTorch is not installed"
    return problem


def norms(jacobians: dict[str, np.ndarray], unit: int | None = None) -> dict[str, np.ndarray]:
    """state -> (N, T): the Frobenius norm over units and features of each Jacobian (N, M, T,
    D), or over the features of unit `unit`'s row only."""
    out = {}
    for name, jacobian in jacobians.items():
        rows = jacobian if unit is None else jacobian[:, unit : unit + 1]
        out[name] = np.sqrt((rows**2).sum(axis=(1, 3)))
    return out


def relative_diff(way: str, state: str, exact: np.ndarray, other: np.ndarray) -> WayDiff:
    """The largest relative difference of `other` (N, T) from `exact` (N, T) (see RELATIVE)."""
    largest = exact.max(axis=1, keepdims=True)
    scale = np.maximum(np.abs(exact), FLOOR * largest)
    diff = np.abs(other - exact)
    relative = np.divide(diff, scale, out=np.where(diff > 0, np.inf, 0.0), where=scale > 0)
    n, t = np.unravel_index(int(np.argmax(relative)), relative.shape)
    return WayDiff(way, state, float(relative[n, t]), (int(n), int(t)))


def keras_jacobians(
    spec: Spec,
    x: np.ndarray,
    weights: LayerWeights,
    initial_state: dict[str, np.ndarray] | None = None,
    mask: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """state -> (N, M, T, D): tf.GradientTape's batch Jacobian of each final state of the Keras
    layer by x (N, T, D), the layer built with dtype float64 and the weights cast to float64;
    mask (N, T) and initial states (by name, each (N, M)) as the run had them."""
    from rnnstate.engines.keras import _import_keras, new_layer, stderr_silenced
    from rnnstate.interruptible import call_interruptibly

    with stderr_silenced():
        tf, keras = _import_keras()
        layer = new_layer(keras, spec, weights.units, x.shape[2], weights.use_bias, "float64")
        layer.set_weights([np.asarray(w, np.float64) for w in weights.as_list()])
        count = len(spec.state_names)

        @tf.function(autograph=False)
        def jacobians(inputs, mask, states):
            with tf.GradientTape(persistent=True) as tape:
                tape.watch(inputs)
                returned = layer(inputs, initial_state=states, mask=mask)
            return [
                tape.batch_jacobian(s, inputs, experimental_use_pfor=False)
                for s in returned[-count:]
            ]

        states = None
        if initial_state is not None:
            states = [tf.constant(np.asarray(initial_state[n], np.float64))
                      for n in spec.state_names]  # fmt: skip
        given = None if mask is None else tf.constant(np.asarray(mask, bool))
        found = call_interruptibly(jacobians, tf.constant(np.asarray(x, np.float64)), given, states)
    return {name: j.numpy() for name, j in zip(spec.state_names, found, strict=True)}


def torch_jacobians(
    spec: Spec,
    x: np.ndarray,
    weights: LayerWeights,
    initial_state: dict[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """state -> (N, M, T, D): torch autograd's Jacobian of each final state of PyTorch's own
    layer (the torch engine's module, in float64) by x (N, T, D), one backward pass per unit of
    each state (the sequences are independent, so one pass gives every sequence's row).
    Initial states by name, each (N, M). The layer must pass torch_problem."""
    import torch

    from rnnstate.engines.torch import build_module
    from rnnstate.interruptible import call_interruptibly

    module = build_module(torch, replace(spec, merge="concat"), weights, x.shape[2]).double()
    names = ("h", "c") if spec.cell == "lstm" else ("h",)
    sides = ("_fw", "_bw") if spec.bidirectional else ("",)

    def work() -> dict[str, np.ndarray]:
        inputs = torch.tensor(np.asarray(x, np.float64), requires_grad=True)
        hx = None
        if initial_state is not None:  # PyTorch's (directions, N, M) per state
            given = [
                torch.from_numpy(np.stack([initial_state[name + side] for side in sides])).double()
                for name in names
            ]
            hx = tuple(given) if len(given) > 1 else given[0]
        _, final = module(inputs.flip(1) if spec.backwards else inputs, hx)
        final = final if isinstance(final, tuple) else (final,)
        out = {}
        for d, side in enumerate(sides):
            for k, name in enumerate(names):
                state = final[k][d]  # (N, M)
                rows = []
                for unit in range(state.shape[1]):
                    (grad,) = torch.autograd.grad(state[:, unit].sum(), inputs, retain_graph=True)
                    rows.append(grad.numpy())  # (N, T, D)
                out[name + side] = np.stack(rows, axis=1)  # (N, M, T, D)
        return {key: out[key] for key in spec.state_names}

    return call_interruptibly(work)


def check(
    spec: Spec,
    x: np.ndarray,
    weights: LayerWeights,
    initial_state: dict[str, np.ndarray] | None,
    mask: np.ndarray | None,
    memory: Memory,
    unit: int | None = None,
) -> GradientCheck:
    """The run's influence `memory` (rnnstate.memory's, on unit `unit` of each state if given)
    against Keras's gradients and, where it can, torch autograd's: a GradientCheck."""
    keras_layer = f"Bidirectional({spec.keras_layer})" if spec.bidirectional else spec.keras_layer
    methods = {
        "keras": f"tf.GradientTape batch Jacobian of keras.layers.{keras_layer} built with dtype "
        "float64, the run's weights cast to float64",
    }
    found = {"keras": keras_jacobians(spec, x, weights, initial_state, mask)}
    skipped = {}
    why = torch_problem(spec)
    if why is None:
        methods["torch"] = (
            f"torch autograd on torch.nn.{spec.keras_layer.replace('SimpleRNN', 'RNN')} in "
            "float64, one backward pass per unit of each state"
        )
        found["torch"] = torch_jacobians(spec, x, weights, initial_state)
    else:
        skipped["torch"] = why
    diffs = []
    for way, jacobians in found.items():
        for state, values in norms(jacobians, unit).items():
            diffs.append(relative_diff(way, state, memory.influence[state], values))
    return GradientCheck(tuple(diffs), methods, skipped, unit=unit)


def needed_bytes(spec: Spec) -> int:
    """Bytes the check adds, estimated with memory.MARGIN: per direction the Jacobians (N, P, T,
    D) in float64 twice (the framework's and numpy's copy) for each way, and Keras's tape of the
    float64 run (its gates at every step, and the P rows the batch Jacobian carries back at
    once); P = M, 2M for an LSTM. Measured (peak resident memory): an LSTM with T=1000, D=8,
    M=64 grew by 140 MB of the 270 MB estimated."""
    N, T, D, M = spec.batch, spec.steps, spec.features, spec.units
    directions = 2 if spec.bidirectional else 1
    P = M * (2 if spec.cell == "lstm" else 1)
    kM = len(GATE_BLOCKS[spec.cell]) * M
    jacobians = 2 * 2 * N * P * T * D
    tape = N * T * (4 * kM + P * (D + 2 * M))
    return int(MARGIN * FLOAT64_BYTES * directions * (jacobians + tape))
