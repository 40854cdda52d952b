"""Weight layouts: Keras's (kernel, recurrent_kernel, bias) and PyTorch's nn.LSTM / nn.GRU /
nn.RNN state dicts (weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, ..._reverse), both ways.

    Keras                          PyTorch
    kernel (D, kM)                 weight_ih_lK (kM, D)            transposed
    recurrent_kernel (M, kM)       weight_hh_lK (kM, M)            transposed
    bias (kM,)                     bias_ih_lK + bias_hh_lK         LSTM, RNN: summed; written back
                                                                   as bias_ih with bias_hh zero
    bias (2, 3M), GRU reset_after  (bias_ih_lK, bias_hh_lK)        kept apart: PyTorch's GRU is
                                                                   Keras's reset_after variant
    gate blocks                    LSTM i f g o = Keras i f c o; GRU r z n -> Keras z r h

Every problem with a file's arrays is an InputError naming the file.
"""

import re

import numpy as np

from rnnstate.errors import InputError
from rnnstate.spec import GATE_BLOCKS
from rnnstate.weights import BidirectionalWeights, LayerWeights, Weights

LAYOUTS = ("keras", "torch")
TORCH_KEY = re.compile(
    r"^(?P<prefix>.*?)(?P<name>weight_ih|weight_hh|bias_ih|bias_hh|weight_hr)"
    r"_l(?P<layer>\d+)(?P<reverse>_reverse)?$"
)


def is_torch(names: list[str]) -> bool:
    """Whether arrays with these names are a PyTorch state dict (weight_ih_l0, ...)."""
    return any(TORCH_KEY.match(name) for name in names)


def gate_order(cell: str, M: int) -> np.ndarray:
    """Row indices that reorder PyTorch's gate blocks into Keras's, and back: only the GRU
    differs (r z n <-> z r h, a swap that is its own inverse)."""
    blocks = [1, 0, 2] if cell == "gru" else list(range(len(GATE_BLOCKS[cell])))
    return np.concatenate([np.arange(b * M, (b + 1) * M) for b in blocks])


def prefixes(names: list[str]) -> list[str]:
    """The distinct prefixes before weight_ih_l0 in a state dict (a whole model's has several)."""
    found = {m["prefix"] for name in names if (m := TORCH_KEY.match(name))}
    return sorted(found)


def from_torch(
    path: str,
    arrays: dict[str, np.ndarray],
    cell: str,
    bidirectional: bool,
    prefix: str | None = None,
    layer: int = 0,
) -> LayerWeights:
    """Keras weights from a PyTorch state dict: layer `layer` of the recurrent module found
    under `prefix` (needed only when the dict holds several)."""
    names = list(arrays)
    candidates = prefixes(names)
    if prefix is None:
        if len(candidates) > 1:
            listed = ", ".join(repr(c) for c in candidates)
            raise InputError(
                path, f"holds several recurrent layers, under {listed}; pick one with --prefix"
            )
        prefix = candidates[0]
    elif prefix not in candidates:
        raise InputError(
            path,
            f"has no recurrent layer under --prefix {prefix!r}; it has "
            f"{', '.join(repr(c) for c in candidates)}",
        )
    mine = {
        (m["name"], int(m["layer"]), bool(m["reverse"])): arrays[name]
        for name in names
        if (m := TORCH_KEY.match(name)) and m["prefix"] == prefix
    }
    if any(name == "weight_hr" for name, _, _ in mine):
        raise InputError(
            path,
            "holds weight_hr (an nn.LSTM with proj_size > 0): Keras's LSTM "
            "has no projection of h, so it cannot express this layer",
        )
    layers = sorted({number for _, number, _ in mine})
    if layer not in layers:
        raise InputError(
            path,
            f"has no layer {layer} (--torch-layer); it has layers {', '.join(map(str, layers))}",
        )
    reverse = any(r for _, number, r in mine if number == layer)
    if reverse != bidirectional:
        raise InputError(
            path,
            "holds a bidirectional layer (_reverse weights); add --bidirectional"
            if reverse
            else "holds a one-directional layer; --bidirectional needs _reverse weights too",
        )
    directions = [
        one_direction(path, mine, cell, layer, side)
        for side in ((False, True) if reverse else (False,))
    ]
    return BidirectionalWeights(*directions) if reverse else directions[0]


def one_direction(path: str, mine: dict, cell: str, layer: int, reverse: bool) -> Weights:
    """One direction's Keras weights from its weight_ih, weight_hh and biases."""
    suffix = f"_l{layer}" + ("_reverse" if reverse else "")
    k = len(GATE_BLOCKS[cell])
    try:
        w_ih, w_hh = mine["weight_ih", layer, reverse], mine["weight_hh", layer, reverse]
    except KeyError as missing:
        raise InputError(path, f"lacks {missing.args[0][0]}{suffix}") from None
    if w_hh.ndim != 2 or w_hh.shape[0] != k * w_hh.shape[1]:
        ratio = w_hh.shape[0] / w_hh.shape[1] if w_hh.ndim == 2 and w_hh.shape[1] else 0
        found = next((other for other, blocks in GATE_BLOCKS.items()
                      if other != cell and len(blocks) == ratio), None)  # fmt: skip
        hint = f"; these look like an nn.{torch_class(found)}'s: try rnnstate {found}"
        hint = hint if found else ""
        raise InputError(
            path,
            f"weight_hh{suffix} has shape {w_hh.shape}; an nn.{torch_class(cell)} needs ({k}M, M)"
            + hint,
        )
    M = w_hh.shape[1]
    if w_ih.ndim != 2 or w_ih.shape[0] != k * M:
        raise InputError(
            path, f"weight_ih{suffix} has shape {w_ih.shape}; with M={M} it needs ({k * M}, D)"
        )
    order = gate_order(cell, M)
    kernel = np.ascontiguousarray(w_ih[order].T)
    recurrent = np.ascontiguousarray(w_hh[order].T)
    biases = [mine.get((name, layer, reverse)) for name in ("bias_ih", "bias_hh")]
    if biases[0] is None and biases[1] is None:
        return Weights(kernel, recurrent, None, read_from="torch")
    if any(b is None for b in biases):
        raise InputError(path, f"has only one of bias_ih{suffix} and bias_hh{suffix}")
    for name, b in zip(("bias_ih", "bias_hh"), biases, strict=True):
        if b.shape != (k * M,):
            raise InputError(path, f"{name}{suffix} has shape {b.shape}; it needs ({k * M},)")
    b_ih, b_hh = (b[order] for b in biases)
    bias = np.stack([b_ih, b_hh]) if cell == "gru" else b_ih + b_hh
    return Weights(kernel, recurrent, bias.astype(np.float32), read_from="torch")


def torch_class(cell: str) -> str:
    """The PyTorch module of a cell: LSTM, GRU or RNN."""
    return {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN"}[cell]


def to_torch(weights: LayerWeights, cell: str, reset_after: bool = True) -> dict[str, np.ndarray]:
    """The state dict that nn.LSTM / nn.GRU / nn.RNN (batch_first or not, bidirectional to
    match) loads with strict=True. A Keras bias goes into bias_ih with bias_hh zero, which is
    exact; a GRU must be the reset_after variant (PyTorch's only one)."""
    if cell == "gru" and not reset_after:
        raise ValueError("a GRU with reset_after=False has no PyTorch equivalent")
    sides = (
        [(weights.forward, ""), (weights.backward, "_reverse")]
        if isinstance(weights, BidirectionalWeights)
        else [(weights, "")]
    )
    state = {}
    for w, suffix in sides:
        order = gate_order(cell, w.units)
        state[f"weight_ih_l0{suffix}"] = np.ascontiguousarray(w.kernel.T[order])
        state[f"weight_hh_l0{suffix}"] = np.ascontiguousarray(w.recurrent_kernel.T[order])
        if w.bias is not None:
            if cell == "gru":
                b_ih, b_hh = w.bias[0][order], w.bias[1][order]
            else:
                b_ih, b_hh = w.bias[order], np.zeros_like(w.bias)
            state[f"bias_ih_l0{suffix}"] = np.ascontiguousarray(b_ih)
            state[f"bias_hh_l0{suffix}"] = np.ascontiguousarray(b_hh)
    return state
