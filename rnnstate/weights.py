"""The layer's weights: Keras's default initialisers in numpy, and the layout per cell.

Layout, as Keras stores it (k gate blocks, in Keras's order: LSTM i f c o, GRU z r h):
    kernel            (D, kM)
    recurrent_kernel  (M, kM)
    bias              (kM,), or (2, 3M) for a GRU with reset_after; None without bias
"""

from dataclasses import dataclass

import numpy as np

from rnnstate.spec import Spec


@dataclass(frozen=True)
class Weights:
    """One recurrent layer's weights in Keras's layout, float32."""

    kernel: np.ndarray  # (D, kM) input projection
    recurrent_kernel: np.ndarray  # (M, kM) hidden-state projection
    bias: np.ndarray | None  # (kM,) or (2, 3M); None means use_bias=False
    read_from: str = "keras"  # the layout they were read from: "keras", or "torch" (converted)

    @property
    def units(self) -> int:
        """M, read from the recurrent kernel."""
        return self.recurrent_kernel.shape[0]

    @property
    def features(self) -> int:
        """D, read from the kernel."""
        return self.kernel.shape[0]

    @property
    def use_bias(self) -> bool:
        """Whether the layer has a bias."""
        return self.bias is not None

    def as_list(self) -> list[np.ndarray]:
        """The arrays in the order Keras's `set_weights` and `get_weights` use."""
        arrays = [self.kernel, self.recurrent_kernel]
        return arrays if self.bias is None else [*arrays, self.bias]

    def named(self, prefix: str = "") -> dict[str, np.ndarray]:
        """The arrays by Keras's names (kernel, recurrent_kernel, bias), each with `prefix`."""
        names = ("kernel", "recurrent_kernel", "bias")
        return {prefix + name: array for name, array in zip(names, self.as_list(), strict=False)}


@dataclass(frozen=True)
class BidirectionalWeights:
    """A Keras Bidirectional layer's weights: its forward and its backward layer's."""

    forward: Weights
    backward: Weights

    @property
    def units(self) -> int:
        """M of each direction."""
        return self.forward.units

    @property
    def features(self) -> int:
        """D, read from the forward kernel."""
        return self.forward.features

    @property
    def use_bias(self) -> bool:
        """Whether the layers have a bias."""
        return self.forward.use_bias

    def as_list(self) -> list[np.ndarray]:
        """Forward then backward arrays: the order of Bidirectional's get_weights()."""
        return [*self.forward.as_list(), *self.backward.as_list()]

    def named(self) -> dict[str, np.ndarray]:
        """forward_kernel, ..., backward_bias: the names of a bidirectional weights file."""
        return {**self.forward.named("forward_"), **self.backward.named("backward_")}


LayerWeights = Weights | BidirectionalWeights


def glorot_uniform(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Keras glorot_uniform: U(-limit, limit), limit = sqrt(6 / (fan_in + fan_out)); float32."""
    fan_in, fan_out = shape
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(np.float32)


def orthogonal(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Keras Orthogonal (gain 1) for a 2-D shape (rows, cols); float32.

    As Keras builds it: QR of a (max, min) standard normal matrix, columns signed by diag(R),
    transposed when rows < cols. So a (M, kM) recurrent kernel has orthonormal rows.
    """
    rows, cols = shape
    a = rng.standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return q.reshape(shape).astype(np.float32)


def default_bias(spec: Spec) -> np.ndarray:
    """Keras's default bias: zeros, with the LSTM forget block (i f c o) set to ones when
    unit_forget_bias is on (Keras's default)."""
    M = spec.units
    if spec.cell == "lstm" and spec.unit_forget_bias:
        return np.concatenate([np.zeros(M), np.ones(M), np.zeros(2 * M)]).astype(np.float32)
    if spec.cell == "gru" and spec.reset_after:
        return np.zeros((2, 3 * M), dtype=np.float32)
    return np.zeros(spec.gate_count * M, dtype=np.float32)


def one_direction(spec: Spec, rng: np.random.Generator) -> Weights:
    """One layer's weights, drawn as a new Keras layer draws them: kernel, then recurrent kernel."""
    width = spec.gate_count * spec.units  # kM
    kernel = glorot_uniform(rng, (spec.features, width))
    recurrent_kernel = orthogonal(rng, (spec.units, width))
    return Weights(kernel, recurrent_kernel, default_bias(spec) if spec.use_bias else None)


def initial_weights(spec: Spec, rng: np.random.Generator) -> LayerWeights:
    """The layer's weights; a bidirectional layer draws its forward layer's first, so the
    forward half equals the unidirectional layer of the same seed."""
    forward = one_direction(spec, rng)
    return (
        BidirectionalWeights(forward, one_direction(spec, rng)) if spec.bidirectional else forward
    )
