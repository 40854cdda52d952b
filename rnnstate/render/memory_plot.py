"""--plot with --memory: the memory figure of one sequence. Per final state, its influence
‖∂s/∂x_t‖ against the input step t on a log axis, the memory horizon shaded and its first step
marked by a dashed line; with --sequences, each connectivity map ‖∂o_t/∂x_s‖ as a heatmap on a
log colour scale (zeros, where an output cannot depend on a step, left white).

The conventions are the run figure's (rnnstate.render.plot): a Figure of its own drawn by Agg,
no pyplot, a fixed layout in inches so no text overlaps another; long maps are binned, each cell
showing the largest of its values.
"""

import textwrap

import numpy as np

from rnnstate.bins import extreme_bins
from rnnstate.memory import HORIZON_SHARE, Memory
from rnnstate.render.memory import connectivity_formula, read_backwards, state_label
from rnnstate.render.memory_heatmap import log_scale
from rnnstate.render.plot import (
    ABOVE,
    BELOW,
    MAX_COLUMNS,
    TITLE_WIDTH,
    TOKEN_CHARACTER,
    X_LABEL,
    Panel,
    colour_bar,
    round_ticks,
    shade_masked,
    stacked_axes,
    step_locator,
    token_ticks,
)
from rnnstate.render.table import header
from rnnstate.result import Result
from rnnstate.vocab import StepTokens

CURVE_HEIGHT = 1.3  # an influence curve's axes
MAP_HEIGHT = 3.2  # a connectivity map's axes
MARKERS_UP_TO = 60  # steps: shorter runs mark every step's value with a dot


def memory_figure(result: Result, memory: Memory, n: int | None = None,
                  tokens: StepTokens | None = None):  # fmt: skip
    """The memory figure of sequence n (--only; the first by default): a matplotlib Figure
    FIGURE_WIDTH inches wide, as high as its panels need; with `tokens` (--vocab) the curves'
    steps are labelled "t token"."""
    spec = result.spec
    n = 0 if n is None else n
    names = list(memory.influence)
    maps = list(memory.connectivity or {})
    steps = Panel("", "", np.zeros((0, spec.steps)), False, list(range(spec.steps)))
    steps.names = {} if tokens is None else tokens.of_sequence(n)
    heights = [CURVE_HEIGHT] * len(names) + [MAP_HEIGHT] * len(maps)
    token_room = 0.0
    if steps.names:  # upright "t token" labels under each curve
        longest = max(len(text) for text in token_ticks(steps)[1])
        token_room = max(0.0, longest * TOKEN_CHARACTER - BELOW + 0.1)
    room = [ABOVE + h + BELOW + X_LABEL + (token_room if k < len(names) else 0.0)
            for k, h in enumerate(heights)]  # fmt: skip
    fig, axes = stacked_axes(title_text(result, memory, n), heights, room)
    masked = [] if result.mask is None else [int(t) for t in np.flatnonzero(~result.mask[n])]
    counted = None if result.mask is None else result.mask[n]
    for axis, name in zip(axes, names, strict=False):
        backwards = read_backwards(name, spec.backwards, spec.bidirectional)
        draw_curve(axis, memory, name, n, backwards, masked, counted)
        if steps.names:
            positions, texts = token_ticks(steps)
            axis.set_xticks(positions, texts, rotation=90)
    for axis, output in zip(axes[len(names) :], maps, strict=True):
        draw_map(fig, axis, memory, output, n)
    return fig


def title_text(result: Result, memory: Memory, n: int) -> str:
    """The run's description as the tables' header says it, then what the figure shows."""
    lines = header(result).plain.splitlines()
    of = "" if memory.unit is None else f" on unit {memory.unit} of each state"
    batch = f" (of N={result.spec.batch})" if result.spec.batch > 1 else ""
    lines.append(f"memory of sequence n={n}{batch}: influence of each input step{of} (exact, "
                 "float64; docs/memory.md)")  # fmt: skip
    return "\n".join(
        wrapped for line in lines for wrapped in textwrap.wrap(line, TITLE_WIDTH) or [""]
    )


def horizon_words(
    memory: Memory, name: str, n: int, backwards: bool, mask: np.ndarray | None = None
) -> str:
    """'horizon: the last 9 steps read (t=15..23) hold 90%' (the span ends at the last step
    read that counts: mask (T,) or None), or that there is none."""
    steps, reach = int(memory.horizon[name][n]), int(memory.reach[name][n])
    if steps == 0:
        return "no step has any influence"
    T = memory.influence[name].shape[1]
    counted = np.flatnonzero(np.ones(T, bool) if mask is None else mask)
    span = f"t={counted[0]}..{reach}" if backwards else f"t={reach}..{counted[-1]}"
    plural = "step" if steps == 1 else "steps"
    return f"horizon: the last {steps} {plural} read ({span}) hold {HORIZON_SHARE:.0%}"


def decades(low: float, high: float) -> tuple[float, float]:
    """The powers of 10 around [low, high] (> 0), at least one decade apart: a log axis with
    labelled ticks at both ends."""
    bottom, top = 10.0 ** np.floor(np.log10(low)), 10.0 ** np.ceil(np.log10(high))
    return float(bottom), float(max(top, bottom * 10))


def draw_curve(axis, memory: Memory, name: str, n: int, backwards: bool, masked: list[int],
               counted: np.ndarray | None = None):  # fmt: skip
    """One state's influence by input step on a log axis, its horizon shaded (dashed at its
    first step), masked steps hatched; counted (T,): False at masked steps, or None."""
    from matplotlib.ticker import LogFormatter, NullFormatter

    values = memory.influence[name][n]
    T = len(values)
    label = state_label(name, memory.unit)
    shown = np.where(values > 0, values, np.nan)  # a log axis has no place for 0
    axis.plot(range(T), shown, lw=1, color="C0", marker="o" if T <= MARKERS_UP_TO else None,
              markersize=2.5, label="influence")  # fmt: skip
    reach = int(memory.reach[name][n])
    if reach >= 0:
        low, high = (-0.5, reach + 0.5) if backwards else (reach - 0.5, T - 0.5)
        axis.axvspan(low, high, color="C1", alpha=0.15, lw=0, label="horizon")
        edge = high if backwards else low
        axis.axvline(edge, color="C1", ls="--", lw=1, label=f"{HORIZON_SHARE:.0%} held")
    if np.isfinite(shown).any():
        axis.set_yscale("log")
        axis.set_ylim(*decades(np.nanmin(shown), np.nanmax(shown)))
        # labels at powers of 10 only, as plain text ("1e-05"): the figure's text is not mathtext
        axis.yaxis.set_major_formatter(LogFormatter(labelOnlyBase=True))
        axis.yaxis.set_minor_formatter(NullFormatter())
    words = horizon_words(memory, name, n, backwards, counted)
    axis.set_title(f"{label}  ‖∂{label}/∂x_t‖ by input step t;  {words}", loc="left",
                   fontsize=9)  # fmt: skip
    axis.set_xlim(-0.5, T - 0.5)
    axis.xaxis.set_major_locator(step_locator())
    axis.set_xlabel("t (input step)", fontsize=8)
    axis.set_ylabel("influence", fontsize=8)
    axis.tick_params(labelsize=7)
    shade_masked(axis, masked)
    axis.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)


def draw_map(fig, axis, memory: Memory, output: str, n: int) -> None:
    """One connectivity map (T, T) of sequence n, rows output steps t and columns input steps s,
    on a log colour scale with its colour bar; binned to MAX_COLUMNS per axis."""
    from matplotlib import colormaps
    from matplotlib.colors import LogNorm
    from matplotlib.ticker import LogFormatter, NullFormatter

    values = memory.connectivity[output][n]
    T = values.shape[0]
    binned, per_column = extreme_bins(values, MAX_COLUMNS, 1, 0.0)
    binned, per_row = extreme_bins(binned, MAX_COLUMNS, 0, 0.0)
    bottom, top = log_scale(values)
    if top < 10 * bottom:  # less than a decade: widen it to powers of 10, labelled
        bottom, top = decades(bottom, top)
    cmap = colormaps["viridis"].with_extremes(bad="white", under=colormaps["viridis"](0.0))
    shown = np.ma.masked_equal(binned.astype(np.float64), 0.0)
    extent = (-0.5, binned.shape[1] * per_column - 0.5, binned.shape[0] * per_row - 0.5, -0.5)
    image = axis.imshow(shown, aspect="auto", interpolation="nearest", extent=extent, cmap=cmap,
                        norm=LogNorm(vmin=bottom, vmax=top))  # fmt: skip
    axis.set_xlim(-0.5, T - 0.5)
    axis.set_ylim(T - 0.5, -0.5)
    formula = connectivity_formula(output, memory.unit)
    binning = f";  binned, {per_column} steps per cell" if per_column > 1 else ""
    axis.set_title(f"connectivity map {formula}: output step t (row) by input step s (column);  "
                   f"white: 0{binning}", loc="left", fontsize=9)  # fmt: skip
    positions, texts = round_ticks(list(range(T)))
    axis.set_xticks(positions, texts)
    axis.set_yticks(positions, texts)
    axis.set_xlabel("s (input step)", fontsize=8)
    axis.set_ylabel("t (output step)", fontsize=8)
    axis.tick_params(labelsize=7)
    bar = colour_bar(fig, axis, image, "log scale")
    bar.ax.yaxis.set_major_formatter(LogFormatter(labelOnlyBase=True))  # plain text, as above
    bar.ax.yaxis.set_minor_formatter(NullFormatter())
