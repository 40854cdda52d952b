"""--summary --plot, Summary.plot(): the units as one matplotlib figure. The saturation scatter
(Karpathy, Johnson and Fei-Fei 2015), one panel per gate: a point per unit at (the fraction of
steps the gate is left-saturated, the fraction right-saturated), on 0..1 axes with the diagonal
left + right = 1 dashed. With an across view (--unit U), unit U's h_t (or a gate) over the
first sequences, a row per sequence, masked steps blank.

As rnnstate.render.plot: a Figure of its own drawn by Agg (no pyplot), a fixed layout in inches
so no text overlaps another, the same bytes for the same summary in .svg and .pdf.
"""

import textwrap

import numpy as np

from rnnstate.bins import extreme_bins, scale_centre
from rnnstate.errors import SpecError
from rnnstate.render.plot import (
    ABOVE,
    BOTTOM,
    DPI,
    FIGURE_WIDTH,
    LEFT,
    MAX_COLUMNS,
    TITLE_LINE,
    TITLE_WIDTH,
    TOP,
    X_LABEL,
    colour_bar,
    figure_class,
    plain_text,
    round_ticks,
)
from rnnstate.render.summary import header, nothing_counted
from rnnstate.render.unit_views import across_title, meaning, on_unit_scale
from rnnstate.summary import GATES, Summary

SIDE = 2.2  # a scatter panel's square axes, inches
MARGIN = 0.04  # the scatter's axes run from -MARGIN to 1 + MARGIN: a point at 0 or 1 shows whole
BETWEEN = 1.0  # between two panels side by side: the next one's y label and ticks
UNDER = 0.55  # under a scatter panel: its tick labels and x label
ROW_HEIGHT = 0.035  # inches per sequence of an across map
ACROSS_HEIGHT = (1.0, 3.5)  # an across map's least and greatest height, inches
ACROSS_BELOW = 0.25  # under an across map: its tick labels
ACROSS_RIGHT = 1.0  # right of an across map: its colour bar


def title_text(summary: Summary) -> str:
    """The header of the tables, what the scatter shows and its thresholds, wrapped."""
    low, high = summary.thresholds.low, summary.thresholds.high
    lines = header(summary).plain.splitlines()
    if summary.steps and any(stats.gate for stats in summary.stats.values()):
        lines[-1] = (f"saturation: a point per unit at (left, right), the fractions of the steps "
                     f"counted its gate is below {low:g} and above {high:g}; dashed: "
                     "left + right = 1, saturated at every step (no point lies above it); "
                     "darker points: several units")  # fmt: skip
    if summary.across is not None:
        kept, N = summary.across.kept, summary.sequences
        shown = [f"the first {kept} of N={N} sequences drawn"] if kept < N else []
        shown += ["hatched: masked steps"] if summary.masked else []
        if shown:
            lines.append(f"across sequences: {'; '.join(shown)}")
    return "\n".join(w for line in lines for w in textwrap.wrap(line, TITLE_WIDTH) or [""])


@plain_text
def figure(summary: Summary):
    """The summary's figure, FIGURE_WIDTH inches wide: the scatter panels, a row per direction
    (with no step counted, a line saying so in their place), then the across maps. Raises
    SpecError ("--plot") when there is nothing to draw: no gate and no across view."""
    gates = [stats for stats in summary.stats.values() if stats.gate]
    names = [] if summary.across is None else list(summary.across.names)
    if not gates and not names:
        layer = summary.spec.keras_layer
        raise SpecError("--plot", f"a {layer} has no gates to draw the saturation of; --unit U "
                                  "draws a unit across sequences")  # fmt: skip
    per_row = len(GATES[summary.spec.cell]) or 1  # a bidirectional layer's halves: a row each
    title = title_text(summary)
    title_height = TOP + TITLE_LINE * (title.count("\n") + 1)
    missing = None  # every step masked: no point to draw, the scatter's place says why
    if gates and summary.steps == 0:
        gates, missing = [], textwrap.fill(f"No saturation scatter: {nothing_counted(summary)}.",
                                           TITLE_WIDTH)  # fmt: skip
    missing_height = 0.0 if missing is None else ABOVE + TITLE_LINE * (missing.count("\n") + 1)
    scatter_rows = -(-len(gates) // per_row)
    across_height = float(np.clip(ROW_HEIGHT * (summary.across.kept if names else 0),
                                  *ACROSS_HEIGHT))  # fmt: skip
    height = (title_height + missing_height + scatter_rows * (ABOVE + SIDE + UNDER)
              + len(names) * (ABOVE + across_height + ACROSS_BELOW) + (X_LABEL if names else 0)
              + BOTTOM)  # fmt: skip
    fig = figure_class()(figsize=(FIGURE_WIDTH, height), dpi=DPI)
    fig.suptitle(title, x=0.1 / FIGURE_WIDTH, y=1 - TOP / height, ha="left", va="top",
                 fontsize=9, linespacing=1.3)  # fmt: skip
    top = title_height
    if missing is not None:
        fig.text(LEFT / FIGURE_WIDTH, 1 - (top + ABOVE) / height, missing, ha="left", va="top",
                 fontsize=10, linespacing=1.3)  # fmt: skip
        top += missing_height
    for k, stats in enumerate(gates):
        row, column = divmod(k, per_row)
        if column == 0 and row > 0:
            top += ABOVE + SIDE + UNDER
        place = (
            (LEFT + column * (SIDE + BETWEEN)) / FIGURE_WIDTH,
            1 - (top + ABOVE + SIDE) / height,
            SIDE / FIGURE_WIDTH,
            SIDE / height,
        )
        draw_scatter(fig.add_axes(place), stats, summary)  # fmt: skip
    if gates:
        top += ABOVE + SIDE + UNDER
    for k, name in enumerate(names):
        top += ABOVE
        width = FIGURE_WIDTH - LEFT - ACROSS_RIGHT
        axis = fig.add_axes((LEFT / FIGURE_WIDTH, 1 - (top + across_height) / height,
                             width / FIGURE_WIDTH, across_height / height))  # fmt: skip
        draw_across(fig, axis, summary, name, last=k == len(names) - 1)
        top += across_height + ACROSS_BELOW
    return fig


def draw_scatter(axis, stats, summary: Summary) -> None:
    """One gate's panel: a point per unit at (left, right) on 0..1 axes, with a margin so a point
    in a corner (never saturated: (0, 0)) clears the spines; the diagonal dashed."""
    low, high = summary.thresholds.low, summary.thresholds.high
    axis.plot([0, 1], [1, 0], ls="--", lw=0.8, color="0.5")
    axis.scatter(stats.left, stats.right, s=16, alpha=0.45, color="tab:blue", linewidths=0)
    axis.set_xlim(-MARGIN, 1 + MARGIN)
    axis.set_ylim(-MARGIN, 1 + MARGIN)
    axis.set_aspect("equal", adjustable="box")
    axis.set_xticks([0, 0.5, 1], ["0", "0.5", "1"])
    axis.set_yticks([0, 0.5, 1], ["0", "0.5", "1"])
    axis.tick_params(labelsize=7)
    axis.set_xlabel(f"left-saturated (< {low:g})", fontsize=8, labelpad=2)
    axis.set_ylabel(f"right-saturated (> {high:g})", fontsize=8, labelpad=2)
    axis.set_title(f"{stats.name}  {meaning(stats.name)}, {len(stats.left)} units", loc="left",
                   fontsize=9)  # fmt: skip


def draw_across(fig, axis, summary: Summary, name: str, last: bool) -> None:
    """Unit U's `name` over the first sequences: (K, T), columns binned past MAX_COLUMNS
    (each bin its value furthest from the scale's centre), masked steps blank (hatched)."""
    from matplotlib.ticker import MaxNLocator

    values = summary.across.values(name).astype(np.float64)  # (K, T), NaN where masked
    K, T = values.shape
    sequential = on_unit_scale(summary, name)
    centre = scale_centre(sequential)
    masked = np.isnan(values)
    binned, per_column = extreme_bins(np.where(masked, centre, values), MAX_COLUMNS, 1, centre)
    blank = extreme_bins(masked.astype(np.float64), MAX_COLUMNS, 1, 1.0)[0] == 1.0
    binned = np.where(blank, np.nan, binned)
    if sequential:
        scale = {"cmap": "viridis", "vmin": 0.0, "vmax": 1.0}
    else:
        limit = float(np.nanmax(np.abs(values))) if (~masked).any() else 1.0
        scale = {"cmap": "RdBu_r", "vmin": -(limit or 1.0), "vmax": limit or 1.0}
    extent = (-0.5, binned.shape[1] * per_column - 0.5, K - 0.5, -0.5)
    from matplotlib import colormaps

    scale["cmap"] = colormaps[scale["cmap"]].with_extremes(bad=(0, 0, 0, 0))  # masked: no colour
    axis.patch.set(facecolor="white", edgecolor="0.6", hatch="///", linewidth=0)  # shows there
    image = axis.imshow(binned, aspect="auto", interpolation="nearest", extent=extent, **scale)
    axis.set_xlim(-0.5, T - 0.5)
    axis.set_ylim(K - 0.5, -0.5)
    positions, texts = round_ticks(list(range(T)))
    axis.set_xticks(positions, texts)
    axis.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True, steps=[1, 2, 5, 10]))
    axis.tick_params(labelsize=7)
    axis.set_ylabel("sequence n", fontsize=8)
    axis.set_title(across_title(summary, summary.across, name), loc="left", fontsize=9)
    if last:
        axis.set_xlabel("t (input step)", fontsize=8)
    colour_bar(fig, axis, image, f"{name}{' (0 to 1)' if sequential else ''}", ticks=4)
