"""A Result in Python and in notebooks: `result.plot()` (the figure --plot saves) and the tables
as HTML at the end of a Jupyter cell. rnnstate.api attaches both to Result (show_in_notebooks),
so the result module knows no renderer and the layers read one way."""

import io

from rnnstate.result import Result


def plot(self: Result, sequence: int | None = None, units_shown: list[int] | None = None):
    """The run as one matplotlib Figure, the one --plot saves: x, o with the rows the states
    equal marked, the gates (with gates=True), the final states and a few units through time.
    It shows itself in Jupyter; pyplot and the matplotlib backend are left alone."""
    from rnnstate.render.plot import figure

    return figure(self, sequence, units_shown)


def html(self: Result) -> str:
    """The tables as HTML, so a Result shows itself at the end of a Jupyter cell."""
    from rich.console import Console

    from rnnstate.render.table import render

    console = Console(record=True, width=100, file=io.StringIO(), force_jupyter=False)
    console.print(render(self))
    return console.export_html(inline_styles=True, code_format="<pre>{code}</pre>")


def show_in_notebooks(result_class: type[Result]) -> None:
    """Give `result_class` its plot() and its HTML display (_repr_html_)."""
    result_class.plot = plot
    result_class._repr_html_ = html
