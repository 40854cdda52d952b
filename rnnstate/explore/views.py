"""explore's output: the four views of a result (tables, heatmaps, one step explained, the
memory: memory_view.py), each with the step cursor shown, rendered by rich into lines
beforehand (in a thread), and the widget that puts those lines on screen."""

import dataclasses
import io
import re
from typing import ClassVar

from rich.console import Console, Group
from rich.segment import Segment
from rich.text import Text
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.events import Resize
from textual.strip import Strip
from textual.widget import Widget

from rnnstate.explain import explain
from rnnstate.render import explain as explain_render
from rnnstate.render import heatmap as heatmap_render
from rnnstate.render import table as table_render
from rnnstate.result import Result

VIEWS = ("tables", "heatmap", "explain", "memory")
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def escaped(text: str) -> str:
    """`text` with its control characters written as escapes (ESC as \\x1b, a newline as \\n),
    so a name from a file or the user cannot move the cursor, clear the screen or add a line."""
    return CONTROL_CHARACTERS.sub(lambda match: repr(match.group())[1:-1], text)


def plain(text: str, style: str = "") -> Text:
    """`text` (a name, a path, an error message) as rich Text: shown as it is, never read as
    markup, its control characters escaped."""
    return Text(escaped(text), style=style)


def with_spec(result: Result, **changes) -> Result:
    """The result with some settings of its spec changed (what a view asks of the trace)."""
    return dataclasses.replace(result, spec=dataclasses.replace(result.spec, **changes))


def explained(result: Result, step: int, sequence: int):
    """The explanation of input step `step` of sequence `sequence`, as --explain shows it."""
    if result.gates is None:
        return Text("This layer cannot be explained step by step: numpy cannot compute it.")
    return explain_render.render(explain(with_spec(result, explain=step), sequence))


def renderable(result: Result, view_name: str, step: int, sequence: int):
    """The rich renderable of a view of sequence `sequence` of `result`, the step cursor at
    `step`: the row of step t marked in the tables, the column of step t in the heatmaps, step
    t explained, step t marked in the memory view."""
    if view_name == "memory":  # imported when first shown: explore starts without it
        from rnnstate.explore import memory_view

        return memory_view.render(result, step, sequence)
    if view_name == "heatmap":  # with the gates' maps, from the trace
        shown = result if result.gates is None else with_spec(result, gates=True)
        return heatmap_render.render(shown, sequence, step)
    if view_name == "explain":
        return Group(table_render.header(result), explained(result, step, sequence))
    return table_render.render(result, sequence, cursor=step)


class Prerendered:
    """A view rendered once by rich (in a thread) into lines of segments, `width` wide."""

    def __init__(self, lines: list[list[Segment]], width: int) -> None:
        self.lines, self.width = lines, width

    def text(self) -> str:
        """The lines as plain text."""
        return "\n".join("".join(segment.text for segment in line) for line in self.lines)


def prerender(renderable, width: int) -> Prerendered:
    """`renderable` rendered to lines `width` cells wide, in colour; a control character in
    them (from a name in a file: a layer, a path) escaped."""
    console = Console(width=width, file=io.StringIO(), color_system="truecolor",
                      force_terminal=True, highlight=False)  # fmt: skip
    lines = console.render_lines(renderable, console.options, pad=False)
    if CONTROL_CHARACTERS.search("".join(segment.text for line in lines for segment in line)):
        lines = [[Segment(escaped(s.text), s.style, s.control) for s in line] for line in lines]
    return Prerendered(lines, width)


class View(Widget, can_focus=True):
    """The output: tables, heatmaps, one step explained or the memory, drawn line by line from lines
    rendered beforehand (Textual renders nothing again); ←/→ move the step cursor."""

    STEP, SEQUENCE = Binding.Group("step", compact=True), Binding.Group("sequence", compact=True)
    BINDINGS: ClassVar = [  # each pair shown once in the footer ("←→ step"), so 80 columns hold all
        Binding("left", "app.step(-1)", "step", group=STEP),
        Binding("right", "app.step(1)", "step", group=STEP),
        Binding("left_square_bracket", "app.sequence(-1)", "sequence", group=SEQUENCE),
        Binding("right_square_bracket", "app.sequence(1)", "sequence", group=SEQUENCE),
    ]
    DEFAULT_CSS = "View { height: auto; width: auto; }"

    def __init__(self, **options) -> None:
        super().__init__(**options)
        self.shown = Prerendered([], 1)
        self.strips: list[Strip] = []

    def update(self, drawn: Prerendered) -> None:
        """Show `drawn`."""
        self.shown, self.strips = drawn, [Strip(line) for line in drawn.lines]
        self.styles.height, self.styles.width = max(1, len(self.strips)), drawn.width
        self.refresh(layout=True)

    def render_line(self, y: int) -> Strip:
        return self.strips[y] if y < len(self.strips) else Strip.blank(self.size.width)


class Output(VerticalScroll):
    """Where the view scrolls; the view is drawn to its width, so a change of its width (the
    first layout, a resize of the terminal) draws the view again."""

    def on_resize(self, event: Resize) -> None:
        self.app.output_resized()
