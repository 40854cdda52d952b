"""Long runs binned for pictures (--heatmap, --plot) without hiding an extreme.

A bin of steps (or units) is shown by the one value in it furthest from the centre of its
colour scale: 0.5 for a gate in [0, 1], 0 for a scale symmetric around 0. So a forget gate that
shuts for one step of 400 (0.0001 among values near 0.7) still shows, where an average, or the
value of largest magnitude (always the largest for a gate), would hide it.
"""

import numpy as np

from rnnstate.result import Result

SEQUENTIAL_ACTIVATIONS = {"sigmoid", "hard_sigmoid", "sparse_sigmoid"}  # values in [0, 1]
GATE_PRODUCERS = {"i": "rec", "f": "rec", "og": "rec", "z": "rec", "r": "rec"}
UNIT_CENTRE = 0.5  # the centre of the 0..1 scale of a gate
DIVERGING_CENTRE = 0.0  # the centre of a scale symmetric around 0


def unit_scale(result: Result, base: str) -> bool:
    """Whether traced quantity `base` (i, f, z, ...) lies in [0, 1]: a gate made by a
    sigmoid-like recurrent activation, drawn on a 0..1 scale instead of one around 0."""
    producer = GATE_PRODUCERS.get(base)
    functions = {"rec": result.spec.recurrent_activation, "act": result.spec.activation}
    return producer is not None and functions[producer] in SEQUENTIAL_ACTIVATIONS


def scale_centre(sequential: bool) -> float:
    """The centre of a colour scale: 0.5 for the 0..1 scale of a gate, else 0."""
    return UNIT_CENTRE if sequential else DIVERGING_CENTRE


def extreme_bins(
    values: np.ndarray, count: int, axis: int, centre: float
) -> tuple[np.ndarray, int]:
    """`values` binned along `axis` into at most `count` bins of equal size (the last may be
    shorter), each shown by its value furthest from `centre` (the first such on a tie).

    Returns (binned, size of a bin); binned has values' shape with `axis` ceil(length / size)
    long, and is `values` itself when no binning is needed.
    """
    length = values.shape[axis]
    size = max(1, -(-length // max(1, count)))  # ceil
    if size == 1:
        return values, 1
    moved = np.moveaxis(values, axis, 0)  # (length, ...)
    bins = -(-length // size)
    padded = np.full((bins * size, *moved.shape[1:]), centre, dtype=moved.dtype)
    padded[:length] = moved  # the padding is the centre itself, never picked over a real value
    grouped = padded.reshape(bins, size, *moved.shape[1:])  # (bins, size, ...)
    picked = np.abs(grouped.astype(np.float64) - centre).argmax(axis=1)  # (bins, ...)
    binned = np.take_along_axis(grouped, picked[:, None], axis=1)[:, 0]
    return np.moveaxis(binned, 0, axis), size
