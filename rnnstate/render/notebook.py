"""A Result in Python and in notebooks: `result.plot()` (the figure --plot saves) and the tables
as HTML at the end of a Jupyter cell; a Summary's `plot()` (the figure --summary --plot saves).
rnnstate.api attaches them (show_in_notebooks, summary_in_notebooks), so the result and summary
modules know no renderer and the layers read one way."""

import io

from rnnstate.result import Result
from rnnstate.summary import Summary


def plot(self: Result, sequence: int | None = None, units_shown: list[int] | None = None):
    """The run as one matplotlib Figure, the one --plot saves: x, o with the rows the states
    equal marked, the gates (with gates=True), the final states and a few units through time.
    It shows itself in Jupyter; pyplot and the matplotlib backend are left alone."""
    from rnnstate.render.plot import figure

    return figure(self, sequence, units_shown)


HTML_WIDTH = 100_000  # cells: wide enough that no table is squeezed; the HTML box scrolls


def html(self: Result) -> str:
    """The tables as HTML, so a Result shows itself at the end of a Jupyter cell: every unit
    and step (render's `full`), in a box that scrolls when they do not fit."""
    from rich.console import Console

    from rnnstate.render.table import render

    console = Console(record=True, width=HTML_WIDTH, file=io.StringIO(), force_jupyter=False)
    console.print(render(self, full=True))
    return console.export_html(
        inline_styles=True,
        code_format='<div style="overflow:auto; max-height:40em"><pre>{code}</pre></div>',
    )


def show_in_notebooks(result_class: type[Result]) -> None:
    """Give `result_class` its plot() and its HTML display (_repr_html_)."""
    result_class.plot = plot
    result_class._repr_html_ = html


def plot_summary(self: Summary):
    """The summary as one matplotlib Figure, the one --summary --plot saves: the saturation
    scatter of every gate and, with a unit, that unit across the first sequences. Raises
    SpecError for a SimpleRNN summarized without a unit (nothing to draw)."""
    from rnnstate.render.summary_plot import figure

    return figure(self)


def summary_in_notebooks(summary_class: type[Summary]) -> None:
    """Give `summary_class` its plot()."""
    summary_class.plot = plot_summary
