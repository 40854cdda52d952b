"""Every command-line option, defined once, with the help group it is listed under.

The cell commands (rnnstate lstm, gru, rnn) share these definitions; each option names its group
(`rich_help_panel`), and the help lists the groups in GROUPS order. Nothing here imports numpy.
"""

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from rnnstate.activations import NAMES as ACTIVATION_NAMES
from rnnstate.spec import MAX_SEED, MAX_TOP

SIZES = "Sizes and seed"
LAYER = "The layer"
DATA = "Input and weights"
SHOW = "What to show"
FILES = "Files written"
HELP = "Help"
GROUPS = (SIZES, LAYER, DATA, SHOW, FILES, HELP)  # the order of the groups in every help


def complete_activation(incomplete: str) -> list[str]:
    """Shell completion of --activation and --recurrent-activation: the names Keras accepts."""
    return [name for name in ACTIVATION_NAMES if name.startswith(incomplete)]


Steps = Annotated[
    int | None,
    typer.Option(
        "-T",
        "--steps",
        min=1,
        show_default="8, or the input's",
        help="T: time steps.",
        rich_help_panel=SIZES,
    ),
]
Features = Annotated[
    int | None,
    typer.Option(
        "-D",
        "--features",
        min=1,
        show_default="2, or the input's",
        help="D: features per step.",
        rich_help_panel=SIZES,
    ),
]
Units = Annotated[
    int | None,
    typer.Option(
        "-M",
        "--units",
        min=1,
        show_default="3, or the weights'",
        help="M: units of the layer.",
        rich_help_panel=SIZES,
    ),
]
Batch = Annotated[
    int | None,
    typer.Option(
        "-N",
        "--batch",
        min=1,
        show_default="1, or the input's",
        help="N: sequences in a batch.",
        rich_help_panel=SIZES,
    ),
]
Seed = Annotated[
    int | None,
    typer.Option(
        "--seed",
        min=0,
        max=MAX_SEED,
        show_default="drawn at random and shown",
        help="Seed for the weights and the input; the same seed gives the same numbers.",
        rich_help_panel=SIZES,
    ),
]
ModelSeed = Annotated[
    int | None,
    typer.Option(
        "--seed",
        min=0,
        max=MAX_SEED,
        show_default="drawn at random and shown",
        help="Seed for the input when neither --input nor --layer-input gives it (the weights "
        "are the model's).",
        rich_help_panel=SIZES,
    ),
]
Sequences = Annotated[
    bool | None,
    typer.Option(
        "--sequences/--no-sequences",
        "--return-sequences/--no-return-sequences",
        help="Keras return_sequences: o holds every step (N, T, M) instead of the last (N, M). "
        "A model's layer: its own setting unless given.",
        rich_help_panel=LAYER,
    ),
]
Bias = Annotated[
    bool,
    typer.Option(
        "--bias/--no-bias",
        help="Keras use_bias, for weights drawn from the seed.",
        rich_help_panel=LAYER,
    ),
]
InputPath = Annotated[
    Path | None,
    typer.Option(
        "--input",
        metavar="PATH",
        help="Input x from .npy, .npz, .csv or .json (- reads JSON from stdin); shape (T, D) "
        "or (N, T, D). For `model`: the model's input, as model.predict takes it (an .npz "
        "with one array per input name for several).",
        rich_help_panel=DATA,
    ),
]
MODEL_FILE = "A saved Keras model: .keras, or a full-model .h5 / .hdf5 (model.save)."
ModelPath = Annotated[
    Path,
    typer.Argument(metavar="PATH", help=MODEL_FILE, show_default=False),
]
ModelOption = Annotated[
    Path | None,
    typer.Option(
        "--model",
        metavar="PATH",
        help=f"{MODEL_FILE} Explore its layer --layer, with its trained weights and settings.",
        rich_help_panel=DATA,
    ),
]
LayerName = Annotated[
    str | None,
    typer.Option(
        "--layer",
        metavar="NAME",
        help="The recurrent layer to inspect: its name as listed (outer/inner inside a nested "
        "model) or its index. Without it, `model` lists the recurrent layers.",
        rich_help_panel=LAYER,
    ),
]
ExploreLayer = Annotated[
    str | None,
    typer.Option(
        "--layer",
        metavar="NAME",
        help="With --model: the recurrent layer to explore, its name as `rnnstate model PATH` "
        "lists it (outer/inner inside a nested model) or its index.",
        rich_help_panel=LAYER,
    ),
]
CallNumber = Annotated[
    int | None,
    typer.Option(
        "--call",
        metavar="K",
        min=0,
        help="For a layer the model calls more than once (shared): which call's input --input "
        "gives it, from 0 in the order of the model's graph (default 0).",
        rich_help_panel=LAYER,
    ),
]
LayerInputPath = Annotated[
    Path | None,
    typer.Option(
        "--layer-input",
        metavar="PATH",
        help="The layer's own input x (N, T, D), instead of the model's input; formats as --input.",
        rich_help_panel=DATA,
    ),
]
VocabPath = Annotated[
    Path | None,
    typer.Option(
        "--vocab",
        metavar="FILE",
        help="With --input of token ids for a model that starts with an Embedding: label each "
        "step by its token in tables, heatmaps, figures, --explain and --top. FILE: one token "
        "per line (line k is id k) or a JSON list of strings.",
        rich_help_panel=SHOW,
    ),
]
WeightsPath = Annotated[
    Path | None,
    typer.Option(
        "--weights",
        metavar="PATH",
        help="Weights from an .npz or .safetensors file, in Keras's layout (kernel, "
        "recurrent_kernel, bias) or PyTorch's state dict (weight_ih_l0, ...): docs/pytorch.md.",
        rich_help_panel=DATA,
    ),
]
SaveWeights = Annotated[
    Path | None,
    typer.Option(
        "--save-weights",
        metavar="PATH",
        help="Write the weights used to an .npz or .safetensors.",
        rich_help_panel=FILES,
    ),
]


class LayoutName(StrEnum):
    """The --layout choices: whose names and shapes --save-weights writes."""

    keras = "keras"
    torch = "torch"


Layout = Annotated[
    LayoutName,
    typer.Option(
        "--layout",
        help="--save-weights in Keras's layout or as PyTorch's state dict (loads with "
        "load_state_dict(strict=True)).",
        rich_help_panel=FILES,
    ),
]
Prefix = Annotated[
    str | None,
    typer.Option(
        "--prefix",
        metavar="NAME",
        help="In a PyTorch state dict of a whole model: the recurrent layer's key prefix, "
        "e.g. encoder.rnn.",
        rich_help_panel=DATA,
    ),
]
TorchLayer = Annotated[
    int | None,
    typer.Option(
        "--torch-layer",
        metavar="K",
        min=0,
        show_default="0",
        help="In a stacked PyTorch layer (num_layers > 1): use layer K.",
        rich_help_panel=DATA,
    ),
]
Output = Annotated[
    Path | None,
    typer.Option(
        "--output",
        metavar="PATH",
        help="Write the result to a .json or .npz file.",
        rich_help_panel=FILES,
    ),
]
Only = Annotated[
    int | None,
    typer.Option(
        "--only",
        metavar="I",
        min=0,
        help="Show only sequence I of the batch.",
        rich_help_panel=SHOW,
    ),
]
Backwards = Annotated[
    bool,
    typer.Option(
        "--backwards",
        help="Keras go_backwards: read the steps from last to first.",
        rich_help_panel=LAYER,
    ),
]
BidirectionalOption = Annotated[
    bool,
    typer.Option(
        "--bidirectional",
        help="Keras Bidirectional: a forward and a backward copy; states h_fw (c_fw) h_bw (c_bw).",
        rich_help_panel=LAYER,
    ),
]


class MergeMode(StrEnum):
    """The --merge choices: Keras Bidirectional's merge_mode (none keeps the halves apart)."""

    concat = "concat"
    sum = "sum"
    mul = "mul"
    ave = "ave"
    none = "none"


Merge = Annotated[
    MergeMode | None,
    typer.Option(
        "--merge",
        show_default="concat",
        help="How --bidirectional merges the two halves of o.",
        rich_help_panel=LAYER,
    ),
]
MaskValue = Annotated[
    float | None,
    typer.Option(
        "--mask-value",
        metavar="V",
        help="Keras Masking: a step whose features all equal V is skipped.",
        rich_help_panel=LAYER,
    ),
]
InitialState = Annotated[
    Path | None,
    typer.Option(
        "--initial-state",
        metavar="PATH",
        help="Start from the states in an .npz: h (and c), or h_fw c_fw h_bw c_bw; each (N, M).",
        rich_help_panel=LAYER,
    ),
]
ResetAfter = Annotated[
    bool,
    typer.Option(
        "--reset-after/--reset-before",
        help="Keras reset_after: apply the reset gate after the recurrent product.",
        rich_help_panel=LAYER,
    ),
]

ActivationOption = Annotated[
    str,
    typer.Option(
        "--activation",
        metavar="NAME",
        help="Keras activation, for the candidate (LSTM g and tanh(c), GRU h_hat, SimpleRNN h): "
        "tanh, relu, linear, elu, gelu, ... (docs/concepts.md lists them).",
        rich_help_panel=LAYER,
        autocompletion=complete_activation,
    ),
]
RecurrentActivation = Annotated[
    str,
    typer.Option(
        "--recurrent-activation",
        metavar="NAME",
        help="Keras recurrent_activation, for the gates: sigmoid, hard_sigmoid, ...",
        rich_help_panel=LAYER,
        autocompletion=complete_activation,
    ),
]
UnitForgetBias = Annotated[
    bool,
    typer.Option(
        "--unit-forget-bias/--no-unit-forget-bias",
        help="Keras unit_forget_bias: drawn weights start the forget gate's bias at 1.",
        rich_help_panel=LAYER,
    ),
]


class CellName(StrEnum):
    """The --cell choices of rnnstate explore (the other commands are named after their cell)."""

    lstm = "lstm"
    gru = "gru"
    rnn = "rnn"


CellOption = Annotated[
    CellName | None,
    typer.Option("--cell", help="The layer to start with: lstm, gru or rnn (SimpleRNN); as "
                 "CELL.", rich_help_panel=LAYER, show_default=False),
]  # fmt: skip
CellWord = Annotated[
    CellName | None,
    typer.Argument(metavar="[CELL]", help="The layer to start with: lstm (the default), gru or "
                   "rnn (SimpleRNN), as the cell commands are named.", show_default=False,
                   rich_help_panel=LAYER),
]  # fmt: skip


class EngineName(StrEnum):
    """The --engine choices."""

    keras = "keras"
    numpy = "numpy"
    torch = "torch"
    exact = "exact"


EngineOption = Annotated[
    EngineName,
    typer.Option(
        "--engine",
        help="keras runs the real Keras layer; numpy runs Keras's equations without TensorFlow; "
        "torch runs PyTorch's nn.LSTM / nn.GRU / nn.RNN on the same weights; exact runs the "
        "numpy engine's equations in float64.",
        rich_help_panel=SHOW,
    ),
]
Gates = Annotated[
    bool,
    typer.Option(
        "--gates",
        help="Also show the gates and states at every step (from the numpy engine; checked "
        "against Keras when the engine is keras).",
        rich_help_panel=SHOW,
    ),
]
Check = Annotated[
    bool,
    typer.Option(
        "--check",
        help="Run every engine that can run the layer (keras, numpy, torch when installed) on "
        "the same weights and input and measure o, h and c against the exact answer (float64); "
        "exit 3, naming the engine, if one is farther than float32 can reach on this layer "
        "and input (1e-5 on most layers). With --memory, also the influence against Keras's "
        "GradientTape and torch autograd in float64 (exit 3 beyond 1e-6, relative).",
        rich_help_panel=SHOW,
    ),
]
MemoryOption = Annotated[
    bool,
    typer.Option(
        "--memory",
        help="Also show how far back the final states remember: the influence ‖∂s/∂x_t‖ of "
        "every input step t on every final state s (exact backpropagation in float64) and the "
        "memory horizon, the fewest most recent steps holding 90% of it; with --sequences also "
        "the connectivity map ‖∂o_t/∂x_s‖ (docs/memory.md).",
        rich_help_panel=SHOW,
    ),
]
ExplainStep = Annotated[
    int | None,
    typer.Option(
        "--explain",
        metavar="STEP",
        help="Work out input step t=STEP with the real numbers: every term of every gate, the "
        "state update, and the check against o and h.",
        rich_help_panel=SHOW,
    ),
]
ExplainUnit = Annotated[
    int | None,
    typer.Option(
        "--unit",
        metavar="U",
        help="With --explain: write unit U's dot products out term by term. With --memory: the "
        "influence on unit U of each state, ‖∂h[U]/∂x_t‖, instead of the norm over all units. "
        "With --summary: the unit --top K lists the largest h_t of, and --heatmap and --plot "
        "draw (--json holds) across the first sequences.",
        rich_help_panel=SHOW,
    ),
]


class Half(StrEnum):
    """The --direction choices: a half of a bidirectional layer."""

    fw = "fw"
    bw = "bw"


DirectionOption = Annotated[
    Half | None,
    typer.Option(
        "--direction",
        show_default="both",
        help="With --bidirectional: the half --explain explains, or --summary --unit U "
        "shows (--top needs one; --heatmap and --plot draw both without it).",
        rich_help_panel=SHOW,
    ),
]
PlotPath = Annotated[
    Path | None,
    typer.Option(
        "--plot",
        metavar="PATH",
        help="Draw the run as a figure: .png, .svg or .pdf (x, o, states, gates, units in time); "
        "with --summary, the gates' saturation scatter and --unit U across sequences.",
        rich_help_panel=FILES,
    ),
]
UnitsShown = Annotated[
    str | None,
    typer.Option(
        "--units-shown",
        metavar="U,U,...",
        show_default="the first four",
        help="With --plot: the units drawn through time, e.g. 0,5,9.",
        rich_help_panel=FILES,
    ),
]
HeatmapOption = Annotated[
    bool,
    typer.Option(
        "--heatmap",
        help="Draw x, o and (with --gates) the trace as heatmaps in the terminal instead of "
        "number tables: time along the width, long runs binned to fit. With --summary: the "
        "gates' saturation scatter, and --unit U across sequences.",
        rich_help_panel=SHOW,
    ),
]
ExploreHeatmap = Annotated[
    bool,
    typer.Option(
        "--heatmap",
        help="Open on the heatmaps of x, o and the gates instead of the number tables: time "
        "along the width, long runs binned to fit.",
        rich_help_panel=SHOW,
    ),
]
ExploreMemory = Annotated[
    bool,
    typer.Option(
        "--memory",
        help="Open on the memory view: the influence ‖∂s/∂x_t‖ of every input step on the final "
        "states, a bar per step, the step cursor's marked (docs/memory.md).",
        rich_help_panel=SHOW,
    ),
]
Full = Annotated[
    bool,
    typer.Option(
        "--full",
        help="Tables show every unit and every step, however wide and long (a pager or a "
        "wide terminal helps: rnnstate lstm -M 32 --full | less -S).",
        rich_help_panel=SHOW,
    ),
]
SavedPath = Annotated[
    Path,
    typer.Argument(
        metavar="PATH",
        help="A result saved by --output (.npz or .json) or printed by --json.",
        show_default=False,
    ),
]
Json = Annotated[
    bool,
    typer.Option(
        "--json",
        help="Print one JSON document (docs/json.md) instead of tables.",
        rich_help_panel=SHOW,
    ),
]
SummaryOption = Annotated[
    bool,
    typer.Option(
        "--summary",
        help="What each unit does over every sequence of the input, read in batches: mean and "
        "std of h_t, c_t and every gate, the fraction of steps each gate is saturated, dead "
        "units (docs/units.md). Runs the numpy engine's equations (the exact engine's with "
        "--engine exact).",
        rich_help_panel=SHOW,
    ),
]
BatchSize = Annotated[
    int | None,
    typer.Option(
        "--batch-size",
        min=1,
        show_default="1024",
        help="With --summary: sequences run at a time (memory holds one batch).",
        rich_help_panel=SHOW,
    ),
]
SortColumn = Annotated[
    str | None,
    typer.Option(
        "--sort",
        metavar="COLUMN",
        show_default="unit",
        help="With --summary: order the units by mean, std, min, max, zeros, left or right, "
        "largest first.",
        rich_help_panel=SHOW,
    ),
]
LeftBelow = Annotated[
    float | None,
    typer.Option(
        "--left-below",
        show_default="0.1",
        help="With --summary: a gate's step below this is left-saturated; below --right-above, "
        "and within the gates' values (0 to 1 for sigmoid gates).",
        rich_help_panel=SHOW,
    ),
]
RightAbove = Annotated[
    float | None,
    typer.Option(
        "--right-above",
        show_default="0.9",
        help="With --summary: a gate's step above this is right-saturated; within the gates' "
        "values (0 to 1 for sigmoid gates).",
        rich_help_panel=SHOW,
    ),
]
GateOption = Annotated[
    str | None,
    typer.Option(
        "--gate",
        metavar="NAME",
        show_default="h_t",
        help="With --summary --unit U: show that gate of unit U instead of its h_t in --top "
        "(where the gate is most open), --heatmap and --plot: i, f, og (LSTM), z, r (GRU), "
        "or another traced quantity (c_t, g, h_hat, pre_activation).",
        rich_help_panel=SHOW,
    ),
]
Top = Annotated[
    int | None,
    typer.Option(
        "--top",
        metavar="K",
        min=1,
        max=MAX_TOP,
        help="With --summary and --unit U: the K places (sequence, step) where unit U's h_t "
        f"(or --gate's) is largest, each with the steps around it; K at most {MAX_TOP:,}.",
        rich_help_panel=SHOW,
    ),
]
