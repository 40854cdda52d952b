"""rnnstate lstm/gru/rnn --summary: the options checked, the input streamed in batches through
rnnstate.summary, a progress bar on a terminal, then tables or JSON (nothing before the end)."""

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import typer

from rnnstate.errors import SpecError, shown_name

if TYPE_CHECKING:
    from rnnstate.summary import Thresholds

DEFAULT_BATCH_SIZE = 1024
# Options that show or write one run's arrays: nothing of theirs is in a summary.
NOT_WITH_SUMMARY = {
    "sequences": "--sequences", "check": "--check", "explain": "--explain",
    "output": "--output", "save_weights": "--save-weights", "only": "--only",
    "units_shown": "--units-shown", "full": "--full", "memory": "--memory",
}  # fmt: skip
SUMMARY_OPTIONS = {"batch_size": "--batch-size", "sort": "--sort", "left_below": "--left-below",
                   "right_above": "--right-above", "top": "--top", "gate": "--gate"}  # fmt: skip


@dataclass(frozen=True)
class SummaryRequest:
    """What --summary was asked for: batch size, sort column, saturation thresholds."""

    batch_size: int
    sort: str
    thresholds: "Thresholds"
    top: tuple[int, int] | None  # (K, U) with --top K --unit U
    heatmap: bool = False  # --heatmap: the saturation scatter (and --unit's map), not tables
    plot: str | None = None  # --plot PATH: the figure of the scatter (and of --unit)
    quantity: str = "h_t"  # what --top ranks and --unit's maps show: h_t or --gate, maybe _fw
    across: tuple[int, int] | None = None  # (U, K): unit U over the first K sequences (maps, JSON)


def take_summary(options: dict, direction=None) -> SummaryRequest | None:
    """Pop --summary and its options from `options`: the request, or None without --summary
    (then its options are refused). `direction`: --direction (popped by the caller), a Half or
    None. Raises SpecError for a bad value or a conflicting option."""
    from rnnstate.summary import SORT_COLUMNS, Thresholds  # numpy: only when asked
    from rnnstate.unit_views import ROWS_KEPT

    asked = options.pop("summary")
    given = {name: options.pop(name) for name in SUMMARY_OPTIONS}
    shown = (options.get("heatmap"), options.get("plot") is not None, options.get("json"))
    views = asked and any(shown)  # the views that show --unit U across sequences
    if asked and given["top"] is not None and options["unit"] is None:
        raise SpecError("--top", "--top with --summary needs --unit: --top K --unit U")
    if asked and options["unit"] is not None and given["top"] is None and not views:
        raise SpecError("--unit", "--unit with --summary needs --top K, --heatmap, --plot or "
                                  "--json")  # fmt: skip
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
    thresholds = Thresholds(low, high)  # finite, in order; their range: summarize, by the layer
    batch_size = given["batch_size"] or DEFAULT_BATCH_SIZE
    top = None if given["top"] is None else (given["top"], unit)
    quantity = followed_quantity(given["gate"], direction, unit, options.get("bidirectional"))
    plot = options.pop("plot")
    if plot is not None:
        from rnnstate.save import PLOT_FORMATS, output_format

        plot = str(plot)
        output_format(plot, "--plot", PLOT_FORMATS)
    heatmap = options.pop("heatmap")
    if heatmap and given["sort"] is not None:
        raise SpecError("--sort", "--sort orders the tables, which --heatmap shows none of")
    across = None if unit is None or not views else (unit, ROWS_KEPT)
    return SummaryRequest(batch_size, sort, thresholds, top, heatmap, plot, quantity,
                          across)  # fmt: skip


def followed_quantity(
    gate: str | None, direction, unit: int | None, bidirectional: bool | None
) -> str:
    """The traced name --top ranks and --unit's maps show: --gate's or h_t, suffixed with
    --direction's half. Raises SpecError for --gate or --direction without --unit, and for
    --direction off a bidirectional layer (`bidirectional` None: a model's layer, checked by
    rnnstate.summary when it is known)."""
    if gate is not None and unit is None:
        raise SpecError("--gate", "--gate with --summary says what --unit U's views show; "
                                  "give --unit U")  # fmt: skip
    if direction is not None and bidirectional is False:
        raise SpecError("--direction", "--direction picks a half of --bidirectional")
    if direction is not None and unit is None:
        raise SpecError("--direction", "--direction with --summary picks the half --unit U's "
                                       "views show; give --unit U")  # fmt: skip
    quantity = gate or "h_t"
    return quantity if direction is None else f"{quantity}_{direction.value}"


def inspect_summary(cell: str, options: dict, request: SummaryRequest, files: dict) -> None:
    """Stream the input through the layer and print the summary. `options`: the command's
    remaining parameters by name; `files`: input_path, weights_path, state_path, prefix,
    torch_layer, merge (as the cell command read them)."""
    import numpy as np

    from rnnstate.api import make_spec, read_files
    from rnnstate.budget import ensure_fits
    from rnnstate.data import dataset_of, open_dataset, random_input
    from rnnstate.summary import summarize
    from rnnstate.weights import initial_weights

    for name in NOT_WITH_SUMMARY:
        options.pop(name, None)
    options.pop("layout")
    as_json = options.pop("json")
    input_path = files["input_path"]
    reset_after, bidirectional = options.get("reset_after", True), options["bidirectional"]
    _, weights, states, sources = read_files(
        cell, input_path, files["weights_path"], files["state_path"], reset_after, bidirectional,
        files["prefix"], files["torch_layer"], stream_input=True,
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
        sources=sources,
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
    read = {"--input": files["input_path"], "--weights": files["weights_path"],
            "--initial-state": files["state_path"]}  # fmt: skip
    check_plot_path(request, cell, read)
    batch_size = min(request.batch_size, spec.batch)
    with sequences_bar(spec.batch, batch_size) as progress:
        summary = summarize(spec, dataset.batches(batch_size), weights, batch_size,
                            request.thresholds, states, progress, request.top,
                            request.quantity, request.across)  # fmt: skip
    show_summary(summary, request, as_json)


def show_summary(summary, request: SummaryRequest, as_json: bool, tokens=None) -> None:
    """Write --plot's figure if asked, then print the summary: JSON, the pictures of --heatmap
    or the tables; the --top places' steps labelled by `tokens` (vocab.StepTokens) if given."""
    from rich.console import Console

    from rnnstate.cli.streams import write_stdout
    from rnnstate.render import summary as summary_render

    if request.plot is not None:
        from rnnstate.render.plot import image_bytes
        from rnnstate.render.summary_plot import figure
        from rnnstate.save import write_whole

        data = image_bytes(figure(summary), os.path.splitext(request.plot)[1].lower())
        write_whole(request.plot, lambda file: file.write(data))
        typer.echo(f"wrote {shown_name(request.plot)}", err=True)
    if as_json:
        write_stdout(summary_render.pieces(summary, tokens))
    elif request.heatmap:
        from rnnstate.render import unit_views

        Console(highlight=False).print(unit_views.render(summary, tokens))
        sys.stdout.flush()
    else:
        Console(highlight=False).print(summary_render.render(summary, request.sort, tokens))
        sys.stdout.flush()


def check_plot_path(request: SummaryRequest, cell: str, read: dict[str, str | None]) -> None:
    """Refuse --plot before the run: on a SimpleRNN without --unit (nothing to draw), naming a
    file the run reads (`read`: paths by option), a device or FIFO (exit 2); a place it could
    not be written (exit 1). Nothing without --plot."""
    from rnnstate.save import check_regular, check_writable

    path = request.plot
    if path is None:
        return
    if cell == "rnn" and request.across is None:
        raise SpecError("--plot", "a SimpleRNN has no gates to draw the saturation of; --plot "
                                  "with --unit U draws that unit across sequences")  # fmt: skip
    for option, given in read.items():
        if given is not None and os.path.realpath(given) == os.path.realpath(path):
            raise SpecError("--plot", f"{shown_name(path)} is also the file of {option}; give "
                                      "each file its own path")  # fmt: skip
    check_regular(path, "--plot")
    check_writable(path)


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
