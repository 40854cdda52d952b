"""rnnstate replay: a saved result run again from what it holds, compared with what it saved."""

from dataclasses import replace

import typer

from rnnstate.cli.app import GroupedHelp, app, examples
from rnnstate.cli.show import run_and_show, take_shown
from rnnstate.cli.streams import user_errors
from rnnstate.errors import ExitCode, shown_name
from rnnstate.options import (
    Full,
    HeatmapOption,
    Json,
    Layout,
    LayoutName,
    Only,
    Output,
    PlotPath,
    SavedPath,
    SaveWeights,
    UnitsShown,
)


@app.command(
    cls=GroupedHelp,
    epilog=examples(
        "rnnstate gru --input x.npy --weights w.npz --output run.npz",
        "rnnstate replay run.npz                      # the same o, h and gates, to the last digit",
        "rnnstate replay run.json --json | jq .h",
    ),
)
def replay(
    path: SavedPath,
    save_weights: SaveWeights = None,
    layout: Layout = LayoutName.keras,
    output: Output = None,
    plot: PlotPath = None,
    units_shown: UnitsShown = None,
    only: Only = None,
    heatmap: HeatmapOption = False,
    full: Full = False,
    json: Json = False,
) -> None:
    """Run a saved result again (--output .npz or .json, or --json) from the input, weights,
    initial states and mask it holds, show it as the run did, and say on stderr whether o, h,
    c, the gates and --memory's influence came out the same to the last digit (exit 3 if
    not)."""
    from rnnstate.saved_result import differences, read_saved

    options = locals()
    path = str(options.pop("path"))
    unequal: list[str] = []
    with user_errors():
        saved = read_saved(path)
        spec = saved.spec
        shown = take_shown(options, spec.cell, spec.reset_after)
        if saved.memory:  # the run's --memory (and --unit), shown and compared again
            shown = replace(shown, memory=True, unit=saved.memory_unit)

        def compare(result, memory) -> None:
            unequal.extend(differences(result, saved, memory))
            verdict = (
                f"differ from the saved ones: {', '.join(unequal)}"
                if unequal
                else "equal the saved ones bit for bit"
            )  # only the arrays the file saved are compared (gates only if it holds them)
            typer.echo(f"rnnstate: replayed {shown_name(path)}: {', '.join(saved.saved)} "
                       f"{verdict}", err=True)  # fmt: skip

        run_and_show(spec, saved.x, saved.weights, saved.initial_state, saved.mask, shown,
                     {"PATH": path}, compare)  # fmt: skip
    if unequal:
        raise typer.Exit(ExitCode.CHECK_FAILED)
