"""explore's app: the screen (command line, controls, output, status, keys) and what each key
and each change of a control does. The runs are the runner's (runner.py), the views'
drawing views.py's, the terminal terminal.py's."""

import dataclasses
import time
from typing import ClassVar

import numpy as np
from rich.text import Text
from rich.traceback import Traceback
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.events import Resize
from textual.geometry import Size
from textual.widgets import Checkbox, Footer, Input, Select, Static

from rnnstate.errors import ExitCode
from rnnstate.explore import controls, terminal
from rnnstate.explore.controls import Controls
from rnnstate.explore.runner import Runner
from rnnstate.explore.settings import Settings, UserData
from rnnstate.explore.views import (
    VIEWS,
    Output,
    Prerendered,
    View,
    escaped,
    plain,
    prerender,
    renderable,
)
from rnnstate.models import LayerData
from rnnstate.result import Result

MIN_WIDTH, MIN_HEIGHT = 80, 24
# The keys that are letters: typed into a text field when one has focus, so not offered then.
TRACED_VIEWS = ("heatmap", "explain")  # the views drawn from the numpy engine's gate trace
LETTER_ACTIONS = {"quit", "next_view", "save", "save_json", "picture", "copy"}


class KeysFooter(Footer):
    """Textual's footer, with the keys in the first frame drawn: Textual's lists them only
    after a first refresh, once the app is idle, which a busy start puts off for seconds."""

    def __init__(self) -> None:
        super().__init__()
        self.set_reactive(Footer._bindings_ready, True)


class Explorer(App):
    """The explorer: controls on the left, the output on the right, the command line on top."""

    TITLE = "rnnstate explore"
    ENABLE_COMMAND_PALETTE = False  # every action has its key in the footer
    CSS = """
    #command { height: auto; background: $boost; padding: 0 1; }
    #output { width: 1fr; }
    #status { height: auto; background: $boost; padding: 0 1; }
    #small { display: none; content-align: center middle; height: 1fr; }
    .too-small #small { display: block; }
    .too-small #main, .too-small #command, .too-small #status { display: none; }
    ToastRack { margin-bottom: 3; }  /* notices above the status line, not over its end */
    """
    BINDINGS: ClassVar = [
        Binding("q", "quit", "quit"),
        Binding("ctrl+c", "interrupt", "quit", show=False, priority=True),
        Binding("v", "next_view", "view"),
        Binding("s", "save", "save .npz"),
        Binding("j", "save_json", ".json"),
        Binding("p", "picture", ".png"),
        Binding("c", "copy", "copy cmd"),
        Binding("escape", "focus_view", "to the output", show=False),
    ]

    def __init__(self, settings: Settings, data: UserData | LayerData | None = None,
                 view: tuple[str, int] = ("tables", 0)) -> None:  # fmt: skip
        """`data`: the user's files (UserData), or a saved model's layer with what it runs on
        (models.LayerData); None: everything drawn from the seed. `view`: the view to open
        and its step cursor."""
        super().__init__()
        self.settings = settings  # what the controls say
        self.data = UserData() if data is None else data
        self.result: Result | None = None  # what is shown
        self.shown = settings  # the settings of the result shown (its command line, its files)
        self.view_name, self.step = view
        self.drawn_look: tuple | None = None  # what the output shows (self.look when drawn)
        self.runner = Runner(self.data, self.answered, self.refused_in_thread, self.failed)
        self.changed_at = 0.0
        self.update_seconds: list[tuple[str, float]] = []  # (engine, change to view): benchmark
        self.agreement = ""
        self.refusal: str | None = None  # why the controls' latest settings were not run
        self.unreadable = False  # the status says a control's value is not a setting yet

    # ---------------------------------------------------------------- layout

    def compose(self) -> ComposeResult:
        yield Static(id="command")
        with Horizontal(id="main"):
            yield Controls(self.settings, isinstance(self.data, LayerData), id="controls")
            with Output(id="output"):
                yield View(id="view")
        yield Static(id="status")
        yield Static(id="small")
        yield KeysFooter()

    def on_mount(self) -> None:
        terminal.exit_on_signals(self)
        self.query_one("#view", View).focus()
        self.check_size(self.size)
        self.recompute()

    def on_unmount(self) -> None:
        self.runner.end()

    def on_resize(self, event: Resize) -> None:
        self.check_size(event.size)  # the new size (self.size may still be the last one)

    def check_size(self, size: Size) -> None:
        """Say so, instead of drawing, when the terminal is smaller than MIN_WIDTH x MIN_HEIGHT."""
        width, height = size
        self.set_class(width < MIN_WIDTH or height < MIN_HEIGHT, "too-small")
        self.query_one("#small", Static).update(
            f"The terminal is {width}x{height}; rnnstate explore needs at least "
            f"{MIN_WIDTH}x{MIN_HEIGHT}. Make it larger, or press q to quit."
        )

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        """Letter keys are not the app's while a text field has focus (they are typed)."""
        return not (action in LETTER_ACTIONS and isinstance(self.focused, Input))

    # ---------------------------------------------------------------- settings

    def on_input_changed(self, event: Input.Changed) -> None:
        self.settings_changed()

    def on_select_changed(self, event: Select.Changed) -> None:
        self.settings_changed()

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        self.settings_changed()

    def settings_changed(self) -> None:
        """Read every control into the settings and run again; a value that is not yet a
        setting (an empty number while typing) waits, saying why."""
        try:
            settings = self.query_one(Controls).read(self.settings)
        except ValueError as error:
            self.show_status(plain(str(error), "bold"))
            self.unreadable = True
            return
        unreadable, self.unreadable = self.unreadable, False
        if settings == self.settings:  # a control said its value again (each does at start)
            if unreadable and self.result is not None and self.shown == settings:
                self.redraw()  # the value that was not a setting, typed back: its status
            return
        self.settings = settings
        if self.result is not None and self.shown == self.controls_on(self.shown.sequence):
            self.shown = settings
            self.redraw()  # another sequence of the result shown
        else:
            self.recompute()

    def controls_on(self, sequence: int) -> Settings:
        """The settings the controls say, on sequence `sequence` of the batch."""
        return dataclasses.replace(self.settings, sequence=sequence)

    # ---------------------------------------------------------------- running

    def recompute(self, settings: Settings | None = None) -> None:
        """Run `settings`, else what the controls say (the runner: numpy, and Keras when
        chosen); the trace only for the views that show it (the memory view runs the exact
        engine with its own)."""
        self.changed_at = time.perf_counter()
        self.runner.run(settings or self.settings, traced=self.view_name in TRACED_VIEWS)

    def answered(self, generation: int, settings: Settings, result: Result, engine: str) -> None:
        """A run's answer, in the runner's thread: its view drawn here, then shown."""
        if generation != self.runner.generation:
            return
        drawn = self.draw(result, self.look())
        self.call_from_thread(self.answer, generation, settings, result, engine, drawn)

    def refused_in_thread(self, generation: int, message: str) -> None:
        self.call_from_thread(self.refused, generation, message)

    def failed(self, error: BaseException) -> None:
        """A run failed for a reason rnnstate does not know (a bug): the app ends with it."""
        shown = Traceback.from_exception(type(error), error, error.__traceback__)
        self.call_from_thread(self.panic, shown)

    def refused(self, generation: int, message: str) -> None:
        """Say why the latest settings were not run; the result shown and its command line stay."""
        if generation == self.runner.generation:
            self.refusal = message
            self.show_command()
            self.show_status(Text.assemble(("not run: ", "bold"), plain(message)))

    def answer(self, generation: int, settings: Settings, result: Result, engine: str,
               drawn: tuple) -> None:  # fmt: skip
        """Show the result of the latest change (an older one is dropped); `drawn`: its view,
        rendered in the runner's thread for the view and step it saw (drawn again if they
        moved)."""
        if generation != self.runner.generation:
            return
        self.result, self.refusal = result, None
        self.shown = dataclasses.replace(settings, sequence=self.settings.sequence)
        moved = drawn[1] != self.look() or drawn[0].width != self.view_width()
        if self.step >= result.spec.steps or moved:
            self.step = min(self.step, result.spec.steps - 1)
            drawn = None
        self.agreement = self.agreement_line(result, engine)
        self.redraw(drawn[0] if drawn else None)
        started = self.changed_at
        self.call_after_refresh(
            lambda: self.update_seconds.append((engine, time.perf_counter() - started))
        )

    def agreement_line(self, result: Result, engine: str) -> str:
        """Whose numbers are shown and, for Keras's, how they compare with numpy's."""
        if engine == "keras" and result.cross_check is None:
            return "Keras's own numbers (numpy cannot compute this layer to compare)"
        if engine == "keras":
            check = result.cross_check.pair(("keras", "numpy"))
            verdict = "agree" if check.agree else "DISAGREE"
            return f"Keras's own numbers; keras and numpy {verdict} (largest scaled " \
                f"difference {check.largest.max_scaled_diff:.1e}, tolerance 1e-5)"  # fmt: skip
        if self.settings.engine == "keras":
            loaded = self.runner.keras_ready.is_set()
            return "numpy's numbers; Keras's follow" + ("" if loaded else
                                                        " once TensorFlow has loaded")  # fmt: skip
        return "numpy engine (Keras's equations in numpy)"

    # ---------------------------------------------------------------- drawing

    def draw_in_thread(self, result: Result, look: tuple) -> None:
        """Draw a view in a thread (an explanation of many units takes a while), then show it
        if the result and what is looked at (self.look) are still those asked for."""
        drawn, _ = self.draw(result, look)
        self.call_from_thread(self.show_drawn, result, look, drawn)

    def show_drawn(self, result: Result, look: tuple, drawn: Prerendered) -> None:
        if result is self.result and look == self.look() and drawn.width == self.view_width():
            self.show_view(drawn, look)

    def show_view(self, drawn: Prerendered, look: tuple) -> None:
        """Put `drawn`, the view of self.result that `look` says, on screen."""
        self.query_one("#view", View).update(drawn)
        self.drawn_look = look

    def look(self) -> tuple[str, int, int]:
        """What is shown of a result: (the view, the step cursor, the sequence)."""
        return self.view_name, self.step, self.settings.sequence

    def draw(self, result: Result, look: tuple) -> tuple:
        """(the view of `result` that `look` says, prerendered at the view's width, `look`)."""
        return prerender(renderable(result, *look), self.view_width()), look

    def view_width(self) -> int:
        """The width the view is drawn to: the output's, less the scroll bar; before the first
        layout (the first answer can come first), what the output will have: the terminal's
        width less the controls'."""
        width = self.query_one("#output").size.width or self.size.width - controls.WIDTH
        return max(40, width - 2)

    def output_resized(self) -> None:
        """Draw the view again at the output's new width."""
        drawn = self.query_one("#view", View).shown
        if self.result is not None and drawn.width != self.view_width():
            self.redraw()

    def redraw(self, drawn: Prerendered | None = None) -> None:
        """Draw the command line, the view (`drawn` already, or in a thread) and the status."""
        if self.result is None:
            return
        self.show_command()
        if drawn is None:
            self.runner.start(self.draw_in_thread, self.result, self.look())
        else:
            self.show_view(drawn, self.look())
        self.show_status(Text(f"view: {self.view_name} (v)   step t={self.step} (←/→)   "
                              f"{self.agreement}"))  # fmt: skip

    def show_command(self) -> None:
        """The command line of the result shown, at the view and step shown."""
        command = self.shown.command(self.view_name, self.step)
        self.query_one("#command", Static).update(plain("$ " + command, "bold"))

    def show_status(self, text: Text) -> None:
        self.query_one("#status", Static).update(text)

    # ---------------------------------------------------------------- keys

    def action_step(self, delta: int) -> None:
        if self.result is not None:
            self.step = int(np.clip(self.step + delta, 0, self.result.spec.steps - 1))
            self.redraw()

    def action_sequence(self, delta: int) -> None:
        """Show the sequence `delta` after the one shown (through its control, which redraws)."""
        if self.result is not None:
            n = int(np.clip(self.settings.sequence + delta, 0, self.result.spec.batch - 1))
            self.query_one("#sequence", Input).value = str(n)

    def action_next_view(self) -> None:
        self.view_name = VIEWS[(VIEWS.index(self.view_name) + 1) % len(VIEWS)]
        traced = self.view_name in TRACED_VIEWS
        if traced and self.result is not None and self.result.gates is None:
            # the heatmap and the explanation need the trace: of the run shown, if the
            # controls' settings were refused
            self.recompute(self.shown if self.refusal else None)
        else:
            self.redraw()

    def action_focus_view(self) -> None:
        self.query_one("#view", View).focus()

    def action_interrupt(self) -> None:
        """Ctrl-C: end as an interrupted command does (exit 130)."""
        self.exit(return_code=ExitCode.INTERRUPTED)

    def action_copy(self) -> None:
        command = self.shown.command(self.view_name, self.step)
        self.copy_to_clipboard(command)
        self.notify(f"copied: {escaped(command)}", markup=False)

    def action_save(self) -> None:
        """Write the result shown as .npz, as --output writes it (in the memory view, with
        the influence, as --memory --output)."""
        self.write_file(".npz")

    def action_save_json(self) -> None:
        """Write the result shown as .json, the document --json prints."""
        self.write_file(".json")

    def action_picture(self) -> None:
        """Write the result shown as a .png, as --plot draws it (if it fits in memory)."""
        self.write_file(".png")

    def write_file(self, suffix: str) -> None:
        """Write the result shown in the current folder (named by Settings.saved_name), in the
        runner's thread, with the influence in the memory view (as the command line shown,
        with --memory, would); the status line says how it went."""
        if self.result is None:
            return
        memory = self.view_name == "memory"
        path = self.shown.saved_name(suffix, memory)
        self.show_status(plain(f"writing {path} ..."))
        self.runner.write(path, self.result, self.settings.sequence, memory,
                          lambda message: self.call_from_thread(self.written, message))  # fmt: skip

    def written(self, message: str) -> None:
        self.show_status(plain(message))
        self.notify(escaped(message), markup=False,
                    severity="information" if message.startswith("wrote") else "error")  # fmt: skip
