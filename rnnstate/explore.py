"""rnnstate explore: a full-screen terminal app (Textual) where changing a setting changes the
states shown at once. Imported only by the explore command.

Every change runs the numpy engine at once (in a worker thread, so typing never waits); with the
keras engine chosen, TensorFlow loads once in the background while the app is already usable, and
then each answer is Keras's own, compared with numpy's as --check compares them.
"""

import dataclasses
import io
import shlex
import threading
import time
from pathlib import Path
from typing import ClassVar

import numpy as np
from rich.console import Console, Group
from rich.segment import Segment
from rich.text import Text
from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Checkbox, Footer, Input, Label, Select, Static

from rnnstate.api import make_spec, run_spec
from rnnstate.engines import Progress
from rnnstate.errors import RnnstateError
from rnnstate.explain import explain
from rnnstate.models import LayerData
from rnnstate.render import explain as explain_render
from rnnstate.render import heatmap as heatmap_render
from rnnstate.render import table as table_render
from rnnstate.result import Result, compare_engines
from rnnstate.spec import CELLS, MERGE_MODES
from rnnstate.weights import LayerWeights

VIEWS = ("tables", "heatmap", "explain")
DIRECTIONS = ("forward", "backwards", "bidirectional")
MIN_WIDTH, MIN_HEIGHT = 80, 24
NUMBERS = ("steps", "features", "units", "batch", "seed")
SIZE_FLAGS = {"steps": "-T", "features": "-D", "units": "-M", "batch": "-N", "seed": "--seed"}
LAYER_CONTROLS = ("cell", "features", "units", "direction", "merge", "activation",
                  "recurrent_activation", "reset_after", "use_bias", "unit_forget_bias",
                  "mask_value")  # fmt: skip


def direction_name(bidirectional: bool, backwards: bool) -> str:
    """The direction control's value for a layer: forward, backwards or bidirectional."""
    return "bidirectional" if bidirectional else "backwards" if backwards else "forward"


@dataclasses.dataclass(frozen=True)
class UserData:
    """What the user's files give the explorer (None: drawn from the seed, or zeros): x
    (N, T, D), the weights, and the initial states by name (each (N, M))."""

    x: np.ndarray | None = None
    weights: LayerWeights | None = None
    initial_state: dict[str, np.ndarray] | None = None


@dataclasses.dataclass
class Settings:
    """What the controls say: the run's settings, as the cell commands take them."""

    cell: str = "lstm"
    steps: int = 8
    features: int = 2
    units: int = 3
    batch: int = 1
    seed: int = 0
    return_sequences: bool = True
    direction: str = "forward"  # forward, backwards or bidirectional
    merge: str = "concat"
    activation: str = "tanh"
    recurrent_activation: str = "sigmoid"
    reset_after: bool = True
    use_bias: bool = True
    unit_forget_bias: bool = True
    mask_value: float | None = None
    engine: str = "numpy"
    input_path: str | None = None  # x, or the model's input with model_path
    weights_path: str | None = None
    prefix: str | None = None  # which layer of a PyTorch state dict in weights_path
    torch_layer: int | None = None
    initial_state_path: str | None = None
    model_path: str | None = None  # a saved model whose layer `layer` is explored
    layer: str | None = None
    layer_input_path: str | None = None  # the model's layer's own input
    sequence: int = 0  # the sequence n of the batch shown

    @classmethod
    def of_layer(cls, data: LayerData, **chosen) -> "Settings":
        """The settings of a saved model's layer (models.LayerData), with `chosen` (engine,
        seed, the model's file names ...), sized by the input and initial states it runs on."""
        layer, settings = data.layer, data.layer.settings
        if chosen.get("steps") is None:
            chosen["steps"] = layer.steps or cls.steps
        drawn = cls(
            cell=layer.cell,
            features=layer.features,
            units=layer.units,
            return_sequences=settings["return_sequences"],
            direction=direction_name(settings["bidirectional"], settings["backwards"]),
            merge=settings.get("merge", "concat"),
            activation=settings["activation"],
            recurrent_activation=settings.get("recurrent_activation", "sigmoid"),
            reset_after=settings.get("reset_after", True),
            layer=layer.path,
            **{name: value for name, value in chosen.items() if value is not None},
        )
        return drawn.sized(UserData(data.x, None, data.initial_state))

    def sized(self, data: UserData) -> "Settings":
        """The settings with the sizes and the bias that the user's files decide."""
        sizes = {}
        state = next(iter(data.initial_state.values())) if data.initial_state else None
        if state is not None and state.ndim == 2:  # (N, M); another shape is said by the run
            sizes.update(batch=state.shape[0], units=state.shape[1])
        if data.x is not None:
            sizes.update(batch=data.x.shape[0], steps=data.x.shape[1], features=data.x.shape[2])
        if data.weights is not None:
            weights = data.weights
            sizes.update(features=weights.features, units=weights.units, use_bias=weights.use_bias)
        return dataclasses.replace(self, **sizes)

    def fixed(self) -> set[str]:
        """The controls a file decides (the model's layer, the input, the weights)."""
        fixed = set()
        if self.model_path:
            fixed.update(LAYER_CONTROLS)
        if self.input_path or self.layer_input_path:
            fixed.update(("steps", "batch") if self.model_path else ("steps", "features", "batch"))
            if self.model_path:
                fixed.add("seed")  # x and the weights are the model's: the seed draws nothing
        if self.weights_path:
            fixed.update(("features", "units", "use_bias", "unit_forget_bias"))
        if self.initial_state_path:
            fixed.update(("batch", "units"))
        return fixed

    def command(self, view: str, step: int) -> str:
        """The command line that shows what the app shows (the view at the step cursor)."""
        words = self.model_words() if self.model_path else self.cell_words()
        if self.batch > 1:
            words += ["--only", str(self.sequence)]
        words += ["--engine", self.engine]
        if view == "heatmap":
            words.append("--heatmap")
        if view == "explain":
            words += ["--explain", str(step)]
        return shlex.join(words)

    def model_words(self) -> list[str]:
        """rnnstate model PATH --layer NAME with the input and what the controls change."""
        words = ["rnnstate", "model", self.model_path, "--layer", self.layer]
        if self.input_path:
            words += ["--input", self.input_path]
        elif self.layer_input_path:
            words += ["--layer-input", self.layer_input_path]
        else:
            words += ["-T", str(self.steps), "-N", str(self.batch), "--seed", str(self.seed)]
        if self.initial_state_path:
            words += ["--initial-state", self.initial_state_path]
        return [*words, "--sequences" if self.return_sequences else "--no-sequences"]

    def cell_words(self) -> list[str]:
        """rnnstate CELL with every setting the controls give."""
        words = ["rnnstate", self.cell]
        for name in NUMBERS:
            if name in ("steps", "features", "batch") and self.input_path:
                continue
            if name in ("features", "units") and self.weights_path:
                continue
            words += [SIZE_FLAGS[name], str(getattr(self, name))]
        words.append("--sequences" if self.return_sequences else "--no-sequences")
        if self.direction == "backwards":
            words.append("--backwards")
        if self.direction == "bidirectional":
            words += ["--bidirectional", "--merge", self.merge]
        if self.activation != "tanh":
            words += ["--activation", self.activation]
        if self.cell != "rnn" and self.recurrent_activation != "sigmoid":
            words += ["--recurrent-activation", self.recurrent_activation]
        if self.cell == "gru" and not self.reset_after:
            words.append("--reset-before")
        if not (self.use_bias or self.weights_path):
            words.append("--no-bias")
        if self.cell == "lstm" and not (self.unit_forget_bias or self.weights_path):
            words.append("--no-unit-forget-bias")
        if self.mask_value is not None:
            words += ["--mask-value", repr(self.mask_value)]  # the float exactly
        for option, value in (("--input", self.input_path), ("--weights", self.weights_path),
                              ("--prefix", self.prefix), ("--torch-layer", self.torch_layer),
                              ("--initial-state", self.initial_state_path)):  # fmt: skip
            if value is not None:
                words += [option, str(value)]
        return words


class Superseded(Exception):
    """A run given up between two chunks of steps: the settings changed while it ran."""


def compute(settings: Settings, data: UserData | LayerData, engine: str, traced: bool = True,
            progress: Progress | None = None) -> Result:  # fmt: skip
    """Run the layer of `settings` on `data` (the user's files, or a saved model's layer) on
    `engine`; `traced`: with the numpy engine's gate trace for the heatmap and the explanation
    (asked for as an explanation of step 0, so the tables leave the trace out). `progress` is
    called after each chunk of steps (it may raise Superseded)."""
    if isinstance(data, LayerData):
        seeded = data.x is None
        spec = data.spec(
            settings.return_sequences,
            settings.steps if seeded else None,
            batch=settings.batch if seeded else None,
            seed=settings.seed,
            engine=engine,
            explain=0 if traced else None,
        )
        return run_spec(spec, data.x, data.weights, data.initial_state, progress, data.mask)
    x, weights, states = data.x, data.weights, data.initial_state
    cell = settings.cell
    spec = make_spec(
        cell,
        steps=None if x is not None else settings.steps,
        features=None if x is not None or weights is not None else settings.features,
        units=None if weights is not None or states is not None else settings.units,
        batch=None if x is not None or states is not None else settings.batch,
        seed=settings.seed,
        x=x,
        weights=weights,
        initial_state=states,
        return_sequences=settings.return_sequences,
        backwards=settings.direction == "backwards",
        bidirectional=settings.direction == "bidirectional",
        merge=settings.merge,
        activation=settings.activation,
        **({"recurrent_activation": settings.recurrent_activation} if cell != "rnn" else {}),
        **({"reset_after": settings.reset_after} if cell == "gru" else {}),
        **({"unit_forget_bias": settings.unit_forget_bias} if cell == "lstm" else {}),
        use_bias=settings.use_bias,
        mask_value=settings.mask_value,
        engine=engine,
        explain=0 if traced else None,
    )
    return run_spec(spec, x, weights, states, progress)


def keras_beside_numpy(keras_result: Result, numpy_result: Result) -> Result:
    """Keras's result with numpy's trace and the comparison of the two, as --check makes it."""
    check = compare_engines({"keras": keras_result, "numpy": numpy_result})
    spec = dataclasses.replace(numpy_result.spec, engine="keras")  # with numpy's trace, if any
    return dataclasses.replace(keras_result, spec=spec, gates=numpy_result.gates, cross_check=check)


def with_spec(result: Result, **changes) -> Result:
    """The result with some settings of its spec changed (what a view asks of the trace)."""
    return dataclasses.replace(result, spec=dataclasses.replace(result.spec, **changes))


def explained(result: Result, step: int, sequence: int):
    """The explanation of input step `step` of sequence `sequence`, as --explain shows it."""
    if result.gates is None:
        return Text("This layer cannot be explained step by step: numpy cannot compute it.")
    return explain_render.render(explain(with_spec(result, explain=step), sequence))


class Prerendered:
    """A view rendered once by rich (in a worker thread) into lines of segments, `width` wide."""

    def __init__(self, lines: list[list[Segment]], width: int) -> None:
        self.lines, self.width = lines, width

    def text(self) -> str:
        """The lines as plain text."""
        return "\n".join("".join(segment.text for segment in line) for line in self.lines)


def prerender(renderable, width: int) -> Prerendered:
    """`renderable` rendered to lines `width` cells wide, in colour."""
    console = Console(width=width, file=io.StringIO(), color_system="truecolor",
                      force_terminal=True, highlight=False)  # fmt: skip
    return Prerendered(console.render_lines(renderable, console.options, pad=False), width)


class View(Widget, can_focus=True):
    """The output: tables, heatmaps or one step explained, drawn line by line from lines
    rendered beforehand (Textual renders nothing again); ←/→ move the step cursor."""

    BINDINGS: ClassVar = [
        Binding("left", "app.step(-1)", "step"),
        Binding("right", "app.step(1)", "step"),
        Binding("left_square_bracket", "app.sequence(-1)", "sequence"),
        Binding("right_square_bracket", "app.sequence(1)", "sequence"),
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


class Explorer(App):
    """The explorer: controls on the left, the output on the right, the command line on top."""

    TITLE = "rnnstate explore"
    ENABLE_COMMAND_PALETTE = False  # every action has its key in the footer
    CSS = """
    #command { height: auto; background: $boost; padding: 0 1; }
    #controls { width: 34; border-right: solid $primary; }
    #controls Label { margin-top: 1; }
    #controls #model { width: 100%; }
    #controls Input, #controls Select { width: 32; }
    #output { width: 1fr; }
    #status { height: auto; background: $boost; padding: 0 1; }
    #small { display: none; content-align: center middle; height: 1fr; }
    .too-small #small { display: block; }
    .too-small #main, .too-small #command, .too-small #status { display: none; }
    """
    BINDINGS: ClassVar = [
        Binding("q", "quit", "quit"),
        Binding("ctrl+c", "quit", "quit", show=False, priority=True),
        Binding("v", "next_view", "view"),
        Binding("s", "save", "save .npz"),
        Binding("j", "save_json", ".json"),
        Binding("p", "picture", ".png"),
        Binding("c", "copy", "copy command"),
        Binding("escape", "focus_view", "to the output", show=False),
    ]

    def __init__(self, settings: Settings, data: UserData | LayerData | None = None,
                 view: tuple[str, int] = ("tables", 0)) -> None:  # fmt: skip
        """`data`: the user's files (UserData), or a saved model's layer with what it runs on
        (models.LayerData); None: everything drawn from the seed. `view`: the view to open
        and its step cursor."""
        super().__init__()
        self.settings, self.data = settings, UserData() if data is None else data
        self.result: Result | None = None  # what is shown
        self.view_name, self.step = view
        self.drawn_look: tuple | None = None  # what the output shows (self.look when drawn)
        self.generation = 0  # each change's number: an answer to an older one is dropped
        self.keras_ready = threading.Event()
        self.keras_lock = threading.Lock()
        self.changed_at = 0.0
        self.update_seconds: list[tuple[str, float]] = []  # (engine, change to view): benchmark
        self.agreement = ""
        self.numpy_results: dict[int, Result] = {}  # numpy's answer to each change, for Keras's
        self.numpy_done = threading.Event()
        self.superseded = 0  # runs given up because the settings changed while they ran

    # ---------------------------------------------------------------- layout

    def compose(self) -> ComposeResult:
        s, fixed = self.settings, self.settings.fixed()

        def select(name: str, choices) -> Select:
            return Select([(c, c) for c in choices], value=getattr(s, name), allow_blank=False,
                          id=name, disabled=name in fixed)  # fmt: skip

        def text(name: str, value: str, **options) -> Input:
            return Input(value, id=name, disabled=name in fixed, **options)

        def checkbox(name: str, label: str) -> Checkbox:
            return Checkbox(label, getattr(s, name), id=name, disabled=name in fixed)

        yield Static(id="command")
        with Horizontal(id="main"):
            with VerticalScroll(id="controls"):
                if isinstance(self.data, LayerData):
                    yield Label(f"[b]{s.layer}[/b] of {Path(s.model_path).name}: its "
                                "settings and trained weights", id="model")  # fmt: skip
                yield Label("cell")
                yield select("cell", CELLS)
                for name, label in (("steps", "T steps"), ("features", "D features"),
                                    ("units", "M units"), ("batch", "N sequences"),
                                    ("seed", "seed")):  # fmt: skip
                    yield Label(label)
                    yield text(name, str(getattr(s, name)), type="integer")
                yield Label("sequence shown (n)")
                yield text("sequence", str(s.sequence), type="integer")
                yield checkbox("return_sequences", "return_sequences")
                yield Label("direction")
                yield select("direction", DIRECTIONS)
                yield Label("merge (bidirectional)")
                yield select("merge", MERGE_MODES)
                yield Label("activation")
                yield text("activation", s.activation)
                yield Label("recurrent activation")
                yield text("recurrent_activation", s.recurrent_activation)
                yield checkbox("reset_after", "reset_after (GRU)")
                yield checkbox("use_bias", "use_bias")
                yield checkbox("unit_forget_bias", "unit_forget_bias (LSTM)")
                yield Label("mask value (empty: none)")
                yield text("mask_value", "" if s.mask_value is None else repr(s.mask_value))
                yield Label("engine")
                yield select("engine", ("numpy", "keras"))
            with VerticalScroll(id="output"):
                yield View(id="view")
        yield Static(id="status")
        yield Static(id="small")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#view", View).focus()
        self.check_size()
        if self.settings.engine == "keras":
            self.load_keras()
        self.recompute()

    def on_resize(self) -> None:
        self.check_size()

    def check_size(self) -> None:
        """Say so, instead of drawing, when the terminal is smaller than MIN_WIDTH x MIN_HEIGHT."""
        width, height = self.size
        small = width < MIN_WIDTH or height < MIN_HEIGHT
        self.set_class(small, "too-small")
        self.query_one("#small", Static).update(
            f"The terminal is {width}x{height}; rnnstate explore needs at least "
            f"{MIN_WIDTH}x{MIN_HEIGHT}. Make it larger, or press q to quit."
        )

    # ---------------------------------------------------------------- settings

    def on_input_changed(self, event: Input.Changed) -> None:
        self.settings_changed()

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "engine" and event.value == "keras":
            self.load_keras()
        self.settings_changed()

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        self.settings_changed()

    def settings_changed(self) -> None:
        """Read every control into the settings and run again; a value that is not yet a
        setting (an empty number while typing) waits, saying why."""
        try:
            settings = self.read_controls()
        except ValueError as error:
            self.show_status(f"[b]{error}[/b]")
            return
        same_run = dataclasses.replace(settings, sequence=self.settings.sequence) == self.settings
        self.settings = settings
        if same_run and self.result is not None:
            self.redraw()  # another sequence of the same result
        else:
            self.recompute()

    def read_controls(self) -> Settings:
        """The settings the controls say now; ValueError naming a control that says nothing."""
        values = {}
        for name in (*NUMBERS, "sequence"):
            text = self.query_one(f"#{name}", Input).value.strip()
            if not text.lstrip("-").isdigit():
                raise ValueError(f"{name}: expected a whole number")
            values[name] = int(text)
        if not 0 <= values["sequence"] < values["batch"]:
            raise ValueError(f"sequence shown: expected 0 to {values['batch'] - 1} (N is "
                             f"{values['batch']})")  # fmt: skip
        mask = self.query_one("#mask_value", Input).value.strip()
        try:
            mask_value = float(mask) if mask else None
        except ValueError:
            raise ValueError("mask value: expected a number, or nothing for no mask") from None
        return dataclasses.replace(
            self.settings,
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

    # ---------------------------------------------------------------- running

    def recompute(self) -> None:
        """Run the settings: numpy now and, when chosen and loaded, Keras beside it; the trace
        only for the views that show it."""
        self.generation += 1
        self.changed_at = time.perf_counter()
        self.numpy_results: dict[int, Result] = {}
        self.numpy_done = threading.Event()
        traced = self.view_name != "tables"
        self.run_numpy(self.generation, self.settings, traced)
        if self.settings.engine == "keras":
            self.run_keras(self.generation, self.settings)

    @work(thread=True, exclusive=True, group="numpy")
    def run_numpy(self, generation: int, settings: Settings, traced: bool) -> None:
        done, stale = self.numpy_done, self.give_up_if_stale(generation)
        try:
            result = compute(settings, self.data, "numpy", traced, stale)
        except RnnstateError as error:
            self.call_from_thread(self.refused, generation, str(error))
            return
        except Superseded:
            return
        finally:
            done.set()
        self.numpy_results[generation] = result
        if settings.engine == "keras" and self.keras_ready.is_set():
            return  # Keras answers: numpy's run is its trace and its comparison
        drawn = self.draw(result, self.look())
        self.call_from_thread(self.answer, generation, result, "numpy", drawn)

    @work(thread=True, group="keras")
    def run_keras(self, generation: int, settings: Settings) -> None:
        """Keras's answer (once TensorFlow has loaded), compared with numpy's for the same
        settings, as --check compares them."""
        self.keras_ready.wait()
        results, done = self.numpy_results, self.numpy_done
        with self.keras_lock:
            if generation != self.generation:
                return  # the settings changed again while TensorFlow loaded or ran
            try:
                result = compute(settings, self.data, "keras", False,
                                 self.give_up_if_stale(generation))  # fmt: skip
            except RnnstateError as error:
                self.call_from_thread(self.refused, generation, str(error))
                return
            except Superseded:
                return
        done.wait()
        if generation in results:  # else numpy cannot run this layer (softmax): Keras alone
            result = keras_beside_numpy(result, results[generation])
        drawn = self.draw(result, self.look())
        self.call_from_thread(self.answer, generation, result, "keras", drawn)

    def give_up_if_stale(self, generation: int) -> Progress:
        """A progress callback that raises Superseded once the settings of `generation` are
        no longer the latest: a long run stops within a chunk of steps of a change."""

        def progress(engine: str, steps_done: int) -> None:
            if generation != self.generation:
                self.superseded += 1
                raise Superseded

        return progress

    @work(thread=True, exclusive=True, group="load")
    def load_keras(self) -> None:
        """Import TensorFlow and Keras once, in the background."""
        if self.keras_ready.is_set():
            return
        self.call_from_thread(self.show_status, "loading TensorFlow in the background ...")
        from rnnstate.engines.keras import _import_keras, stderr_silenced

        with stderr_silenced():
            _import_keras()
        self.keras_ready.set()

    def refused(self, generation: int, message: str) -> None:
        if generation == self.generation:
            self.show_status(f"[b]not run:[/b] {message}")

    def answer(self, generation: int, result: Result, engine: str, drawn) -> None:
        """Show the result of the latest change (an older one is dropped); `drawn`: its view,
        rendered by the worker for the view and step it saw (drawn again if they moved)."""
        if generation != self.generation:
            return
        self.result = result
        if self.step >= result.spec.steps or drawn[1] != self.look():
            self.step = min(self.step, result.spec.steps - 1)
            drawn = None
        if engine == "keras" and result.cross_check is None:
            self.agreement = "Keras's own numbers (numpy cannot compute this layer to compare)"
        elif engine == "keras":
            check = result.cross_check.pair(("keras", "numpy"))
            verdict = "agree" if check.agree else "DISAGREE"
            self.agreement = f"Keras's own numbers; keras and numpy {verdict} (largest scaled " \
                f"difference {check.largest.max_scaled_diff:.1e}, tolerance 1e-5)"  # fmt: skip
        elif self.settings.engine == "keras":
            self.agreement = "numpy's numbers; Keras's follow" + (
                "" if self.keras_ready.is_set() else " once TensorFlow has loaded"
            )
        else:
            self.agreement = "numpy engine (Keras's equations in numpy)"
        self.redraw(drawn[0] if drawn else None)
        started = self.changed_at
        self.call_after_refresh(
            lambda: self.update_seconds.append((engine, time.perf_counter() - started))
        )

    # ---------------------------------------------------------------- drawing

    @work(thread=True, exclusive=True, group="draw")
    def draw_view(self, result: Result, look: tuple) -> None:
        """Draw a view in a worker (an explanation of many units takes a while), then show it
        if the result and what is looked at (self.look) are still those asked for."""
        drawn, _ = self.draw(result, look)
        self.call_from_thread(self.show_drawn, result, look, drawn)

    def show_drawn(self, result: Result, look: tuple, drawn: Prerendered) -> None:
        if result is self.result and look == self.look():
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
        width = max(40, self.query_one("#output").size.width - 2)
        return prerender(self.renderable(result, *look), width), look

    def redraw(self, drawn: Prerendered | None = None) -> None:
        """Draw the command line, the view (`drawn` already, or by a worker) and the status."""
        if self.result is None:
            return
        self.query_one("#command", Static).update(
            Text("$ " + self.settings.command(self.view_name, self.step), style="bold")
        )
        if drawn is None:
            self.draw_view(self.result, self.look())
        else:
            self.show_view(drawn, self.look())
        self.show_status(f"view: {self.view_name} (v)   step t={self.step} (←/→)   "
                         f"{self.agreement}")  # fmt: skip

    @staticmethod
    def renderable(result: Result, view_name: str, step: int, sequence: int):
        """The rich renderable of a view of sequence `sequence` of `result`, with the step
        cursor at `step`."""
        if view_name == "heatmap":  # with the gates' maps, from the trace
            shown = result if result.gates is None else with_spec(result, gates=True)
            return heatmap_render.render(shown, sequence, step)
        if view_name == "explain":
            return Group(table_render.header(result), explained(result, step, sequence))
        return table_render.render(result, sequence)

    def show_status(self, text: str) -> None:
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
        if self.view_name != "tables" and self.result is not None and self.result.gates is None:
            self.recompute()  # the heatmap and the explanation need the trace
        else:
            self.redraw()

    def action_focus_view(self) -> None:
        self.query_one("#view", View).focus()

    def action_copy(self) -> None:
        command = self.settings.command(self.view_name, self.step)
        self.copy_to_clipboard(command)
        self.notify(f"copied: {command}")

    def saved_name(self, suffix: str) -> Path:
        """The file `s` or `p` writes in the current folder: named by the cell and its sizes,
        or by the model's layer (its path with / as -)."""
        s = self.settings
        if s.model_path:
            return Path(f"rnnstate-{s.layer.replace('/', '-')}-T{s.steps}{suffix}")
        return Path(f"rnnstate-{s.cell}-T{s.steps}-M{s.units}-seed{s.seed}{suffix}")

    def action_save(self) -> None:
        """Write the result shown as .npz, as --output writes it."""
        self.write_file(".npz")

    def action_save_json(self) -> None:
        """Write the result shown as .json, the document --json prints."""
        self.write_file(".json")

    def action_picture(self) -> None:
        """Write the result shown as a .png, as --plot draws it."""
        self.write_file(".png")

    def write_file(self, suffix: str) -> None:
        from rnnstate.save import save_plot, save_result

        if self.result is None:
            return
        path = self.saved_name(suffix)
        try:
            if suffix == ".png":
                save_plot(str(path), self.result, 0, None)
            else:
                save_result(str(path), self.result)
        except RnnstateError as error:
            self.notify(str(error), severity="error")
            return
        self.notify(f"wrote {path}")
