"""rnnstate lstm, gru and rnn: read the files, make the Spec, run, show."""

import typer

from rnnstate.cli.app import GroupedHelp, app, examples
from rnnstate.cli.show import run_and_show, take_shown
from rnnstate.cli.streams import user_errors
from rnnstate.cli.summary import inspect_summary, take_summary
from rnnstate.errors import ExitCode, SpecError
from rnnstate.options import (
    ActivationOption,
    Backwards,
    Batch,
    BatchSize,
    Bias,
    BidirectionalOption,
    Check,
    DirectionOption,
    EngineName,
    EngineOption,
    ExplainStep,
    ExplainUnit,
    Features,
    Full,
    GateOption,
    Gates,
    HeatmapOption,
    InitialState,
    InputPath,
    Json,
    Layout,
    LayoutName,
    LeftBelow,
    MaskValue,
    MemoryOption,
    Merge,
    MergeMode,
    Only,
    Output,
    PlotPath,
    Prefix,
    RecurrentActivation,
    ResetAfter,
    RightAbove,
    SaveWeights,
    Seed,
    Sequences,
    SortColumn,
    Steps,
    SummaryOption,
    Top,
    TorchLayer,
    UnitForgetBias,
    Units,
    UnitsShown,
    WeightsPath,
)


def inspect(cell: str, options: dict) -> None:
    """Read the files, run the layer, write the files asked for, print tables or JSON, and exit
    3 when --check found the engines apart. `options` are the command's parameters by name."""
    from rnnstate.api import make_spec, read_files

    for name in ("input_path", "weights_path", "initial_state"):
        options[name] = None if options[name] is None else str(options[name])  # Path -> str
    input_path, weights_path = options.pop("input_path"), options.pop("weights_path")
    state_path, merge = options.pop("initial_state"), options.pop("merge")
    direction = options.pop("direction")
    prefix, torch_layer = options.pop("prefix"), options.pop("torch_layer")
    with user_errors():
        reset_after, bidirectional = options.get("reset_after", True), options["bidirectional"]
        if merge is not None and not bidirectional:
            raise SpecError("--merge", "--merge applies to --bidirectional only")
        for option, value in (("--prefix", prefix), ("--torch-layer", torch_layer)):
            if value is not None and weights_path is None:
                raise SpecError(option, f"{option} says where in --weights the layer is; give both")
        if (request := take_summary(options, direction)) is not None:
            files = {"input_path": input_path, "weights_path": weights_path,
                     "state_path": state_path, "prefix": prefix, "torch_layer": torch_layer,
                     "merge": (merge or MergeMode.concat).value}  # fmt: skip
            inspect_summary(cell, options, request, files)
            return
        shown = take_shown(options, cell, reset_after)
        x, weights, states, sources = read_files(
            cell, input_path, weights_path, state_path, reset_after, bidirectional, prefix,
            torch_layer,
        )  # fmt: skip
        spec = make_spec(
            cell,
            x=x,
            weights=weights,
            initial_state=states,
            input_name=input_path or "",
            weights_name=weights_path or "",
            state_name=state_path or "",
            sources=sources,
            merge=(merge or MergeMode.concat).value,
            return_sequences=bool(options.pop("sequences")),
            use_bias=options.pop("bias"),
            engine=options.pop("engine").value,
            direction=None if direction is None else direction.value,
            **options,
        )
        read = {"--input": input_path, "--weights": weights_path, "--initial-state": state_path}
        agreed = run_and_show(spec, x, weights, states, None, shown, read)
    if not agreed:
        raise typer.Exit(ExitCode.CHECK_FAILED)


@app.command(
    cls=GroupedHelp,
    epilog=examples(
        "rnnstate lstm --sequences --seed 0           # o at every step; h = o[t=7] marked",
        "rnnstate lstm --gates -T 4 --engine numpy    # the gates and c_t at every step",
        "rnnstate lstm --explain 3 --unit 0 --engine numpy   # step t=3 worked out",
        "rnnstate lstm --bidirectional --sequences --heatmap --engine numpy",
    ),
)
def lstm(
    steps: Steps = None,
    features: Features = None,
    units: Units = None,
    batch: Batch = None,
    seed: Seed = None,
    sequences: Sequences = False,
    activation: ActivationOption = "tanh",
    recurrent_activation: RecurrentActivation = "sigmoid",
    unit_forget_bias: UnitForgetBias = True,
    bias: Bias = True,
    backwards: Backwards = False,
    bidirectional: BidirectionalOption = False,
    merge: Merge = None,
    mask_value: MaskValue = None,
    initial_state: InitialState = None,
    engine: EngineOption = EngineName.keras,
    gates: Gates = False,
    check: Check = False,
    memory: MemoryOption = False,
    explain: ExplainStep = None,
    unit: ExplainUnit = None,
    direction: DirectionOption = None,
    input_path: InputPath = None,
    weights_path: WeightsPath = None,
    prefix: Prefix = None,
    torch_layer: TorchLayer = None,
    save_weights: SaveWeights = None,
    layout: Layout = LayoutName.keras,
    output: Output = None,
    plot: PlotPath = None,
    units_shown: UnitsShown = None,
    only: Only = None,
    heatmap: HeatmapOption = False,
    full: Full = False,
    summary: SummaryOption = False,
    batch_size: BatchSize = None,
    sort: SortColumn = None,
    left_below: LeftBelow = None,
    right_above: RightAbove = None,
    top: Top = None,
    gate: GateOption = None,
    json: Json = False,
) -> None:
    """Keras LSTM: output o, final hidden state h and final cell state c."""
    inspect("lstm", locals())


@app.command(
    cls=GroupedHelp,
    epilog=examples(
        "rnnstate gru --seed 0 --json                 # one JSON document",
        "rnnstate gru --reset-before --check          # Keras reset_after=False, engines compared",
        "rnnstate gru --recurrent-activation hard_sigmoid --engine numpy --gates -T 4",
        "rnnstate gru --backwards --sequences --engine numpy   # which row is which step",
    ),
)
def gru(
    steps: Steps = None,
    features: Features = None,
    units: Units = None,
    batch: Batch = None,
    seed: Seed = None,
    sequences: Sequences = False,
    activation: ActivationOption = "tanh",
    recurrent_activation: RecurrentActivation = "sigmoid",
    reset_after: ResetAfter = True,
    bias: Bias = True,
    backwards: Backwards = False,
    bidirectional: BidirectionalOption = False,
    merge: Merge = None,
    mask_value: MaskValue = None,
    initial_state: InitialState = None,
    engine: EngineOption = EngineName.keras,
    gates: Gates = False,
    check: Check = False,
    memory: MemoryOption = False,
    explain: ExplainStep = None,
    unit: ExplainUnit = None,
    direction: DirectionOption = None,
    input_path: InputPath = None,
    weights_path: WeightsPath = None,
    prefix: Prefix = None,
    torch_layer: TorchLayer = None,
    save_weights: SaveWeights = None,
    layout: Layout = LayoutName.keras,
    output: Output = None,
    plot: PlotPath = None,
    units_shown: UnitsShown = None,
    only: Only = None,
    heatmap: HeatmapOption = False,
    full: Full = False,
    summary: SummaryOption = False,
    batch_size: BatchSize = None,
    sort: SortColumn = None,
    left_below: LeftBelow = None,
    right_above: RightAbove = None,
    top: Top = None,
    gate: GateOption = None,
    json: Json = False,
) -> None:
    """Keras GRU: output o and final hidden state h."""
    inspect("gru", locals())


@app.command(
    cls=GroupedHelp,
    epilog=examples(
        "rnnstate rnn -T 20 -D 4 -M 8 -N 2 --engine numpy   # 2 sequences of 20 steps",
        "rnnstate rnn --activation relu --gates --engine numpy",
        "rnnstate rnn --sequences --mask-value 0 --engine numpy -T 5",
        "rnnstate rnn --memory -T 30 -M 8             # which steps h still depends on",
    ),
)
def rnn(
    steps: Steps = None,
    features: Features = None,
    units: Units = None,
    batch: Batch = None,
    seed: Seed = None,
    sequences: Sequences = False,
    activation: ActivationOption = "tanh",
    bias: Bias = True,
    backwards: Backwards = False,
    bidirectional: BidirectionalOption = False,
    merge: Merge = None,
    mask_value: MaskValue = None,
    initial_state: InitialState = None,
    engine: EngineOption = EngineName.keras,
    gates: Gates = False,
    check: Check = False,
    memory: MemoryOption = False,
    explain: ExplainStep = None,
    unit: ExplainUnit = None,
    direction: DirectionOption = None,
    input_path: InputPath = None,
    weights_path: WeightsPath = None,
    prefix: Prefix = None,
    torch_layer: TorchLayer = None,
    save_weights: SaveWeights = None,
    layout: Layout = LayoutName.keras,
    output: Output = None,
    plot: PlotPath = None,
    units_shown: UnitsShown = None,
    only: Only = None,
    heatmap: HeatmapOption = False,
    full: Full = False,
    summary: SummaryOption = False,
    batch_size: BatchSize = None,
    sort: SortColumn = None,
    left_below: LeftBelow = None,
    right_above: RightAbove = None,
    top: Top = None,
    gate: GateOption = None,
    json: Json = False,
) -> None:
    """Keras SimpleRNN: output o and final hidden state h."""
    inspect("rnn", locals())
