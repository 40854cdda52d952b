"""rnnstate lstm/gru/rnn --summary: the options checked, the input streamed in batches through
rnnstate.summary, a progress bar on a terminal, then tables or JSON (nothing before the end)."""

import contextlib
import math
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from rnnstate.errors import SpecError

if TYPE_CHECKING:
    from rnnstate.summary import Thresholds

DEFAULT_BATCH_SIZE = 1024
# Options that show or write one run's arrays: nothing of theirs is in a summary.
NOT_WITH_SUMMARY = {
    "sequences": "--sequences", "check": "--check", "explain": "--explain",
    "direction": "--direction", "heatmap": "--heatmap", "plot": "--plot", "output": "--output",
    "save_weights": "--save-weights", "only": "--only", "units_shown": "--units-shown",
    "full": "--full", "memory": "--memory",
}  # fmt: skip
SUMMARY_OPTIONS = {"batch_size": "--batch-size", "sort": "--sort", "left_below": "--left-below",
                   "right_above": "--right-above", "top": "--top"}  # fmt: skip


@dataclass(frozen=True)
class SummaryRequest:
    """What --summary was asked for: batch size, sort column, saturation thresholds."""

    batch_size: int
    sort: str
    thresholds: "Thresholds"
    top: tuple[int, int] | None  # (K, U) with --top K --unit U


def take_summary(options: dict) -> SummaryRequest | None:
    """Pop --summary and its options from `options`: the request, or None without --summary
    (then its options are refused). Raises SpecError for a bad value or a conflicting option."""
    from rnnstate.summary import SORT_COLUMNS, Thresholds  # numpy: only when asked

    asked = options.pop("summary")
    given = {name: options.pop(name) for name in SUMMARY_OPTIONS}
    if asked and (given["top"] is None) != (options["unit"] is None):
        missing, option = ("--top", "--unit") if given["top"] is None else ("--unit", "--top")
        raise SpecError(option, f"{option} with --summary needs {missing}: --top K --unit U")
    unit = options.pop("unit") if asked else None
    if not asked:
        for name, value in given.items():
            if value is not None:
                option = SUMMARY_OPTIONS[name]
                raise SpecError(option, f"{option} applies to --summary only")
        return None
    for name, option in NOT_WITH_SUMMARY.items():
        if options.get(name) not in (None, False):
            raise SpecError(option, f"{option} does not combine with --summary")
    if options["engine"].value == "torch":
        raise SpecError("--engine", "--summary runs the numpy engine's equations (or the exact "
                                    "engine's): the torch engine has no trace")  # fmt: skip
    sort = given["sort"] or "unit"
    if sort not in SORT_COLUMNS:
        raise SpecError("--sort", f"unknown column {sort!r}; expected one of "
                                  f"{', '.join(SORT_COLUMNS)}")  # fmt: skip
    low = 0.1 if given["left_below"] is None else given["left_below"]
    high = 0.9 if given["right_above"] is None else given["right_above"]
    for option, value in (("--left-below", low), ("--right-above", high)):
        if not math.isfinite(value):
            raise SpecError(option, f"{option} must be a finite number, got {value}")
    if low > high:
        raise SpecError("--left-below", f"--left-below {low:g} is above --right-above {high:g}")
    batch_size = given["batch_size"] or DEFAULT_BATCH_SIZE
    top = None if given["top"] is None else (given["top"], unit)
    return SummaryRequest(batch_size, sort, Thresholds(low, high), top)


def inspect_summary(cell: str, options: dict, request: SummaryRequest, files: dict) -> None:
    """Stream the input through the layer and print the summary. `options`: the command's
    remaining parameters by name; `files`: input_path, weights_path, state_path, prefix,
    torch_layer, merge (as the cell command read them)."""
    import numpy as np
    from rich.console import Console

    from rnnstate.api import make_spec, read_files
    from rnnstate.budget import ensure_fits
    from rnnstate.cli.streams import write_stdout
    from rnnstate.data import dataset_of, open_dataset, random_input
    from rnnstate.render import summary as summary_render
    from rnnstate.summary import summarize
    from rnnstate.weights import initial_weights

    for name in NOT_WITH_SUMMARY:
        options.pop(name, None)
    options.pop("layout")
    as_json = options.pop("json")
    input_path = files["input_path"]
    reset_after, bidirectional = options.get("reset_after", True), options["bidirectional"]
    _, weights, states, sources = read_files(
        cell, None, files["weights_path"], files["state_path"], reset_after, bidirectional,
        files["prefix"], files["torch_layer"],
    )  # fmt: skip
    dataset = open_dataset(input_path) if input_path else None
    shape_only = None if dataset is None else np.broadcast_to(np.float32(0), dataset.shape)
    engine = options.pop("engine").value
    spec = make_spec(
        cell,
        x=shape_only,  # the sizes only: the data stay on disk
        weights=weights,
        initial_state=states,
        input_name=input_path or "",
        weights_name=files["weights_path"] or "",
        state_name=files["state_path"] or "",
        sources=replace(sources, input=input_path or None),
        merge=files["merge"],
        use_bias=options.pop("bias"),
        engine="exact" if engine == "exact" else "numpy",
        **options,
    )
    weight_stream, input_stream = np.random.SeedSequence(spec.seed).spawn(2)
    if weights is None:
        weights = initial_weights(spec, np.random.default_rng(weight_stream))
    if dataset is None:  # drawn as a run of these sizes draws it, so the numbers match one
        ensure_fits(replace(spec, gates=False))
        dataset = dataset_of("the drawn input", random_input(spec, np.random.default_rng(
            input_stream)))  # fmt: skip
    batch_size = min(request.batch_size, spec.batch)
    with sequences_bar(spec.batch, batch_size) as progress:
        summary = summarize(spec, dataset.batches(batch_size), weights, batch_size,
                            request.thresholds, states, progress, request.top)  # fmt: skip
    if as_json:
        write_stdout(summary_render.pieces(summary))
    else:
        Console(highlight=False).print(summary_render.render(summary, request.sort))
        sys.stdout.flush()


@contextlib.contextmanager
def sequences_bar(total: int, batch_size: int) -> Iterator[Callable[[int], None] | None]:
    """A progress bar of sequences done on stderr, when it is a terminal and there is more than
    one batch; else no callback."""
    if not sys.stderr.isatty() or total <= batch_size:
        yield None
        return
    from rnnstate.cli.show import terminal_progress

    with terminal_progress() as display:
        task = display.add_task("sequences", total=total)
        yield lambda done: display.update(task, completed=done)
