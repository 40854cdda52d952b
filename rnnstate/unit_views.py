"""What the summary's pictures show besides the statistics, as data: one unit's values across
the first sequences of the dataset (UnitRows, kept while rnnstate.summary streams), and the
saturation scatter's grid of counts (scatter_cells). The renderers draw these; they compute
nothing themselves."""

import numpy as np

ROWS_KEPT = 50  # sequences kept for the across-sequences view: the first ones


class UnitRows:
    """One unit's values of traced quantities in the first `limit` sequences, each (K, T)
    float32 in input order (also on a --backwards layer), NaN at masked steps."""

    def __init__(self, names: tuple[str, ...], unit: int, limit: int = ROWS_KEPT) -> None:
        self.names, self.unit, self.limit = names, unit, limit
        self.parts: dict[str, list[np.ndarray]] = {name: [] for name in names}
        self.kept = 0  # sequences kept so far
        self.seen = 0  # sequences seen so far

    def add(self, trace: dict[str, np.ndarray], counted: np.ndarray, backwards: bool) -> None:
        """Keep the next sequences of a batch: trace by name, each (n, T, M), and counted (n, T),
        in the trace's order (a --backwards layer's from the last input step)."""
        n = counted.shape[0]
        room = min(n, self.limit - self.kept)
        if room > 0:
            shown = counted[:room, ::-1] if backwards else counted[:room]
            for name in self.names:
                values = trace[name][:room, :, self.unit]  # (room, T)
                values = values[:, ::-1] if backwards else values
                self.parts[name].append(np.where(shown, values, np.float32(np.nan)))
            self.kept += room
        self.seen += n

    def values(self, name: str) -> np.ndarray:
        """(K, T) values of `name`, NaN where masked; K = min(limit, sequences seen)."""
        return np.concatenate(self.parts[name]) if self.parts[name] else np.zeros((0, 0))


def scatter_cells(left: np.ndarray, right: np.ndarray, cells: int) -> np.ndarray:
    """How many units fall in each cell of a cells x cells grid over the unit square, with the
    left-saturated fraction along the columns (0 at column 0) and the right-saturated fraction
    up the rows (1 at row 0, the top). A fraction of exactly 1 goes in the last cell. Units with
    no step counted (NaN) are left out. Returns (cells, cells) int64."""
    known = np.isfinite(left) & np.isfinite(right)
    column = np.minimum((left[known] * cells).astype(np.int64), cells - 1)
    row = cells - 1 - np.minimum((right[known] * cells).astype(np.int64), cells - 1)
    counts = np.zeros((cells, cells), dtype=np.int64)
    np.add.at(counts, (row, column), 1)
    return counts
