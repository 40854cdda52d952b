"""explore's runner: the engines and the threads they run in. No Textual here.

Every change of settings runs the numpy engine at once and, with the keras engine chosen, Keras
beside it, in a process of its own (keras_process.py); the files `s`, `j` and `p` write are
written here too. numpy's runs and the files go in daemon threads, which nothing ever waits for:
a run whose settings changed gives up at its next chunk of steps, and one still going when the
app ends is abandoned with the process; the keras process is killed. So quitting never waits
for a run.
"""

import dataclasses
import os
import threading
from collections.abc import Callable

from rnnstate import budget
from rnnstate.api import make_spec, run_spec
from rnnstate.engines import Progress
from rnnstate.errors import RnnstateError
from rnnstate.explore.keras_process import KerasProcess
from rnnstate.explore.settings import Settings, UserData
from rnnstate.models import LayerData
from rnnstate.result import Result, compare_engines
from rnnstate.save import AllOrNothing, save_plot, save_result
from rnnstate.spec import Spec


class Superseded(Exception):
    """A run given up between two chunks of steps: the settings changed while it ran."""


def compute(settings: Settings, data: UserData | LayerData, engine: str, traced: bool = True,
            progress: Progress | None = None) -> Result:  # fmt: skip
    """Run the layer of `settings` on `data` (the user's files, or a saved model's layer) on
    `engine`; `traced`: with the numpy engine's gate trace for the heatmap and the explanation
    (asked for as an explanation of step 0, so the tables leave the trace out). `progress` is
    called after each chunk of steps (it may raise Superseded)."""
    spec = spec_of(settings, data, engine, traced)
    if isinstance(data, LayerData):
        return run_spec(spec, data.x, data.weights, data.initial_state, progress, data.mask)
    return run_spec(spec, data.x, data.weights, data.initial_state, progress)


def spec_of(settings: Settings, data: UserData | LayerData, engine: str, traced: bool) -> Spec:
    """The Spec a run of `settings` on `data` on `engine` takes; SpecError (exit 2) for a
    setting that cannot be run (rnnstate explore checks the first one before the app opens)."""
    if isinstance(data, LayerData):
        seeded = data.x is None
        return data.spec(
            settings.return_sequences,
            settings.steps if seeded else None,
            batch=settings.batch if seeded else None,
            seed=settings.seed,
            engine=engine,
            explain=0 if traced else None,
        )
    x, weights, states = data.x, data.weights, data.initial_state
    cell = settings.cell
    return make_spec(
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


def keras_beside_numpy(keras_result: Result, numpy_result: Result) -> Result:
    """Keras's result with numpy's trace and the comparison of the two, as --check makes it."""
    check = compare_engines({"keras": keras_result, "numpy": numpy_result})
    spec = dataclasses.replace(numpy_result.spec, engine="keras")  # with numpy's trace, if any
    return dataclasses.replace(keras_result, spec=spec, gates=numpy_result.gates, cross_check=check)


def writing_bytes(result: Result, path: str) -> int:
    """Bytes that writing `result` to `path` needs beyond the run itself, by the memory
    guard's estimate (budget.estimate_bytes): the --plot figure of a .png, the archive of an
    .npz built in memory, the JSON buffer of a .json."""
    spec = result.spec
    if path.endswith(".png"):
        written = budget.estimate_bytes(spec, plot=True)
    elif path.endswith(".json"):
        written = budget.estimate_bytes(spec, as_json=True)
    else:
        written = budget.estimate_bytes(spec, output=path)
    return written - budget.estimate_bytes(spec)


def write_result(path: str, result: Result, sequence: int, files: AllOrNothing,
                 with_memory: bool = False) -> str:  # fmt: skip
    """Write `result` to `path` in the current folder, staged in `files` (renamed into place
    when `files` ends): .npz or .json as --output writes them, .png as --plot draws sequence
    `sequence`; with_memory: with what --memory adds (the influence of every step, and with
    return_sequences the connectivity map). Returns what happened, in one line: `wrote PATH`,
    or why it was not written."""
    try:
        os.getcwd()
    except FileNotFoundError:
        return f"not written: {path}: the current folder no longer exists"
    found = None
    if with_memory:
        from rnnstate.explore.memory_view import influence

        found = influence(result, result.spec.return_sequences, saved=not path.endswith(".png"))
        if isinstance(found, str):
            return f"not written: {path}: the influence cannot be computed: {found}"
    needed, available = writing_bytes(result, path), budget.available_bytes()
    if needed > available:
        return (f"not written: {path} needs about {budget.human_bytes(needed)} of memory; "
                f"{budget.human_bytes(available)} are available")  # fmt: skip
    try:
        with files:
            if path.endswith(".png"):
                save_plot(path, result, sequence, None, files, memory=found)
            else:
                save_result(path, result, files, memory=found)
    except RnnstateError as error:
        return f"not written: {error}"
    except OSError as error:
        return f"not written: {path}: {error.strerror or error}"
    return f"wrote {path}"


class KerasFailed(Exception):
    """The keras engine's process failed for a reason rnnstate does not know (a bug): its
    traceback, as text."""


class Runner:
    """Runs the settings explore is given on the engines, and writes its files: numpy and the
    files in daemon threads of this process, Keras in a process of its own (keras_process.py),
    started the first time the keras engine is chosen.

    Answers come back through callables, called in a thread of the runner's: answer(generation,
    settings, result, engine) with a run's result, refused(generation, message) with a setting
    rnnstate refuses, failed(error) with anything else (a bug). `generation` numbers each
    change: an answer to an older one is not given.
    """

    def __init__(
        self,
        data: UserData | LayerData,
        answer: Callable[[int, Settings, Result, str], None],
        refused: Callable[[int, str], None],
        failed: Callable[[BaseException], None],
    ) -> None:
        self.data = data
        self.answer, self.refused, self.failed = answer, refused, failed
        self.generation = 0
        self.superseded = 0  # numpy runs given up because the settings changed while they ran
        self.keras: KerasProcess | None = None
        self.keras_ready = threading.Event()  # TensorFlow has loaded in the keras process
        self.keras_answered = False  # from then on, Keras answers alone (numpy's first)
        self.asked: dict[int, Settings] = {}  # the settings of the latest change
        self.numpy_results: dict[int, Result] = {}  # numpy's answer to it, for Keras's
        self.numpy_done: dict[int, threading.Event] = {}
        self.threads: list[threading.Thread] = []
        self.writing: list[AllOrNothing] = []  # files being written, staged
        self.ended = False

    def start(self, job: Callable, *arguments) -> None:
        """Run job(*arguments) in a daemon thread."""
        self.threads = [thread for thread in self.threads if thread.is_alive()]
        thread = threading.Thread(target=self.guarded, args=(job, *arguments), daemon=True)
        self.threads.append(thread)
        thread.start()

    def guarded(self, job: Callable, *arguments) -> None:
        """job(*arguments); a run given up ends quietly, an error after the end is dropped."""
        try:
            job(*arguments)
        except Superseded:
            pass
        except BaseException as error:  # handed to the app, which ends with it
            if not self.ended:
                self.failed(error)

    def busy(self) -> bool:
        """Whether a thread of the runner's is still running."""
        return any(thread.is_alive() for thread in self.threads)

    def end(self) -> None:
        """The app has ended: kill the keras process, drop every answer from now on, and
        remove the files being written (staged, not yet in place), so nothing is left behind
        when the threads are abandoned."""
        self.ended = True
        self.generation += 1  # numpy runs give up at their next chunk, if they get there
        if self.keras is not None:
            self.keras.end()
        for files in list(self.writing):
            files.discard()

    # ---------------------------------------------------------------- runs

    def run(self, settings: Settings, traced: bool) -> int:
        """Run `settings`: numpy now and, with the keras engine chosen, Keras beside it;
        `traced`: with numpy's gate trace. Returns the change's generation."""
        self.generation += 1
        generation = self.generation
        self.asked = {generation: settings}
        self.numpy_results, self.numpy_done = {}, {generation: threading.Event()}
        self.start(self.run_numpy, generation, settings, traced)
        if settings.engine == "keras":
            if self.keras is None:
                self.keras = KerasProcess(self.data, self.from_keras, self.keras_ended)
            self.keras.run(generation, settings)
        return generation

    def run_numpy(self, generation: int, settings: Settings, traced: bool) -> None:
        done, results = self.numpy_done[generation], self.numpy_results
        try:
            stale = self.give_up_if_stale(generation)
            result = compute(settings, self.data, "numpy", traced, stale)
        except RnnstateError as error:
            if settings.engine != "keras" or not self.keras_answered:
                self.refused(generation, str(error))
            return  # else Keras says (a softmax numpy refuses, Keras runs)
        finally:
            done.set()
        results[generation] = result
        if settings.engine == "keras" and self.keras_answered:
            return  # Keras answers: numpy's run is its trace and its comparison
        self.answer(generation, settings, result, "numpy")

    def from_keras(self, message: tuple) -> None:
        """A message from the keras process (see keras_process.py), in its reader thread."""
        if message == ("ready",):
            self.keras_ready.set()
            return
        generation, kind, payload = message
        if generation != self.generation or self.ended:
            return
        if kind == "refused":
            self.refused(generation, payload)
        elif kind == "failed":
            self.failed(KerasFailed(payload))
        else:
            self.numpy_done[generation].wait()
            numpy_result = self.numpy_results.get(generation)
            result = payload if numpy_result is None else keras_beside_numpy(payload, numpy_result)
            self.keras_answered = True  # else numpy cannot run this layer (softmax): Keras alone
            if generation == self.generation:
                self.answer(generation, self.asked[generation], result, "keras")

    def keras_ended(self, code: int) -> None:
        """The keras process ended by itself (killed from outside, out of memory): said; the
        next change on the keras engine starts another."""
        self.keras, self.keras_answered = None, False
        self.keras_ready.clear()
        self.refused(self.generation, f"the keras engine's process ended (exit code {code}); "
                     "change a setting to start it again")  # fmt: skip

    def give_up_if_stale(self, generation: int) -> Progress:
        """A progress callback that raises Superseded once the settings of `generation` are
        no longer the latest: a long run stops within a chunk of steps of a change."""

        def progress(engine: str, steps_done: int) -> None:
            if generation != self.generation:
                self.superseded += 1
                raise Superseded

        return progress

    # ---------------------------------------------------------------- files

    def write(self, path: str, result: Result, sequence: int, with_memory: bool,
              done: Callable[[str], None]) -> None:  # fmt: skip
        """Write `result` to `path` (write_result, with the influence when with_memory) in a
        thread; done(message) says how it went."""
        files = AllOrNothing()

        def write() -> None:
            self.writing.append(files)
            try:
                message = write_result(path, result, sequence, files, with_memory)
            finally:
                self.writing.remove(files)
            done(message)

        self.start(write)
