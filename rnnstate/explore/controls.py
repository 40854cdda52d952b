"""explore's controls: the column on the left, one field (a label and its control) per
setting, and what they say read back as Settings."""

import dataclasses
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.events import DescendantFocus
from textual.widgets import Checkbox, Input, Label, Select

from rnnstate.explore.settings import NUMBERS, Settings
from rnnstate.explore.views import plain
from rnnstate.spec import CELLS, MERGE_MODES

DIRECTIONS = ("forward", "backwards", "bidirectional")
WIDTH = 34  # cells, the border on the right included
ENGINES = ("numpy", "keras")


class Controls(VerticalScroll):
    """The controls of every setting, greyed where a file decides it; the field in focus is
    scrolled into view with its label; Esc leaves it for the output."""

    BINDINGS: ClassVar = [Binding("escape", "app.focus_view", "leave the field")]
    DEFAULT_CSS = f"""
    Controls {{ width: {WIDTH}; border-right: solid $primary; }}
    Controls .field {{ height: auto; margin-top: 1; }}
    Controls #model {{ width: 100%; }}
    Controls Input, Controls Select {{ width: {WIDTH - 2}; }}
    """

    def __init__(self, settings: Settings, model_layer: bool, **options) -> None:
        """`settings`: what the controls say at first; `model_layer`: a saved model's layer is
        explored (its name is shown on top)."""
        super().__init__(**options)
        self.settings, self.model_layer = settings, model_layer

    def compose(self) -> ComposeResult:
        s, fixed = self.settings, self.settings.fixed()

        def field(label: str, control) -> Vertical:
            return Vertical(Label(label), control, classes="field")

        def select(name: str, label: str, choices) -> Vertical:
            control = Select([(c, c) for c in choices], value=getattr(s, name),
                             allow_blank=False, id=name, disabled=name in fixed)  # fmt: skip
            return field(label, control)

        def text(name: str, label: str, value: str, **options) -> Vertical:
            return field(label, Input(value, id=name, disabled=name in fixed, **options))

        def checkbox(name: str, label: str) -> Vertical:
            control = Checkbox(label, getattr(s, name), id=name, disabled=name in fixed)
            return Vertical(control, classes="field")

        if self.model_layer:
            named = Text.assemble(plain(s.layer, "bold"), " of ", plain(Path(s.model_path).name),
                                  ": its settings and trained weights")  # fmt: skip
            yield Label(named, id="model")
        yield select("cell", "cell", CELLS)
        for name, label in (("steps", "T steps"), ("features", "D features"),
                            ("units", "M units"), ("batch", "N sequences"),
                            ("seed", "seed")):  # fmt: skip
            yield text(name, label, str(getattr(s, name)), type="integer")
        yield text("sequence", "sequence shown (n)", str(s.sequence), type="integer")
        yield checkbox("return_sequences", "return_sequences")
        yield select("direction", "direction", DIRECTIONS)
        yield select("merge", "merge (bidirectional)", MERGE_MODES)
        yield text("activation", "activation", s.activation)
        yield text("recurrent_activation", "recurrent activation", s.recurrent_activation)
        yield checkbox("reset_after", "reset_after (GRU)")
        yield checkbox("use_bias", "use_bias")
        yield checkbox("unit_forget_bias", "unit_forget_bias (LSTM)")
        yield text("mask_value", "mask value (empty: none)",
                   "" if s.mask_value is None else repr(s.mask_value))  # fmt: skip
        yield select("engine", "engine", ENGINES)

    def on_descendant_focus(self, event: DescendantFocus) -> None:
        """Keep the focused control's whole field, its label too, in view."""
        field = event.widget.parent
        if field is not None and field.has_class("field"):
            self.scroll_to_widget(field, animate=False)

    def read(self, settings: Settings) -> Settings:
        """`settings` with what the controls say now; ValueError naming a control that says
        nothing yet (an empty number while typing)."""
        values = {}
        for name in (*NUMBERS, "sequence"):
            typed = self.query_one(f"#{name}", Input).value.strip()
            if not typed.lstrip("-").isdigit():
                raise ValueError(f"{name}: expected a whole number")
            values[name] = int(typed)
        if not 0 <= values["sequence"] < values["batch"]:
            raise ValueError(f"sequence shown: expected 0 to {values['batch'] - 1} (N is "
                             f"{values['batch']})")  # fmt: skip
        mask = self.query_one("#mask_value", Input).value.strip()
        try:
            mask_value = float(mask) if mask else None
        except ValueError:
            raise ValueError("mask value: expected a number, or nothing for no mask") from None
        return dataclasses.replace(
            settings,
            cell=self.query_one("#cell", Select).value,
            return_sequences=self.query_one("#return_sequences", Checkbox).value,
            direction=self.query_one("#direction", Select).value,
            merge=self.query_one("#merge", Select).value,
            activation=self.query_one("#activation", Input).value.strip(),
            recurrent_activation=self.query_one("#recurrent_activation", Input).value.strip(),
            reset_after=self.query_one("#reset_after", Checkbox).value,
            use_bias=self.query_one("#use_bias", Checkbox).value,
            unit_forget_bias=self.query_one("#unit_forget_bias", Checkbox).value,
            mask_value=mask_value,
            engine=self.query_one("#engine", Select).value,
            **values,
        )
