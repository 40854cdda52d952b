"""What a run shows and writes: the options of what to show, the files checked before the run,
progress on a terminal, then tables, JSON, pictures and files (run_and_show).
"""

import contextlib
import os
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import typer

from rnnstate.budget import ensure_fits, estimate_bytes, expected_seconds
from rnnstate.cli.streams import write_stdout
from rnnstate.engines import Progress
from rnnstate.errors import SpecError, one_line, shown_name
from rnnstate.spec import Spec

if TYPE_CHECKING:
    from rnnstate.vocab import StepTokens

LONG_RUN_SECONDS = 2.0  # runs expected to take longer show a progress bar on a terminal
ANNOUNCED_SECONDS = 60.0  # runs expected to take longer say so first, on stderr


def duration_words(seconds: float) -> str:
    """About 40 s, 12 min, 3 h or 2 days."""
    for unit, size in (("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return (
                f"{seconds / size:.0f} {unit}"
                if seconds >= 10 * size
                else f"{seconds / size:.1f} {unit}"
            )
    return f"{seconds:.0f} s"


def announce_long_run(spec: Spec) -> None:
    """One line on stderr, terminal or not, before a run expected to take over a minute."""
    seconds = expected_seconds(spec)
    if seconds > ANNOUNCED_SECONDS:
        typer.echo(
            f"rnnstate: this run should take about {duration_words(seconds)} on this machine "
            f"(T={spec.steps}, N={spec.batch}, M={spec.units}, {spec.engine} engine); "
            "Ctrl-C stops it",
            err=True,
        )


@contextlib.contextmanager
def progress_bar(spec: Spec) -> Iterator[Progress | None]:
    """A progress callback drawing a bar on stderr for a long run when stderr is a terminal.

    The bar writes to its own copy of file descriptor 2, so it still reaches the terminal while
    the keras engine points fd 2 at /dev/null to hide TensorFlow's start-up lines.
    """
    if not sys.stderr.isatty() or expected_seconds(spec) < LONG_RUN_SECONDS:
        yield None
        return
    with terminal_progress() as display:
        tasks: dict[str, int] = {}

        def report(engine: str, steps_done: int) -> None:
            if engine not in tasks:
                tasks[engine] = display.add_task(f"{engine} engine", total=spec.steps)
            display.update(tasks[engine], completed=steps_done)

        yield report


@contextlib.contextmanager
def terminal_progress() -> Iterator:
    """A rich progress display on the terminal, through its own copy of file descriptor 2."""
    from rich.console import Console
    from rich.progress import Progress as ProgressDisplay

    with (
        os.fdopen(os.dup(2), "w") as terminal,
        ProgressDisplay(console=Console(file=terminal), transient=True) as display,
    ):
        yield display


def parse_units(text: str | None) -> list[int] | None:
    """--units-shown "0,5,9" as [0, 5, 9]; SpecError for anything else."""
    if text is None:
        return None
    try:
        units = [int(part) for part in text.split(",")]
    except ValueError:
        raise SpecError(
            "--units-shown", f"expected unit numbers separated by commas, got {text!r}"
        ) from None
    if not units or min(units) < 0:
        raise SpecError("--units-shown", f"expected unit numbers from 0, got {text!r}")
    return units


@dataclass(frozen=True)
class Shown:
    """What a run writes and shows, from the options: files, then the terminal's view."""

    save_weights: str | None
    layout: str
    output: str | None
    plot: str | None
    units_shown: list[int] | None
    only: int | None
    as_json: bool
    heatmap: bool
    full: bool = False  # tables show every unit and every step
    memory: bool = False  # --memory: the influence of every step on the final states
    unit: int | None = None  # --memory --unit U: the influence on unit U of each state
    tokens: "StepTokens | None" = None  # --vocab: each step named by its token


def take_shown(options: dict, cell: str, reset_after: bool) -> Shown:
    """Pop what to write and show from `options`, checking each file name's format first."""
    from rnnstate.save import OUTPUT_FORMATS, PLOT_FORMATS, WEIGHT_FORMATS, output_format

    paths = {}
    for name in ("save_weights", "output", "plot"):
        value = options.pop(name)
        paths[name] = None if value is None else str(value)  # Path -> str
    shown = Shown(
        paths["save_weights"],
        options.pop("layout").value,
        paths["output"],
        paths["plot"],
        parse_units(options.pop("units_shown")),
        options.pop("only"),
        options.pop("json"),
        options.pop("heatmap"),
        options.pop("full"),
        options.pop("memory", False),
    )
    if options.get("unit") is not None and options.get("explain") is None and not shown.memory:
        raise SpecError("--unit", "--unit refines --explain STEP or --memory; give one of them")
    if shown.memory:
        refuse_with_memory(options, shown)
        if "unit" in options:  # --unit refines --memory, not a setting of the run
            shown = replace(shown, unit=options["unit"])
            options["unit"] = None
    if shown.save_weights:
        output_format(shown.save_weights, "--save-weights", WEIGHT_FORMATS)
    if shown.layout == "torch" and not shown.save_weights:
        raise SpecError("--layout", "--layout says how --save-weights writes; give both")
    if shown.layout == "torch" and cell == "gru" and not reset_after:
        raise SpecError(
            "--layout", "PyTorch's GRU is Keras's reset_after variant: a GRU with "
            "reset_after=False has no PyTorch layout",
        )  # fmt: skip
    if shown.output:
        output_format(shown.output, "--output", OUTPUT_FORMATS)
    if shown.plot:
        output_format(shown.plot, "--plot", PLOT_FORMATS)
    return shown


def refuse_with_memory(options: dict, shown: Shown) -> None:
    """SpecError for what --memory cannot go with: --explain, the other view of a step."""
    if options.get("explain") is not None:
        raise SpecError(
            "--explain", "cannot be given with --memory (--explain works out one step; run "
            "them apart)",
        )  # fmt: skip


def check_paths(shown: Shown, read: dict[str, str | None]) -> None:
    """Refuse a file to write named twice, naming a file the run reads (`read`: paths by
    option), links resolved, or a device, FIFO or socket (exit 2); then refuse one that could
    not be written (exit 1)."""
    from rnnstate.save import check_regular, check_writable

    written = {"--save-weights": shown.save_weights, "--output": shown.output, "--plot": shown.plot}
    seen: dict[str, str] = {}
    for option, path in [*read.items(), *written.items()]:
        if path is None or path == "-":
            continue
        key = os.path.realpath(path)
        if key in seen and option in written:
            raise SpecError(
                option,
                f"{shown_name(path)} is also the file of {seen[key]}; give each file its own path",
            )
        seen.setdefault(key, option)
        if option in written:
            check_regular(path, option)
    for path in written.values():
        if path is not None:
            check_writable(path)


def run_and_show(
    spec: Spec, x, weights, states, mask, shown: Shown, read: dict, ran=None
) -> bool:
    """Run the layer, write the files asked for (all or none), print tables or JSON; whether
    every engine agreed (always, without --check). x, weights, states: as read (None: drawn);
    mask (N, T); `read`: the paths of the files the run read, by option; `ran`, if given, is
    called with the Result before anything is written or shown."""
    from rich.console import Console

    from rnnstate.api import run_spec
    from rnnstate.explain import explain
    from rnnstate.render import explain as explain_render
    from rnnstate.render import json as json_render
    from rnnstate.render import table as table_render
    from rnnstate.save import AllOrNothing, save_plot, save_result, save_weights

    only, units_shown = shown.only, shown.units_shown
    check_only(only, spec.batch)
    if units_shown and max(units_shown) >= spec.units:
        raise SpecError(
            "--units-shown", f"unit {max(units_shown)} is not in the layer: M={spec.units}"
        )
    check_paths(shown, read)
    ensure_fits(spec, shown.as_json, shown.output, shown.plot is not None)
    if shown.memory:
        from rnnstate import memory

        if memory.problem(spec) is not None:
            raise SpecError("--memory", memory.problem(spec))
        memory.check_unit(spec, shown.unit)
        memory.ensure_fits(spec, estimate_bytes(spec, shown.as_json, shown.output)
                           + gradient_check_bytes(spec), shown.unit, spec.return_sequences,
                           shown.output is not None)  # fmt: skip
    announce_long_run(spec)
    with progress_bar(spec) as progress:
        result = run_spec(spec, x, weights, states, progress, mask)
    influence = memory_of(result, shown.unit) if shown.memory else None
    gradients = gradient_check(result, influence, shown.unit) if influence is not None else None
    if ran is not None:
        ran(result, influence)
    with warnings.catch_warnings(record=True) as caught, AllOrNothing() as files:
        warnings.simplefilter("always")  # a library's warning is said in one line, below
        if shown.save_weights:
            save_weights(shown.save_weights, result.weights, shown.layout, spec.cell,
                         spec.reset_after, files)  # fmt: skip
        if shown.output:
            save_result(shown.output, result, files, influence)
        if shown.plot:
            save_plot(shown.plot, result, only, units_shown, files, shown.tokens, influence)
    for message in dict.fromkeys(str(warning.message).splitlines()[0] for warning in caught):
        typer.echo(f"rnnstate: note: while writing the files: {one_line(message)}", err=True)
    for path in (shown.save_weights, shown.output, shown.plot):
        if path:
            typer.echo(f"wrote {shown_name(path)}", err=True)  # on stderr: stdout is the output
    explanations = explain(result, only or 0) if spec.explain is not None else None
    if shown.as_json:
        write_stdout(json_render.pieces(result, explanations, influence, gradients))
    elif shown.heatmap:
        from rnnstate.render import heatmap

        Console(highlight=False).print(heatmap.render(result, only, tokens=shown.tokens))
        if influence is not None:
            from rnnstate.render import memory_heatmap

            maps = memory_heatmap.render(influence, spec, result.mask, only or 0, shown.tokens)
            Console(highlight=False).print(maps)
    elif explanations is not None:
        Console(highlight=False).print(
            table_render.header(result), explain_render.render(explanations, shown.tokens)
        )
    else:
        Console(highlight=False).print(  # --full: wider tables than the terminal, uncropped
            table_render.render(result, only, shown.full, tokens=shown.tokens),
            crop=not shown.full,
        )
        if influence is not None:
            from rnnstate.render import memory as memory_render

            Console(highlight=False).print(
                memory_render.render(influence, result.mask, only or 0, spec.backwards,
                                     spec.bidirectional, shown.full, embedded_input(spec),
                                     shown.tokens)
            )  # fmt: skip
        sys.stdout.flush()  # a reader that stopped early is seen here, inside user_errors
    if gradients is not None and not shown.as_json:
        from rnnstate.render import memory_check as memory_check_render

        Console(highlight=False).print(memory_check_render.render(gradients))
        sys.stdout.flush()
    agreed = not spec.check or result.cross_check.agree
    return agreed and (gradients is None or gradients.agree)


def memory_of(result, unit: int | None = None):
    """--memory: the influence of every input step of the run on its final states (on `unit`
    of each), and with return_sequences the connectivity map (Memory)."""
    from rnnstate.memory import memory

    return memory(result.spec, result.x, result.weights, result.initial_state, result.mask,
                  unit, result.spec.return_sequences)  # fmt: skip


def gradient_check(result, influence, unit: int | None = None):
    """--memory with --check: the influence (on `unit` of each state) against Keras's gradients
    and torch autograd's (memory_check.GradientCheck); None without --check."""
    if not result.spec.check:
        return None
    from rnnstate.memory_check import check

    return check(result.spec, result.x, result.weights, result.initial_state, result.mask,
                 influence, unit)  # fmt: skip


def gradient_check_bytes(spec: Spec) -> int:
    """Bytes --check adds to --memory (memory_check.needed_bytes), 0 without --check."""
    if not spec.check:
        return 0
    from rnnstate.memory_check import needed_bytes

    return needed_bytes(spec)


def embedded_input(spec: Spec) -> tuple[str, int] | None:
    """For a model's layer that reads an Embedding's vectors: its name and dimensions (D)."""
    if spec.model is None or spec.model.embedding is None:
        return None
    return spec.model.embedding, spec.features


def check_only(only: int | None, batch: int) -> None:
    """SpecError when --only names no sequence of the N=`batch` there are."""
    if only is not None and only >= batch:
        raise SpecError("--only", f"{only} is not a sequence: N={batch} (0 to {batch - 1})")
