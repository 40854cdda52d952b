"""The torch engine: PyTorch's nn.LSTM, nn.GRU or nn.RNN (batch_first) on the same weights and
input, converted to PyTorch's layout by rnnstate.layouts.

torch is imported here and only here. Spec refuses beforehand what PyTorch cannot express
(Spec.torch_problem): a GRU with reset_before, other activations, merge modes, masks.
"""

import numpy as np

from rnnstate.engines import LayerOutputs, Progress
from rnnstate.interruptible import call_interruptibly
from rnnstate.layouts import to_torch
from rnnstate.spec import Spec
from rnnstate.weights import LayerWeights

MODULES = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN"}


def build_module(torch, spec: Spec, weights: LayerWeights, features: int):
    """The PyTorch module for `spec`, holding `weights` (loaded with strict=True)."""
    options = {
        "input_size": features,
        "hidden_size": weights.units,
        "batch_first": True,
        "bias": weights.use_bias,
        "bidirectional": spec.bidirectional,
    }
    if spec.cell == "rnn":
        options["nonlinearity"] = spec.activation
    module = getattr(torch.nn, MODULES[spec.cell])(**options)
    state = to_torch(weights, spec.cell, spec.reset_after)
    module.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()}, strict=True)
    return module.eval()


def forward(torch, module, inputs, hx):
    """module(inputs, hx) without gradients (in the thread that calls it: no_grad is per
    thread)."""
    with torch.no_grad():
        return module(inputs, hx)


def run(
    spec: Spec,
    x: np.ndarray,
    weights: LayerWeights,
    initial_state: dict[str, np.ndarray] | None = None,
    progress: Progress | None = None,
) -> LayerOutputs:
    """Run x (N, T, D) through the PyTorch layer from `initial_state` (states by name, each
    (N, M); zeros if None), returning what Keras's layer returns with return_state=True.

    go_backwards is a flipped input (PyTorch then returns o in the order it read, as Keras
    does); a bidirectional layer's output is PyTorch's concat of the two halves, the backward
    half already in input order.
    """
    import torch

    _, T, D = x.shape
    M = weights.units
    module = build_module(torch, spec, weights, D)
    inputs = torch.from_numpy(np.ascontiguousarray(x[:, ::-1] if spec.backwards else x))
    names = ("h", "c") if spec.cell == "lstm" else ("h",)
    sides = ("_fw", "_bw") if spec.bidirectional else ("",)
    given = None
    if initial_state is not None:  # PyTorch's (directions, N, M) per state
        given = [
            torch.from_numpy(np.stack([initial_state[name + side] for side in sides]))
            for name in names
        ]
    hx = None if given is None else (tuple(given) if len(given) > 1 else given[0])
    out, final = call_interruptibly(forward, torch, module, inputs, hx)
    out = out.numpy()
    finals = [f.numpy() for f in (final if isinstance(final, tuple) else (final,))]
    states = {
        name + side: np.ascontiguousarray(finals[k][d])
        for d, side in enumerate(sides)
        for k, name in enumerate(names)
    }
    if spec.return_sequences:
        o = out
    elif spec.bidirectional:  # the forward half after t=T-1, the backward half after t=0
        o = np.concatenate([out[:, -1, :M], out[:, 0, M:]], axis=-1)
    else:
        o = out[:, -1]
    if progress:
        progress("torch", T)
    return LayerOutputs({"o": np.ascontiguousarray(o, dtype=np.float32)}, states)
